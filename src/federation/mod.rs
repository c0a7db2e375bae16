//! Federation: signing in through a tenant's upstream identity providers (OpenID Connect,
//! Microsoft Entra ID, SAML 2.0). This module runs a federated sign-in from end to end: which
//! providers a sign-in page offers and which one an address's domain goes to (home-realm
//! discovery), leaving for the provider (`flow`: state bound to the browser), coming back
//! (`oidc` and `entra` verify ID tokens; `saml` verifies assertions and `saml_flow` runs its
//! bindings), who the person is here (`identity`: linked, linked
//! after proof, or created), and the sign-in itself through the engine (`auth::federated`), so
//! the session limit, MFA, risk scoring and audit apply as to any sign-in. Upstream logout
//! (`logout`) ends the sessions it names.

pub mod documents;
pub mod entra;
pub mod error;
mod events;
pub mod flow;
pub mod identity;
pub mod link;
pub mod logout;
pub mod mapping;
pub mod oidc;
pub mod saml;
pub mod saml_flow;
pub mod saml_logout;

pub use error::FederationError;
use events::{counted, failed};
use flow::{Flow, Intent};
use identity::{Person, Resolved};
pub use link::{Unlinked, complete_link, linked, unlink};

use crate::auth::federated::{FederatedProof, FederatedResult};
use crate::auth::session_start::SessionRequest;
use crate::context::Ctx;
use crate::domain::audit::Origin;
use crate::domain::idp::{IdentityProvider, IdpKind};
use crate::domain::session::Federated;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

/// The tenant's enabled providers (for the sign-in page's buttons).
pub async fn offered(ctx: &Ctx, tenant: &Tenant) -> Result<Vec<IdentityProvider>, FederationError> {
    let t = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::idps::list(c, t))
        .await?
        .into_iter()
        .map(|s| s.idp)
        .filter(|i| i.enabled)
        .collect())
}

/// Home-realm discovery: the enabled provider that owns the domain of `identifier` (an e-mail
/// address), if any.
pub fn home_realm<'a>(
    providers: &'a [IdentityProvider],
    identifier: &str,
) -> Option<&'a IdentityProvider> {
    let domain = identifier.trim().rsplit_once('@')?.1.to_ascii_lowercase();
    providers
        .iter()
        .find(|p| p.enabled && p.owns_domain(&domain))
}

/// The tenant's default provider (its sign-in page goes straight there), if enabled.
pub fn default_of(providers: &[IdentityProvider]) -> Option<&IdentityProvider> {
    providers.iter().find(|p| p.enabled && p.settings.default)
}

/// An enabled provider by slug (every sign-in).
async fn provider(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
) -> Result<storage::idps::StoredIdp, FederationError> {
    let stored = any_provider(ctx, tenant, slug).await?;
    if !stored.idp.enabled {
        return Err(FederationError::Disabled);
    }
    Ok(stored)
}

/// The address the provider sends the browser back to.
pub fn callback_url(ctx: &Ctx, tenant: &Tenant, idp: &IdentityProvider) -> String {
    let end = match idp.kind {
        IdpKind::Saml => "saml/acs",
        _ => "callback",
    };
    format!(
        "{}/t/{}/idp/{}/{end}",
        ctx.config.public_origin(),
        tenant.slug,
        idp.slug
    )
}

/// Leaving for the provider: where to send the browser, and the flow's token for its cookie.
pub struct Begun {
    pub redirect: String,
    pub token: String,
}

