//! The mail a user gets about a noticed sign-in (new device or place, a risky level whose policy
//! notifies, or a block): when, the device, the approximate place, why, and one single-use link
//! to say whether it was them. The link's token is `<event id>.<secret>` and only its keyed
//! digest is stored (purpose [`FEEDBACK`]), so a link answers for its own event only. What the
//! answers do is `crate::risk_feedback`. Sent only to a verified address; at most
//! [`PER_HOUR`] an hour per user.

use super::risk::Note;
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::mail::{Recipient, links, message};

/// The link table's purpose of feedback links.
pub const FEEDBACK: &str = "risk_feedback";
/// How long the link works.
pub const LINK_DAYS: i64 = 7;
/// Notices a user can be sent per hour.
pub const PER_HOUR: i64 = 10;

/// The approximate place of a visit, in words ("Berlin, DE (AS64500)", "unknown").
pub fn place_words(note: &Note) -> String {
    match &note.visit.place {
        Some(p) => crate::domain::place::words(p.city.as_deref(), p.country.as_deref(), p.asn),
        None => "unknown".into(),
    }
}

/// Queues the notice of `note`'s sign-in to `user`; failures are logged, never fail the sign-in.
pub async fn send(ctx: &Ctx, tenant: &Tenant, user: &User, note: &Note) {
    let Some(address) = user.email.clone().filter(|_| user.email_verified) else {
        return;
    };
    let Some(to) = Recipient::new(&address, Some(user.label())) else {
        return;
    };
    let token = format!("{}.{}", note.event, random::token());
    let when = chrono::DateTime::from_timestamp(note.visit.at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let rendered = message::sign_in_notice(message::SignInNotice {
        tenant: tenant.display_name.clone(),
        name: user.label().to_owned(),
        blocked: note.decision == super::risk::Decision::Block,
        when,
        device: note.visit.agent.clone().unwrap_or_default(),
        place: place_words(note),
        reasons: note
            .reasons
            .iter()
            .filter(|r| r.describe() != "")
            .map(|r| format!("signed in from {}", r.describe()))
            .collect(),
        link: format!(
            "{}/t/{}/sign-in-check?token={token}",
            ctx.config.public_origin(),
            tenant.slug
        ),
        days: LINK_DAYS,
    });
    let sent = links::send(
        ctx,
        links::Link {
            tenant: tenant.id,
            user: user.id,
            purpose: FEEDBACK,
            address,
            previous_address: None,
            token,
            lifetime_secs: LINK_DAYS * 86_400,
            per_hour: PER_HOUR,
            to,
            message: rendered,
        },
    )
    .await;
    match sent {
        Ok(true) => {}
        Ok(false) => tracing::info!(user = %user.id, "sign-in notice not sent: hourly limit"),
        Err(e) => tracing::warn!(error = %e, user = %user.id, "could not queue a sign-in notice"),
    }
}
