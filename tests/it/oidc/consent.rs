//! Remembered consent under concurrency: two tabs approving at the same moment both get their
//! code and the remembered scopes are the union; a failure to remember is a `server_error`
//! redirect that the server logs with its cause and request id.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use watchword::domain::ids::UserId;

use crate::common::browser::location;
use crate::common::oidc::{REDIRECT_URI, register};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field, logs};

/// Opens the authorization request of `client_id` for `scope` in a signed-in browser, as a new
/// tab would, and returns the consent page's pending id and CSRF token.
async fn consent_page(b: &Browser, client_id: &str, scope: &str) -> (String, String) {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("state", "tab"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let res = b.get(&format!("/t/default/authorize?{query}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let target = location(&res);
    assert!(target.contains("/authorize/consent?id="), "{target}");
    let page = b.get(&target).await.text().await.unwrap();
    (
        hidden_field(&page, "id").unwrap(),
        hidden_field(&page, "csrf_token").unwrap(),
    )
}

/// Approves a pending request: the redirect back to the client and the response headers.
async fn allow(b: &Browser, id: &str, csrf: &str) -> (String, HeaderMap) {
    let res = b
        .post_form(
            "/t/default/authorize/consent",
            &[("csrf_token", csrf), ("id", id), ("decision", "allow")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    (location(&res), res.headers().clone())
}

async fn user_id(app: &TestApp, name: &str) -> UserId {
    let tenant = app.tenant("default").await;
    watchword::admin::users::get(&app.app.ctx, &tenant, name)
        .await
        .unwrap()
        .user
        .id
}

/// 20 pairs of first consents, each pair two tabs approving at the same moment (on PostgreSQL
/// 16 of 20 pairs used to end in `server_error`, a duplicate key): every answer is a code, and
/// the remembered consent holds the scopes of both tabs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_consents_all_succeed_and_merge_their_scopes() {
    let app = TestApp::start().await;
    app.create_user("default", "tess", GOOD_PASSWORD).await;
    let user = user_id(&app, "tess").await;
    let tenant = app.tenant("default").await;
    let b = app.browser();
    b.sign_in("default", "tess", GOOD_PASSWORD).await;
    for pair in 0..20 {
        let client_id = format!("tp{pair}");
        register(&app, "default", &client_id, |c| {
            c.settings.first_party = false
        })
        .await;
        let (id1, csrf1) = consent_page(&b, &client_id, "openid profile").await;
        let (id2, csrf2) = consent_page(&b, &client_id, "openid email").await;
        let ((back1, _), (back2, _)) =
            tokio::join!(allow(&b, &id1, &csrf1), allow(&b, &id2, &csrf2));
        for back in [&back1, &back2] {
            assert!(
                back.starts_with(REDIRECT_URI) && back.contains("code="),
                "pair {pair}: {back}"
            );
        }
        let stored = app
            .app
            .ctx
            .db
            .run({
                let client_id = client_id.clone();
                move |c| watchword::storage::consents::get(c, tenant.id, user, &client_id)
            })
            .await
            .unwrap()
            .unwrap();
        let mut stored = stored.clone();
        stored.sort();
        assert_eq!(stored, ["email", "openid", "profile"], "pair {pair}");
    }
}

/// A consent that cannot be remembered sends `error=server_error` to the client, and the server
/// logs that failure at error level with its cause and the request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_sent_by_redirect_is_logged_with_cause_and_request_id() {
    let Some(logs) = logs::capture() else {
        eprintln!("skipped: another log subscriber is installed in this process");
        return;
    };
    let app = TestApp::start().await;
    app.create_user("default", "uma", GOOD_PASSWORD).await;
    register(&app, "default", "tp", |c| c.settings.first_party = false).await;
    let b = app.browser();
    b.sign_in("default", "uma", GOOD_PASSWORD).await;
    let (id, csrf) = consent_page(&b, "tp", "openid").await;
    // The consents table goes away under the server.
    app.app
        .ctx
        .db
        .run(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("ALTER TABLE consents RENAME TO consents_gone").execute(c)?;
            Ok(())
        })
        .await
        .unwrap();

    let (back, headers) = allow(&b, &id, &csrf).await;
    assert!(
        back.starts_with(REDIRECT_URI) && back.contains("error=server_error"),
        "{back}"
    );
    let request_id = headers["x-request-id"].to_str().unwrap();
    let lines = logs.of_request(request_id);
    let failure = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no error line for request {request_id}: {lines:#?}"));
    assert_eq!(failure["fields"]["request_id"], request_id, "{failure}");
    assert_eq!(failure["fields"]["error"], "server_error", "{failure}");
    assert!(
        failure["fields"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("consents")),
        "the cause names what failed: {failure}"
    );
}
