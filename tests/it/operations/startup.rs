//! First start of the real binary on an empty directory: database created, default tenant,
//! master key file (0600), one-time setup link that creates the first administrator.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::binary::{self, watchword};
use crate::common::{Browser, GOOD_PASSWORD, hidden_field};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Lines = Arc<Mutex<Vec<String>>>;

/// Starts `watchword ARGS` in `dir` (no arguments: the default command, `serve`); returns it, every stderr line seen until it is ready,
/// and its stdout (the JSON log), which keeps filling while it runs.
fn start(dir: &std::path::Path, port: u16, args: &[&str]) -> (Running, Vec<String>, Lines) {
    let mut cmd = watchword(dir);
    cmd.args(args)
        .env("WATCHWORD__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env(
            "WATCHWORD__SERVER__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let logs: Lines = Arc::default();
    let (stdout, sink) = (child.stdout.take().unwrap(), logs.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        while let Ok(line) = rx.try_recv() {
            lines.push(line);
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(100));
            while let Ok(line) = rx.try_recv() {
                lines.push(line);
            }
            return (running, lines, logs);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("watchword did not start: {lines:?}");
}

#[tokio::test]
async fn first_start_creates_everything_and_prints_a_one_time_admin_link() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // `cargo run --release`: no subcommand at all.
    let (server, lines, logs) = start(dir.path(), port, &[]);

    assert!(
        dir.path().join("data/watchword.db").exists(),
        "SQLite database created under ./data"
    );
    let key = dir.path().join("data/master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let link = lines
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("http://127.0.0.1:{port}"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("setup link printed: {lines:?}"));
    assert!(link.starts_with("/t/default/setup?token="));

    let b = Browser::new(&format!("http://127.0.0.1:{port}"));
    let ready: serde_json::Value = b.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");

    // A wrong token gets nowhere.
    assert_eq!(
        b.get("/t/default/setup?token=guess").await.status(),
        StatusCode::NOT_FOUND
    );

    let page = b.get(&link).await.text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let token = hidden_field(&page, "token").unwrap();
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("token", token.as_str()),
        ("username", "root"),
        ("email", "root@example.test"),
        ("password", GOOD_PASSWORD),
        ("password_confirm", "something else"),
    ];
    let res = b.post_form("/t/default/setup", &form).await;
    assert!(res.text().await.unwrap().contains("do not match"));
    form[5].1 = GOOD_PASSWORD;
    let res = b.post_form("/t/default/setup", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        crate::common::browser::location(&res),
        "/t/default/login?reason=setup_done"
    );

    // The link is spent.
    assert_eq!(b.get(&link).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        b.post_form("/t/default/setup", &form).await.status(),
        StatusCode::NOT_FOUND
    );

    let res = b.sign_in("default", "root", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let home = b.get("/t/default/").await.text().await.unwrap();
    assert!(home.contains("root"));
    let session = b.cookie("ww-session-default").unwrap();
    drop(server);

    // The log is JSON, one object per line, with request ids and routes, and holds no secrets.
    let logs = logs.lock().unwrap().clone();
    let parsed: Vec<serde_json::Value> = logs
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        parsed
            .iter()
            .any(|v| v["route"] == "/t/{tenant}/login" && v["span"]["request_id"].is_string())
    );
    assert!(
        parsed
            .iter()
            .any(|v| v["target"] == "audit" && v["action"] == "sign_in")
    );
    let all = logs.join("\n");
    for secret in [GOOD_PASSWORD, session.as_str(), token.as_str()] {
        assert!(!all.contains(secret), "a secret leaked into the log");
    }

    // Second start, with a seed file: same key and database, no setup link now that an admin
    // exists, and the seeded user can sign in.
    std::fs::write(
        dir.path().join("seed.toml"),
        format!("[[tenants]]\nslug = \"default\"\n[[tenants.users]]\nusername = \"seeded\"\npassword = \"{GOOD_PASSWORD}\"\n"),
    )
    .unwrap();
    let port = free_port();
    let (_server, lines, _) = start(dir.path(), port, &["serve", "--seed", "seed.toml"]);
    assert!(
        !lines.iter().any(|l| l.contains("/setup?token=")),
        "{lines:?}"
    );
    let b = Browser::new(&format!("http://127.0.0.1:{port}"));
    assert_eq!(
        b.sign_in("default", "seeded", GOOD_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let users = binary::run(
        {
            let mut c = watchword(dir.path());
            c.args(["user", "list", "--json"]);
            c
        },
        "",
    );
    let list: serde_json::Value = serde_json::from_str(&binary::stdout(&users)).unwrap();
    let root = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "root")
        .unwrap();
    assert_eq!(
        root["admin"], "tenant_admin",
        "the earlier read-write is now tenant_admin"
    );
}
