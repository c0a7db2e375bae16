//! The admin API fuzzed by schemathesis (PyPI) against the document it serves: no server
//! errors, every answer conforming to the documented schema and content type, on whichever
//! backend this pass runs.

use std::process::Command;

use super::api_key;
use crate::common::TestApp;

/// The schemathesis CLI: `$WATCHWORD_SCHEMATHESIS`, the venv CI makes (`target/st-venv`), or
/// `st` on the PATH. Missing, the test fails saying how to install it (it never passes unrun).
fn schemathesis() -> Command {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/st-venv/bin/st");
    let program = std::env::var("WATCHWORD_SCHEMATHESIS")
        .ok()
        .or_else(|| venv.exists().then(|| venv.display().to_string()))
        .unwrap_or_else(|| "st".into());
    Command::new(program)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_fuzzed_by_schemathesis_has_no_server_errors_or_schema_violations() {
    let app = TestApp::start().await;
    for name in ["fuzz-a", "fuzz-b"] {
        app.create_user("default", name, "a long enough password 1")
            .await;
    }
    let key = api_key(
        &app,
        "default",
        "users:write sessions:write events:read admins:read clients:read keys:read",
    )
    .await;
    let schema = app.url("/t/default/admin/api/openapi.json");
    let base = app.url("/t/default/admin/api/v1");
    let output = tokio::task::spawn_blocking(move || {
        schemathesis()
            .args([
                "run",
                &schema,
                "--url",
                &base,
                "--header",
                &format!("Authorization: Bearer {key}"),
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--max-examples",
                "30",
                "--seed",
                "20261207",
                "--no-color",
            ])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!(
            "schemathesis is needed (python3 -m venv target/st-venv && \
             target/st-venv/bin/pip install schemathesis): {e}"
        )
    });
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
    assert!(
        report.contains("passed"),
        "schemathesis ran no test:\n{report}"
    );
}
