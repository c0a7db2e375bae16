//! htmx on the management UI: the vendored script is served under the CSP (`script-src 'self'`,
//! no inline script); a request with `HX-Request` gets just the rows (users list, sessions
//! typeahead), the same address without it the full page.

use reqwest::StatusCode;

use super::{ada, html, person};
use crate::common::{Browser, TestApp};

async fn hx(b: &Browser, path: &str) -> String {
    let res = b
        .client
        .get(b.url(path))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert_eq!(res.headers()["vary"], "HX-Request");
    res.text().await.unwrap()
}

#[tokio::test]
async fn htmx_requests_get_fragments_and_plain_requests_full_pages() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    for i in 0..55 {
        person(&app, "default", &format!("user{i:02}"), None).await;
    }

    let full = html(&ada, "/t/default/admin/users?q=user").await;
    assert!(full.contains("<nav class=\"admin-nav\""));
    assert!(full.contains("<script src=\"/static/js/htmx.min.js\" defer></script>"));
    assert!(full.contains("hx-trigger=\"keyup changed delay:300ms, search\""));
    assert!(!full.contains("<script>"), "no inline script");
    let rows = hx(&ada, "/t/default/admin/users?q=user").await;
    assert!(
        !rows.contains("<nav") && !rows.contains("<html"),
        "just the rows"
    );
    assert_eq!(rows.matches("<tr>").count(), 50);
    assert!(
        rows.contains("id=\"users-more\""),
        "a Next row that loads in place"
    );
    let next = rows
        .split("hx-get=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let more = hx(&ada, &next).await;
    assert_eq!(more.matches("<tr>").count(), 5);
    assert!(more.contains("user54") && !more.contains("users-more"));
    // The Next link without JavaScript: the full page.
    assert!(html(&ada, &next).await.contains("<nav class=\"admin-nav\""));

    let people = hx(&ada, "/t/default/admin/sessions?q=user0").await;
    assert!(people.starts_with("<div id=\"people\""));
    assert_eq!(people.matches("<li>").count(), 10);
    assert!(
        html(&ada, "/t/default/admin/sessions?q=user0")
            .await
            .contains("<h1>Sessions</h1>")
    );

    // "End" of a session from htmx: the row that replaces it, not a redirect.
    let bob = person(&app, "default", "bob", None).await;
    super::signed_in(&app, "default", "bob").await;
    let chosen = format!("/t/default/admin/sessions?user={}", bob.id);
    let page = html(&ada, &chosen).await;
    assert!(page.contains("hx-target=\"closest tr\""));
    let sid = crate::common::hidden_field(&page, "sid").unwrap();
    let csrf = crate::common::hidden_field(&page, "csrf_token").unwrap();
    let id = bob.id.to_string();
    let res = ada
        .client
        .post(ada.url("/t/default/admin/sessions/end"))
        .header("HX-Request", "true")
        .form(&[("csrf_token", csrf.as_str()), ("user", &id), ("sid", &sid)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("The session is ended."));
    let tenant = app.tenant("default").await;
    assert!(
        watchword::admin::sessions::list(&app.app.ctx, &tenant, bob.id)
            .await
            .unwrap()
            .is_empty()
    );

    // The script itself, under the CSP.
    let res = ada.get("/static/js/htmx.min.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = ada.get("/t/default/admin/users").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(res.text().await.unwrap().contains("htmx"));
}
