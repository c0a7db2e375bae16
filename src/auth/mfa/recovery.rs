//! Recovery codes: 10 single-use codes (10 characters each from a 31-letter alphabet without
//! look-alikes, about 49.5 random bits, `xxxxx-xxxxx`), shown once, stored as keyed digests. A new set replaces the old
//! one. Using one is a second factor (audited; the user is told how many remain).

use super::FactorError;
use crate::context::Ctx;
use crate::crypto::{random, secret_digest};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

pub const COUNT: usize = 10;
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789"; // no i, l, o, 0, 1

fn one() -> String {
    // Uniform choice: bytes at or above the largest multiple of the alphabet's size are drawn
    // again (no modulo bias).
    let limit = 256 - 256 % ALPHABET.len();
    let mut chars = String::with_capacity(10);
    while chars.len() < 10 {
        for b in random::bytes::<16>() {
            if usize::from(b) < limit && chars.len() < 10 {
                chars.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The form a typed code is compared in: lowercase, no spaces or dashes.
fn canonical(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A new set of codes (returned once); the previous set stops working.
pub async fn regenerate(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
) -> Result<Vec<String>, FactorError> {
    let codes: Vec<String> = (0..COUNT).map(|_| one()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| secret_digest(&ctx.keys.secret_hash, &canonical(c)))
        .collect();
    let (t, u, now) = (tenant.id, user.id, ctx.clock.unix());
    ctx.db
        .write(move |c| storage::factors::recovery_replace(c, t, u, &hashes, now))
        .await?;
    Ok(codes)
}

/// Uses a code; returns how many remain.
pub async fn redeem(ctx: &Ctx, user: &User, code: &str) -> Result<i64, FactorError> {
    let code = canonical(code);
    if code.len() != 10 {
        return Err(FactorError::WrongRecoveryCode);
    }
    let hash = secret_digest(&ctx.keys.secret_hash, &code);
    let (u, now) = (user.id, ctx.clock.unix());
    ctx.db
        .write(move |c| storage::factors::recovery_use(c, u, &hash, now))
        .await?
        .ok_or(FactorError::WrongRecoveryCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_readable() {
        let codes: Vec<String> = (0..50).map(|_| one()).collect();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 50);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert!(!c.contains(['i', 'l', 'o', '0', '1']), "{c}");
        }
        assert_eq!(canonical(" ABCDE-fghjk "), "abcdefghjk");
    }
}
