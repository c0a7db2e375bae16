//! The passkey ceremony in a real browser: headless Chromium (Debian's package) with a virtual
//! authenticator, driven by `tests/e2e/passkey.mjs` (playwright-core). Needs `node`, `chromium`
//! and `npm ci --prefix tests/e2e`. It is ignored by default; `scripts/test` runs it where they are
//! installed (and fails under `WATCHWORD_TEST_REQUIRE_BROWSER=1`, as in CI, where they are not).
//! Run without them, it fails.

use crate::common::{GOOD_PASSWORD, TestApp};

fn available() -> Result<(), String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let chromium =
        std::env::var("WATCHWORD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Err(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if !std::path::Path::new(&format!("{root}/tests/e2e/node_modules/playwright-core")).exists() {
        return Err("playwright-core is not installed (npm ci --prefix tests/e2e)".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("node is not installed".into());
    }
    Ok(())
}

/// Tests that need the browser: ignored by default, selected by `scripts/test` where Chromium,
/// Node and playwright-core are installed.
mod needs_browser {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs the browser (Chromium, Node, playwright-core): scripts/test runs it where they are installed"]
    async fn a_passkey_is_created_and_used_in_headless_chromium() {
        if let Err(why) = available() {
            panic!("the browser test cannot run here: {why}");
        }
        let app = TestApp::builder().localhost().start().await;
        app.create_user("default", "chris", GOOD_PASSWORD).await;
        let base = app.base.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/e2e/passkey.mjs"
                ))
                .args([&base, "chris", GOOD_PASSWORD])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("OK: passkey created"), "{stdout}");
        // What the browser did is on record.
        let audit = app.audit("default").await;
        assert!(
            audit
                .iter()
                .any(|e| e.action == "factor_added" && e.details.contains("Chromium passkey"))
        );
        assert!(
            audit.iter().any(|e| e.action == "sign_in"
                && e.outcome == "success"
                && e.details.contains("\"user\"")),
            "a sign-in with user verification (the passkey)"
        );
    }
}