pub async fn begin(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    intent: Intent,
    return_to: &str,
    login_hint: Option<&str>,
) -> Result<Begun, FederationError> {
    let stored = provider(ctx, tenant, slug).await?;
    let idp = &stored.idp;
    match idp.kind {
        IdpKind::Oidc | IdpKind::Entra => {
            let secret = crate::admin::idps::open_secret(ctx, &stored);
            let up = oidc::Upstream::of(idp, secret, callback_url(ctx, tenant, idp));
            // The token doubles as `state`; parked first so the nonce and verifier go with it.
            let mut flow = Flow {
                tenant_id: tenant.id,
                idp: idp.id,
                intent,
                return_to: return_to.to_owned(),
                nonce: None,
                pkce_verifier: None,
                request_id: None,
            };
            let state = crate::crypto::random::token();
            let (url, nonce, verifier) =
                oidc::authorization_url(ctx, &up, &state, login_hint).await?;
            flow.nonce = Some(nonce);
            flow.pkce_verifier = Some(verifier);
            flow::park_as(ctx, &state, &flow).await?;
            Ok(Begun {
                redirect: url,
                token: state,
            })
        }
        IdpKind::Saml => {
            let flow = Flow {
                tenant_id: tenant.id,
                idp: idp.id,
                intent,
                return_to: return_to.to_owned(),
                nonce: None,
                pkce_verifier: None,
                request_id: None,
            };
            saml_flow::begin(ctx, tenant, &stored, flow).await
        }
    }
}

/// The request a federated sign-in comes back on.
pub struct Arrival<'a> {
    pub origin: Origin,
    /// The flow cookie this browser holds.
    pub flow_cookie: Option<&'a str>,
    /// The browser's session cookie (continued for the same user, replaced for another).
    pub session_cookie: Option<String>,
    /// The known-device cookie (risk scoring).
    pub device: Option<&'a str>,
}

/// Where a federated sign-in landed.
pub enum Landing {
    /// Signed in (or on to our own second factor, or refused by the engine).
    SignIn {
        user: Box<User>,
        result: FederatedResult,
        return_to: String,
    },
    /// An identity linked from the account page.
    Linked { return_to: String },
    /// An existing account matches: the person signs in to it, then the identity is linked.
    /// `token` goes into the link cookie.
    NeedsProof {
        token: String,
        username: String,
        return_to: String,
    },
}

/// The OIDC callback's parameters.
pub struct OidcReturn<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    pub iss: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Comes back from an OIDC or Entra provider.
pub async fn oidc_return(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    ret: OidcReturn<'_>,
    arrival: Arrival<'_>,
) -> Result<Landing, FederationError> {
    let result = oidc_return_inner(ctx, tenant, slug, &ret, &arrival).await;
    counted(ctx, tenant, slug, &arrival.origin, result).await
}

async fn oidc_return_inner(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    ret: &OidcReturn<'_>,
    arrival: &Arrival<'_>,
) -> Result<Landing, FederationError> {
    let flow = flow::take(ctx, ret.state, arrival.flow_cookie)
        .await?
        .ok_or(FederationError::StateMismatch)?;
    let stored = provider(ctx, tenant, slug).await?;
    let idp = &stored.idp;
    if flow.idp != idp.id || flow.tenant_id != tenant.id {
        return Err(FederationError::StateMismatch);
    }
    if let Some(error) = ret.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        return Err(FederationError::Upstream(error));
    }
    let code = ret
        .code
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or(FederationError::BadRequest("no code"))?;
    let (Some(nonce), Some(verifier)) = (flow.nonce.as_deref(), flow.pkce_verifier.as_deref())
    else {
        return Err(FederationError::StateMismatch);
    };
    let secret = crate::admin::idps::open_secret(ctx, &stored);
    let up = oidc::Upstream::of(idp, secret, callback_url(ctx, tenant, idp));
    let (claims, access) = oidc::finish(
        ctx,
        &up,
        oidc::Callback {
            code,
            iss: ret.iss,
            nonce,
            pkce_verifier: verifier,
        },
    )
    .await?;
    let person = match &idp.settings.entra {
        Some(entra) => entra::person(ctx, idp, entra, &claims, &access).await?,
        None => mapping::generic(idp, &claims),
    };
    land(ctx, tenant, idp, &person, &flow, arrival).await
}

/// The SAML ACS: verifies the POSTed response; returns the id of the same-site request the
/// browser continues with (`saml_return`).
pub async fn saml_acs(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    saml_response: &str,
    relay_state: &str,
    origin: &Origin,
) -> Result<String, FederationError> {
    let result = async {
        let stored = provider(ctx, tenant, slug).await?;
        saml_flow::acs(ctx, tenant, &stored, saml_response, relay_state).await
    }
    .await;
    if let Err(e) = &result {
        failed(ctx, tenant, slug, origin, e).await;
    }
    result
}

