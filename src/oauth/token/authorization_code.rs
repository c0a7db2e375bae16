//! `grant_type=authorization_code`: redeem a code once, check the redirect URI and the PKCE
//! verifier, and issue access, ID and refresh tokens. A code replayed by the client it was issued
//! to revokes everything the first redemption issued; replayed by another client, it is only
//! refused. The grant keeps the exchange's client address and device as its risk baseline, which
//! each refresh is compared with (`crate::auth::continuous`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::TokenResponse;
use super::mint::{Subject, mint};
use super::refresh_token::new_refresh_token;
use crate::auth::continuous::Seen;
use crate::auth::sessions::{SessionLookup, Sessions};
use crate::context::Ctx;
use crate::crypto::constant_time_eq;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::client::{Client, GrantType};
use crate::domain::tenant::Tenant;
use crate::oauth::authorize::code::{self, CodeRecord, CodeRedemption};
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::revocation;
use crate::oauth::scope::{OFFLINE_ACCESS, Scope};
use crate::storage;

pub async fn exchange(
    ctx: &Ctx,
    tenant: &Tenant,
    client: &Client,
    params: &Params,
    seen: &Seen,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("code")?;
    let (record, grant_id) = match code::redeem(ctx, presented).await? {
        CodeRedemption::Fresh { record, grant_id } => (record, grant_id),
        CodeRedemption::Replayed(used) => {
            // Only the client the code was issued to can have its grant revoked by a replay:
            // another client presenting a stolen, used code learns nothing and changes nothing.
            if !used.issued_to(&tenant.id.to_string(), &client.client_id) {
                return Err(OAuthError::invalid_grant(
                    "the authorization code is invalid or expired",
                ));
            }
            let grant_id = used.grant_id;
            let revoked = revocation::revoke_grant(ctx, &grant_id).await?;
            storage::audit::record(
                &ctx.db,
                AuditEvent::new(
                    ctx.clock.now(),
                    Some(tenant.id),
                    AuditAction::TokenReuseDetected,
                    "authorization_code",
                    Actor::Anonymous,
                )
                .subject(format!("client:{}", client.client_id))
                .details(
                    serde_json::json!({ "grant": grant_id, "refresh_tokens_revoked": revoked }),
                ),
            )
            .await;
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; tokens issued from it have been revoked",
            ));
        }
        CodeRedemption::Invalid => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is invalid or expired",
            ));
        }
    };
    check(tenant, client, params, &record)?;

    let (tenant_id, user_id) = (
        tenant.id,
        record
            .user_id
            .parse()
            .map_err(|_| OAuthError::invalid_grant("invalid code"))?,
    );
    let user = ctx
        .db
        .run(move |c| storage::users::find_by_id(c, tenant_id, user_id))
        .await?
        .map(|u| u.user)
        .filter(|u| u.enabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user is no longer allowed to sign in"))?;
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let SessionLookup::Active(session) = sessions.lookup_sid(tenant, &record.sid, false).await?
    else {
        return Err(OAuthError::invalid_grant("the sign-in session has ended"));
    };
    let risk = session
        .record
        .risk
        .as_ref()
        .filter(|_| tenant.policy.risk.claim)
        .map(|r| serde_json::json!({ "level": r.level, "decision": r.decision, "reasons": r.reasons }));

    let scope = Scope::parse(&record.scope)?;
    // A federated session's upstream groups, to clients that asked for them.
    let groups = session
        .record
        .via
        .as_ref()
        .filter(|f| !f.groups.is_empty() && scope.contains("groups"))
        .map(|f| f.groups.clone());
    let with_refresh = client.allows_grant(GrantType::RefreshToken);
    // Offline access is a refresh token that outlives the browser session; without one, the
    // tokens are bound to the session like any other.
    let offline = scope.contains(OFFLINE_ACCESS) && with_refresh;
    let subject = Subject {
        user_id: Some(user.id),
        profile: Some(&user),
        sid: Some(&record.sid),
        session_bound: !offline,
        grant_id: Some(&grant_id),
        auth_time: Some(record.auth_time),
        amr: record.amr.clone(),
        acr: record.acr.clone(),
        risk,
        groups,
    };
    let minted = mint(
        ctx,
        tenant,
        client,
        &subject,
        &scope,
        record.nonce.clone(),
        true,
    )
    .await?;
    let refresh_token = if with_refresh {
        let (token, row) = new_refresh_token(ctx, tenant, client, &record, &grant_id, offline);
        // Where and on what the grant is issued: each refresh is compared with it.
        let baseline = storage::grants::Baseline {
            ip: Some(seen.ip.to_string()),
            device: Some(crate::domain::device::describe(&seen.user_agent)),
        };
        ctx.db
            .write(move |c| storage::grants::start(c, &row, baseline))
            .await?;
        // The session may have ended (e.g. evicted by a sign-in elsewhere) between the check
        // above and the insert, after its ending had already revoked its grants: look again now
        // that the grant is stored. Whatever ends the session later finds the grant.
        if !matches!(
            sessions.lookup_sid(tenant, &record.sid, false).await?,
            SessionLookup::Active(_)
        ) {
            revocation::revoke_grant(ctx, &grant_id).await?;
            return Err(OAuthError::invalid_grant("the sign-in session has ended"));
        }
        Some(token)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: minted.access_token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        refresh_token,
        id_token: minted.id_token,
        scope: scope.to_string(),
    })
}

/// The code must belong to this client and tenant, the redirect URI must be repeated exactly,
/// and the PKCE verifier must match (or be absent when the code was issued without PKCE).
fn check(
    tenant: &Tenant,
    client: &Client,
    params: &Params,
    record: &CodeRecord,
) -> Result<(), OAuthError> {
    if record.tenant_id != tenant.id.to_string() || record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    match params.get("redirect_uri") {
        Some(uri) if uri != record.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        None if record.redirect_uri_given => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri is required because the authorization request had it",
            ));
        }
        _ => {}
    }
    match (&record.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let valid_format = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !valid_format || !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier is required (PKCE)",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "the code was issued without PKCE; a code_verifier cannot be used",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}
