//! SAML 2.0 through the server's pages. A real identity provider (`saml_idp.py`: Debian's
//! python3-pysaml2 on loopback) signs people in through the browser: AuthnRequest by redirect,
//! the auto-submitted form to the ACS, the same-site continuation, the account made just in
//! time from the NameID and attributes and reused later; then its single logout (a LogoutRequest
//! signed on the Redirect binding) ends the session it names, and nothing when tampered with or
//! addressed to another service provider.
//! The attack corpus of the verification core (`tests/fixtures/saml/`), signed again by
//! `make.py --target` for this server's addresses and the request ID of a flow started here, is
//! POSTed to the ACS: each refused with 400, one `federated_sign_in_failed` event with its code,
//! no session, no account. Then the flow's own rules: a response is accepted once, unsolicited
//! responses only where allowed and never to a disabled provider, no certificate means no
//! sign-in, and a transient NameID identifies nobody.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use watchword::domain::audit::Actor;
use watchword::domain::idp::{IdpKind, IdpSettings};

use super::{create_idp, identities, user_named};
use crate::common::browser::location;
use crate::common::{Browser, TestApp, hidden_field};

const PYTHON: &str = "/usr/bin/python3";
/// The attribute names pysaml2 (like Shibboleth) sends: uid, mail, displayName by OID.
const UID: &str = "urn:oid:0.9.2342.19200300.100.1.1";
const MAIL: &str = "urn:oid:0.9.2342.19200300.100.1.3";
const DISPLAY_NAME: &str = "urn:oid:2.16.840.1.113730.3.1.241";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saml")
}

/// The IdP's signing certificate (base64 DER), as an operator pastes it from metadata.
fn idp_cert() -> String {
    STANDARD.encode(std::fs::read(fixtures().join("idp.crt.der")).unwrap())
}

/// Panics (never skips) when the Python side of these tests is missing.
fn require_python(modules: &str) {
    let ok = Command::new(PYTHON)
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the SAML tests need {PYTHON} with `{modules}` (Debian python3-pysaml2, python3-lxml) and \
         the xmlsec1 CLI: apt-get install python3-pysaml2 python3-lxml xmlsec1"
    );
    assert!(
        Path::new("/usr/bin/xmlsec1").exists(),
        "the SAML tests need /usr/bin/xmlsec1 (Debian xmlsec1)"
    );
}

/// `saml_idp.py` running on loopback; killed when dropped.
struct Idp {
    child: Child,
    base: String,
}

impl Idp {
    /// Starts the IdP for the SP whose metadata is at `sp_metadata` (fetched at its first
    /// request); `env` sets its user (`SAML_IDP_USER`) or NameID format
    /// (`SAML_IDP_NAME_ID_FORMAT`). Returns once it listens.
    fn start(sp_metadata: &str, env: &[(&str, &str)]) -> Idp {
        require_python("saml2");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/federation/saml_idp.py");
        let mut child = Command::new(PYTHON)
            .arg(script)
            .arg(sp_metadata)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start saml_idp.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.trim().strip_prefix("listening ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("saml_idp.py did not start (see its stderr above): {line:?}");
        };
        let base = base.to_owned();
        Idp { child, base }
    }