/// The browser's request after the SAML ACS.
pub async fn saml_return(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
    id: &str,
    arrival: Arrival<'_>,
) -> Result<Landing, FederationError> {
    let result = async {
        let stored = provider(ctx, tenant, slug).await?;
        saml_flow::resume(ctx, tenant, &stored.idp, id, &arrival).await
    }
    .await;
    counted(ctx, tenant, slug, &arrival.origin, result).await
}

/// A provider by slug, enabled or not (metadata, logout), with its sealed secret.
pub async fn any_provider(
    ctx: &Ctx,
    tenant: &Tenant,
    slug: &str,
) -> Result<storage::idps::StoredIdp, FederationError> {
    let (t, s) = (tenant.id, slug.to_owned());
    ctx.db
        .run(move |c| storage::idps::find_by_slug(c, t, &s))
        .await?
        .ok_or(FederationError::UnknownProvider)
}

/// Most groups a session keeps, and the longest group name.
const MAX_GROUPS: usize = 200;
const MAX_GROUP_CHARS: usize = 256;

/// The groups a session keeps for the `groups` claim: none unless the provider emits them; a
/// set too large to keep whole refuses the sign-in (a partial list could wrongly pass a check
/// that looks for a group's absence).
fn released_groups(
    idp: &IdentityProvider,
    person: &Person,
) -> Result<Vec<String>, FederationError> {
    if !idp.settings.emit_groups {
        return Ok(Vec::new());
    }
    let groups = person.groups.clone().unwrap_or_default();
    if groups.len() > MAX_GROUPS || groups.iter().any(|g| g.chars().count() > MAX_GROUP_CHARS) {
        return Err(FederationError::GroupsUnavailable);
    }
    Ok(groups)
}

/// After the upstream proved who the person is (every protocol): who they are here, then the
/// sign-in through the engine, or the link.
pub async fn land(
    ctx: &Ctx,
    tenant: &Tenant,
    idp: &IdentityProvider,
    person: &Person,
    flow: &Flow,
    arrival: &Arrival<'_>,
) -> Result<Landing, FederationError> {
    if let Intent::Link { user, sid } = &flow.intent {
        // Linking goes to the account whose session started it, and only while it is alive.
        let sessions = crate::auth::sessions::Sessions::new(ctx.store.clone(), ctx.clock.clone());
        let alive = match &arrival.session_cookie {
            Some(token) => matches!(
                sessions.lookup(tenant, token, false).await?,
                crate::auth::sessions::SessionLookup::Active(found)
                    if found.record.sid == *sid && found.record.user_id == *user
            ),
            None => false,
        };
        if !alive {
            return Err(FederationError::StateMismatch);
        }
    }
    let resolved =
        identity::resolve(ctx, tenant, idp, person, &flow.intent, &arrival.origin).await?;
    let user = match resolved {
        Resolved::User(user) => user,
        Resolved::NeedsProof { user, identity } => {
            let token = link::park(ctx, idp, &identity).await?;
            return Ok(Landing::NeedsProof {
                token,
                username: user.username.clone(),
                return_to: flow.return_to.clone(),
            });
        }
    };
    if let Intent::Link { .. } = flow.intent {
        return Ok(Landing::Linked {
            return_to: flow.return_to.clone(),
        });
    }
    let label = idp.label();
    let request = SessionRequest {
        origin: arrival.origin.clone(),
        replaces_session: arrival.session_cookie.clone(),
        end_other_sessions: false,
        risk: None,
        via: Some(Federated {
            idp: idp.slug.clone(),
            sid: person.sid.clone(),
            until: person.until,
            groups: released_groups(idp, person)?,
        }),
    };
    let result = crate::auth::federated::sign_in(
        ctx,
        tenant,
        FederatedProof {
            user: &user,
            mfa: person.mfa,
            provider: &label,
            request,
            device: arrival.device,
            return_to: &flow.return_to,
        },
    )
    .await?;
    Ok(Landing::SignIn {
        user,
        result,
        return_to: flow.return_to.clone(),
    })
}
