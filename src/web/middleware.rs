//! The one middleware every request passes: assigns a request id (task-local, response header,
//! log span), records latency by route for Prometheus, writes the access log line, and adds the
//! security headers.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tracing::Instrument;

use super::error::REQUEST_ID;
use super::state::AppState;

/// Content Security Policy of every response: no inline script or style, nothing from other
/// origins, no framing. No `form-action`: Chrome applies it to the redirects that follow a form
/// post, and signing in ends in a redirect to the application (the form_post page sets its own).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let method = req.method().to_string();
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.https);
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %req.path());

    // Handlers turn their errors into responses inside this scope, so error pages can show the
    // request id. (Nothing between this middleware and the handlers returns `Err`.)
    let mut res = REQUEST_ID
        .scope(request_id.clone(), next.call(req))
        .instrument(span.clone())
        .await?;

    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    metrics::histogram!(
        "watchword_http_request_duration_seconds",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string(),
    )
    .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            route = %route,
            duration_ms = (elapsed.as_secs_f64() * 1000.0),
            "request"
        )
    });

    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    add_security_headers(headers, https);
    Ok(res)
}

fn add_security_headers(headers: &mut actix_web::http::header::HeaderMap, https: bool) {
    let defaults: [(HeaderName, &str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on form
        // posts, and the CSRF origin check (`web::csrf`) must refuse a null origin.
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}
