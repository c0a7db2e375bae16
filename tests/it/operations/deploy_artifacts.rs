//! The operations artefacts in `deploy/` (issue 14): the Prometheus configuration, alert rules
//! and their unit tests pass `promtool`; the Kubernetes manifests (each file, and the base and
//! example overlay rendered by `kubectl kustomize`) pass `kubernetes-validate --strict`; the
//! settings they give the server are accepted by the real binary; and every `watchword_*` metric
//! the Grafana dashboard and the alert rules use is exported by a running server.
//!
//! The tools: `promtool` (Debian package `prometheus`), `kubernetes-validate` (PyPI, in
//! `target/ops-venv`, which `.ci/run` makes) and `kubectl`. A missing tool fails the test when
//! `WATCHWORD_TEST_REQUIRE_SERVICES=1` (CI), and otherwise skips it saying why.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::binary::watchword;
use crate::common::oidc::{Listener, plain_client};
use crate::common::{Browser, TestApp};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn deploy(rel: &str) -> PathBuf {
    root().join("deploy").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// CI (`WATCHWORD_TEST_REQUIRE_SERVICES=1`) requires every tool.
fn required() -> bool {
    std::env::var("WATCHWORD_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// `program` on the PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The tool: `$override_var`, one of `also` that exists, or `name` on the PATH. Missing, the
/// test fails (CI) or is skipped with the reason printed, never passed unrun.
fn tool(name: &str, override_var: &str, also: &[PathBuf], install: &str) -> Option<PathBuf> {
    let found = std::env::var_os(override_var)
        .map(PathBuf::from)
        .or_else(|| also.iter().find(|p| p.is_file()).cloned())
        .or_else(|| on_path(name));
    if found.is_none() {
        let why = format!("{name} is not installed ({install}; or set {override_var})");
        assert!(
            !required(),
            "{why}, and WATCHWORD_TEST_REQUIRE_SERVICES=1 requires it"
        );
        eprintln!("SKIPPED: {why}");
    }
    found
}

fn promtool() -> Option<PathBuf> {
    tool(
        "promtool",
        "WATCHWORD_PROMTOOL",
        &[],
        "apt-get install prometheus",
    )
}

fn kubernetes_validate() -> Option<PathBuf> {
    tool(
        "kubernetes-validate",
        "WATCHWORD_KUBERNETES_VALIDATE",
        &[root().join("target/ops-venv/bin/kubernetes-validate")],
        "python3 -m venv target/ops-venv && target/ops-venv/bin/pip install kubernetes-validate",
    )
}

fn kubectl() -> Option<PathBuf> {
    tool(
        "kubectl",
        "WATCHWORD_KUBECTL",
        &[],
        "kubectl with its built-in kustomize",
    )
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
fn succeeds(mut cmd: Command, what: &str) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn prometheus_config_and_alert_rules_pass_promtool() {
    let Some(promtool) = promtool() else { return };
    let dir = deploy("prometheus");
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let mut cmd = Command::new(&promtool);
        cmd.current_dir(&dir).args(args);
        let out = succeeds(cmd, &format!("promtool {}", args.join(" ")));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("SUCCESS"), "promtool said: {text}");
    }
}

/// The files a kustomization lists under `resources:` (one `- name` per line).
fn kustomization_resources(dir: &Path) -> Vec<PathBuf> {
    let text = read(&dir.join("kustomization.yaml"));
    let mut files = Vec::new();
    let mut in_resources = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('-') {
            in_resources = line.trim_end() == "resources:";
            continue;
        }
        if in_resources && let Some(item) = line.trim().strip_prefix("- ") {
            files.push(dir.join(item.trim()));
        }
    }
    files
}

fn validate(validator: &Path, files: &[PathBuf]) {
    let mut cmd = Command::new(validator);
    cmd.args(["--strict", "--kubernetes-version", "1.30.0"])
        .args(files);
    let out = succeeds(cmd, "kubernetes-validate");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("passed"), "nothing validated: {report}");
    assert!(
        !report.contains("did not validate"),
        "kubernetes-validate: {report}"
    );
}

/// `kubectl kustomize dir`, written to a file in `out`.
fn render(kubectl: &Path, dir: &Path, out: &Path, name: &str) -> (PathBuf, String) {
    let mut cmd = Command::new(kubectl);
    cmd.arg("kustomize").arg(dir);
    let rendered = String::from_utf8(succeeds(cmd, "kubectl kustomize").stdout).unwrap();
    let file = out.join(name);
    std::fs::write(&file, &rendered).unwrap();
    (file, rendered)
}

