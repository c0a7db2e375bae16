//! CORS for the endpoints browser applications call (token, revocation, userinfo): an `Origin`
//! is allowed when it is the origin of a redirect URI registered by one of the tenant's clients
//! (cached for a few seconds). Discovery and the JWKS are public and answer `*`.

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::tenant::Tenant;
use crate::web::state::AppState;

/// Origins of every registered redirect URI of the tenant's clients.
async fn allowed(state: &AppState, tenant: &Tenant) -> Arc<HashSet<String>> {
    let key = (tenant.id, String::new());
    if let Some(set) = state.ctx.cache.origins.get(&key) {
        return set;
    }
    let clients = crate::admin::clients::list(&state.ctx, tenant)
        .await
        .unwrap_or_default();
    let set: HashSet<String> = clients
        .iter()
        .flat_map(|c| c.settings.redirect_uris.iter())
        .filter_map(|u| url::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .collect();
    let set = Arc::new(set);
    state.ctx.cache.origins.insert(key, set.clone());
    set
}

/// The request's `Origin`, if it may read this tenant's responses.
pub async fn origin(state: &AppState, tenant: &Tenant, req: &HttpRequest) -> Option<String> {
    let origin = req.headers().get("origin")?.to_str().ok()?;
    allowed(state, tenant)
        .await
        .contains(origin)
        .then(|| origin.to_owned())
}

/// Adds the CORS response headers for an allowed origin.
pub fn apply(res: &mut HttpResponse, origin: Option<String>) {
    let headers = res.headers_mut();
    headers.insert(
        HeaderName::from_static("vary"),
        HeaderValue::from_static("Origin"),
    );
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        headers.insert(HeaderName::from_static("access-control-allow-origin"), o);
    }
}

/// `OPTIONS` preflight for the token, revocation and userinfo endpoints.
pub async fn preflight(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let Ok(tenant) = super::tenant(&state, &path).await else {
        return HttpResponse::NotFound().finish();
    };
    let mut res = HttpResponse::NoContent()
        .insert_header(("Allow", "GET, POST, OPTIONS"))
        .finish();
    if let Some(o) = origin(&state, &tenant, &req).await {
        apply(&mut res, Some(o));
        let h = res.headers_mut();
        h.insert(
            HeaderName::from_static("access-control-allow-methods"),
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            HeaderName::from_static("access-control-allow-headers"),
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            HeaderName::from_static("access-control-max-age"),
            HeaderValue::from_static("600"),
        );
    }
    res
}
