//! The outbox and its worker against a real SMTP server.

use std::path::PathBuf;
use std::time::Duration;

use watchword::config::{Config, MailTransport, SmtpTls};
use watchword::domain::secret::Secret;
use watchword::mail::{self, Recipient, worker};
use watchword::storage::outbox::{self, Which};

use super::smtp_to;
use crate::common::TestApp;
use crate::common::smtp::{SmtpSink, free_port};

/// Queues the tenant's test message to `to` as a flow would (in a transaction of its own).
async fn queue(app: &TestApp, to: &str, name: Option<&str>) -> String {
    let ctx = &app.app.ctx;
    let to = Recipient::new(to, name).expect("a valid address");
    let rendered = mail::message::test("Acme");
    let (key, now) = (*ctx.keys.encryption, ctx.clock.unix());
    let id = ctx
        .db
        .write(move |c| mail::queue(c, &key, now, None, &to, &rendered))
        .await
        .unwrap();
    ctx.mail.wake();
    id
}

/// The outbox once no delivery attempt is running (the server's own worker may have claimed a
/// message before the test's round did).
async fn listed(app: &TestApp, which: Which) -> Vec<outbox::Listed> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = app
            .app
            .ctx
            .db
            .run(move |c| outbox::list(c, Which::All, 100))
            .await
            .unwrap();
        if all.iter().all(|m| m.claimed_until.is_none()) || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.app
        .ctx
        .db
        .run(move |c| outbox::list(c, which, 100))
        .await
        .unwrap()
}

#[tokio::test]
async fn messages_reach_a_real_smtp_server_once_with_their_headers_encoded() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    // A display name that tries to add a header: it must stay inside the To header.
    let id = queue(
        &app,
        "ann@example.com",
        Some("Ann\r\nBcc: eve@evil.example"),
    )
    .await;
    worker::deliver_due(&app.app.ctx).await;
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert!(m.to.contains("<ann@example.com>"), "{}", m.to);
    assert!(!m.raw.to_ascii_lowercase().contains("\nbcc:"), "{}", m.raw);
    assert_eq!(m.subject, "Acme: test message");
    assert!(m.message_id.contains(&id), "{}", m.message_id);
    assert!(m.text.contains("mail delivery works"), "{}", m.text);
    until_sent(&app).await;
    // Nothing is sent twice: more rounds find nothing due.
    assert_eq!(worker::deliver_due(&app.app.ctx).await.sent, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 1);
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("watchword_mail_sent_total{kind=\"test\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("watchword_mail_queued_total{kind=\"test\"} 1"));
}

#[tokio::test]
async fn an_smtp_outage_loses_nothing_and_delivers_after_the_backoff() {
    let port = free_port();
    let app = TestApp::builder().tweak(smtp_to(port)).start().await;
    queue(&app, "bob@example.com", None).await;
    worker::deliver_due(&app.app.ctx).await;
    let stuck = listed(&app, Which::Stuck).await;
    assert_eq!(stuck.len(), 1, "the message waits after a failed attempt");
    assert_eq!(stuck[0].attempts, 1);
    assert!(stuck[0].last_error.is_some());
    assert!(stuck[0].next_attempt_at >= app.app.ctx.clock.unix() + 30);

    // The server comes back; nothing is due before the backoff ends, then it is delivered.
    let sink = SmtpSink::start_on(port);
    worker::deliver_due(&app.app.ctx).await;
    assert!(sink.received().is_empty(), "not before the backoff");
    app.clock.advance(chrono::Duration::seconds(31));
    worker::deliver_due(&app.app.ctx).await;
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, "bob@example.com");
    assert!(listed(&app, Which::Stuck).await.is_empty());
}

