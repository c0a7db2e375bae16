//! SAML 2.0 sign-in, the service provider's flow around the pure core (`saml`): the
//! AuthnRequest by HTTP-Redirect (its ID parked with the flow), the ACS that verifies the POSTed
//! response against the provider's configured certificates and our endpoints, the replay cache
//! (assertion and response IDs, across replicas through the session store, until their
//! `NotOnOrAfter`), then a same-site redirect so the browser's flow cookie (SameSite=Lax, not
//! sent on the IdP's cross-site POST) proves it is the browser that left; our metadata; and
//! single logout from the provider.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::flow::{self, Flow, Intent};
use super::identity::Person;
use super::mapping::text;
use super::saml::{self, IdpTrust, SamlError, SpEndpoint};
use super::{Arrival, Begun, FederationError, Landing};
use crate::context::Ctx;
use crate::crypto::sha256_hex;
use crate::domain::idp::{IdentityProvider, SamlSettings};
use crate::domain::tenant::Tenant;

/// Clock skew allowed on the IdP's timestamps.
const SKEW: Duration = Duration::from_secs(120);
/// How long a verified response waits for its browser's same-site redirect.
const LANDING_TTL: Duration = Duration::from_secs(120);

impl From<SamlError> for FederationError {
    fn from(e: SamlError) -> Self {
        FederationError::Saml(e.to_string(), e.code())
    }
}

fn settings(idp: &IdentityProvider) -> Result<&SamlSettings, FederationError> {
    idp.settings
        .saml
        .as_ref()
        .ok_or(FederationError::BadRequest("not a SAML provider"))
}

/// Our entityID at this provider: the address of our metadata.
pub fn metadata_url(ctx: &Ctx, tenant: &Tenant, idp: &IdentityProvider) -> String {
    format!(
        "{}/t/{}/saml/{}/metadata",
        ctx.config.public_origin(),
        tenant.slug,
        idp.slug
    )
}

pub fn sp_endpoint(ctx: &Ctx, tenant: &Tenant, idp: &IdentityProvider) -> SpEndpoint {
    SpEndpoint {
        entity_id: metadata_url(ctx, tenant, idp),
        acs_url: super::callback_url(ctx, tenant, idp),
        decryption_key: None,
    }
}

/// The provider's trust: its entityID and certificates (none: every response is refused).
pub fn trust(s: &SamlSettings) -> IdpTrust {
    IdpTrust {
        entity_id: s.entity_id.clone(),
        signing_certs: s
            .signing_certs
            .iter()
            .filter_map(|c| {
                let compact: String = c.chars().filter(|ch| !ch.is_whitespace()).collect();
                STANDARD.decode(compact).ok()
            })
            .collect(),
        allow_sha1: s.allow_sha1,
    }
}

/// Leaves for the IdP with an AuthnRequest; the flow (with the request's ID) is parked under
/// the token sent as RelayState.
pub async fn begin(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    mut flow: Flow,
) -> Result<Begun, FederationError> {
    let s = settings(idp)?;
    let request_id = saml::new_request_id();
    let token = crate::crypto::random::token();
    let url = saml::authn_request_redirect(
        &s.sso_url,
        &sp_endpoint(ctx, tenant, idp),
        &request_id,
        ctx.clock.now(),
        &token,
        None,
    )?;
    flow.request_id = Some(request_id);
    flow::park_as(ctx, &token, &flow).await?;
    Ok(Begun {
        redirect: url,
        token,
    })
}

/// A verified response waiting for its browser.
#[derive(Serialize, Deserialize)]
struct Parked {
    tenant: String,
    idp: String,
    person: Person,
    relay_state: String,
    in_response_to: Option<String>,
}

fn landing_key(id: &str) -> String {
    format!("samlland:{}", sha256_hex(id.as_bytes()))
}

/// The ACS: verifies the response; returns the id the browser continues with.
pub async fn acs(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    saml_response: &str,
    relay_state: &str,
) -> Result<String, FederationError> {
    let s = settings(idp)?;
    // The flow this answers (looked at, not used up: the browser's own request uses it).
    let flow = if relay_state.is_empty() || relay_state.len() > 128 {
        None
    } else {
        flow::peek(ctx, relay_state).await?
    };
    let expected = match &flow {
        Some(f) if f.idp == idp.id => f.request_id.clone(),
        Some(_) => return Err(FederationError::StateMismatch),
        None if s.allow_unsolicited => None,
        None => {
            return Err(FederationError::Saml(
                "an unsolicited response, and this provider may not send them".into(),
                "unsolicited",
            ));
        }
    };
    let now = ctx.clock.now();
    let verified = saml::verify_response(
        saml_response,
        &trust(s),
        &sp_endpoint(ctx, tenant, idp),
        &saml::Expectation {
            in_response_to: expected.as_deref(),
            now,
            skew: SKEW,
        },
    )?;
    // Replay: each assertion and response is accepted once, on any replica, until it expires.
    let ttl = (verified.not_on_or_after - now).num_seconds().max(0) as u64 + SKEW.as_secs();
    for id in [&verified.assertion_id, &verified.response_id] {
        let key = format!("samlrp:{}:{}", idp.id, sha256_hex(id.as_bytes()));
        if !ctx
            .store
            .set_if_absent(&key, b"1", Duration::from_secs(ttl))
            .await?
        {
            return Err(FederationError::Saml(
                "this response was already used".into(),
                "replayed",
            ));
        }
    }
    if verified
        .name_id_format
        .as_deref()
        .is_some_and(|f| f.ends_with(":transient"))
    {
        return Err(FederationError::Saml(
            "a transient NameID cannot identify a person across sign-ins".into(),
            "transient_name_id",
        ));
    }
    let person = person(idp, &verified);
    let id = crate::crypto::random::token();
    let parked = Parked {
        tenant: tenant.id.to_string(),
        idp: idp.id.to_string(),
        person,
        relay_state: if expected.is_some() {
            relay_state.to_owned()
        } else {
            String::new()
        },
        in_response_to: verified.in_response_to,
    };
    let bytes = serde_json::to_vec(&parked).expect("landings serialize");
    ctx.store
        .set(&landing_key(&id), &bytes, LANDING_TTL)
        .await?;
    Ok(id)
}