/// The YAML documents of a rendered stream whose `kind:` is `kind`.
fn documents<'a>(rendered: &'a str, kind: &str) -> Vec<&'a str> {
    rendered
        .split("\n---\n")
        .filter(|d| d.lines().any(|l| l == format!("kind: {kind}")))
        .collect()
}

#[test]
fn kubernetes_manifests_render_and_pass_the_schema_validator() {
    let Some(validator) = kubernetes_validate() else {
        return;
    };
    let base = deploy("kubernetes/base");
    // Each resource file on its own (what kustomize is given).
    let files = kustomization_resources(&base);
    assert!(files.len() >= 8, "{files:?}");
    validate(&validator, &files);

    let Some(kubectl) = kubectl() else { return };
    let out = tempfile::tempdir().unwrap();
    let (_, base_rendered) = render(&kubectl, &base, out.path(), "base.yaml");
    let (file, rendered) = render(
        &kubectl,
        &deploy("kubernetes/overlays/example"),
        out.path(),
        "example.yaml",
    );
    validate(&validator, &[out.path().join("base.yaml"), file]);
    for kind in [
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "Job",
    ] {
        assert!(!documents(&rendered, kind).is_empty(), "no {kind}");
        assert_eq!(
            documents(&rendered, kind).len(),
            documents(&base_rendered, kind).len()
        );
    }
    assert!(
        documents(&rendered, "Secret").is_empty(),
        "no secret is committed: the operator creates watchword-secrets"
    );
    for doc in documents(&rendered, "Deployment")
        .into_iter()
        .chain(documents(&rendered, "Job"))
    {
        assert!(doc.contains("namespace: watchword"), "{doc}");
        assert!(doc.contains("image: registry.example.com/watchword:0.1.0"));
        assert!(doc.contains("secretName: watchword-secrets"));
        assert!(doc.contains("readOnlyRootFilesystem: true"));
        assert!(doc.contains("allowPrivilegeEscalation: false"));
        assert!(doc.contains("type: RuntimeDefault"));
        assert!(doc.contains("automountServiceAccountToken: false"));
    }

    // The pods run as the image's user.
    let dockerfile = read(&root().join("Dockerfile"));
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the Dockerfile names its user");
    let (uid, gid) = user.trim().split_once(':').unwrap();
    let deployment = documents(&rendered, "Deployment")[0];
    assert!(
        deployment.contains(&format!("runAsUser: {uid}")),
        "{deployment}"
    );
    assert!(deployment.contains(&format!("runAsGroup: {gid}")));

    // The public Service has the public port only; the metrics port is on the headless one.
    for service in documents(&rendered, "Service") {
        if service.contains("name: watchword-metrics") {
            assert!(service.contains("clusterIP: None"), "{service}");
            assert!(service.contains("targetPort: metrics"));
        } else {
            assert!(service.contains("targetPort: http"), "{service}");
            assert!(!service.contains("9100") && !service.contains("metrics"));
        }
    }
}

/// `KEY=VALUE` lines of the base's env file, then the overlay's literals over them.
fn kubernetes_settings() -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = read(&deploy("kubernetes/base/watchword.env"))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let overlay = read(&deploy("kubernetes/overlays/example/kustomization.yaml"));
    for line in overlay.lines() {
        if let Some((k, v)) = line
            .trim()
            .strip_prefix("- WATCHWORD__")
            .and_then(|l| l.split_once('='))
        {
            let key = format!("WATCHWORD__{k}");
            settings.retain(|(existing, _)| *existing != key);
            settings.push((key, v.to_owned()));
        }
    }
    settings
}

/// A single number after `prefix` on a line of `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix}"))
        .trim()
        .trim_matches(|c| c == '"' || c == ']')
        .parse()
        .unwrap_or_else(|e| panic!("{prefix}: {e}"))
}

