//! Codes by mail as a second factor (`mfa.email_code`): an 8-digit code for one pending sign-in
//! (its digest binds the code to that sign-in, so a code never works for another attempt), sent
//! only to the user's verified address through the outbox, valid for [`CODE_MINUTES`], used once,
//! the newest replacing older ones, at most [`CODES_PER_HOUR`] per user. Wrong guesses are
//! throttled with the other second factors (`auth::second_step`). Never offered for a password
//! reset: the reset link already proved the mailbox, and a second factor must be something else.

use crate::context::Ctx;
use crate::crypto::{random, sha256_hex};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::mail::{Recipient, links, message};
use crate::storage::{self, StorageError, factors::Factors, mail_links};

/// What a code is for (the link table's purpose).
pub const EMAIL_CODE: &str = "email_code";
/// How long a code works.
pub const CODE_MINUTES: i64 = 10;
/// Codes a user can be sent per hour.
pub const CODES_PER_HOUR: i64 = 5;
const DIGITS: usize = 8;

/// Whether a code by mail is a second factor for `user` now: the tenant allows it for a user
/// with (or, under `fallback`, without) other factors, and the user has a verified address.
pub fn available(tenant: &Tenant, user: &User, factors: &Factors) -> bool {
    user.email_verified && user.email.is_some() && tenant.policy.mfa.email_code_for(factors.any())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// On its way to this (masked) address.
    Sent { to: String },
    /// Too many codes this hour.
    Throttled,
    /// The user has no verified address any more.
    NoAddress,
}

/// What a code is stored under: bound to the pending sign-in `pending_token`.
fn binding(pending_token: &str, code: &str) -> String {
    format!("{}:{code}", sha256_hex(pending_token.as_bytes()))
}

fn new_code() -> String {
    let n = u64::from_le_bytes(random::bytes::<8>()) % 10u64.pow(DIGITS as u32);
    format!("{n:0width$}", width = DIGITS)
}

/// Sends `user` a code for the pending sign-in `pending_token`; `when` describes the attempt
/// (device and time) in the message.
pub async fn send(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    pending_token: &str,
    when: String,
) -> Result<Sent, StorageError> {
    let Some(address) = user.email.clone().filter(|_| user.email_verified) else {
        return Ok(Sent::NoAddress);
    };
    let Some(to) = Recipient::new(&address, Some(user.label())) else {
        return Ok(Sent::NoAddress);
    };
    let code = new_code();
    let rendered = message::email_code(message::EmailCode {
        tenant: tenant.display_name.clone(),
        name: user.label().to_owned(),
        code: format!("{} {}", &code[..4], &code[4..]),
        minutes: CODE_MINUTES,
        when,
    });
    let sent = links::send(
        ctx,
        links::Link {
            tenant: tenant.id,
            user: user.id,
            purpose: EMAIL_CODE,
            address: address.clone(),
            previous_address: None,
            token: binding(pending_token, &code),
            lifetime_secs: CODE_MINUTES * 60,
            per_hour: CODES_PER_HOUR,
            to,
            message: rendered,
        },
    )
    .await?;
    Ok(if sent {
        Sent::Sent {
            to: message::masked(&address),
        }
    } else {
        Sent::Throttled
    })
}

/// Uses the code `entered` (spaces and dashes ignored) for the pending sign-in `pending_token`
/// of `user`: `true` once, when it is the newest code sent for it and has not expired.
pub async fn redeem(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    pending_token: &str,
    entered: &str,
) -> Result<bool, StorageError> {
    let code: String = entered
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    let digest = links::digest(ctx, &binding(pending_token, &code));
    let (now, tenant_id, user_id) = (ctx.clock.unix(), tenant.id.to_string(), user.id.to_string());
    ctx.db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                let Some(link) = mail_links::find(c, &digest)? else {
                    return Ok(false);
                };
                if link.tenant_id != tenant_id
                    || link.purpose != EMAIL_CODE
                    || link.user_id.as_deref() != Some(user_id.as_str())
                {
                    return Ok(false);
                }
                mail_links::use_once(c, &digest, now)
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_eight_digits() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn a_code_is_bound_to_its_sign_in() {
        assert_ne!(binding("a", "12345678"), binding("b", "12345678"));
    }
}
