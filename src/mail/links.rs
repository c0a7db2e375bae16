//! Sending a single-use link by mail: the link's row (only the keyed digest of its token; older
//! unused links of the same user and purpose end) and its message are written in one
//! transaction, after the user's recent links of that purpose are counted under the user's row
//! lock, so that concurrent requests cannot exceed the hourly limit.

use super::{Recipient, Rendered};
use crate::context::Ctx;
use crate::crypto::secret_digest;
use crate::domain::ids::{TenantId, UserId};
use crate::storage::{self, StorageError, mail_links};

/// A link to send.
pub struct Link {
    pub tenant: TenantId,
    pub user: UserId,
    /// What the link is for (a link for one purpose never works for another).
    pub purpose: &'static str,
    /// The address it is sent to (kept with the link).
    pub address: String,
    /// For a change of address: the user's address when asking (kept with the link).
    pub previous_address: Option<String>,
    /// The token in the link (only its digest is stored).
    pub token: String,
    pub lifetime_secs: i64,
    /// Links of this purpose a user may be sent per hour.
    pub per_hour: i64,
    pub to: Recipient,
    pub message: Rendered,
}

/// The stored form of a link's token.
pub fn digest(ctx: &Ctx, token: &str) -> String {
    secret_digest(&ctx.keys.secret_hash, token)
}

/// Records `link` and queues its message; `false` (nothing written) when the user already had
/// `per_hour` links of this purpose in the last hour.
pub async fn send(ctx: &Ctx, link: Link) -> Result<bool, StorageError> {
    let (digest, key, now) = (
        digest(ctx, &link.token),
        *ctx.keys.encryption,
        ctx.clock.unix(),
    );
    let sent = ctx
        .db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                mail_links::lock_user(c, link.user)?;
                if mail_links::count_recent(c, link.user, link.purpose, now - 3600)?
                    >= link.per_hour
                {
                    return Ok(false);
                }
                mail_links::insert_replacing(
                    c,
                    &mail_links::NewLink {
                        digest: &digest,
                        tenant: link.tenant,
                        user: Some(link.user),
                        purpose: link.purpose,
                        address: Some(&link.address),
                        previous_address: link.previous_address.as_deref(),
                        now,
                        expires_at: now + link.lifetime_secs,
                    },
                )?;
                super::queue(c, &key, now, Some(link.tenant), &link.to, &link.message)?;
                Ok(true)
            })
        })
        .await?;
    if sent {
        ctx.mail.wake();
    }
    Ok(sent)
}