#[test]
fn the_kubernetes_settings_are_accepted_by_the_server_and_the_drain_fits_the_grace_period() {
    let settings = kubernetes_settings();
    assert!(
        settings
            .iter()
            .any(|(k, _)| k == "WATCHWORD__METRICS__LISTEN")
    );
    // The secret files the Secret volume holds, here in a temporary directory.
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let mut cmd = watchword(dir.path());
    for (key, value) in &settings {
        let value = match value.strip_prefix("/run/secrets/watchword/") {
            Some(name) => {
                let file = secrets.join(name);
                let content = match name {
                    "master-key" => "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n".to_owned(),
                    "database-url" => format!("sqlite://{}/ww.db\n", dir.path().display()),
                    "redis-url" => "redis://127.0.0.1:6379/0\n".to_owned(),
                    other => panic!("a secret file this test does not know: {other}"),
                };
                std::fs::write(&file, content).unwrap();
                file.display().to_string()
            }
            None => value.clone(),
        };
        cmd.env(key, value);
    }
    cmd.arg("migrate");
    let out = succeeds(
        cmd,
        "watchword migrate with the settings of deploy/kubernetes",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied"));

    // SIGTERM comes after the preStop sleep; then readiness is off for server.shutdown_delay_ms
    // while requests are still served, in-flight requests get server.shutdown_timeout_secs and
    // back-channel logouts up to 5 s more (src/cli/serve.rs).
    let drain_ms: u64 = settings
        .iter()
        .find(|(k, _)| k == "WATCHWORD__SERVER__SHUTDOWN_DELAY_MS")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(2000);
    let shutdown: u64 = settings
        .iter()
        .find(|(k, _)| k == "WATCHWORD__SERVER__SHUTDOWN_TIMEOUT_SECS")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(30)
        + drain_ms.div_ceil(1000);
    let deployment = read(&deploy("kubernetes/base/deployment.yaml"));
    let sleep = number_after(&deployment, "command: [\"sleep\", \"");
    let grace = number_after(&deployment, "terminationGracePeriodSeconds:");
    assert!(
        sleep + shutdown + 5 <= grace,
        "preStop {sleep} s + drain and shutdown {shutdown} s + 5 s back-channel flush > grace period {grace} s"
    );
}

/// The `watchword_*` metric names in `text` (identifiers with a `:`, the recording rules'
/// names, are not metrics the server exports).
fn metric_names(text: &str, into: &mut BTreeSet<String>) {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for token in text.split(|c: char| !ident(c)) {
        if token.starts_with("watchword_") && !token.contains(':') {
            into.insert(token.to_owned());
        }
    }
}

/// Every PromQL expression of the dashboard: its panels' targets and its variables' queries.
fn dashboard_expressions(dashboard: &serde_json::Value) -> Vec<String> {
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["query"]["query"].as_str() {
            exprs.push(q.to_owned());
        }
    }
    exprs
}

/// The metric names the dashboard and the alert rules use.
fn used_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&deploy("grafana/dashboards/watchword.json")))
            .expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "watchword");
    for expr in dashboard_expressions(&dashboard) {
        metric_names(&expr, &mut names);
    }
    // The rules' expressions (comments aside; the rest of the file names no metric).
    let rules = read(&deploy("prometheus/alerts.yml"));
    for line in rules.lines().filter(|l| !l.trim_start().starts_with('#')) {
        metric_names(line, &mut names);
    }
    names
}

/// Whether the exposition `body` has a sample named exactly `name`.
fn exported(body: &str, name: &str) -> bool {
    body.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_and_alerts_use_is_exported() {
    let used = used_metrics();
    for expected in [
        "watchword_signin_attempts_total",
        "watchword_second_factor_attempts_total",
        "watchword_throttle_refusals_total",
        "watchword_token_requests_total",
        "watchword_http_request_duration_seconds_bucket",
        "watchword_sessions_started_total",
        "watchword_sessions_ended_total",
        "watchword_backchannel_logout_total",
    ] {
        assert!(used.contains(expected), "{expected} not used: {used:?}");
    }

    let app = TestApp::start().await;
    // A sign-in through the code flow (sign-in, session, token), by a client told of logouts,
    // then a sign-out (session ended, back-channel logout delivered).
    let listener = Listener::start().await;
    let uri = listener.uri.clone();
    let s = crate::oidc::flow::sign_in(&app, "olga", "ops-app", &[], move |c| {
        c.settings.backchannel_logout_uri = Some(uri);
    })
    .await;
    let csrf = s.browser.csrf("/t/default/logout").await;
    s.browser
        .post_form("/t/default/logout", &[("csrf_token", &csrf)])
        .await;
    listener.next().await.expect("a logout token arrives");
    // A client-credentials token.
    crate::admin::client_token(&app, "default", &[]).await;
    // A wrong authenticator-app code.
    let browser = crate::mfa::signed_in(&app, "milo").await;
    crate::mfa::enrol_totp(&app, &browser).await;
    let second = app.browser();
    crate::mfa::password(&second, "milo").await;
    crate::mfa::second_factor(&second, "totp", "000000").await;
    // Wrong passwords from one browser until the throttle refuses one.
    let guesser = Browser::new(&app.base);
    let mut refused = false;
    for _ in 0..10 {
        let res = guesser.sign_in("default", "olga", "wrong guess 123").await;
        if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "the throttle refused a guess");

    // Counters appear once counted; the back-channel result is counted just after the
    // listener answered, so read until everything is there (or 10 s passed).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = plain_client()
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let missing: Vec<_> = used.iter().filter(|n| !exported(&body, n)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "used by deploy/grafana or deploy/prometheus but not exported: {missing:?}\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
