//! How a message leaves: SMTP (lettre; STARTTLS, implicit TLS, or none for a local relay; with
//! or without authentication), or the development default, a directory of `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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
        inner: AsyncSmtpTransport<Tokio1Executor>,
    },
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
                let builder = match config.smtp_tls {
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
                    SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
                    SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        host,
                    )),
                }
                .map_err(|e| TransportError(format!("mail.smtp_host: {e}")))?;
                let mut builder = builder
                    .port(config.port())
                    .timeout(Some(Duration::from_secs(config.timeout_secs)));
                if let Some(user) = config.username() {
                    let password = config
                        .smtp_password
                        .as_ref()
                        .map(|p| p.expose().clone())
                        .unwrap_or_default();
                    builder = builder.credentials(Credentials::new(user.to_owned(), password));
                }
                Ok(Transport::Smtp {
                    server: format!("{host}:{}", config.port()),
                    inner: builder.build(),
                })
            }
        }
    }

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
            Transport::Smtp { server, inner } => match inner.send(message).await {
                Ok(response) => Ok(format!("{server} ({})", response.code())),
                Err(e) => Err(Failure {
                    permanent: e.is_permanent(),
                    message: e.to_string(),
                }),
            },
        }
    }
}
