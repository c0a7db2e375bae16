//! Continuous evaluation (`watchword::auth::continuous`): a refresh token or a browser session
//! used from both another network (country, or ASN) and another device than it was issued to.
//! Places come from the `.mmdb` fixtures (192.0.2.0/24 Paris, 198.51.100.0/24 Sydney,
//! 203.0.113.0/24 Berlin, 2001:db8::/32 New York, each /24 its own ASN, two /48s of 2001:db8 two
//! ASNs); client addresses come through `X-Forwarded-For` from the trusted loopback proxy.

use reqwest::StatusCode;
use serde_json::Value;
use watchword::domain::audit::Actor;
use watchword::domain::risk::OnChange;
use watchword::storage::risk::{Filter, SignInEvent};

use super::fixtures;
use crate::common::browser::location;
use crate::common::oidc::{REDIRECT_URI, Registered, authorize, param, plain_client, register};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const PARIS: &str = "192.0.2.10";
const PARIS_2: &str = "192.0.2.200";
const SYDNEY: &str = "198.51.100.7";
const BERLIN: &str = "203.0.113.9";
const NY_A: &str = "2001:db8:1::10";
const NY_B: &str = "2001:db8:2::10";
const INTERNAL: &str = "10.1.2.3";
const SESSION_COOKIE: &str = "ww-session-default";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A server that places the documentation ranges, trusts 127.0.0.1 as its proxy, with user
/// `ada`; the tenant's risk policy changed by `policy`.
async fn app(
    policy: impl FnOnce(&mut watchword::domain::risk::RiskPolicy),
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (city, asn) = (dir.path().join("city.mmdb"), dir.path().join("asn.mmdb"));
    fixtures::write_city(&city, 1_700_000_000, &fixtures::usual());
    fixtures::write_asn(
        &asn,
        1_700_000_000,
        &[
            ("192.0.2.0/24", 64496, "Example Paris Net"),
            ("198.51.100.0/24", 64500, "Example Sydney Net"),
            ("203.0.113.0/24", 64510, "Example Berlin Net"),
            ("2001:db8:1::/48", 64511, "Example New York A"),
            ("2001:db8:2::/48", 64512, "Example New York B"),
        ],
    );
    let app = TestApp::builder()
        .tweak(move |c| {
            c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            c.risk.geoip_database = Some(city);
            c.risk.geoip_asn_database = Some(asn);
        })
        .start()
        .await;
    let tenant = app.tenant("default").await;
    let mut p = tenant.policy.clone();
    policy(&mut p.risk);
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(p),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    app.create_user("default", "ada", GOOD_PASSWORD).await;
    (app, dir)
}

