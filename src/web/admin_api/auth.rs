//! Who calls the admin API: the tenant of the path and the administrator behind the bearer
//! credential (`admin::authz::authenticate`), as an extractor. Every handler then asks
//! [`ApiCaller::require`] for the one permission its route needs.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::problem::Problem;
use crate::admin::authz::Admin;
use crate::domain::admin::Permission;
use crate::domain::tenant::{Tenant, TenantSlug};
use crate::web::caller::Caller;
use crate::web::state::AppState;

/// An authenticated administrator and the tenant of the path.
pub struct ApiCaller {
    pub admin: Admin,
    pub tenant: Tenant,
    pub state: web::Data<AppState>,
}

impl ApiCaller {
    /// The check every route makes first: another tenant is 404, a missing permission 403.
    pub fn require(&self, wanted: Permission) -> Result<(), Problem> {
        self.admin
            .require(self.tenant.id, wanted)
            .map_err(Problem::from)
    }

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

impl FromRequest for ApiCaller {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| Problem::internal("no application state"))?;
            let slug = req
                .match_info()
                .get("tenant")
                .unwrap_or_default()
                .to_owned();
            if TenantSlug::parse(&slug).is_err() {
                return Err(Problem::not_found("tenant"));
            }
            let credential = bearer(&req).ok_or_else(Problem::unauthenticated)?;
            let caller = Caller::of(&req, &state.trusted_proxies);
            // The path's tenant first: a credential of another tenant is not found there.
            let home_tenant = crate::admin::tenants::find(&state.ctx, &slug)
                .await?
                .ok_or_else(|| Problem::not_found("tenant"))?;
            let admin = crate::admin::authz::authenticate(
                &state.ctx,
                &home_tenant,
                &credential,
                caller.origin(),
            )
            .await?
            .ok_or_else(Problem::unauthenticated)?;
            Ok(ApiCaller {
                admin,
                tenant: home_tenant,
                state,
            })
        })
    }
}