    fn entity_id(&self) -> String {
        format!("{}/metadata", self.base)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings of a SAML provider trusting the fixtures' IdP key.
fn settings(entity_id: &str, sso: &str, slo: Option<&str>) -> IdpSettings {
    serde_json::from_value(serde_json::json!({
        "mapping": { "username": UID, "email": MAIL, "name": DISPLAY_NAME, "groups": "groups" },
        "saml": {
            "entity_id": entity_id,
            "sso_url": sso,
            "slo_url": slo,
            "signing_certs": [idp_cert()],
        },
    }))
    .unwrap()
}

/// A server with provider `shib` pointing at a freshly started pysaml2 IdP.
async fn with_idp(env: &[(&str, &str)]) -> (TestApp, Idp) {
    let app = TestApp::start().await;
    let idp = Idp::start(&app.url("/t/default/saml/shib/metadata"), env);
    let s = settings(
        &idp.entity_id(),
        &format!("{}/sso/redirect", idp.base),
        Some(&format!("{}/slo/redirect", idp.base)),
    );
    create_idp(&app, "shib", IdpKind::Saml, s, None).await;
    (app, idp)
}

/// The auto-submitting form of the IdP's page: (action, SAMLResponse, RelayState).
fn form(page: &str) -> (String, String, String) {
    let start = page.find("action=\"").expect("a form") + "action=\"".len();
    let action = &page[start..start + page[start..].find('"').unwrap()];
    let field = |name| {
        hidden_field(page, name)
            .unwrap_or_else(|| panic!("no {name} in {page}"))
            .replace("&amp;", "&")
    };
    (
        action.replace("&amp;", "&"),
        field("SAMLResponse"),
        field("RelayState"),
    )
}

/// A browser without cookies, as the IdP's cross-site POST arrives (SameSite=Lax cookies stay
/// home).
fn cross_site() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Through the IdP to the ACS: returns the ACS's answer (not followed).
async fn to_acs(app: &TestApp, idp: &Idp, b: &Browser, slug: &str) -> reqwest::Response {
    let res = b.get(&format!("/t/default/idp/{slug}/start")).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "start leaves for the IdP"
    );
    let sso = location(&res);
    assert!(
        sso.starts_with(&format!("{}/sso/redirect?SAMLRequest=", idp.base)),
        "{sso}"
    );
    assert!(b.cookie("ww-fed-default").is_some(), "the flow cookie");
    let res = b.client.get(&sso).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the IdP answers its form");
    let (action, response, relay) = form(&res.text().await.unwrap());
    assert_eq!(action, app.url(&format!("/t/default/idp/{slug}/saml/acs")));
    assert_eq!(Some(relay.clone()), b.cookie("ww-fed-default"));
    cross_site()
        .post(&action)
        .form(&[("SAMLResponse", response.as_str()), ("RelayState", &relay)])
        .send()
        .await
        .unwrap()
}

/// A whole sign-in through the IdP in browser `b`: ACS, then the continuation.
async fn sign_in(app: &TestApp, idp: &Idp, b: &Browser) {
    let res = to_acs(app, idp, b, "shib").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let next = location(&res);
    assert!(
        next.starts_with("/t/default/idp/shib/saml/continue?id="),
        "{next}"
    );
    let res = b.get(&next).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert_eq!(location(&res), "/t/default/");
    assert!(b.cookie("ww-session-default").is_some(), "a session");
}

async fn body(res: reqwest::Response) -> String {
    res.text().await.unwrap_or_default()
}

fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .1
        .into_owned()
}

fn signed_in_through(events: &[watchword::storage::audit::AuditRow], slug: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            e.action == "sign_in"
                && e.outcome == "success"
                && e.details.contains(&format!("\"via\":\"{slug}\""))
        })
        .count()
}

// --- A real IdP through the browser ------------------------------------------------------------

#[tokio::test]
async fn a_real_idp_signs_people_in_and_the_account_is_made_once() {
    let (app, idp) = with_idp(&[]).await;
    let b = Browser::new(&app.base);
    sign_in(&app, &idp, &b).await;
    assert_eq!(
        b.get("/t/default/account").await.status(),
        StatusCode::OK,
        "signed in"
    );
    let user = user_named(&app, "alice")
        .await
        .expect("created just in time from the uid attribute");
    assert_eq!(user.email.as_deref(), Some("alice@idp.example"));
    assert_eq!(user.display_name.as_deref(), Some("Alice Example"));
    assert_eq!(identities(&app, &user).await, 1);
    let events = app.audit("default").await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "identity_linked" && e.outcome == "jit"),
        "{events:?}"
    );
    assert_eq!(signed_in_through(&events, "shib"), 1, "{events:?}");

    // Another browser, another sign-in at the IdP: the same account, still one identity.
    let again = Browser::new(&app.base);
    sign_in(&app, &idp, &again).await;
    let users = watchword::admin::users::list(&app.app.ctx, &app.tenant("default").await)
        .await
        .unwrap();
    assert_eq!(
        users.iter().filter(|u| u.username == "alice").count(),
        1,
        "{users:?}"
    );
    assert_eq!(identities(&app, &user).await, 1);
    let events = app.audit("default").await;
    assert_eq!(signed_in_through(&events, "shib"), 2, "{events:?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "identity_linked")
            .count(),
        1
    );
}

