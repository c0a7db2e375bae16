//! TOTP (RFC 6238, totp-rs): 6 digits, 30-second steps, SHA-1 (what authenticator apps support),
//! one step of tolerance either way. Seeds are sealed with AES-256-GCM under the master key (the
//! user id is the associated data, so a seed cannot be moved to another user). A step is accepted
//! once: the last accepted step is stored and only later ones pass (a conditional update).
//! A seed is a factor only once confirmed by a first valid code; until then it is an enrolment
//! that expires after `ENROLMENT_SECS` and is shown again (the same key) while it lasts.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::FactorError;
use crate::context::Ctx;
use crate::crypto::{aead, random};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::{self, factors::TotpRow};

/// How long an unconfirmed seed can be confirmed (and is shown again) after it was created.
pub const ENROLMENT_SECS: i64 = 15 * 60;

/// What a code is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Signing in or stepping up: only a confirmed seed counts.
    Verify,
    /// The first code of an enrolment: only an unconfirmed seed younger than `ENROLMENT_SECS`.
    Confirm,
}

/// What the enrolment page shows: the QR code (PNG, base64) and the key to type by hand.
pub struct Enrolment {
    pub qr_png_base64: String,
    pub manual_key: String,
    pub otpauth_url: String,
}

fn aad(user: UserId) -> Vec<u8> {
    format!("watchword/totp/{user}").into_bytes()
}

fn build(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Totp, FactorError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret))
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| FactorError::WebAuthn(format!("TOTP setup failed: {e}")))
}

/// Starts setting up an authenticator app, or shows again the one being set up: an unconfirmed
/// seed younger than `ENROLMENT_SECS` is shown again (the app the user already scanned keeps
/// matching after a mistyped code); otherwise a new 160-bit seed is stored sealed and
/// unconfirmed. `None` if the user already has a confirmed one (remove it first).
pub async fn start(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
) -> Result<Option<Enrolment>, FactorError> {
    let (t, u, now) = (tenant.id, user.id, ctx.clock.unix());
    let existing = ctx
        .db
        .run(move |c| storage::factors::totp_get(c, t, u))
        .await?;
    let reusable = match &existing {
        Some(row) if row.confirmed_at.is_some() => return Ok(None),
        Some(row) if now - row.created_at < ENROLMENT_SECS => {
            aead::open(&ctx.keys.encryption, &aad(user.id), &row.secret_sealed).ok()
        }
        _ => None,
    };
    let seed = match reusable {
        Some(seed) => seed,
        None => {
            let seed = random::bytes::<20>().to_vec();
            let row = TotpRow {
                user_id: user.id.to_string(),
                tenant_id: tenant.id.to_string(),
                secret_sealed: aead::seal(&ctx.keys.encryption, &aad(user.id), &seed),
                confirmed_at: None,
                last_step: 0,
                created_at: now,
            };
            if !ctx
                .db
                .write(move |c| storage::factors::totp_start(c, &row))
                .await?
            {
                return Ok(None);
            }
            seed
        }
    };
    let totp = build(seed, &tenant.display_name, &user.username)?;
    Ok(Some(Enrolment {
        qr_png_base64: totp
            .to_qr_base64()
            .map_err(|e| FactorError::WebAuthn(format!("QR code: {e}")))?,
        manual_key: group(&totp.secret().to_base32()),
        otpauth_url: totp.to_url().unwrap_or_default(),
    }))
}

/// The key in groups of four, as people type it.
fn group(base32: &str) -> String {
    base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a code: right for the current step (±1), and a later step than any accepted before.
/// For `Purpose::Verify` the seed must be confirmed; for `Purpose::Confirm` it must be an
/// unexpired enrolment, which the code then confirms. `WrongCode` for wrong, malformed, replayed
/// codes and a seed of the wrong kind alike.
pub async fn verify(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    code: &str,
    purpose: Purpose,
) -> Result<(), FactorError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FactorError::WrongCode);
    }
    let (t, u) = (tenant.id, user.id);
    let Some(row) = ctx
        .db
        .run(move |c| storage::factors::totp_get(c, t, u))
        .await?
    else {
        return Err(FactorError::WrongCode);
    };
    let usable = match purpose {
        Purpose::Verify => row.confirmed_at.is_some(),
        Purpose::Confirm => {
            row.confirmed_at.is_none() && ctx.clock.unix() - row.created_at < ENROLMENT_SECS
        }
    };
    if !usable {
        return Err(FactorError::WrongCode);
    }
    let seed = aead::open(&ctx.keys.encryption, &aad(user.id), &row.secret_sealed)
        .map_err(|_| FactorError::WebAuthn("the stored TOTP seed cannot be read".into()))?;
    let totp = build(seed, &tenant.display_name, &user.username)?;
    let now = u64::try_from(ctx.clock.unix()).unwrap_or(0);
    let Some(step) = totp.check(&code, now) else {
        return Err(FactorError::WrongCode);
    };
    let (step, at) = (step as i64, ctx.clock.unix());
    if ctx
        .db
        .write(move |c| storage::factors::totp_accept(c, u, step, at, purpose == Purpose::Confirm))
        .await?
    {
        Ok(())
    } else {
        Err(FactorError::WrongCode) // a replay of an accepted step
    }
}

/// Whether the user has started, and can still confirm, an enrolment.
pub async fn pending(ctx: &Ctx, tenant: &Tenant, user: &User) -> Result<bool, FactorError> {
    let (t, u, now) = (tenant.id, user.id, ctx.clock.unix());
    Ok(ctx
        .db
        .run(move |c| storage::factors::totp_get(c, t, u))
        .await?
        .is_some_and(|r| r.confirmed_at.is_none() && now - r.created_at < ENROLMENT_SECS))
}

pub async fn remove(ctx: &Ctx, user: &User) -> Result<bool, FactorError> {
    let u = user.id;
    Ok(ctx
        .db
        .write(move |c| storage::factors::totp_delete(c, u))
        .await?)
}

/// The code an authenticator app would show at `unix` for `seed` (tests and benchmarks).
pub fn code_at(seed_base32: &str, unix: i64) -> Option<String> {
    let secret = Secret::try_from_base32(seed_base32.replace(' ', "")).ok()?;
    let totp = Builder::new()
        .with_secret(secret)
        .with_account_name("x")
        .build()
        .ok()?;
    Some(totp.generate(u64::try_from(unix).ok()?).to_string())
}
