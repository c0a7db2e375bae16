//! Outgoing mail: delivery through a real SMTP server (`common::smtp`, aiosmtpd), surviving an
//! outage, giving up and retrying, the file transport, and two replicas over one PostgreSQL
//! sending each message once.

mod account_changes;
mod delivery;
mod email_code;
mod registration;
mod replicas;
mod reset;
mod verification;

use std::time::{Duration, Instant};

use watchword::config::{Config, MailTransport, SmtpTls};
use watchword::mail::worker;

use crate::common::TestApp;
use crate::common::smtp::{Received, SmtpSink};

/// Points Watchword at an SMTP server on `port` (plain SMTP: the test server has no TLS).
pub fn smtp_to(port: u16) -> impl FnOnce(&mut Config) + 'static {
    move |c: &mut Config| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = Some(port);
        c.mail.smtp_tls = SmtpTls::None;
        c.mail.timeout_secs = 5;
    }
}

/// Marks `user`'s address verified (as an operator importing verified addresses would).
pub async fn verify_address(app: &TestApp, user: &str) {
    let tenant = app.tenant("default").await;
    let u = watchword::admin::users::find(&app.app.ctx, &tenant, user)
        .await
        .unwrap()
        .unwrap()
        .user;
    let (id, address) = (u.id, u.email.unwrap());
    app.app
        .ctx
        .db
        .run(move |c| watchword::storage::users::set_email_verified(c, id, &address, 0))
        .await
        .unwrap();
}

/// Delivers the outbox until `at_least` messages to `to` arrived (or 10 s passed); those messages.
pub async fn mail_to(app: &TestApp, sink: &SmtpSink, to: &str, at_least: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        worker::deliver_due(&app.app.ctx).await;
        let got: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect();
        if got.len() >= at_least || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
