//! The tokens Watchword issues: access tokens (JWT, RFC 9068 `at+jwt`), ID tokens (OIDC Core 2)
//! and logout tokens (Back-Channel Logout 2.4), and the verification of tokens presented back to
//! us (access tokens at userinfo/introspection/revocation, ID tokens as `id_token_hint`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256, Sha512};

use crate::crypto::jws;
use crate::domain::keys::SigningAlg;
use crate::signing::TenantKeys;

pub use crate::domain::claims::{AccessClaims, BACKCHANNEL_EVENT, IdClaims, LogoutClaims};

/// `at_hash`: the left half of the hash of the access token, with the hash of the ID token's
/// algorithm (SHA-256 for RS256/ES256, SHA-512 for Ed25519).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => {
            let d = Sha256::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d[..16])
        }
        SigningAlg::EdDSA => {
            let d = Sha512::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d[..32])
        }
    }
}

/// Why a presented token was not accepted (the reason is for logs; clients get a generic text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("wrong token type")]
    WrongType,
    #[error("signature or claims invalid")]
    Invalid,
    #[error("expired")]
    Expired,
    #[error("issued by another issuer")]
    WrongIssuer,
}

/// Verifies a JWT we issued: known `kid`, the key's own algorithm (so `none` or a swapped
/// algorithm fails), signature, issuer and `typ`. Expiry is checked against `now` unless
/// `allow_expired` (an `id_token_hint` may be expired).
pub fn verify<T: serde::de::DeserializeOwned>(
    keys: &TenantKeys,
    issuer: &str,
    token: &str,
    accepted_types: &[&str],
    now: i64,
    allow_expired: bool,
) -> Result<T, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    let typ = header.typ.as_deref().unwrap_or("").to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    if !accepted_types.iter().any(|t| t.eq_ignore_ascii_case(typ)) {
        return Err(TokenError::WrongType);
    }
    let kid = header.kid.ok_or(TokenError::UnknownKey)?;
    let key = keys.by_kid(&kid).ok_or(TokenError::UnknownKey)?;
    let mut validation = jsonwebtoken::Validation::new(jws::jwt_algorithm(key.alg));
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &validation)
        .map_err(|_| TokenError::Invalid)?;
    let claims = data.claims;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(issuer) {
        return Err(TokenError::WrongIssuer);
    }
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .ok_or(TokenError::Invalid)?;
    if !allow_expired && exp <= now {
        return Err(TokenError::Expired);
    }
    serde_json::from_value(claims).map_err(|_| TokenError::Invalid)
}

/// Verifies an access token.
pub fn verify_access_token(
    keys: &TenantKeys,
    issuer: &str,
    token: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    verify(keys, issuer, token, &["at+jwt"], now, false)
}

/// Verifies an access token presented to this tenant, remembering verified tokens for 30 s so a
/// resource server introspecting the same token again does not pay for the signature check again.
/// A remembered token is still checked for issuer, expiry and that its key is still published
/// (withdrawn keys fail at once); revocation is the caller's check, every time.
pub async fn verify_access_token_cached(
    ctx: &crate::context::Ctx,
    tenant: &crate::domain::tenant::Tenant,
    token: &str,
) -> Result<AccessClaims, TokenError> {
    let issuer = super::issuer(ctx, tenant);
    let now = ctx.clock.unix();
    if let Some((kid, claims)) = ctx.cache.verified.get(&token.to_owned()) {
        let keys = crate::signing::keys_for(ctx, tenant.id)
            .await
            .map_err(|_| TokenError::UnknownKey)?;
        if claims.iss != issuer || keys.by_kid(&kid).is_none() {
            return Err(TokenError::WrongIssuer);
        }
        return if claims.exp > now {
            Ok(claims)
        } else {
            Err(TokenError::Expired)
        };
    }
    let kid = jsonwebtoken::decode_header(token)
        .map_err(|_| TokenError::Malformed)?
        .kid
        .ok_or(TokenError::UnknownKey)?;
    let keys = crate::signing::keys_knowing(ctx, tenant.id, &kid)
        .await
        .map_err(|_| TokenError::UnknownKey)?;
    let claims = verify_access_token(&keys, &issuer, token, now)?;
    if token.len() <= 4096 {
        ctx.cache
            .verified
            .insert(token.to_owned(), (kid, claims.clone()));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OpenID Connect Core, appendix A.3 (RS256).
        assert_eq!(
            at_hash(
                SigningAlg::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
