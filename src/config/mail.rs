//! `[mail]`: how outgoing mail leaves (a directory of `.eml` files by default, or SMTP), who it
//! is from, and how hard delivery tries. Documented in docs/configuration.md.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use crate::domain::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Each message is written as an `.eml` file under `file_dir` (development; nothing leaves).
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: only for a relay on the same machine or a test server.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// The `From` of every message: an address, optionally with a display name
    /// (`Example <no-reply@example.com>`).
    pub from: String,
    /// Where the file transport writes (created if missing).
    pub file_dir: PathBuf,
    pub smtp_host: String,
    /// Default: 587 with STARTTLS, 465 with implicit TLS, 25 without TLS.
    pub smtp_port: Option<u16>,
    pub smtp_tls: SmtpTls,
    /// Empty: no authentication.
    pub smtp_username: Option<String>,
    #[serde(deserialize_with = "super::load::empty_as_none")]
    pub smtp_password: Option<Secret<String>>,
    /// Read `smtp_password` from this file instead (for container secrets).
    pub smtp_password_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust for the SMTP server, besides the system's (a
    /// relay with a certificate from a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// Seconds before an SMTP conversation counts as failed.
    pub timeout_secs: u64,
    /// Attempts before a message is given up (`watchword mail retry` sends it again).
    pub max_attempts: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::File,
            from: "Watchword <no-reply@localhost>".into(),
            file_dir: "data/mail".into(),
            smtp_host: String::new(),
            smtp_port: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_password_file: None,
            smtp_ca_file: None,
            timeout_secs: 30,
            max_attempts: 12,
        }
    }
}

impl MailConfig {
    /// The SMTP port, defaulted from the TLS mode.
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        })
    }

    /// The SMTP user name, if one is set.
    pub fn username(&self) -> Option<&str> {
        self.smtp_username
            .as_deref()
            .filter(|u| !u.trim().is_empty())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| ConfigError::invalid("mail.from", format!("not a mail address: {e}")))?;
        if self.transport == MailTransport::Smtp && self.smtp_host.trim().is_empty() {
            return Err(ConfigError::invalid(
                "mail.smtp_host",
                "required with transport = \"smtp\"",
            ));
        }
        if self.smtp_password.is_some() && self.username().is_none() {
            return Err(ConfigError::invalid(
                "mail.smtp_username",
                "required when a password is set",
            ));
        }
        if self.smtp_ca_file.is_some() && self.smtp_tls == SmtpTls::None {
            return Err(ConfigError::invalid(
                "mail.smtp_ca_file",
                "only used with smtp_tls = \"starttls\" or \"implicit\"",
            ));
        }
        if !(1..=600).contains(&self.timeout_secs) {
            return Err(ConfigError::invalid(
                "mail.timeout_secs",
                "must be between 1 and 600",
            ));
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err(ConfigError::invalid(
                "mail.max_attempts",
                "must be between 1 and 100",
            ));
        }
        Ok(())
    }
}
