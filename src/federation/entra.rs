//! Microsoft Entra ID on top of the OIDC relying party: the token's issuer checked against its
//! own directory (`tid`), which must be one the provider admits (personal accounts only when
//! configured), the subject `tid:oid` (never `email`, `upn` or the pairwise `sub`), e-mail
//! believed only with `email_verified` or `xms_edov`, and groups: the `groups` claim, or on an
//! overage (`_claim_names`) Microsoft Graph `getMemberObjects`, time-boxed and guarded, never
//! the `_claim_sources` URL. Unresolved groups fail the sign-in when `require_groups`.

use serde_json::{Map, Value};

use super::FederationError;
use super::identity::Person;
use super::mapping::{flag, list, text, upstream_mfa};
use crate::context::Ctx;
use crate::domain::idp::{EntraSettings, IdentityProvider};

pub async fn person(
    ctx: &Ctx,
    idp: &IdentityProvider,
    entra: &EntraSettings,
    claims: &Map<String, Value>,
    access_token: &str,
) -> Result<Person, FederationError> {
    let tid = text(claims, "tid").ok_or(FederationError::NoSubject)?;
    let oid = text(claims, "oid").ok_or(FederationError::NoSubject)?;
    if !entra.admits(&tid) {
        return Err(FederationError::TenantNotAllowed);
    }
    let iss = text(claims, "iss").unwrap_or_default();
    if iss != entra.issuer_for(&tid) {
        return Err(FederationError::IssuerMismatch(format!(
            "{iss} is not the issuer of directory {tid}"
        )));
    }
    let m = &idp.settings.mapping;
    let overage = claims
        .get("_claim_names")
        .and_then(|n| n.get(&m.groups))
        .is_some();
    let groups = if overage {
        if entra.resolve_group_overage {
            match member_objects(ctx, entra, &oid, access_token).await {
                Ok(groups) => Some(groups),
                Err(e) => {
                    tracing::warn!(error = %e, idp = %idp.slug, "could not resolve an Entra groups overage");
                    None
                }
            }
        } else {
            None
        }
    } else {
        Some(list(claims, &m.groups).unwrap_or_default())
    };
    if groups.is_none() && entra.require_groups {
        return Err(FederationError::GroupsUnavailable);
    }
    Ok(Person {
        subject: format!("{tid}:{oid}"),
        email: text(claims, &m.email),
        email_verified: flag(claims, "email_verified") || flag(claims, "xms_edov"),
        username: text(claims, &m.username),
        name: text(claims, &m.name),
        groups,
        mfa: upstream_mfa(idp, claims),
        sid: text(claims, "sid"),
        until: None,
    })
}

/// Microsoft Graph `POST /v1.0/users/{oid}/getMemberObjects` with the user's access token.
async fn member_objects(
    ctx: &Ctx,
    entra: &EntraSettings,
    oid: &str,
    access_token: &str,
) -> Result<Vec<String>, FederationError> {
    if !oid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(FederationError::NoSubject);
    }
    let url = format!(
        "{}/v1.0/users/{oid}/getMemberObjects",
        entra.graph.trim_end_matches('/')
    );
    let request = ctx
        .outbound
        .client()
        .post(&url)
        .bearer_auth(access_token)
        .json(&serde_json::json!({ "securityEnabledOnly": false }))
        .build()
        .map_err(|_| FederationError::BadRequest("graph URL"))?;
    let fetched = ctx.outbound.send(request).await?;
    if fetched.status != 200 {
        return Err(FederationError::GroupsUnavailable);
    }
    let body: Value =
        serde_json::from_slice(&fetched.body).map_err(|_| FederationError::GroupsUnavailable)?;
    let map = body.as_object().ok_or(FederationError::GroupsUnavailable)?;
    list(map, "value").ok_or(FederationError::GroupsUnavailable)
}
