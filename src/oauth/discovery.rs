//! Discovery metadata (OIDC Discovery 1.0 and RFC 8414): everything Watchword supports, for each
//! tenant's issuer. Serialized once per tenant and cached.

use std::sync::Arc;

use serde_json::json;

use crate::context::Ctx;
use crate::domain::tenant::Tenant;

pub fn metadata(ctx: &Ctx, tenant: &Tenant) -> Arc<str> {
    let key = (tenant.id, String::new());
    if let Some(cached) = ctx.cache.discovery.get(&key) {
        return cached;
    }
    let issuer = super::issuer(ctx, tenant);
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "end_session_endpoint": format!("{issuer}/end-session"),
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ["pwd", "mfa", "phr"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "name", "preferred_username", "updated_at", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "access_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
    });
    let text: Arc<str> = doc.to_string().into();
    ctx.cache.discovery.insert(key, text.clone());
    text
}
