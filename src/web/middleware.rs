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

use super::error::{FailureLogged, REQUEST_ID, log_failure};
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
    // Audit events recorded while handling the request carry where it came from, whichever
    // use case records them (`storage::audit::record` fills an empty origin from this).
    let origin = req.app_data::<web::Data<AppState>>().map(|s| {
        let caller = super::caller::Caller::of(req.request(), &s.trusted_proxies);
        crate::domain::audit::Origin {
            ip: Some(caller.ip.to_string()),
            user_agent: Some(caller.user_agent),
            request_id: Some(request_id.clone()),
        }
    });
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %req.path());

    // Handlers turn their errors into responses inside this scope, so error pages can show the
    // request id. (Nothing between this middleware and the handlers returns `Err`.)
    let mut res = REQUEST_ID
        .scope(
            request_id.clone(),
            crate::storage::audit::with_origin(origin, next.call(req)),
        )
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
        );
        // Every 5xx gets an error line with its request id: the error types log theirs with
        // the cause (and mark the response); any other (a response built by hand, a framework
        // error) is logged here with what is known.
        let logged = res.response().extensions().contains::<FailureLogged>();
        if res.status().is_server_error() && !logged {
            let cause = res.response().error().map_or_else(
                || "unknown (no error attached)".to_owned(),
                |e| format!("{e:?}"),
            );
            REQUEST_ID.sync_scope(request_id.clone(), || {
                log_failure(status, "internal", &cause);
            });
        }
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::{App, HttpResponse, middleware::from_fn, test, web};

    use super::observe;
    use crate::oauth::error::OAuthError;
    use crate::web::oauth::ProtocolError;

    /// Log output captured as JSON lines.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn errors(&self) -> Vec<serde_json::Value> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["level"] == "ERROR")
                .collect()
        }
    }

    async fn protocol_failure() -> Result<HttpResponse, ProtocolError> {
        Err(OAuthError::server_error("duplicate key value violates unique constraint").into())
    }

    async fn bare_500() -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }

    /// Each 5xx is logged exactly once at error level, with the request id of its response and
    /// its cause when one is known.
    #[actix_web::test]
    async fn every_5xx_is_logged_at_error_level_with_its_cause_and_request_id() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(from_fn(observe))
                .route("/protocol", web::post().to(protocol_failure))
                .route("/bare", web::get().to(bare_500)),
        )
        .await;

        for (req, cause) in [
            (
                test::TestRequest::post().uri("/protocol").to_request(),
                "duplicate key value violates unique constraint",
            ),
            (
                test::TestRequest::get().uri("/bare").to_request(),
                "unknown",
            ),
        ] {
            let before = captured.errors().len();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), 500);
            let id = res
                .headers()
                .get("x-request-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let errors = captured.errors();
            assert_eq!(errors.len(), before + 1, "one error line: {errors:?}");
            let line = &errors[before]["fields"];
            assert_eq!(line["request_id"], id.as_str(), "{line}");
            assert_eq!(line["status"], 500, "{line}");
            assert!(line["cause"].as_str().unwrap().contains(cause), "{line}");
        }
    }
}
