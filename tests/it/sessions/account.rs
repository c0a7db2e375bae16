//! Seeing and ending sessions: the account page ("sign out this session", "sign out everywhere
//! else") and the operator's `watchword session` commands.

use reqwest::StatusCode;
use watchword::domain::session::SessionLimit;

use super::{CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, set_session_policy, signed_in, status};
use crate::common::browser::location;
use crate::common::{GOOD_PASSWORD, TestApp, hidden_field};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_lists_sessions_and_ends_them() {
    let app = TestApp::start().await;
    set_session_policy(&app, "default", |p| {
        p.max_sessions_per_user = SessionLimit::Max(3)
    })
    .await;
    app.create_user("default", "amy", GOOD_PASSWORD).await;
    let a = signed_in(&app.base, "amy", FIREFOX_LINUX).await;
    let b = signed_in(&app.base, "amy", CHROME_WINDOWS).await;
    let c = signed_in(&app.base, "amy", SAFARI_IPHONE).await;
    let b_sid = status(&b).await["sid"].as_str().unwrap().to_owned();

    let res = a.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    for device in ["Firefox on Linux", "Chrome on Windows", "Safari on iPhone"] {
        assert!(page.contains(device), "{device}: {page}");
    }
    assert!(page.contains("this browser"));
    assert!(page.contains("3 devices"), "the limit is explained: {page}");
    assert_eq!(
        page.matches("Sign out this session").count(),
        2,
        "not for this browser"
    );

    // Sign out B from A.
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let res = a
        .post_form(
            "/t/default/account/sessions/end",
            &[("csrf_token", &csrf), ("sid", &b_sid)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("done=one"));
    let s = status(&b).await;
    assert_eq!(s["reason"], "ended_by_user", "{s}");
    let page = b
        .get(&location(&b.get("/t/default/").await))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("signed out from another browser"), "{page}");
    assert_eq!(status(&c).await["active"], true);

    // A sid that is not the user's own does nothing (and reveals nothing).
    app.create_user("default", "bea", GOOD_PASSWORD).await;
    let other = signed_in(&app.base, "bea", FIREFOX_LINUX).await;
    let other_sid = status(&other).await["sid"].as_str().unwrap().to_owned();
    let res = a
        .post_form(
            "/t/default/account/sessions/end",
            &[("csrf_token", &csrf), ("sid", &other_sid)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        status(&other).await["active"],
        true,
        "another user's session is untouched"
    );

    // Without the CSRF token: refused.
    let res = a
        .post_form(
            "/t/default/account/sessions/end-others",
            &[("csrf_token", "forged")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(status(&c).await["active"], true);

    // Everywhere else.
    let res = a
        .post_form(
            "/t/default/account/sessions/end-others",
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(&c).await["reason"], "ended_by_user");
    assert_eq!(
        status(&a).await["active"],
        true,
        "this browser stays signed in"
    );
    let page = a
        .get("/t/default/account?done=others")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("signed out everywhere else"), "{page}");
    assert!(!page.contains("Sign out this session"));
    let audit = app.audit("default").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "session_ended" && e.outcome == "ended_by_user")
            .count(),
        2
    );

    // Signed out: the account page wants a sign-in.
    let anonymous = app.browser();
    let res = anonymous.get("/t/default/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).contains("/login?return_to=%2Ft%2Fdefault%2Faccount"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_and_end_sessions_from_the_command_line() {
    use crate::common::binary::{run, stderr, stdout};
    let app = TestApp::start().await;
    set_session_policy(&app, "default", |p| {
        p.max_sessions_per_user = SessionLimit::Max(3)
    })
    .await;
    app.create_user("default", "ola", GOOD_PASSWORD).await;
    let a = signed_in(&app.base, "ola", FIREFOX_LINUX).await;
    let b = signed_in(&app.base, "ola", CHROME_WINDOWS).await;
    let c = signed_in(&app.base, "ola", SAFARI_IPHONE).await;
    let cli = |args: &[&str]| {
        let mut cmd = app.cli();
        cmd.args(args);
        // The binary blocks the calling thread; the in-process server keeps serving on others.
        run(cmd, "")
    };
    let out = tokio::task::block_in_place(|| cli(&["session", "list", "--user", "ola", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().any(|s| s["device"] == "Chrome on Windows"));
    let out = tokio::task::block_in_place(|| cli(&["session", "list", "--user", "OLA"]));
    assert!(
        stdout(&out).contains("Safari on iPhone"),
        "{}",
        stdout(&out)
    );

    // One session, by its id.
    let b_sid = status(&b).await["sid"].as_str().unwrap().to_owned();
    let out = tokio::task::block_in_place(|| cli(&["session", "end", &b_sid]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&b).await["reason"], "administrator");
    assert_eq!(status(&a).await["active"], true);

    // Every session of the user.
    let out = tokio::task::block_in_place(|| cli(&["session", "end", "--user", "ola"]));
    assert!(
        stdout(&out).contains("ended 2 session(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(status(&a).await["active"], false);
    assert_eq!(status(&c).await["active"], false);
    let audit = app.audit("default").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "session_ended"
                && e.outcome == "administrator"
                && e.actor == "cli")
            .count(),
        3
    );

    // Bad input: a clear message and exit status 2.
    for args in [
        vec!["session", "end", "no-such-session"],
        vec!["session", "list", "--user", "nobody"],
        vec!["session", "end"],
    ] {
        let out = tokio::task::block_in_place(|| cli(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_from_the_command_line_ends_their_sessions_in_the_server() {
    use crate::common::binary::{run, stderr, stdout};
    let app = TestApp::start().await;
    app.create_user("default", "zed", GOOD_PASSWORD).await;
    let a = signed_in(&app.base, "zed", FIREFOX_LINUX).await;
    let out = tokio::task::block_in_place(|| {
        let mut cmd = app.cli();
        cmd.args(["user", "disable", "zed"]);
        run(cmd, "")
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 session(s) ended"),
        "{}",
        stdout(&out)
    );
    let s = status(&a).await;
    assert_eq!(
        (s["active"].as_bool(), s["reason"].as_str()),
        (Some(false), Some("account_disabled")),
        "{s}"
    );
}
