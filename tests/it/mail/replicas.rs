//! Two replicas over one PostgreSQL deliver each queued message exactly once (claims with
//! `FOR UPDATE SKIP LOCKED`): the in-process server of the test and a real `watchword serve`.

pub mod needs_pg {
    use std::collections::HashSet;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use watchword::mail::{self, Recipient, worker};

    use super::super::smtp_to;
    use crate::common::smtp::{SmtpSink, free_port};
    use crate::common::{TestApp, required_database_url};

    const MESSAGES: usize = 200;

    #[tokio::test]
    #[ignore = "needs PostgreSQL (scripts/test runs it in the PostgreSQL pass)"]
    async fn two_replicas_send_each_message_once() {
        let sink = SmtpSink::start();
        let app = TestApp::builder()
            .database_url(Some(required_database_url()))
            .tweak(smtp_to(sink.port))
            .start()
            .await;
        // The second replica: the real binary on the same database and master key.
        let port = free_port();
        let mut other = app
            .cli()
            .arg("serve")
            .env("WATCHWORD__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("WATCHWORD__SERVER__CONTROL_SOCKET", "")
            .env("WATCHWORD__MAIL__TRANSPORT", "smtp")
            .env("WATCHWORD__MAIL__SMTP_HOST", "127.0.0.1")
            .env("WATCHWORD__MAIL__SMTP_PORT", sink.port.to_string())
            .env("WATCHWORD__MAIL__SMTP_TLS", "none")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(
                Instant::now() < deadline,
                "the second replica did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let ctx = app.app.ctx.clone();
        let (key, now) = (*ctx.keys.encryption, ctx.clock.unix());
        ctx.db
            .write(move |c| {
                for i in 0..MESSAGES {
                    let to = Recipient::new(&format!("user{i}@example.com"), None).unwrap();
                    mail::queue(c, &key, now, None, &to, &mail::message::test("Acme"))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        // This replica delivers as fast as it can while the other one polls and claims too.
        let mut here = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while sink.received().len() < MESSAGES && Instant::now() < deadline {
            here += worker::deliver_due(&ctx).await.sent;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_secs(6)).await; // one more poll of the other replica
        let _ = other.kill();
        let _ = other.wait();

        let got = sink.received();
        let ids: HashSet<_> = got.iter().map(|m| m.message_id.clone()).collect();
        let recipients: HashSet<_> = got.iter().map(|m| m.to.clone()).collect();
        assert_eq!(
            got.len(),
            MESSAGES,
            "each message once (this replica sent {here})"
        );
        assert_eq!(ids.len(), MESSAGES);
        assert_eq!(recipients.len(), MESSAGES);
        eprintln!(
            "this replica sent {here}, the other {}",
            MESSAGES - here.min(MESSAGES)
        );
    }
}
