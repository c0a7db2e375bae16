//! Minting access and ID tokens for a grant, with the client's (or tenant's) algorithms and
//! lifetimes.

use super::super::claims::user_claims;
use super::super::error::OAuthError;
use super::super::scope::{OPENID, Scope};
use super::super::tokens::{AccessClaims, IdClaims, at_hash};
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::client::Client;
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;

/// What the tokens are about.
pub struct Subject<'a> {
    /// The user (`sub`), or `None` for a client acting for itself.
    pub user_id: Option<UserId>,
    /// The user's profile, for the ID token's claims; only grants that issue ID tokens load it.
    pub profile: Option<&'a User>,
    /// The browser session (ID token `sid`; for offline grants, the session they started in).
    pub sid: Option<&'a str>,
    /// Whether access tokens die with that session (not for offline grants).
    pub session_bound: bool,
    pub grant_id: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// The `risk` claim of the ID token (the session's sign-in judgement), if the tenant shows it.
    pub risk: Option<serde_json::Value>,
    /// The `groups` claim of the ID token (a federated session's upstream groups, scope
    /// `groups`), issued at the code exchange only.
    pub groups: Option<Vec<String>>,
}

pub struct Minted {
    pub access_token: String,
    pub expires_in: i64,
    pub id_token: Option<String>,
}

pub async fn mint(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    subject: &Subject<'_>,
    scope: &Scope,
    nonce: Option<String>,
    with_id_token: bool,
) -> Result<Minted, OAuthError> {
    let keys = crate::signing::keys_for(ctx, tenant.id).await?;
    let issuer = super::super::issuer(ctx, tenant);
    let now = ctx.clock.unix();
    let policy = &tenant.policy.tokens;
    let life = &client.settings.lifetimes;
    let at_ttl = life.access_token_secs.unwrap_or(policy.access_token_secs);
    let at_alg = client
        .settings
        .access_token_alg
        .unwrap_or(policy.access_token_alg);
    let sub = subject
        .user_id
        .map_or_else(|| client.client_id.clone(), |u| u.to_string());
    let access = AccessClaims {
        iss: issuer.clone(),
        sub: sub.clone(),
        aud: client.client_id.clone(),
        exp: now + at_ttl,
        iat: now,
        jti: random::token(),
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        auth_time: subject.auth_time,
        acr: subject.acr.clone(),
        sid: subject
            .session_bound
            .then(|| subject.sid.map(str::to_owned))
            .flatten(),
        osid: (!subject.session_bound)
            .then(|| subject.sid.map(str::to_owned))
            .flatten(),
        gid: subject.grant_id.map(str::to_owned),
    };
    let access_token = keys.sign(at_alg, "at+jwt", &access, now)?;

    let id_token = match subject.profile {
        Some(user) if with_id_token && scope.contains(OPENID) => {
            let alg = client.settings.id_token_alg.unwrap_or(policy.id_token_alg);
            let ttl = life.id_token_secs.unwrap_or(policy.id_token_secs);
            let claims = IdClaims {
                iss: issuer,
                sub,
                aud: client.client_id.clone(),
                exp: now + ttl,
                iat: now,
                auth_time: subject.auth_time.unwrap_or(now),
                nonce,
                acr: subject.acr.clone(),
                amr: subject.amr.clone(),
                azp: client.client_id.clone(),
                sid: subject.sid.map(str::to_owned),
                at_hash: Some(at_hash(alg, &access_token)),
                risk: subject.risk.clone(),
                profile: {
                    let mut profile = user_claims(user, scope);
                    if let Some(groups) = &subject.groups {
                        profile.insert("groups".into(), serde_json::json!(groups));
                    }
                    profile
                },
            };
            Some(keys.sign(alg, "JWT", &claims, now)?)
        }
        _ => None,
    };
    Ok(Minted {
        access_token,
        expires_in: at_ttl,
        id_token,
    })
}