/// The assertion's person through the provider's attribute mapping.
fn person(idp: &IdentityProvider, v: &saml::VerifiedAssertion) -> Person {
    let attrs: serde_json::Map<String, serde_json::Value> = v
        .attributes
        .iter()
        .map(|(name, values)| {
            let value = match values.as_slice() {
                [one] => serde_json::Value::String(one.clone()),
                many => serde_json::json!(many),
            };
            (name.clone(), value)
        })
        .collect();
    let m = &idp.settings.mapping;
    let mfa = &idp.settings.mfa;
    let email = text(&attrs, &m.email).or_else(|| {
        v.name_id_format
            .as_deref()
            .filter(|f| f.ends_with(":emailAddress"))
            .map(|_| v.name_id.clone())
    });
    Person {
        subject: v.name_id.clone(),
        // SAML has no "verified" flag: the IdP asserting the address is all there is, and
        // `trust_email` (with the provider's domains) decides whether it is believed.
        email_verified: email.is_some(),
        email,
        username: text(&attrs, &m.username),
        name: text(&attrs, &m.name),
        groups: super::mapping::list(&attrs, &m.groups),
        mfa: mfa.counts
            && v.authn_context_class
                .as_ref()
                .is_some_and(|c| mfa.authn_contexts.contains(c)),
        sid: v.session_index.clone(),
        until: v.session_not_on_or_after.map(|t| t.timestamp()),
    }
}

/// The browser's same-site request after the ACS: the flow cookie proves it is the browser
/// that left (solicited responses); then the sign-in.
pub async fn resume(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    id: &str,
    arrival: &Arrival<'_>,
) -> Result<Landing, FederationError> {
    let parked = match ctx.store.take(&landing_key(id)).await? {
        Some(bytes) => {
            serde_json::from_slice::<Parked>(&bytes).map_err(|_| FederationError::StateMismatch)?
        }
        None => return Err(FederationError::StateMismatch),
    };
    if parked.tenant != tenant.id.to_string() || parked.idp != idp.id.to_string() {
        return Err(FederationError::StateMismatch);
    }
    let flow = if parked.relay_state.is_empty() {
        // IdP-initiated (allowed for this provider): bound to no browser; a plain sign-in.
        Flow {
            tenant_id: tenant.id,
            idp: idp.id,
            intent: Intent::SignIn,
            return_to: String::new(),
            nonce: None,
            pkce_verifier: None,
            request_id: None,
        }
    } else {
        let flow = flow::take(ctx, &parked.relay_state, arrival.flow_cookie)
            .await?
            .ok_or(FederationError::StateMismatch)?;
        if flow.idp != idp.id || flow.request_id != parked.in_response_to {
            return Err(FederationError::StateMismatch);
        }
        flow
    };
    super::land(ctx, tenant, idp, &parked.person, &flow, arrival).await
}

/// Our metadata for this provider (unsigned: no SP key is configured yet).
pub fn metadata(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
) -> Result<String, FederationError> {
    settings(idp)?;
    let slo = slo_url(ctx, tenant, idp);
    Ok(saml::sp_metadata(
        &sp_endpoint(ctx, tenant, idp),
        Some(&slo),
        &[],
        None,
        None,
    )?)
}

pub fn slo_url(ctx: &Ctx, tenant: &Tenant, idp: &IdentityProvider) -> String {
    format!(
        "{}/t/{}/idp/{}/saml/slo",
        ctx.config.public_origin(),
        tenant.slug,
        idp.slug
    )
}

/// Single logout from the IdP (HTTP-Redirect, signature required, Destination our SLO URL):
/// ends the sessions of the NameID signed in through this provider (only the named
/// `SessionIndex`es, if any). Returns the LogoutResponse's redirect to the IdP, if it has a
/// logout endpoint, and how many ended.
pub async fn single_logout(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    query: &str,
    origin: crate::domain::audit::Origin,
) -> Result<(Option<String>, usize), FederationError> {
    let s = settings(idp)?;
    let sp = sp_endpoint(ctx, tenant, idp);
    let request = saml::parse_logout_request_redirect(query, &trust(s), &sp, ctx.clock.now())?;
    // A signed message must name where it is going (SAML Bindings 3.4.5.2): a request the IdP
    // signed for another service provider (another tenant here) ends nothing here.
    if request.destination.as_deref() != Some(slo_url(ctx, tenant, idp).as_str()) {
        return Err(SamlError::DestinationMismatch.into());
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
            None,
        )?),
        None => None,
    };
    Ok((back, ended))
}
