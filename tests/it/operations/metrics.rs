//! Where `/metrics` is served and who may read it (`[metrics] listen` and `token`).

use crate::common::TestApp;
use crate::common::oidc::plain_client;

const TOKEN: &str = "scrape-me-0123456789";

/// Some traffic first, so there is something to read.
async fn traffic(app: &TestApp) {
    assert_eq!(get(app.url("/healthz"), None).await.0, 200);
}

async fn get(url: String, bearer: Option<&str>) -> (u16, String, Option<String>) {
    let mut req = plain_client().get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, res.text().await.unwrap(), challenge)
}

#[tokio::test]
async fn by_default_metrics_are_on_the_main_listener_without_a_token() {
    let app = TestApp::start().await;
    traffic(&app).await;
    let (status, body, _) = get(app.url("/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(body.contains("watchword_"), "{body}");
    assert!(app.metrics_base.is_none());
}

#[tokio::test]
async fn a_token_is_required_when_configured() {
    let app = TestApp::builder()
        .tweak(|c| c.metrics.token = Some(watchword::domain::secret::Secret::new(TOKEN.into())))
        .start()
        .await;
    traffic(&app).await;
    for bearer in [
        None,
        Some("wrong-token-0123456789"),
        Some("scrape-me-012345678"),
    ] {
        let (status, body, challenge) = get(app.url("/metrics"), bearer).await;
        assert_eq!(status, 401, "{bearer:?}");
        assert!(!body.contains("watchword_"), "nothing leaks: {body}");
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"metrics\""));
    }
    let (status, body, _) = get(app.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("watchword_http_request_duration_seconds"),
        "{body}"
    );
}

#[tokio::test]
async fn a_separate_listener_takes_metrics_off_the_public_one() {
    let app = TestApp::builder()
        .tweak(|c| {
            c.metrics.listen = "127.0.0.1:0".into();
            c.metrics.token = Some(watchword::domain::secret::Secret::new(TOKEN.into()));
        })
        .start()
        .await;
    traffic(&app).await;
    let (status, body, _) = get(app.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(
        status, 404,
        "not on the public listener, even with the token"
    );
    assert!(!body.contains("watchword_"));
    let own = app.metrics_base.clone().expect("a metrics listener");
    assert_eq!(get(format!("{own}/metrics"), None).await.0, 401);
    let (status, body, _) = get(format!("{own}/metrics"), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(body.contains("watchword_"), "{body}");
    // Only /metrics lives there.
    assert_eq!(
        get(format!("{own}/t/default/login"), Some(TOKEN)).await.0,
        404
    );
    assert_eq!(get(format!("{own}/healthz"), Some(TOKEN)).await.0, 404);
}
