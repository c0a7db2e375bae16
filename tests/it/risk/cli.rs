//! `watchword risk events|mark|policy`, the real binary against the in-process server's storage
//! (and its control socket, or Redis, for `mark --end-sessions`): filters by user (name or id),
//! level, decision, time and count; JSON lines; marks audited with the operator as actor, ending
//! sessions only when asked; the effective policy with defaults filled in; bad flags refused
//! with a message naming them and exit status 2.

use reqwest::StatusCode;
use watchword::domain::risk::{Action, LevelAction};

use super::notices::{events, set_risk_policy};
use crate::common::binary::{run, stdout};
use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::sessions::{FIREFOX_LINUX, SAFARI_IPHONE};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `watchword risk <args>` (blocking this thread; the server serves on the others).
fn risk(app: &TestApp, args: &[&str]) -> std::process::Output {
    tokio::task::block_in_place(|| {
        let mut cmd = app.cli();
        cmd.arg("risk").args(args);
        run(cmd, "")
    })
}

/// The JSON lines of a successful `risk events`.
fn listed(app: &TestApp, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["events", "--json"];
    all.extend_from_slice(args);
    let out = risk(app, &all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_mark_and_see_the_policy() {
    let app = TestApp::start().await;
    set_risk_policy(&app, "default", |p| {
        p.learning.sign_ins = 1;
        p.thresholds.medium = 20;
        p.actions.medium = LevelAction {
            action: Action::Block,
            notify: false,
        };
    })
    .await;
    let ann = app.create_user("default", "ann", GOOD_PASSWORD).await;
    app.create_user("default", "bob", GOOD_PASSWORD).await;
    let laptop = Browser::with_user_agent(&app.base, FIREFOX_LINUX);
    let res = laptop.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let phone = Browser::with_user_agent(&app.base, SAFARI_IPHONE);
    let res = phone.sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_ne!(res.status(), StatusCode::SEE_OTHER, "a new device: blocked");
    let res = app.browser().sign_in("default", "bob", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let anns = events(&app, &ann).await;
    let (blocked, allowed) = (&anns[0], &anns[1]);

    // Filters.
    let all = listed(&app, &[]);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["username"], "bob", "newest first");
    assert_eq!(listed(&app, &["--user", "ann"]).len(), 2);
    assert_eq!(listed(&app, &["--user", &ann.id.to_string()]).len(), 2);
    assert_eq!(listed(&app, &["--user", "ann@example.test"]).len(), 2);
    let medium = listed(&app, &["--level", "medium"]);
    assert_eq!(medium.len(), 1);
    assert_eq!(medium[0]["id"], blocked.id.as_str());
    assert_eq!(medium[0]["device"], "Safari on iPhone");
    assert_eq!(medium[0]["result"], "blocked");
    assert!(
        medium[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "new_device"),
        "{}",
        medium[0]
    );
    assert_eq!(listed(&app, &["--decision", "block"]).len(), 1);
    assert_eq!(
        listed(&app, &["--decision", "allow", "--user", "bob"]).len(),
        1
    );
    assert_eq!(listed(&app, &["--since", "1h"]).len(), 3);
    assert!(listed(&app, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    assert_eq!(listed(&app, &["--limit", "1"]).len(), 1);
    let out = risk(&app, &["events", "--user", "ann"]);
    assert!(out.status.success());
    let table = stdout(&out);
    assert!(table.starts_with("TIME"), "{table}");
    assert!(
        table.contains(&blocked.id) && table.contains("new_device"),
        "{table}"
    );

    // Bad values: a clear message naming the flag, exit status 2.
    for (args, flag, words) in [
        (
            &["events", "--level", "severe"][..],
            "--level",
            "low, medium or high",
        ),
        (
            &["events", "--decision", "mfa"][..],
            "--decision",
            "second_factor",
        ),
        (
            &["events", "--since", "yesterday"][..],
            "--since",
            "RFC 3339",
        ),
        (&["events", "--limit", "0"][..], "--limit", "0"),
        (&["events", "--user", "nobody"][..], "--user", "nobody"),
        (&["events", "--tenant", "nope"][..], "nope", "not found"),
        (
            &["mark", &blocked.id, "maybe"][..],
            "VALUE",
            "valid or invalid",
        ),
        (
            &["mark", &blocked.id, "valid", "--end-sessions"][..],
            "--end-sessions",
            "invalid",
        ),
        (
            &["mark", "no-such-event", "invalid"][..],
            "no-such-event",
            "not found",
        ),
        (&["policy", "--tenant", "nope"][..], "nope", "not found"),
    ] {
        let out = risk(&app, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag) && err.contains(words), "{args:?}: {err}");
    }

    // An invalid mark marks; the user's sessions stay unless asked.
    let out = risk(&app, &["mark", &blocked.id, "invalid"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("marked sign-in event {} invalid", blocked.id)
    );
    assert_eq!(
        laptop.get("/t/default/account").await.status(),
        StatusCode::OK
    );
    let marked = listed(&app, &["--level", "medium"]);
    assert_eq!(marked[0]["feedback"], "invalid");
    let out = risk(&app, &["mark", &allowed.id, "invalid", "--end-sessions"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ended 1 session and revoked 0 grants"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        laptop.get("/t/default/account").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );
    let audit = app.audit("default").await;
    let marks: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "risk_feedback")
        .collect();
    assert_eq!(marks.len(), 2);
    assert!(
        marks
            .iter()
            .all(|e| e.actor == "cli" && e.outcome == "invalid")
    );
    let bobs = all[0]["id"].as_str().unwrap().to_owned();
    let out = risk(&app, &["mark", &bobs, "valid"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The effective policy, defaults filled in.
    let out = risk(&app, &["policy"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let policy: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(policy["actions"]["medium"]["action"], "block");
    assert_eq!(policy["actions"]["high"]["action"], "mfa_required");
    assert_eq!(policy["thresholds"]["medium"], 20);
    assert_eq!(policy["thresholds"]["high"], 80);
    assert_eq!(policy["learning"]["sign_ins"], 1);
    assert_eq!(policy["retention_days"], 90);
    assert_eq!(policy["enabled"], true);
    assert_eq!(policy["blocked_ip_ranges"], serde_json::json!([]));
}
