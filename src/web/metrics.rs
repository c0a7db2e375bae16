//! `/metrics` (Prometheus text exposition): on the main listener or on its own
//! (`[metrics] listen`), optionally behind a bearer token (`[metrics] token`), so a public
//! deployment need not expose it.

use actix_web::http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use super::error::PageError;
use super::state::AppState;
use crate::domain::secret::Secret;

/// Where `/metrics` is served and who may read it.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    /// `[metrics] listen` is set: the main listener answers 404 at `/metrics`.
    pub own_listener: bool,
    pub token: Option<Secret<String>>,
}

impl MetricsAccess {
    /// Whether the request carries the configured token (always true without one).
    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let presented = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            })
            .map(|(_, t)| t.trim())
            .unwrap_or("");
        bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes()))
    }
}

/// `/metrics` on the main listener.
pub async fn on_main(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if state.metrics_access.own_listener {
        return Err(PageError::not_found());
    }
    Ok(render(&req, &state))
}

/// `/metrics` on the metrics listener.
async fn on_own(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    render(&req, &state)
}

fn render(req: &HttpRequest, state: &AppState) -> HttpResponse {
    if !state.metrics_access.admits(req) {
        let mut res = HttpResponse::Unauthorized()
            .content_type("text/plain; charset=utf-8")
            .body("A bearer token is required to read the metrics.\n");
        res.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return res;
    }
    state.metrics.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(state.metrics.render())
}

/// The routes of the metrics listener: `/metrics` and nothing else.
pub fn configure_own_listener(cfg: &mut ServiceConfig) {
    cfg.route("/metrics", web::get().to(on_own))
        .default_service(web::to(|| async { HttpResponse::NotFound().finish() }));
}
