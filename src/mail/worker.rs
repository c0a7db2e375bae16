//! Delivers the outbox: claims due messages (each by one replica), opens each, sends it, and
//! marks it sent (its content wiped), due again after a backoff, or given up after
//! `mail.max_attempts` or a permanent refusal. Runs on every replica; wakes when this replica
//! queues a message and otherwise polls, so messages queued elsewhere or left by a crashed
//! replica (its claim lapses) are delivered too. Every outcome is counted and logged, links with
//! their token cut off.

use std::time::Duration;

use lettre::Message;
use lettre::message::MultiPart;

use super::{Mailer, Sealed, aad};
use crate::context::Ctx;
use crate::crypto::aead;
use crate::storage::outbox::{self, Claimed};

/// Messages claimed per round.
const BATCH: i64 = 20;
/// How often the worker looks for due messages when nothing woke it.
const POLL: Duration = Duration::from_secs(5);
/// The wait after the first failed attempt; it doubles per attempt up to [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 30;
const MAX_BACKOFF_SECS: i64 = 3600;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    /// Failed this time, due again later.
    pub retrying: usize,
    /// Given up.
    pub failed: usize,
}

/// The wait before the attempt after `attempts` failed ones.
pub fn backoff(attempts: i32) -> i64 {
    let doublings = attempts.clamp(1, 20) - 1;
    (FIRST_BACKOFF_SECS << doublings).min(MAX_BACKOFF_SECS)
}

/// Runs forever: delivers whatever is due, then waits to be woken or for the next poll.
pub async fn run(ctx: Ctx) {
    loop {
        let round = deliver_due(&ctx).await;
        if round.sent + round.retrying + round.failed > 0 {
            continue; // there may be more
        }
        tokio::select! {
            _ = ctx.mail.woken() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One round: claims up to a batch of due messages and attempts each once.
pub async fn deliver_due(ctx: &Ctx) -> Round {
    let now = ctx.clock.unix();
    let lease = ctx.mail.lease_secs;
    let claimed = match ctx
        .db
        .write(move |c| outbox::claim(c, now, lease, BATCH))
        .await
    {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(error = %e, "mail: could not read the outbox");
            return Round::default();
        }
    };
    let mut round = Round::default();
    for mail in claimed {
        deliver(ctx, mail, &mut round).await;
    }
    if let Ok(pending) = ctx.db.run(outbox::pending_count).await {
        metrics::gauge!("watchword_mail_outbox_pending").set(pending as f64);
    }
    round
}

async fn deliver(ctx: &Ctx, mail: Claimed, round: &mut Round) {
    let kind = mail.kind.clone();
    let (sealed, message) = match open(ctx.mail.as_ref(), &ctx.keys.encryption, &mail) {
        Ok(opened) => opened,
        Err(reason) => {
            // Nothing to retry: the row cannot be read with this key.
            give_up(ctx, &mail, &reason, round).await;
            return;
        }
    };
    let link = sealed.link_hint.as_deref().unwrap_or("");
    match ctx.mail.transport.send(message).await {
        Ok(place) => {
            let (id, now) = (mail.id.clone(), ctx.clock.unix());
            if let Err(e) = ctx.db.write(move |c| outbox::sent(c, &id, now)).await {
                // Sent but not marked: the claim lapses and the message may go twice.
                tracing::error!(error = %e, mail = %mail.id, "mail: sent, but could not record it");
            }
            metrics::counter!("watchword_mail_sent_total", "kind" => kind.clone()).increment(1);
            round.sent += 1;
            tracing::info!(mail = %mail.id, kind = %kind, to = %mail.recipient, via = ctx.mail.transport.kind(), to_place = %place, link, "mail sent");
        }
        Err(failure) if failure.permanent || mail.attempts >= ctx.mail.max_attempts as i32 => {
            give_up(ctx, &mail, &failure.message, round).await;
        }
        Err(failure) => {
            let next = ctx.clock.unix() + backoff(mail.attempts);
            let (id, error) = (mail.id.clone(), failure.message.clone());
            if let Err(e) = ctx
                .db
                .write(move |c| outbox::retry_at(c, &id, next, &error))
                .await
            {
                tracing::error!(error = %e, mail = %mail.id, "mail: could not schedule a retry (the claim lapses instead)");
            }
            metrics::counter!("watchword_mail_failed_total", "kind" => kind, "final" => "false")
                .increment(1);
            round.retrying += 1;
            tracing::warn!(mail = %mail.id, to = %mail.recipient, attempts = mail.attempts, retry_in_secs = backoff(mail.attempts), error = %failure.message, "mail not delivered; will retry");
        }
    }
}

async fn give_up(ctx: &Ctx, mail: &Claimed, reason: &str, round: &mut Round) {
    let (id, now, error) = (mail.id.clone(), ctx.clock.unix(), reason.to_owned());
    if let Err(e) = ctx
        .db
        .write(move |c| outbox::failed(c, &id, now, &error))
        .await
    {
        tracing::error!(error = %e, mail = %mail.id, "mail: could not record a delivery given up");
    }
    metrics::counter!("watchword_mail_failed_total", "kind" => mail.kind.clone(), "final" => "true")
        .increment(1);
    round.failed += 1;
    tracing::error!(mail = %mail.id, kind = %mail.kind, to = %mail.recipient, attempts = mail.attempts, error = %reason, "mail given up (`watchword mail retry` sends it again)");
}

/// The sealed message of a row, and the message to send.
fn open(mailer: &Mailer, key: &[u8; 32], mail: &Claimed) -> Result<(Sealed, Message), String> {
    let plain = aead::open(key, &aad(&mail.id), &mail.content)
        .map_err(|_| "the message cannot be opened with this master key".to_owned())?;
    let sealed: Sealed =
        serde_json::from_slice(&plain).map_err(|e| format!("unreadable message: {e}"))?;
    let to = super::Recipient::new(&mail.recipient, sealed.name.as_deref())
        .and_then(|r| r.mailbox())
        .ok_or_else(|| "not a valid recipient address".to_owned())?;
    // The row's id names the message, so a receiver can tell a repeat (a claim that lapsed).
    let domain = mailer.from.email.domain();
    let message = Message::builder()
        .message_id(Some(format!("<{}@{domain}>", mail.id)))
        .from(mailer.from.clone())
        .to(to)
        .subject(sealed.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            sealed.text.clone(),
            sealed.html.clone(),
        ))
        .map_err(|e| format!("cannot build the message: {e}"))?;
    Ok((sealed, message))
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 60);
        assert_eq!(backoff(3), 120);
        assert_eq!(backoff(8), 3600);
        assert_eq!(backoff(100), 3600);
    }
}
