//! The relying party of upstream OpenID Connect providers (generic and Entra ID), on the
//! `openidconnect` crate over the guarded client: discovery and JWKS (cached, refetched on an
//! unknown `kid`), the authorization URL (PKCE S256, `state`, `nonce`), the callback (RFC 9207
//! `iss`, the code exchange, the ID token verified by the crate with asymmetric algorithms
//! only), optional userinfo, and the verified claims as one JSON object.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};

use super::FederationError;
use crate::context::Ctx;
use crate::domain::idp::{IdentityProvider, IdpKind};
use crate::domain::secret::Secret;

/// Asymmetric algorithms only: a client secret never verifies an ID token.
const ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// What the relying party needs of a provider.
pub struct Upstream<'a> {
    pub idp: &'a IdentityProvider,
    pub client_id: String,
    pub secret: Option<Secret<String>>,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
}

impl<'a> Upstream<'a> {
    pub fn of(
        idp: &'a IdentityProvider,
        secret: Option<Secret<String>>,
        redirect_uri: String,
    ) -> Self {
        let (client_id, scopes) = match (&idp.settings.oidc, &idp.settings.entra) {
            (Some(o), _) => (o.client_id.clone(), o.scopes.clone()),
            // With a groups overage to resolve, the access token is for Microsoft Graph with
            // the delegated permission to read the user's group memberships.
            (_, Some(e)) => {
                let mut scopes = vec!["openid".into(), "email".into(), "profile".into()];
                if e.resolve_group_overage {
                    scopes.push(format!(
                        "{}/GroupMember.Read.All",
                        e.graph.trim_end_matches('/')
                    ));
                }
                (e.client_id.clone(), scopes)
            }
            _ => (String::new(), Vec::new()),
        };
        Self {
            idp,
            client_id,
            secret,
            redirect_uri,
            scopes,
        }
    }

    fn discovery_url(&self) -> String {
        match (&self.idp.settings.oidc, &self.idp.settings.entra) {
            (Some(o), _) => format!(
                "{}/.well-known/openid-configuration",
                o.issuer.trim_end_matches('/')
            ),
            // `appid` selects the application's own signing keys when it has them.
            (_, Some(e)) => format!(
                "{}/{}/v2.0/.well-known/openid-configuration?appid={}",
                e.authority.trim_end_matches('/'),
                e.tenant,
                e.client_id
            ),
            _ => String::new(),
        }
    }
}

/// The provider's metadata with its keys, and what the crate's type does not keep.
pub struct Discovered {
    pub metadata: CoreProviderMetadata,
    pub raw: Arc<serde_json::Value>,
    /// The JWKS as fetched (for verifiers other than the crate's: logout tokens).
    pub keys: Arc<serde_json::Value>,
    jwks_uri: String,
}

impl Discovered {
    /// The provider sends `iss` in authorization responses (RFC 9207).
    pub fn iss_parameter(&self) -> bool {
        self.raw["authorization_response_iss_parameter_supported"] == serde_json::json!(true)
    }

    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }
}

fn bad_document(what: &str, e: impl std::fmt::Display) -> FederationError {
    FederationError::Unreachable(crate::outbound::OutboundError::Failed {
        url: what.to_owned(),
        reason: e.to_string(),
    })
}

/// Discovery and keys (cached). A generic provider's document must name the configured issuer.
pub async fn discover(
    ctx: &Ctx,
    up: &Upstream<'_>,
    fresh_keys: bool,
) -> Result<Discovered, FederationError> {
    let url = up.discovery_url();
    let raw = super::documents::get(ctx, &url).await?;
    let metadata: CoreProviderMetadata = serde_json::from_value((*raw).clone())
        .map_err(|e| bad_document("discovery document", e))?;
    if let Some(o) = &up.idp.settings.oidc
        && metadata.issuer().as_str().trim_end_matches('/') != o.issuer.trim_end_matches('/')
    {
        return Err(FederationError::IssuerMismatch(format!(
            "discovery names {}",
            metadata.issuer().as_str()
        )));
    }
    let jwks_uri = metadata.jwks_uri().url().to_string();
    let keys = if fresh_keys {
        super::documents::refetch(ctx, &jwks_uri).await?.0
    } else {
        super::documents::get(ctx, &jwks_uri).await?
    };
    let jwks: CoreJsonWebKeySet =
        serde_json::from_value((*keys).clone()).map_err(|e| bad_document("JWKS", e))?;
    Ok(Discovered {
        metadata: metadata.set_jwks(jwks),
        raw,
        keys,
        jwks_uri,
    })
}

fn redirect(up: &Upstream<'_>) -> Result<RedirectUrl, FederationError> {
    RedirectUrl::new(up.redirect_uri.clone())
        .map_err(|_| FederationError::BadRequest("redirect URI"))
}

/// Where to send the browser: the authorization URL with `state`, a new nonce and a PKCE
/// challenge. Returns the URL, the nonce and the PKCE verifier (to park with the flow).
pub async fn authorization_url(
    ctx: &Ctx,
    up: &Upstream<'_>,
    state: &str,
    login_hint: Option<&str>,
) -> Result<(String, String, String), FederationError> {
    let found = discover(ctx, up, false).await?;
    let client = CoreClient::from_provider_metadata(
        found.metadata,
        ClientId::new(up.client_id.clone()),
        None,
    )
    .set_redirect_uri(redirect(up)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = crate::crypto::random::token();
    let (state, n) = (state.to_owned(), nonce.clone());
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(n),
        )
        .set_pkce_challenge(challenge);
    for s in up.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(s.clone()));
    }
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint.to_owned());
    }
    let (url, _, _) = request.url();
    Ok((url.to_string(), nonce, verifier.secret().clone()))
}

