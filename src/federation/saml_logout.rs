//! SAML single logout: a signed LogoutRequest from the IdP (HTTP-Redirect, addressed to us,
//! accepted once) ends the sessions it names and is answered with a LogoutResponse; a session
//! signed in through a SAML provider and signed out here sends the browser on to the IdP with
//! our LogoutRequest.

use std::time::Duration;

use super::FederationError;
use super::saml::{self, SamlError};
use super::saml_flow::{settings, signer, slo_url, sp_endpoint, sp_key, trust};
use crate::context::Ctx;
use crate::crypto::sha256_hex;
use crate::domain::tenant::Tenant;
use crate::storage::idps::StoredIdp;

/// Single logout from the IdP (HTTP-Redirect, signature required, Destination our SLO URL):
/// ends the sessions of the NameID signed in through this provider (only the named
/// `SessionIndex`es, if any). Returns the LogoutResponse's redirect to the IdP, if it has a
/// logout endpoint, and how many ended.
pub async fn single_logout(
    ctx: &Ctx,
    tenant: &Tenant,
    stored: &StoredIdp,
    query: &str,
    origin: crate::domain::audit::Origin,
) -> Result<(Option<String>, usize), FederationError> {
    let result = single_logout_inner(ctx, tenant, stored, query, origin.clone()).await;
    if let Err(e) = &result {
        let event = crate::domain::audit::AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            crate::domain::audit::AuditAction::UpstreamLogout,
            e.code(),
            crate::domain::audit::Actor::Anonymous,
        )
        .origin(origin)
        .details(serde_json::json!({ "idp": stored.idp.slug, "reason": e.to_string() }));
        crate::storage::audit::record(&ctx.db, event).await;
    }
    result
}

async fn single_logout_inner(
    ctx: &Ctx,
    tenant: &Tenant,
    stored: &StoredIdp,
    query: &str,
    origin: crate::domain::audit::Origin,
) -> Result<(Option<String>, usize), FederationError> {
    let idp = &stored.idp;
    let s = settings(idp)?;
    let key = sp_key(ctx, stored);
    let signing = signer(key.as_deref())?;
    let sp = sp_endpoint(ctx, tenant, idp);
    let request = saml::parse_logout_request_redirect(query, &trust(s), &sp, ctx.clock.now())?;
    // A signed message must name where it is going (SAML Bindings 3.4.5.2): a request the IdP
    // signed for another service provider (another tenant here) ends nothing here.
    if request.destination.as_deref() != Some(slo_url(ctx, tenant, idp).as_str()) {
        return Err(SamlError::DestinationMismatch.into());
    }
    // Each LogoutRequest is acted on once, on any replica (the core accepts one issued in the
    // last ten minutes).
    let key = format!("samllo:{}:{}", idp.id, sha256_hex(request.id.as_bytes()));
    if !ctx
        .store
        .set_if_absent(&key, b"1", Duration::from_secs(15 * 60))
        .await?
    {
        return Err(FederationError::Saml(
            "this logout request was already used".into(),
            "replayed",
        ));
    }
    let ended = super::logout::end_upstream_sessions(
        ctx,
        tenant,
        idp,
        &request.name_id,
        &request.session_indexes,
        origin.clone(),
    )
    .await?;
    let event = crate::domain::audit::AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        crate::domain::audit::AuditAction::UpstreamLogout,
        "success",
        crate::domain::audit::Actor::System,
    )
    .origin(origin)
    .details(serde_json::json!({ "idp": idp.slug, "sessions_ended": ended, "saml": true }));
    crate::storage::audit::record(&ctx.db, event).await;
    let back = match &s.slo_url {
        Some(url) => Some(saml::logout_response_redirect(
            url,
            &sp,
            &saml::new_request_id(),
            &request.id,
            ctx.clock.now(),
            request.relay_state.as_deref().unwrap_or(""),
            signing.as_ref(),
        )?),
        None => None,
    };
    Ok((back, ended))
}

/// Where to send the browser of a session that just ended here, when it was signed in through
/// a SAML provider with a logout endpoint: a LogoutRequest (NameID and SessionIndex of that
/// sign-in, signed when we have a key) so the IdP ends its session too. `None` otherwise.
pub async fn logout_redirect(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &crate::domain::session::BrowserSession,
) -> Result<Option<String>, FederationError> {
    let Some(via) = &session.via else {
        return Ok(None);
    };
    let stored = match super::any_provider(ctx, tenant, &via.idp).await {
        Ok(stored) => stored,
        Err(FederationError::UnknownProvider) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(slo) = stored
        .idp
        .settings
        .saml
        .as_ref()
        .and_then(|s| s.slo_url.clone())
    else {
        return Ok(None);
    };
    let user = session.user_id;
    let identities = ctx
        .db
        .run(move |c| crate::storage::idps::of_user(c, user))
        .await?;
    let Some((identity, ..)) = identities
        .iter()
        .find(|(row, ..)| row.idp_id == stored.idp.id.to_string())
    else {
        return Ok(None);
    };
    let key = sp_key(ctx, &stored);
    let signing = signer(key.as_deref())?;
    let url = saml::logout_request_redirect(
        &slo,
        &sp_endpoint(ctx, tenant, &stored.idp),
        &saml::new_request_id(),
        ctx.clock.now(),
        &saml::LogoutSubject {
            name_id: &identity.subject,
            name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
            session_index: via.sid.as_deref(),
        },
        "",
        signing.as_ref(),
    )?;
    Ok(Some(url))
}
