//! Who calls the admin API, decided before any handler runs (`gate`, the scope's middleware):
//! the tenant of the path, the administrator behind the bearer credential
//! (`admin::authz::authenticate`), and the permission the route's OpenAPI operation declares,
//! checked before the request body is read. Handlers take the result as [`ApiCaller`].

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::future::{Ready, ready};

use super::problem::Problem;
use crate::admin::authz::{Admin, Authenticated};
use crate::domain::tenant::{Tenant, TenantSlug};
use crate::web::caller::Caller;
use crate::web::state::AppState;

/// An authenticated administrator allowed the route, and the tenant of the path.
#[derive(Clone)]
pub struct ApiCaller {
    pub admin: Admin,
    pub tenant: Tenant,
    pub state: web::Data<AppState>,
}

impl ApiCaller {
    pub fn ctx(&self) -> &crate::context::Ctx {
        &self.state.ctx
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty() && credential.len() <= 8192)
        .then(|| credential.to_owned())
}

/// The `{tenant}` segment of an admin API path.
fn tenant_segment(path: &str) -> &str {
    path.strip_prefix("/t/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

async fn admit(req: &HttpRequest) -> Result<ApiCaller, Problem> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Problem::internal("no application state"))?;
    let slug = tenant_segment(req.path());
    if TenantSlug::parse(slug).is_err() {
        return Err(Problem::not_found("tenant"));
    }
    // The route and its permission first: an unknown route is 404 for everyone.
    let needed = super::required_for_path(req.method(), req.path())
        .ok_or_else(|| Problem::not_found("route"))?;
    let credential = bearer(req).ok_or_else(Problem::unauthenticated)?;
    let tenant = crate::admin::tenants::find(&state.ctx, slug)
        .await?
        .ok_or_else(|| Problem::not_found("tenant"))?;
    let origin = Caller::of(req, &state.trusted_proxies).origin();
    let admin =
        match crate::admin::authz::authenticate(&state.ctx, &tenant, &credential, origin).await? {
            Authenticated::Admin(admin) => admin,
            Authenticated::OtherTenant => return Err(Problem::not_found("tenant")),
            Authenticated::Invalid => return Err(Problem::unauthenticated()),
        };
    if let Some(p) = needed {
        admin.require(tenant.id, p)?;
    }
    Ok(ApiCaller {
        admin,
        tenant,
        state,
    })
}

/// The scope's middleware: admits the caller or answers the problem; the handler runs only for
/// an administrator holding the route's permission.
pub async fn gate(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match admit(req.request()).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.call(req).await
        }
        Err(problem) => Ok(req.into_response(problem.error_response())),
    }
}

impl FromRequest for ApiCaller {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<ApiCaller>()
                .cloned()
                .ok_or_else(|| Problem::internal("admin API handler outside its gate")),
        )
    }
}