#[tokio::test]
async fn a_message_is_given_up_after_its_attempts_and_retry_sends_it() {
    let port = free_port();
    let app = TestApp::builder()
        .tweak(smtp_to(port))
        .tweak(|c| c.mail.max_attempts = 2)
        .start()
        .await;
    let id = queue(&app, "carol@example.com", None).await;
    worker::deliver_due(&app.app.ctx).await;
    listed(&app, Which::All).await; // the first attempt is over
    app.clock.advance(chrono::Duration::seconds(31));
    worker::deliver_due(&app.app.ctx).await;
    let failed = listed(&app, Which::Failed).await;
    assert_eq!(failed.len(), 1, "given up after 2 attempts");
    assert_eq!(failed[0].attempts, 2);

    // `watchword mail list` shows it (never its content); `mail retry --failed` makes it due.
    let out = app
        .cli()
        .args(["mail", "list", "--state", "failed"])
        .output()
        .unwrap();
    let listed_text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(listed_text.contains(&id) && listed_text.contains("carol@example.com"));
    assert!(!listed_text.contains("mail delivery works"));
    let out = app
        .cli()
        .args(["mail", "retry", "--failed"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 message(s) due now"));

    let sink = SmtpSink::start_on(port);
    worker::deliver_due(&app.app.ctx).await;
    assert_eq!(sink.wait_for(1).await.len(), 1);
}

/// Delivers until the (only) message is marked sent, or fails after 10 s: the server's own
/// worker may have claimed it first (rows are claimed with `SKIP LOCKED`), and marks it sent a
/// moment after the transport took it.
async fn until_sent(app: &TestApp) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while listed(app, Which::All).await[0].sent_at.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the message was not marked sent"
        );
        worker::deliver_due(&app.app.ctx).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_file_transport_writes_one_eml_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let app = TestApp::builder()
        .tweak({
            let d = mail_dir.clone();
            move |c| c.mail.file_dir = d
        })
        .start()
        .await;
    queue(&app, "dan@example.com", None).await;
    until_sent(&app).await;
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("To: dan@example.com"));
}

/// Points Watchword at a TLS SMTP server on `port` that wants AUTH as `watchword`.
fn smtp_tls_to(
    port: u16,
    tls: SmtpTls,
    password: &str,
    ca: Option<PathBuf>,
) -> impl FnOnce(&mut Config) + 'static {
    let password = password.to_owned();
    move |c: &mut Config| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = Some(port);
        c.mail.smtp_tls = tls;
        c.mail.smtp_username = Some("watchword".into());
        c.mail.smtp_password = Some(Secret::new(password));
        c.mail.smtp_ca_file = ca;
        c.mail.timeout_secs = 5;
    }
}

#[tokio::test]
async fn starttls_implicit_tls_and_authentication_are_used_and_checked() {
    for (mode, tls) in [
        ("starttls", SmtpTls::Starttls),
        ("implicit", SmtpTls::Implicit),
    ] {
        let (sink, ca) = SmtpSink::start_tls(mode, "watchword", "mail s3cret");

        // The right password over TLS with the server's CA trusted: delivered.
        let app = TestApp::builder()
            .tweak(smtp_tls_to(sink.port, tls, "mail s3cret", Some(ca.clone())))
            .start()
            .await;
        queue(&app, "ann@example.com", None).await;
        worker::deliver_due(&app.app.ctx).await;
        let got = sink.wait_for(1).await;
        assert_eq!(
            got.len(),
            1,
            "{mode}: delivered: {:?}",
            listed(&app, Which::All).await
        );
        assert_eq!(got[0].to, "ann@example.com");

        // A wrong password, or a certificate nobody vouches for: nothing is delivered and the
        // message waits for its next attempt (an operator's fix, then `mail retry`).
        for (password, ca) in [("wrong", Some(ca.clone())), ("mail s3cret", None)] {
            let app = TestApp::builder()
                .tweak(smtp_tls_to(sink.port, tls, password, ca.clone()))
                .start()
                .await;
            queue(&app, "bob@example.com", None).await;
            worker::deliver_due(&app.app.ctx).await;
            let stuck = listed(&app, Which::Stuck).await;
            assert_eq!(stuck.len(), 1, "{mode} {password} {ca:?}: {stuck:?}");
            let error = stuck[0].last_error.clone().unwrap_or_default();
            assert!(!error.contains("mail s3cret"), "{error}");
            assert!(listed(&app, Which::Failed).await.is_empty(), "not given up");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(sink.received().len(), 1, "{mode}: only the first one");
    }
}
