//! How a message leaves: SMTP (`super::smtp`, lettre's connection; STARTTLS, implicit TLS, or
//! none for a local relay; with or without authentication), or the development default, a
//! directory of `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use super::smtp::{Security, SmtpClient};

use crate::config::{MailConfig, MailTransport, SmtpTls};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// Why a delivery attempt failed.
#[derive(Debug)]
pub struct Failure {
    /// The server refused the message for good (a 5xx reply): retrying will not help.
    pub permanent: bool,
    pub message: String,
}

pub enum Transport {
    File {
        dir: PathBuf,
        inner: AsyncFileTransport<Tokio1Executor>,
    },
    Smtp {
        /// `host:port`, for log lines.
        server: String,
        inner: Box<SmtpClient>,
    },
}

/// Whether an SMTP reply code is about authentication (530, 534, 535, 538: RFC 4954).
fn refused_login(code: Option<lettre::transport::smtp::response::Code>) -> bool {
    code.is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535" | "538"))
}

/// TLS to `host` trusting the system's roots and the CA certificates in the PEM `file`.
fn tls_with_ca(host: &str, file: &std::path::Path) -> Result<TlsParameters, TransportError> {
    let what = || format!("mail.smtp_ca_file ({})", file.display());
    let pem = std::fs::read(file).map_err(|e| TransportError(format!("{}: {e}", what())))?;
    let cert = Certificate::from_pem(&pem)
        .map_err(|e| TransportError(format!("{}: not a PEM certificate: {e}", what())))?;
    TlsParameters::builder(host.to_owned())
        .add_root_certificate(cert)
        .build()
        .map_err(|e| TransportError(format!("{}: {e}", what())))
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> Result<Self, TransportError> {
        match config.transport {
            MailTransport::File => Ok(Transport::File {
                dir: config.file_dir.clone(),
                inner: AsyncFileTransport::new(&config.file_dir),
            }),
            MailTransport::Smtp => {
                let host = config.smtp_host.trim();
                let tls = || match &config.smtp_ca_file {
                    Some(file) => tls_with_ca(host, file),
                    None => TlsParameters::new(host.to_owned())
                        .map_err(|e| TransportError(format!("mail.smtp_host: {e}"))),
                };
                let security = match config.smtp_tls {
                    SmtpTls::Starttls => Security::Starttls(tls()?),
                    SmtpTls::Implicit => Security::Implicit(tls()?),
                    SmtpTls::None => Security::None,
                };
                let credentials = config.username().map(|user| {
                    let password = config
                        .smtp_password
                        .as_ref()
                        .map(|p| p.expose().clone())
                        .unwrap_or_default();
                    Credentials::new(user.to_owned(), password)
                });
                Ok(Transport::Smtp {
                    server: format!("{host}:{}", config.port()),
                    inner: Box::new(SmtpClient::new(
                        host.to_owned(),
                        config.port(),
                        security,
                        credentials,
                        Duration::from_secs(config.timeout_secs),
                    )),
                })
            }
        }
    }

    /// The kind of transport (`file` or `smtp`), for log lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::File { .. } => "file",
            Transport::Smtp { .. } => "smtp",
        }
    }

    /// Sends one message; on success, where it went (for the log line).
    pub async fn send(&self, message: Message) -> Result<String, Failure> {
        match self {
            Transport::File { dir, inner } => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| Failure {
                    permanent: false,
                    message: format!("cannot create {}: {e}", dir.display()),
                })?;
                let id = inner.send(message).await.map_err(|e| Failure {
                    permanent: false,
                    message: e.to_string(),
                })?;
                Ok(dir.join(format!("{id}.eml")).display().to_string())
            }
            Transport::Smtp { server, inner } => {
                match inner.send(message.envelope(), &message.formatted()).await {
                    Ok(response) => Ok(format!("{server} ({})", response.code())),
                    Err(e) => Err(Failure {
                        // A refused login is the operator's to fix (then `mail retry`): not the
                        // message's fault, so it is not given up at once.
                        permanent: e.is_permanent() && !refused_login(e.status()),
                        message: e.to_string(),
                    }),
                }
            }
        }
    }
}
