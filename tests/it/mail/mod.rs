//! Outgoing mail: delivery through a real SMTP server (`common::smtp`, aiosmtpd), surviving an
//! outage, giving up and retrying, the file transport, and two replicas over one PostgreSQL
//! sending each message once.

mod delivery;
mod registration;
mod replicas;
mod reset;
mod verification;

use watchword::config::{Config, MailTransport, SmtpTls};

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
