//! One SMTP connection per replica, kept open between messages (lettre's connection: EHLO,
//! STARTTLS or implicit TLS, AUTH, then MAIL/RCPT/DATA per message). Opened on a socket with
//! `TCP_NODELAY` where Watchword opens the socket itself (plain and STARTTLS): lettre writes a
//! message's body and its final `.` separately, and with Nagle's algorithm the second write waits
//! for the server's delayed acknowledgement (40 ms per message). A connection idle for
//! [`MAX_IDLE`] is closed rather than reused (servers drop idle clients), and a reused connection
//! that fails is replaced once before the message counts as failed.

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::Error;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::sync::Mutex;

/// How long an unused connection is kept.
pub const MAX_IDLE: Duration = Duration::from_secs(30);

/// How the connection is secured.
pub enum Security {
    /// No TLS (a relay on the same machine or a test server).
    None,
    /// STARTTLS, required: a server that does not offer it gets nothing.
    Starttls(TlsParameters),
    /// TLS from the first byte.
    Implicit(TlsParameters),
}

pub struct SmtpClient {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
    pub timeout: Duration,
    hello: ClientId,
    idle: Mutex<Option<(AsyncSmtpConnection, Instant)>>,
}

/// Why a message was not sent: lettre's error, or the conversation took too long.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Smtp(#[from] Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer from the mail server within {0:?}")]
    Timeout(Duration),
    #[error("the mail server does not offer STARTTLS (required)")]
    NoStarttls,
}

impl SendError {
    /// The server's reply code, if it gave one.
    pub fn status(&self) -> Option<lettre::transport::smtp::response::Code> {
        match self {
            SendError::Smtp(e) => e.status(),
            _ => None,
        }
    }

    /// A 5xx reply: the same message will be refused again.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Smtp(e) if e.is_permanent())
    }
}

impl SmtpClient {
    pub fn new(
        host: String,
        port: u16,
        security: Security,
        credentials: Option<Credentials>,
        timeout: Duration,
    ) -> Self {
        Self {
            host,
            port,
            security,
            credentials,
            timeout,
            hello: ClientId::default(),
            idle: Mutex::new(None),
        }
    }

    async fn within<T, E: Into<SendError>>(
        &self,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, SendError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| SendError::Timeout(self.timeout))?
            .map_err(Into::into)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let mut conn = match &self.security {
            Security::Implicit(tls) => {
                self.within(AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    Some(tls.clone()),
                    None,
                ))
                .await?
            }
            Security::None | Security::Starttls(_) => {
                let tcp = self
                    .within(tokio::net::TcpStream::connect((
                        self.host.as_str(),
                        self.port,
                    )))
                    .await?;
                tcp.set_nodelay(true)?;
                self.within(AsyncSmtpConnection::connect_with_transport(
                    Box::new(tcp),
                    &self.hello,
                ))
                .await?
            }
        };
        if let Security::Starttls(tls) = &self.security {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::NoStarttls);
            }
            self.within(conn.starttls(tls.clone(), &self.hello)).await?;
        }
        if let Some(credentials) = &self.credentials {
            self.within(conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials))
                .await?;
        }
        Ok(conn)
    }

    /// Sends one message on the kept connection (or a new one).
    pub async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<Response, SendError> {
        let mut idle = self.idle.lock().await;
        let kept = idle
            .take()
            .filter(|(c, since)| !c.has_broken() && since.elapsed() < MAX_IDLE)
            .map(|(c, _)| c);
        let reused = kept.is_some();
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut sent = self.within(conn.send(envelope, email)).await;
        if reused && sent.as_ref().is_err_and(|e| !e.is_permanent()) {
            // The server may have closed the kept connection: once more on a new one.
            conn.abort().await;
            conn = self.connect().await?;
            sent = self.within(conn.send(envelope, email)).await;
        }
        match &sent {
            Ok(_) => *idle = Some((conn, Instant::now())),
            Err(_) => conn.abort().await,
        }
        sent
    }
}