#[tokio::test]
async fn the_idps_single_logout_ends_the_session_it_names_and_a_tampered_one_nothing() {
    let (app, idp) = with_idp(&[]).await;
    // Two browsers of Alice's at once (the default limit is one session per user).
    let tenant = app.tenant("default").await;
    let mut policy = tenant.policy.clone();
    policy.session.max_sessions_per_user = watchword::domain::session::SessionLimit::Max(2);
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let first = Browser::new(&app.base);
    sign_in(&app, &idp, &first).await;
    let second = Browser::new(&app.base);
    sign_in(&app, &idp, &second).await;
    assert_eq!(
        first.get("/t/default/account").await.status(),
        StatusCode::OK
    );

    // Alice signs out at the IdP: it sends her browser to our SLO URL with a signed
    // LogoutRequest naming her NameID and the SessionIndex of her last sign-in (the second).
    let res = second
        .client
        .get(format!("{}/logout?user=alice&RelayState=bye", idp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let slo = location(&res);
    assert!(
        slo.starts_with(&app.url("/t/default/idp/shib/saml/slo?SAMLRequest=")),
        "{slo}"
    );
    assert!(slo.contains("&Signature="), "{slo}");

    // Tampered (another RelayState under the same signature): refused, nothing ends.
    let tampered = slo.replace("RelayState=bye", "RelayState=bye2");
    assert_ne!(tampered, slo);
    let res = second.client.get(&tampered).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Signature bytes changed: refused too.
    let at = slo.find("&Signature=").unwrap() + "&Signature=".len();
    let mut forged = slo.clone();
    let flipped = if &slo[at..=at] == "A" { "B" } else { "A" };
    forged.replace_range(at..=at, flipped);
    let res = second.client.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        second.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    assert!(
        !app.audit("default")
            .await
            .iter()
            .any(|e| e.action == "upstream_logout" && e.outcome == "success"),
        "no logout from a refused request"
    );
    assert!(
        app.audit("default")
            .await
            .iter()
            .any(|e| e.action == "upstream_logout" && e.outcome == "signature_invalid"),
        "the refusal is audited"
    );

    // The genuine request: the second session ends, the first (another SessionIndex) stays;
    // the LogoutResponse goes back to the IdP, which reads Success for its request.
    let res = second.client.get(&slo).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let back = location(&res);
    assert!(
        back.starts_with(&format!("{}/slo/redirect?SAMLResponse=", idp.base)),
        "{back}"
    );
    assert_eq!(query_param(&back, "RelayState"), "bye");
    let answer = body(second.client.get(&back).send().await.unwrap()).await;
    let request_xml = inflate(&query_param(&slo, "SAMLRequest"));
    let request_id = xml_attr(&request_xml, "ID");
    assert_eq!(
        answer.trim(),
        format!(
            "logout-response status=urn:oasis:names:tc:SAML:2.0:status:Success \
             in_response_to={request_id}"
        )
    );
    assert_eq!(
        second.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER,
        "signed out here"
    );
    assert_eq!(
        first.get("/t/default/account").await.status(),
        StatusCode::OK,
        "another upstream session"
    );
    let events = app.audit("default").await;
    let logouts: Vec<_> = events
        .iter()
        .filter(|e| e.action == "upstream_logout" && e.outcome == "success")
        .collect();
    assert_eq!(logouts.len(), 1, "{events:?}");
    assert_eq!(logouts[0].outcome, "success");
    assert!(
        logouts[0].details.contains("\"sessions_ended\":1")
            && logouts[0].details.contains("\"idp\":\"shib\""),
        "{}",
        logouts[0].details
    );
}

/// A LogoutRequest from the pysaml2 IdP's entity, signed with its key on the Redirect binding,
/// for `destination` (at the server's time), ending every session of Alice's NameID; the query only.
fn logout_query(app: &TestApp, idp: &Idp, destination: &str) -> String {
    use watchword::clock::Clock;
    use watchword::federation::saml::{LogoutSubject, SpEndpoint, SpSigningKey};
    let key =
        SpSigningKey::from_pkcs8_der(&std::fs::read(fixtures().join("idp.key.pk8.der")).unwrap())
            .unwrap();
    let as_idp = SpEndpoint {
        entity_id: idp.entity_id(),
        acs_url: String::new(),
        decryption_key: None,
    };
    let url = watchword::federation::saml::logout_request_redirect(
        destination,
        &as_idp,
        &watchword::federation::saml::new_request_id(),
        app.clock.now(),
        &LogoutSubject {
            name_id: "alice-7c1e",
            name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
            session_index: None,
        },
        "",
        Some(&key),
    )
    .unwrap();
    url.split_once('?').unwrap().1.to_owned()
}

#[tokio::test]
async fn a_logout_request_the_idp_signed_for_another_service_provider_ends_nothing_here() {
    let (app, idp) = with_idp(&[]).await;
    let b = Browser::new(&app.base);
    sign_in(&app, &idp, &b).await;
    let slo = app.url("/t/default/idp/shib/saml/slo");
    // Signed by the IdP, but for another SP (another tenant using the same IdP): refused.
    let elsewhere = logout_query(
        &app,
        &idp,
        "https://other-sp.example/t/acme/idp/shib/saml/slo",
    );
    let res = b
        .client
        .get(format!("{slo}?{elsewhere}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(b.get("/t/default/account").await.status(), StatusCode::OK);
    assert!(
        !app.audit("default")
            .await
            .iter()
            .any(|e| e.action == "upstream_logout" && e.outcome == "success")
    );
    // The same request addressed to us: every session of the NameID ends.
    let here = logout_query(&app, &idp, &slo);
    let res = b.client.get(format!("{slo}?{here}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert_eq!(
        b.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER
    );
    // Replayed (a captured logout URL), it is refused: once only, on any replica.
    let again = Browser::new(&app.base);
    sign_in(&app, &idp, &again).await;
    let res = again
        .client
        .get(format!("{slo}?{here}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        again.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    assert!(
        app.audit("default")
            .await
            .iter()
            .any(|e| e.action == "upstream_logout" && e.outcome == "replayed")
    );
}

#[tokio::test]
async fn a_transient_name_id_is_refused() {
    let (app, idp) = with_idp(&[("SAML_IDP_NAME_ID_FORMAT", "transient")]).await;
    let before = user_count(&app).await;
    let b = Browser::new(&app.base);
    let res = to_acs(&app, &idp, &b, "shib").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("transient"));
    assert_refused(&app, "transient_name_id", 1).await;
    assert_eq!(user_count(&app).await, before, "no account");
    assert!(b.cookie("ww-session-default").is_none());
}

#[tokio::test]
async fn the_answer_signs_in_only_the_browser_that_left() {
    let (app, idp) = with_idp(&[]).await;
    let b = Browser::new(&app.base);
    let res = to_acs(&app, &idp, &b, "shib").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    // Someone else's browser led to the continuation (a login CSRF): no flow cookie, refused,
    // and nobody is created or signed in.
    let thief = Browser::new(&app.base);
    let res = thief.get(&location(&res)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(thief.cookie("ww-session-default").is_none());
    assert_refused(&app, "state_mismatch", 1).await;
    assert!(user_named(&app, "alice").await.is_none());
}

// --- The attack corpus through HTTP ------------------------------------------------------------

/// The fixtures' IdP (make.py's `IDP`); the corpus is signed with the fixtures' IdP key.
const CORPUS_IDP: &str = "https://idp.example.org/metadata";

/// The corpus's fixed times: valid from 09:59 to 10:05 on 2030-01-01.
fn corpus_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 10, 1, 0).unwrap()
}

/// A server at the corpus's time with SAML provider `slug` trusting the fixtures' IdP.
async fn corpus_app(slug: &str, tweak: impl FnOnce(&mut IdpSettings)) -> TestApp {
    let app = TestApp::start().await;
    app.clock.set(corpus_now());
    let mut s = settings(CORPUS_IDP, "https://idp.example.org/sso", None);
    tweak(&mut s);
    create_idp(&app, slug, IdpKind::Saml, s, None).await;
    app
}

/// A started flow: (RelayState, AuthnRequest ID).
async fn started(b: &Browser, slug: &str) -> (String, String) {
    let res = b.get(&format!("/t/default/idp/{slug}/start")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let xml = inflate(&query_param(&to, "SAMLRequest"));
    (query_param(&to, "RelayState"), xml_attr(&xml, "ID"))
}

fn inflate(b64: &str) -> String {
    let raw = STANDARD.decode(b64).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// The first `name="…"` attribute of a document (the root's, for our messages).
fn xml_attr(xml: &str, name: &str) -> String {
    let marker = format!(" {name}=\"");
    let start = xml
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {xml}"))
        + marker.len();
    xml[start..start + xml[start..].find('"').unwrap()].to_owned()
}

/// The corpus signed by make.py for provider `slug` of `app` and request `request_id`.
struct Corpus(tempfile::TempDir);

impl Corpus {
    fn make(app: &TestApp, slug: &str, request_id: &str) -> Corpus {
        require_python("lxml");
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(PYTHON)
            .arg(fixtures().join("make.py"))
            .arg("--target")
            .arg(dir.path())
            .arg(CORPUS_IDP)
            .arg(app.url(&format!("/t/default/saml/{slug}/metadata")))
            .arg(app.url(&format!("/t/default/idp/{slug}/saml/acs")))
            .arg(request_id)
            .output()
            .expect("run make.py");
        assert!(
            out.status.success(),
            "make.py --target failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Corpus(dir)
    }

    /// A fixture as the IdP's form sends it (base64).
    fn encoded(&self, name: &str) -> String {
        let xml = std::fs::read(self.0.path().join(format!("{name}.xml")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        STANDARD.encode(xml)
    }
}

async fn post_acs(app: &TestApp, slug: &str, response: &str, relay: &str) -> reqwest::Response {
    let mut form = vec![("SAMLResponse", response)];
    if !relay.is_empty() {
        form.push(("RelayState", relay));
    }
    cross_site()
        .post(app.url(&format!("/t/default/idp/{slug}/saml/acs")))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn user_count(app: &TestApp) -> usize {
    watchword::admin::users::list(&app.app.ctx, &app.tenant("default").await)
        .await
        .unwrap()
        .len()
}

/// The tenant's `federated_sign_in_failed` events number `total`, at least one with outcome
/// `code`.
async fn assert_refused(app: &TestApp, code: &str, total: usize) {
    let events = app.audit("default").await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.action == "federated_sign_in_failed")
        .collect();
    assert_eq!(failed.len(), total, "{failed:?}");
    assert!(
        failed.iter().any(|e| e.outcome == code),
        "no {code} among {failed:?}"
    );
}

/// Each fixture and the code it is refused with at the ACS (solicited: InResponseTo is the
/// request of the flow the test started).
const ATTACKS: &[(&str, &str)] = &[
    // XML signature wrapping (SAML Raider's XSW1-8) and misplaced assertions.
    ("xsw1", "duplicate_id"),
    ("xsw2", "misplaced_element"),
    ("xsw3", "assertion_count"),
    ("xsw4", "assertion_count"),
    ("xsw5", "assertion_count"),
    ("xsw6", "assertion_count"),
    ("xsw7", "assertion_count"),
    ("xsw8", "assertion_count"),
    ("assertion_in_extensions", "misplaced_element"),
    ("assertion_in_advice", "assertion_count"),
    ("unsigned_beside_signed", "assertion_count"),
    ("duplicate_ids", "duplicate_id"),
    // Values read wrongly, signatures broken or missing.
    ("nameid_comment", "malformed_value"),
    ("tampered", "signature_invalid"),
    ("attacker_key", "signature_invalid"),
    ("reference_mismatch", "reference_mismatch"),
    ("signature_removed", "signature_missing"),
    // Properly signed, but not for us or not now.
    ("missing_conditions", "conditions_missing"),
    ("no_authn_statement", "authn_statement_missing"),
    ("wrong_recipient", "recipient_mismatch"),
    ("wrong_audience", "audience_mismatch"),
    ("wrong_destination", "destination_mismatch"),
    ("missing_destination_signed", "destination_mismatch"),
    ("expired", "expired"),
    ("not_yet_valid", "not_yet_valid"),
    ("wrong_issuer", "issuer_mismatch"),
    ("in_response_to_mismatch", "in_response_to_mismatch"),
    ("valid_unsolicited", "in_response_to_mismatch"),
    ("status_not_success", "status_not_success"),
    // Algorithms and markup.
    ("sha1", "forbidden_algorithm"),
    ("hmac", "forbidden_algorithm"),
    ("xpath_transform", "forbidden_algorithm"),
    ("c14n_with_comments", "forbidden_algorithm"),
    ("doctype_entity", "forbidden_markup"),
    ("processing_instruction", "forbidden_markup"),
];

#[tokio::test]
async fn every_attack_of_the_corpus_is_refused_at_the_acs_with_its_code() {
    let app = corpus_app("corp", |_| {}).await;
    let b = Browser::new(&app.base);
    let (relay, request_id) = started(&b, "corp").await;
    let corpus = Corpus::make(&app, "corp", &request_id);
    let users = user_count(&app).await;
    for (i, (name, code)) in ATTACKS.iter().enumerate() {
        let res = post_acs(&app, "corp", &corpus.encoded(name), &relay).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(
            res.headers().get("set-cookie").is_none(),
            "{name}: no cookie"
        );
        let events = app.audit("default").await;
        let failed: Vec<_> = events
            .iter()
            .filter(|e| e.action == "federated_sign_in_failed")
            .collect();
        assert_eq!(failed.len(), i + 1, "{name}: one event each");
        let with_code = |c: &str| failed.iter().filter(|e| e.outcome == c).count();
        let before = ATTACKS[..i].iter().filter(|(_, c)| c == code).count();
        assert_eq!(
            with_code(code),
            before + 1,
            "{name} refused as {code}: {failed:?}"
        );
        assert!(
            failed
                .iter()
                .all(|e| e.details.contains("\"idp\":\"corp\"")),
            "{failed:?}"
        );
    }
    assert_eq!(user_count(&app).await, users, "no account made");
    assert!(user_named(&app, "admin@example.com").await.is_none());
    let events = app.audit("default").await;
    assert!(
        !events.iter().any(|e| e.action == "sign_in"),
        "no sign-in: {events:?}"
    );

    // The flow is still the browser's: the genuine response, made for the same request by the
    // same script, signs it in (the corpus was refused for its defects, not its addresses).
    let res = post_acs(
        &app,
        "corp",
        &corpus.encoded("valid_assertion_signed"),
        &relay,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let res = b.get(&location(&res)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert!(b.cookie("ww-session-default").is_some());
    assert_eq!(user_count(&app).await, users + 1);
}

#[tokio::test]
async fn a_valid_response_is_accepted_once() {
    let app = corpus_app("corp", |_| {}).await;
    let b = Browser::new(&app.base);
    let (relay, request_id) = started(&b, "corp").await;
    let corpus = Corpus::make(&app, "corp", &request_id);
    let response = corpus.encoded("valid_both_signed");
    let res = post_acs(&app, "corp", &response, &relay).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let continue_at = location(&res);
    // The same response again (an attacker who saw the form, or the back button): refused.
    let res = post_acs(&app, "corp", &response, &relay).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_refused(&app, "replayed", 1).await;
    // Another shape with the same Response and Assertion IDs is the same assertion again.
    let res = post_acs(
        &app,
        "corp",
        &corpus.encoded("valid_assertion_signed"),
        &relay,
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_refused(&app, "replayed", 2).await;
    // The first acceptance still signs its browser in, once.
    let res = b.get(&continue_at).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert_eq!(location(&res), "/t/default/");
    assert!(b.cookie("ww-session-default").is_some());
    let other = Browser::new(&app.base);
    assert_eq!(
        other.get(&continue_at).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(other.cookie("ww-session-default").is_none());
    let events = app.audit("default").await;
    assert_eq!(signed_in_through(&events, "corp"), 1, "{events:?}");
}

#[tokio::test]
async fn unsolicited_responses_only_where_allowed_and_never_to_a_disabled_provider() {
    // `corp` may not receive unsolicited responses; `open` may.
    let app = corpus_app("corp", |_| {}).await;
    let mut open = settings(CORPUS_IDP, "https://idp.example.org/sso", None);
    open.saml.as_mut().unwrap().allow_unsolicited = true;
    create_idp(&app, "open", IdpKind::Saml, open, None).await;
    let users = user_count(&app).await;

    let corpus = Corpus::make(&app, "corp", "_unused");
    let res = post_acs(&app, "corp", &corpus.encoded("valid_unsolicited"), "").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_refused(&app, "unsolicited", 1).await;
    // A RelayState naming no flow is no better.
    let res = post_acs(
        &app,
        "corp",
        &corpus.encoded("valid_unsolicited"),
        "not-a-flow",
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let failed = app
        .audit("default")
        .await
        .into_iter()
        .filter(|e| e.action == "federated_sign_in_failed" && e.outcome == "unsolicited")
        .count();
    assert_eq!(failed, 2);

    // Where allowed: an unsolicited response signs in without any flow (IdP-initiated), but
    // one answering a request is refused (it answers a request this browser did not make).
    let open_corpus = Corpus::make(&app, "open", "_unused");
    let res = post_acs(
        &app,
        "open",
        &open_corpus.encoded("valid_assertion_signed"),
        "",
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_refused(&app, "unexpected_in_response_to", 3).await;
    let b = Browser::new(&app.base);
    let res = post_acs(&app, "open", &open_corpus.encoded("valid_unsolicited"), "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let res = b.get(&location(&res)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert!(b.cookie("ww-session-default").is_some());
    assert_eq!(user_count(&app).await, users + 1);

    // The same provider disabled: refused before anything is read.
    let tenant = app.tenant("default").await;
    let mut stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "open")
        .await
        .unwrap()
        .idp;
    stored.enabled = false;
    watchword::admin::idps::update(
        &app.app.ctx,
        &tenant,
        stored,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let res = post_acs(&app, "open", &open_corpus.encoded("valid_unsolicited"), "").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_refused(&app, "provider_disabled", 4).await;
    assert_eq!(user_count(&app).await, users + 1);
}

#[tokio::test]
async fn without_a_usable_certificate_nothing_is_accepted() {
    // `pem`: the operator pasted the PEM armour (not base64 DER): refused when saved, so it is
    // planted behind validation's back, like `none`, a stored provider whose certificates were
    // emptied.
    let app = corpus_app("pem", |s| {
        s.saml.as_mut().unwrap().allow_unsolicited = true;
    })
    .await;
    let tenant = app.tenant("default").await;
    let mut pem = settings(CORPUS_IDP, "https://idp.example.org/sso", None);
    pem.saml.as_mut().unwrap().signing_certs = vec![format!(
        "-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----",
        idp_cert()
    )];
    let refused = watchword::admin::idps::update(
        &app.app.ctx,
        &tenant,
        watchword::domain::idp::IdentityProvider {
            settings: pem.clone(),
            ..watchword::admin::idps::get(&app.app.ctx, &tenant, "pem")
                .await
                .unwrap()
                .idp
        },
        None,
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await;
    assert!(refused.is_err(), "PEM armour is refused when saved");
    let mut planted = watchword::admin::idps::get(&app.app.ctx, &tenant, "pem")
        .await
        .unwrap()
        .idp;
    planted.settings.saml.as_mut().unwrap().signing_certs = pem.saml.unwrap().signing_certs;
    let now = corpus_now().timestamp();
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::idps::update(c, &planted, None, now))
        .await
        .unwrap();
    let mut none = settings(CORPUS_IDP, "https://idp.example.org/sso", None);
    none.saml.as_mut().unwrap().allow_unsolicited = true;
    create_idp(&app, "none", IdpKind::Saml, none, None).await;
    let mut stored = watchword::admin::idps::get(&app.app.ctx, &tenant, "none")
        .await
        .unwrap()
        .idp;
    stored.settings.saml.as_mut().unwrap().signing_certs.clear();
    let now = corpus_now().timestamp();
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::idps::update(c, &stored, None, now))
        .await
        .unwrap();
    let users = user_count(&app).await;
    for (i, slug) in ["pem", "none"].into_iter().enumerate() {
        let corpus = Corpus::make(&app, slug, "_unused");
        let res = post_acs(&app, slug, &corpus.encoded("valid_unsolicited"), "").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{slug}");
        assert_refused(&app, "no_trusted_certificate", i + 1).await;
    }
    assert_eq!(user_count(&app).await, users);
}

#[tokio::test]
async fn signing_out_here_sends_the_browser_on_to_the_idps_single_logout() {
    let (app, idp) = with_idp(&[]).await;
    let b = Browser::new(&app.base);
    sign_in(&app, &idp, &b).await;
    let csrf = b.csrf("/t/default/logout").await;
    let res = b
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/slo/redirect?SAMLRequest=", idp.base)),
        "{to}"
    );
    let request = inflate(&query_param(&to, "SAMLRequest"));
    assert!(
        request.contains("LogoutRequest") && request.contains("alice-7c1e"),
        "{request}"
    );
    assert!(
        request.contains("SessionIndex"),
        "names the IdP's session: {request}"
    );
    assert_eq!(
        b.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER,
        "signed out here already"
    );
    // The IdP's answer comes back to our logout endpoint: the signed-out page.
    let res = b
        .get("/t/default/idp/shib/saml/slo?SAMLResponse=anything")
        .await;
    assert_eq!(location(&res), "/t/default/signed-out");
}

#[tokio::test]
async fn a_burst_of_one_response_is_accepted_exactly_once() {
    let app = corpus_app("corp", |_| {}).await;
    let b = Browser::new(&app.base);
    let (relay, request_id) = started(&b, "corp").await;
    let corpus = Corpus::make(&app, "corp", &request_id);
    let response = corpus.encoded("valid_both_signed");
    let statuses = futures_util::future::join_all(
        (0..8).map(|_| async { post_acs(&app, "corp", &response, &relay).await.status() }),
    )
    .await;
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(accepted, 1, "{statuses:?}");
    assert_refused(&app, "replayed", 7).await;
}