/// The callback's parameters.
pub struct Callback<'a> {
    pub code: &'a str,
    /// RFC 9207 `iss`, if sent.
    pub iss: Option<&'a str>,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
}

/// Exchanges the code and verifies the ID token; returns its claims (plus userinfo's, when
/// configured) as one JSON object, and the access token (for Microsoft Graph).
pub async fn finish(
    ctx: &Ctx,
    up: &Upstream<'_>,
    cb: Callback<'_>,
) -> Result<(serde_json::Map<String, serde_json::Value>, String), FederationError> {
    let found = discover(ctx, up, false).await?;
    let entra = up.idp.kind == IdpKind::Entra;
    // RFC 9207: a provider that announces `iss` must send it, and it must be its own.
    match cb.iss {
        Some(iss)
            if !entra && iss.trim_end_matches('/') != found.issuer().trim_end_matches('/') =>
        {
            return Err(FederationError::IssuerMismatch(format!(
                "authorization response from {iss}"
            )));
        }
        None if found.iss_parameter() => {
            return Err(FederationError::IssuerMismatch(
                "the authorization response has no iss".into(),
            ));
        }
        _ => {}
    }
    let auth_methods = found.raw["token_endpoint_auth_methods_supported"].clone();
    let client = CoreClient::from_provider_metadata(
        found.metadata.clone(),
        ClientId::new(up.client_id.clone()),
        up.secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().clone())),
    )
    .set_redirect_uri(redirect(up)?);
    let post_only = auth_methods.as_array().is_some_and(|m| {
        !m.iter().any(|v| v == "client_secret_basic") && m.iter().any(|v| v == "client_secret_post")
    });
    let client = if post_only {
        client.set_auth_type(openidconnect::AuthType::RequestBody)
    } else {
        client
    };
    let outbound = ctx.outbound.clone();
    let http = move |req| {
        let o = outbound.clone();
        async move { o.openidconnect(req).await }
    };
    let token = client
        .exchange_code(AuthorizationCode::new(cb.code.to_owned()))
        .map_err(|e| FederationError::TokenRejected(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(cb.pkce_verifier.to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| FederationError::TokenRejected(format!("code exchange: {e}")))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| FederationError::TokenRejected("no id_token".into()))?;
    let nonce = Nonce::new(cb.nonce.to_owned());
    let now = ctx.clock.now();
    let issuer = found.metadata.issuer().clone();
    let verify = |jwks: CoreJsonWebKeySet| {
        // A public-client verifier: asymmetric keys only, never the client secret (HMAC).
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(up.client_id.clone()),
            issuer.clone(),
            jwks,
        )
        .set_allowed_algs(ALGS)
        .set_time_fn(move || now)
        .require_issuer_match(!entra);
        id_token.claims(&verifier, &nonce).map(|_| ())
    };
    match verify(found.metadata.jwks().clone()) {
        Ok(()) => {}
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            // A key rollover upstream: the keys again (at most once a minute), then once more.
            let (keys, fetched) = super::documents::refetch(ctx, &found.jwks_uri).await?;
            if !fetched {
                return Err(FederationError::TokenRejected("unknown signing key".into()));
            }
            let jwks: CoreJsonWebKeySet =
                serde_json::from_value((*keys).clone()).map_err(|e| bad_document("JWKS", e))?;
            verify(jwks).map_err(|e| FederationError::TokenRejected(e.to_string()))?;
        }
        Err(ClaimsVerificationError::InvalidIssuer(e)) => {
            return Err(FederationError::IssuerMismatch(e));
        }
        Err(e) => return Err(FederationError::TokenRejected(e.to_string())),
    }
    // The verified token's payload, for the claims the crate's types do not keep (`tid`,
    // `oid`, `xms_edov`, groups, `sid`, the mapped ones).
    let raw = id_token.to_string();
    let payload = raw
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| FederationError::TokenRejected("unreadable ID token payload".into()))?;
    let access = token.access_token().secret().clone();
    let mut claims = payload;
    let wants_userinfo = up.idp.settings.oidc.as_ref().is_some_and(|o| o.userinfo);
    if wants_userinfo && let Some(endpoint) = found.metadata.userinfo_endpoint() {
        let info = userinfo(ctx, endpoint.url().as_str(), &access).await?;
        if info.get("sub") != claims.get("sub") {
            return Err(FederationError::TokenRejected(
                "userinfo names another subject".into(),
            ));
        }
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
    }
    Ok((claims, access))
}

async fn userinfo(
    ctx: &Ctx,
    endpoint: &str,
    access_token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, FederationError> {
    let request = ctx
        .outbound
        .client()
        .get(endpoint)
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .build()
        .map_err(|_| FederationError::BadRequest("userinfo endpoint"))?;
    let fetched = ctx.outbound.send(request).await?;
    if fetched.status != 200 {
        return Err(FederationError::TokenRejected(format!(
            "userinfo answered {}",
            fetched.status
        )));
    }
    serde_json::from_slice::<serde_json::Value>(&fetched.body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| FederationError::TokenRejected("userinfo is not a JSON object".into()))
}