/// A browser at `ip` with `ua`, signed in as ada.
async fn signed_in(app: &TestApp, ua: &str, ip: &str) -> Browser {
    let b = Browser::at(&app.base, ua, ip);
    let res = b.sign_in("default", "ada", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in");
    assert!(b.cookie(SESSION_COOKIE).is_some());
    b
}

/// Another browser (`ua` at `ip`) holding `from`'s session cookie.
fn with_cookie_of(app: &TestApp, from: &Browser, ua: &str, ip: &str) -> Browser {
    let b = Browser::at(&app.base, ua, ip);
    b.set_cookie(SESSION_COOKIE, &from.cookie(SESSION_COOKIE).unwrap());
    b
}

/// Grants ada's code for `c` in `b` and exchanges it from `ua` at `ip`: the token response.
async fn tokens(app: &TestApp, b: &Browser, c: &Registered, ua: &str, ip: &str) -> Value {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", &c.client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "s")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let url = app.url(&format!("/t/default/authorize?{}", q.finish()));
    let back = authorize(b, &url, Some(("ada", GOOD_PASSWORD))).await;
    let code = param(&back, "code").expect("a code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(app, c, &form, ua, ip).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// POSTs to the token endpoint as `c`, from `ua` at `ip`.
async fn token(
    app: &TestApp,
    c: &Registered,
    form: &[(&str, &str)],
    ua: &str,
    ip: &str,
) -> (u16, Value) {
    let res = plain_client()
        .post(app.url("/t/default/token"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn refresh(app: &TestApp, c: &Registered, rt: &str, ua: &str, ip: &str) -> (u16, Value) {
    token(
        app,
        c,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        ua,
        ip,
    )
    .await
}

/// Refreshes and expects success: the next refresh token.
async fn refreshed(app: &TestApp, c: &Registered, rt: &str, ua: &str, ip: &str) -> String {
    let (status, body) = refresh(app, c, rt, ua, ip).await;
    assert_eq!(status, 200, "refresh from {ip}: {body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn introspect(app: &TestApp, c: &Registered, token: &str) -> bool {
    let res = plain_client()
        .post(app.url("/t/default/introspect"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    res.json::<Value>().await.unwrap()["active"] == true
}

/// The tenant's continuous-evaluation events, newest first.
async fn continuous_events(app: &TestApp) -> Vec<SignInEvent> {
    let tenant = app.tenant("default").await;
    let events = app
        .app
        .ctx
        .db
        .run(move |c| {
            watchword::storage::risk::list(
                c,
                tenant.id,
                &Filter {
                    limit: 100,
                    ..Filter::default()
                },
            )
        })
        .await
        .unwrap();
    events
        .into_iter()
        .filter(|e| e.kind == "continuous")
        .collect()
}

fn audited(audit: &[watchword::storage::audit::AuditRow], action: &str, outcome: &str) -> usize {
    audit
        .iter()
        .filter(|e| e.action == action && e.outcome == outcome)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_from_another_country_and_device_is_refused_and_revokes_the_family() {
    let (app, _dir) = app(|_| {}).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    let first = tokens(&app, &b, &c, FIREFOX, PARIS).await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    // From the baseline: fine, and the family goes on.
    let (status, second) = refresh(&app, &c, rt1, FIREFOX, PARIS_2).await;
    assert_eq!(status, 200, "{second}");
    let (rt2, at2) = (
        second["refresh_token"].as_str().unwrap(),
        second["access_token"].as_str().unwrap(),
    );

    let (status, body) = refresh(&app, &c, rt2, CHROME, SYDNEY).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // The family is revoked: the token the application holds is dead, and so is its access.
    let (status, body) = refresh(&app, &c, rt2, FIREFOX, PARIS).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(!introspect(&app, &c, rt2).await);
    assert!(
        !introspect(&app, &c, at2).await,
        "the family's access token"
    );

    let events = continuous_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        (e.level.as_str(), e.decision.as_str(), e.result.as_str()),
        ("high", "reauthenticate", "reauthenticate")
    );
    assert!(e.enforced);
    assert_eq!(
        (e.ip.as_str(), e.country.as_deref(), e.asn),
        (SYDNEY, Some("AU"), Some(64500))
    );
    assert_eq!(e.device, "Chrome on Windows");
    let reasons: Value = serde_json::from_str(&e.reasons).unwrap();
    assert_eq!(reasons[0]["code"], "context_changed");
    assert_eq!(reasons[0]["details"]["network"], "country");
    assert_eq!(reasons[0]["details"]["from"]["device"], "Firefox on Linux");
    assert_eq!(reasons[0]["details"]["from"]["ip"], PARIS);

    let audit = app.audit("default").await;
    let risk = audit
        .iter()
        .find(|e| e.action == "context_changed")
        .expect("audited");
    assert_eq!(risk.outcome, "risk_reauthenticate");
    assert_eq!(risk.ip.as_deref(), Some(SYDNEY));
    let details: Value = serde_json::from_str(&risk.details).unwrap();
    assert_eq!(details["where"], "refresh");
    assert_eq!(details["risk_event"], e.id.as_str());
    assert_eq!(details["client"], "app");

    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("watchword_risk_continuous_total")
                && l.contains("where=\"refresh\"")
                && l.contains("result=\"reauthenticate\"")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_from_only_another_network_or_only_another_device_works() {
    let (app, _dir) = app(|_| {}).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    let first = tokens(&app, &b, &c, FIREFOX, PARIS).await;
    let mut rt = first["refresh_token"].as_str().unwrap().to_owned();
    // Only the network: the same browser travelling.
    for ip in [SYDNEY, BERLIN, NY_A] {
        rt = refreshed(&app, &c, &rt, FIREFOX, ip).await;
    }
    // Only the device: another browser on the grant's network.
    rt = refreshed(&app, &c, &rt, CHROME, PARIS_2).await;
    refreshed(&app, &c, &rt, CHROME, PARIS).await;
    assert!(continuous_events(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_asn_in_the_same_country_with_another_device_counts() {
    let (app, _dir) = app(|_| {}).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, NY_A).await;
    let first = tokens(&app, &b, &c, FIREFOX, NY_A).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&app, &c, rt, CHROME, NY_B).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let events = continuous_events(&app).await;
    let reasons: Value = serde_json::from_str(&events[0].reasons).unwrap();
    assert_eq!(reasons[0]["details"]["network"], "asn");
    assert_eq!(reasons[0]["details"]["to"]["asn"], 64512);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_change_off_a_changed_refresh_works_and_is_recorded_once() {
    let (app, _dir) = app(|p| p.on_change = OnChange::Off).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    let first = tokens(&app, &b, &c, FIREFOX, PARIS).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let rt = refreshed(&app, &c, rt, CHROME, SYDNEY).await;
    refreshed(&app, &c, &rt, CHROME, SYDNEY).await;

    let events = continuous_events(&app).await;
    assert_eq!(events.len(), 1, "once per grant: {events:?}");
    let e = &events[0];
    assert_eq!(
        (
            e.level.as_str(),
            e.decision.as_str(),
            e.result.as_str(),
            e.enforced
        ),
        ("high", "allow", "recorded", false)
    );
    let audit = app.audit("default").await;
    assert_eq!(audited(&audit, "context_changed", "risk_recorded"), 1);
    assert_eq!(audited(&audit, "context_changed", "risk_reauthenticate"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_used_from_another_network_and_device_must_sign_in_again() {
    let (app, _dir) = app(|_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    assert_eq!(b.get("/t/default/account").await.status(), StatusCode::OK);
    // Another device on the same network, the same device on another network: still signed in.
    for (ua, ip) in [(CHROME, PARIS_2), (FIREFOX, SYDNEY), (FIREFOX, BERLIN)] {
        let other = with_cookie_of(&app, &b, ua, ip);
        let res = other.get("/t/default/account").await;
        assert_eq!(res.status(), StatusCode::OK, "{ua} at {ip}");
    }
    assert!(continuous_events(&app).await.is_empty());

    // The cookie in another browser in another country: the session ends.
    let thief = with_cookie_of(&app, &b, CHROME, SYDNEY);
    let res = thief.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/t/default/session-ended"),
        "{}",
        location(&res)
    );
    // The browser it was signed in on must sign in again too, and is told why.
    let res = b.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let ended = location(&res);
    assert!(ended.starts_with("/t/default/session-ended"), "{ended}");
    let status: Value = b
        .get("/t/default/session/status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["active"], false);
    assert_eq!(status["reason"], "risk_reauthenticate");
    let page = b.get(&ended).await.text().await.unwrap();
    assert!(
        page.contains("another network and another device"),
        "{page}"
    );
    // The page deleted the cookie: next stop, the sign-in page.
    let res = b.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).contains("/t/default/login"),
        "{}",
        location(&res)
    );

    let events = continuous_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].decision.as_str(), events[0].result.as_str()),
        ("reauthenticate", "reauthenticate")
    );
    let audit = app.audit("default").await;
    assert_eq!(audited(&audit, "session_ended", "risk_reauthenticate"), 1);
    let risk = audit
        .iter()
        .find(|e| e.action == "context_changed")
        .unwrap();
    assert_eq!(risk.outcome, "risk_reauthenticate");
    let details: Value = serde_json::from_str(&risk.details).unwrap();
    assert_eq!(details["where"], "session");
    assert_eq!(details["changed"]["to"]["country"], "AU");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_for_risk_takes_its_grants() {
    let (app, _dir) = app(|_| {}).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    let first = tokens(&app, &b, &c, FIREFOX, PARIS).await;
    let thief = with_cookie_of(&app, &b, CHROME, SYDNEY);
    assert_eq!(
        thief.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER
    );
    // Offline access too: the session was ended against its holder.
    let rt = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&app, &c, rt, FIREFOX, PARIS).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_change_off_or_audit_only_a_session_goes_on_and_is_recorded_once() {
    for (off, audit_only) in [(true, false), (false, true)] {
        let (app, _dir) = app(move |p| {
            if off {
                p.on_change = OnChange::Off;
            }
            p.audit_only = audit_only;
        })
        .await;
        let b = signed_in(&app, FIREFOX, PARIS).await;
        let other = with_cookie_of(&app, &b, CHROME, SYDNEY);
        for _ in 0..3 {
            assert_eq!(
                other.get("/t/default/account").await.status(),
                StatusCode::OK
            );
        }
        assert_eq!(b.get("/t/default/account").await.status(), StatusCode::OK);
        let events = continuous_events(&app).await;
        assert_eq!(events.len(), 1, "once per session: {events:?}");
        let decision = if off { "allow" } else { "reauthenticate" };
        assert_eq!(
            (
                events[0].decision.as_str(),
                events[0].result.as_str(),
                events[0].enforced
            ),
            (decision, "recorded", false)
        );
        let audit = app.audit("default").await;
        assert_eq!(audited(&audit, "context_changed", "risk_recorded"), 1);
        assert_eq!(audited(&audit, "session_ended", "risk_reauthenticate"), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_never_count() {
    let (app, _dir) = app(|_| {}).await;
    // A session signed in on an internal network, then used from Sydney on another device.
    let b = signed_in(&app, FIREFOX, INTERNAL).await;
    let other = with_cookie_of(&app, &b, CHROME, SYDNEY);
    assert_eq!(
        other.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    // And the other way round.
    let b = signed_in(&app, FIREFOX, SYDNEY).await;
    let other = with_cookie_of(&app, &b, CHROME, "192.168.1.20");
    assert_eq!(
        other.get("/t/default/account").await.status(),
        StatusCode::OK
    );

    // A grant exchanged from an internal address, refreshed from Paris on another device.
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    let first = tokens(&app, &b, &c, FIREFOX, INTERNAL).await;
    let rt = refreshed(
        &app,
        &c,
        first["refresh_token"].as_str().unwrap(),
        CHROME,
        SYDNEY,
    )
    .await;
    refreshed(&app, &c, &rt, FIREFOX, "100.64.3.4").await;
    assert!(continuous_events(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_risk_scoring_off_nothing_is_evaluated() {
    let (app, _dir) = app(|p| p.enabled = false).await;
    let c = register(&app, "default", "app", |_| {}).await;
    let b = signed_in(&app, FIREFOX, PARIS).await;
    let first = tokens(&app, &b, &c, FIREFOX, PARIS).await;
    refreshed(
        &app,
        &c,
        first["refresh_token"].as_str().unwrap(),
        CHROME,
        SYDNEY,
    )
    .await;
    let other = with_cookie_of(&app, &b, CHROME, SYDNEY);
    assert_eq!(
        other.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    assert!(continuous_events(&app).await.is_empty());
}
