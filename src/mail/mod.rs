//! Outgoing mail, built once for every flow that sends any: a message is rendered from its
//! templates (`message`), sealed and queued in the outbox inside the transaction of the event
//! that causes it ([`queue`]), and delivered by the worker (`worker`) through the configured
//! transport (`transport`), with retries and backoff, exactly once across replicas.

pub mod links;
pub mod message;
pub mod smtp;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::config::MailConfig;
use crate::crypto::aead;
use crate::domain::ids::TenantId;
use crate::storage::{DbConn, StorageError, outbox};
pub use message::{Kind, Rendered};
pub use transport::Transport;

/// The mail component of a running server: the transport, the sender, and the bell that wakes
/// the worker when a message is queued.
pub struct Mailer {
    pub transport: Transport,
    pub from: Mailbox,
    pub max_attempts: u32,
    /// The lease on a claimed message: longer than any delivery attempt can take.
    pub lease_secs: i64,
    wake: Notify,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Arc<Self>, transport::TransportError> {
        let from = config
            .from
            .parse()
            .map_err(|e| transport::TransportError(format!("mail.from: {e}")))?;
        Ok(Arc::new(Self {
            transport: Transport::from_config(config)?,
            from,
            max_attempts: config.max_attempts,
            lease_secs: 2 * config.timeout_secs as i64 + 30,
            wake: Notify::new(),
        }))
    }

    /// Tells this replica's worker that a message is waiting (call after the commit).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await
    }
}

/// Who a message is for.
#[derive(Clone, Debug)]
pub struct Recipient {
    /// A parsed address (see [`Recipient::new`]).
    pub address: String,
    /// Shown beside the address; encoded in the header, never able to add one.
    pub name: Option<String>,
}

impl Recipient {
    /// `None` if `address` is not one mailbox address (no display name, no list, no line
    /// breaks), so nothing a user typed can add a header or a recipient.
    pub fn new(address: &str, name: Option<&str>) -> Option<Self> {
        let parsed: lettre::Address = address.trim().parse().ok()?;
        Some(Self {
            address: parsed.to_string(),
            name: name
                .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
                .filter(|n| !n.trim().is_empty()),
        })
    }

    pub fn mailbox(&self) -> Option<Mailbox> {
        Some(Mailbox::new(self.name.clone(), self.address.parse().ok()?))
    }
}

/// What the outbox holds, sealed: everything needed to send the message again.
#[derive(Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message's link with its token cut off, for log lines.
    pub link_hint: Option<String>,
}

/// The associated data binding a sealed message to its row.
pub(crate) fn aad(id: &str) -> Vec<u8> {
    format!("watchword/mail/{id}").into_bytes()
}

/// Renders nothing; seals `rendered` for `to` and inserts it into the outbox on `conn`, which
/// should be inside the transaction of the event that causes the message, so that the message
/// exists if and only if the event does. Returns the message's id. Counted in
/// `watchword_mail_queued_total{kind}`; call [`Mailer::wake`] after the commit.
pub fn queue(
    conn: &mut DbConn,
    key: &[u8; 32],
    now: i64,
    tenant: Option<TenantId>,
    to: &Recipient,
    rendered: &Rendered,
) -> Result<String, StorageError> {
    let id = uuid::Uuid::now_v7().to_string();
    let sealed = Sealed {
        name: to.name.clone(),
        subject: rendered.subject.clone(),
        text: rendered.text.clone(),
        html: rendered.html.clone(),
        link_hint: rendered.link.as_deref().map(message::link_hint),
    };
    let content = aead::seal(
        key,
        &aad(&id),
        &serde_json::to_vec(&sealed).expect("mail serializes"),
    );
    outbox::enqueue(
        conn,
        &outbox::NewMail {
            id: &id,
            tenant,
            kind: rendered.kind.as_str(),
            recipient: &to.address,
            content: &content,
            now,
        },
    )?;
    metrics::counter!("watchword_mail_queued_total", "kind" => rendered.kind.as_str()).increment(1);
    Ok(id)
}
