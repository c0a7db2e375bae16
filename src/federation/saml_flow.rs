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
use crate::domain::idp::{IdentityProvider, SamlSettings, cert_der};
use crate::domain::tenant::Tenant;
use crate::storage::idps::StoredIdp;

/// Clock skew allowed on the IdP's timestamps.
const SKEW: Duration = Duration::from_secs(120);
/// How long a verified response waits for its browser's same-site redirect.
const LANDING_TTL: Duration = Duration::from_secs(120);

impl From<SamlError> for FederationError {
    fn from(e: SamlError) -> Self {
        FederationError::Saml(e.to_string(), e.code())
    }
}

pub(super) fn settings(idp: &IdentityProvider) -> Result<&SamlSettings, FederationError> {
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

/// Our private key at this provider (PKCS#8 DER), kept sealed as the provider's secret.
pub fn sp_key(ctx: &Ctx, stored: &StoredIdp) -> Option<Vec<u8>> {
    let secret = crate::admin::idps::open_secret(ctx, stored)?;
    STANDARD.decode(secret.expose()).ok()
}

pub(super) fn signer(key: Option<&[u8]>) -> Result<Option<saml::SpSigningKey>, FederationError> {
    Ok(key.map(saml::SpSigningKey::from_pkcs8_der).transpose()?)
}

/// The provider's trust: its entityID and certificates (none: every response is refused).
pub fn trust(s: &SamlSettings) -> IdpTrust {
    IdpTrust {
        entity_id: s.entity_id.clone(),
        signing_certs: s.signing_certs.iter().filter_map(|c| cert_der(c)).collect(),
        allow_sha1: s.allow_sha1,
    }
}

/// Leaves for the IdP with an AuthnRequest; the flow (with the request's ID) is parked under
/// the token sent as RelayState.
pub async fn begin(
    ctx: &Ctx,
    tenant: &Tenant,
    stored: &StoredIdp,
    mut flow: Flow,
) -> Result<Begun, FederationError> {
    let idp = &stored.idp;
    let s = settings(idp)?;
    let key = if s.sign_requests {
        sp_key(ctx, stored)
    } else {
        None
    };
    let signing = signer(key.as_deref())?;
    let request_id = saml::new_request_id();
    let token = crate::crypto::random::token();
    let url = saml::authn_request_redirect(
        &s.sso_url,
        &sp_endpoint(ctx, tenant, idp),
        &request_id,
        ctx.clock.now(),
        &token,
        signing.as_ref(),
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
    stored: &StoredIdp,
    saml_response: &str,
    relay_state: &str,
) -> Result<String, FederationError> {
    let idp = &stored.idp;
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
    let sp = SpEndpoint {
        decryption_key: sp_key(ctx, stored),
        ..sp_endpoint(ctx, tenant, idp)
    };
    let verified = saml::verify_response(
        saml_response,
        &trust(s),
        &sp,
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

/// Our metadata for this provider: our certificates (current and previous, for a rollover)
/// for signing, the current one for encryption, signed with our key when there is one.
pub fn metadata(ctx: &Ctx, tenant: &Tenant, stored: &StoredIdp) -> Result<String, FederationError> {
    let idp = &stored.idp;
    let s = settings(idp)?;
    let slo = slo_url(ctx, tenant, idp);
    let certs: Vec<Vec<u8>> = s.sp_certs.iter().filter_map(|c| cert_der(c)).collect();
    let key = sp_key(ctx, stored);
    let signing = signer(key.as_deref())?;
    Ok(saml::sp_metadata(
        &sp_endpoint(ctx, tenant, idp),
        Some(&slo),
        &certs,
        certs.first().map(Vec::as_slice).filter(|_| key.is_some()),
        signing.as_ref(),
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
