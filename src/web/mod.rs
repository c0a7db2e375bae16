//! The HTTP interface (actix only): routes, extractors, middleware, error mapping and pages.
//! Handlers call `auth` and `admin`; they never run a query themselves.
//!
//! # Requests
//!
//! Every request passes one middleware (`web::middleware::observe`): it assigns a request id (task-local
//! `REQUEST_ID`, `X-Request-Id` header, tracing span), records
//! `watchword_http_request_duration_seconds{method,route,status}` with the route *pattern*, writes the
//! access log line and adds the security headers (CSP without inline script, `frame-ancestors 'none'`,
//! nosniff, `Referrer-Policy: same-origin`, `Cache-Control: no-store` unless the handler set one, HSTS on https).
//! The referrer policy is `same-origin` rather than `no-referrer` because with `no-referrer` browsers
//! send `Origin: null` on form posts, which `web::csrf`'s origin check must refuse: every form post
//! from a real browser failed (found by the headless-Chromium test).
//!
//! Handlers return `Result<HttpResponse, PageError>`. `PageError` renders `templates/error.html` with the
//! request id; `ApiError` renders `{"error", "error_description", "request_id"}`. Every failure is
//! logged once at error level with its cause and the request id (`web::error::log_failure`): 5xx
//! pages and JSON errors, protocol errors (`server_error`, `temporarily_unavailable`) including the
//! ones sent to the client by redirect from the authorization endpoint, which mark their response
//! (`FailureLogged`); any other 5xx (a response built by hand, a framework error) is logged by
//! the access-log middleware. Storage outages map to
//! 503 with `Retry-After`, never 500, and so do `StorageError::Contention` (a deadlock or
//! serialization failure reported by the database: retrying may succeed, and the connection stays
//! in the pool) and `StorageError::Cancelled` (a statement PostgreSQL cancelled at
//! `database.statement_timeout_ms` or `lock_timeout_ms`; the connection stays in the pool too). Query and path extractor errors are routed through the same page.
//! Form bodies go through `web::form::StrictForm`, which refuses the wrong content type (415), bodies over
//! `server.max_body_bytes` (413), invalid UTF-8, repeated fields and more than 100 fields (400)
//! before a handler runs; `CheckedForm` also checks the CSRF token (403).
//!
//! # Extractors for pages people use
//!
//! `people::PeopleTenant` is the tenant of the path with its network lists applied (404 for an
//! unknown tenant, 403 for a refused network), loaded once per request. `people::SignedIn<B>` is
//! the signed-in user of that tenant; an anonymous visitor never reaches the handler: they are
//! sent to sign in and back to `B` (`back::ThisPage`, `back::Account`, `back::Security`,
//! `back::Apps`), or to the page that says why their session ended. Put `CheckedForm` before
//! `SignedIn` in a handler's arguments so that a forged form is refused before anything else.
//! Whether a session may change factors (a fresh second factor or password) is decided by the
//! engine (`auth::mfa::changes`), not by an extractor. Addresses of pages come from `web::paths`.
//!
//! The protocol endpoints (`web::oauth`) parse their parameters into `oauth::params::Params`
//! (`web::oauth::read_form` for bodies, the query string for GET), with the same strictness but
//! answered as OAuth errors (400 `invalid_request`, not 413/415). Every `OAuthError` becomes HTTP in
//! `web::oauth`: `ProtocolError` for the JSON endpoints (RFC 6749 5.2 body, `no-store`, 401 +
//! `WWW-Authenticate: Basic` for `invalid_client`, 503 + `Retry-After` for
//! `temporarily_unavailable`, 429 + `Retry-After` for a throttled client authentication, i.e. an
//! `OAuthError` with `retry_after` set), a `Bearer` challenge in `web::oauth::userinfo`, and for the
//! authorization endpoint either an error page (`AuthorizeError::Page`) or a redirect to the
//! verified redirect URI (`AuthorizeError::Redirect`).

pub mod admin_api;
pub mod admin_ui;
pub mod caller;
pub mod control;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod form;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod paths;
pub mod people;
pub mod return_to;
pub mod routes;
pub mod state;
pub mod templates;
