//! An operator resets a user's credentials (`watchword user set-password`, `user reset-mfa`):
//! whoever signed in with the old ones loses access: the browser session is signed out, refresh
//! tokens (session-bound and offline) are refused, access tokens introspect inactive; with
//! `--keep-sessions` all of it keeps working. The real binary, against the server's control
//! socket (in-process store) or directly against Redis.

use openidconnect::OAuth2TokenResponse;
use openidconnect::core::CoreTokenResponse;
use reqwest::StatusCode;

use super::status;
use crate::common::binary::{run, stderr, stdout};
use crate::common::browser::location;
use crate::common::oidc::{Rp, discover, register, rp};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::oidc::flow::{code_flow, post};

/// A browser signed in as `nia`, with a session-bound and an offline grant.
struct Holder {
    browser: Browser,
    /// [session-bound, offline]
    refresh: [String; 2],
    access: [String; 2],
}

impl Holder {
    async fn new(client: &Rp, browser: Browser) -> Self {
        let (bound, _) = code_flow(client, &browser, "nia", &[]).await;
        let (offline, _) = code_flow(client, &browser, "nia", &["offline_access"]).await;
        let refresh = |t: &CoreTokenResponse| t.refresh_token().unwrap().secret().clone();
        let access = |t: &CoreTokenResponse| t.access_token().secret().clone();
        Holder {
            refresh: [refresh(&bound), refresh(&offline)],
            access: [access(&bound), access(&offline)],
            browser,
        }
    }

    /// Asserts that the session, both refresh tokens and both access tokens work (`live`), or
    /// that none does. Successful refreshes keep the rotated tokens.
    async fn check(&mut self, app: &TestApp, creds: Option<(&str, &str)>, live: bool) {
        let s = status(&self.browser).await;
        if live {
            assert_eq!(s["active"], true, "{s}");
            let home = self.browser.get("/t/default/").await;
            assert_eq!(home.status(), StatusCode::OK);
        } else {
            assert_eq!(
                (s["active"].as_bool(), s["reason"].as_str()),
                (Some(false), Some("administrator")),
                "{s}"
            );
            let home = self.browser.get("/t/default/").await;
            assert!(
                location(&home).starts_with("/t/default/session-ended"),
                "the old cookie is signed out"
            );
        }
        for at in &self.access {
            let (_, intro) = post(app, "/t/default/introspect", creds, &[("token", at)]).await;
            assert_eq!(intro["active"], live, "{intro}");
        }
        for rt in &mut self.refresh {
            let (code, body) = post(
                app,
                "/t/default/token",
                creds,
                &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            )
            .await;
            if live {
                assert_eq!(code, 200, "{body}");
                *rt = body["refresh_token"].as_str().unwrap().to_owned();
            } else {
                assert_eq!(
                    (code, body["error"].as_str()),
                    (400, Some("invalid_grant")),
                    "{body}"
                );
            }
        }
    }
}

/// Runs `command` (for user `nia`) with `--keep-sessions`, then without: the first leaves a
/// signed-in browser and its tokens working, the second ends them. Both are audited as `action`.
async fn a_reset_ends_access_unless_kept(command: &[&str], stdin: &str, action: &str) {
    let app = TestApp::start().await;
    app.create_user("default", "nia", GOOD_PASSWORD).await;
    let registered = register(&app, "default", "crm", |_| {}).await;
    let client = rp(&discover(&app, "default").await, &registered);
    let secret = registered.secret.clone().unwrap();
    let creds = Some(("crm", secret.as_str()));
    let cli = |extra: &[&str]| {
        let mut cmd = app.cli();
        cmd.args(command).args(extra);
        tokio::task::block_in_place(|| run(cmd, stdin))
    };

    let mut holder = Holder::new(&client, app.browser()).await;
    let out = cli(&["--keep-sessions"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("sessions and grants kept"),
        "{}",
        stdout(&out)
    );
    holder.check(&app, creds, true).await;

    let out = cli(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ended 1 session and revoked 2 grants"),
        "{}",
        stdout(&out)
    );
    holder.check(&app, creds, false).await;

    let audit = app.audit("default").await;
    let events: Vec<_> = audit.iter().filter(|e| e.action == action).collect();
    assert_eq!(events.len(), 2, "{audit:?}");
    // Newest first.
    assert!(
        events[0].details.contains("\"sessions_ended\":1")
            && events[0].details.contains("\"grants_revoked\":2"),
        "{}",
        events[0].details
    );
    assert!(
        events[1].details.contains("\"sessions_kept\":true"),
        "{}",
        events[1].details
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "session_ended" && e.outcome == "administrator"),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_sessions_and_grants_unless_kept() {
    a_reset_ends_access_unless_kept(
        &["user", "set-password", "nia", "--password-stdin"],
        "another long passphrase\n",
        "user_password_set",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factor_reset_ends_sessions_and_grants_unless_kept() {
    a_reset_ends_access_unless_kept(&["user", "reset-mfa", "nia"], "", "factors_reset").await;
}
