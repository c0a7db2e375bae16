//! The admin REST API (`/t/{tenant}/admin/api/v1/…`, JSON): its route table, request limits and
//! error handlers (RFC 9457 problems, never actix's plain-text errors), and the OpenAPI 3.1
//! document generated from the handlers' annotations (utoipa), served per tenant at
//! `/t/{tenant}/admin/api/openapi.json`. Each handler asks for the one permission it needs
//! (`auth::ApiCaller::require`); the document lists it as the operation's security scope.

pub mod api_keys;
pub mod audit_verify;
pub mod auth;
pub mod clients;
pub mod clients_update;
pub mod etag;
pub mod event_mark;
pub mod events;
pub mod idp_metadata;
pub mod idps;
pub mod invitations;
pub mod keys;
pub mod me;
pub mod paging;
pub mod policy;
pub mod problem;
pub mod sessions;
mod settings_json;
pub mod tenants;
pub mod user_access;
pub mod users;

use std::sync::OnceLock;

use actix_web::error::{InternalError, JsonPayloadError};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_actix_web::{AppExt, scope::Scope};

use problem::Problem;

/// The most a request body may hold.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where the API lives; `{tenant}` is the tenant's slug.
pub const PREFIX: &str = "/t/{tenant}/admin/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Watchword admin API",
        version = "1",
        description = "Manage a tenant's users, sessions, applications, identity providers, \
                       policies, signing keys, API keys and audit log. Authenticate \
                       with an API key or an access token from client credentials carrying \
                       admin scopes (`admin:users:read`, …), as `Authorization: Bearer …`. \
                       Errors are RFC 9457 problem details; lists are keyset-paged \
                       (`limit`, `after`); updates need `If-Match`."
    ),
    modifiers(&Bearer),
    components(schemas(problem::ProblemBody))
)]
struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            Problem::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("the body may hold at most {MAX_BODY_BYTES} bytes"),
            )
        }
        JsonPayloadError::ContentType => Problem::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as application/json",
        ),
        JsonPayloadError::Deserialize(e) => {
            let message = e.to_string();
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("body")
                .to_owned();
            Problem::invalid(field, message)
        }
        other => Problem::bad_request(other.to_string()),
    };
    InternalError::from_response(err, problem.error_response()).into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let message = err.to_string();
    let field = message.split('`').nth(1).unwrap_or("query").to_owned();
    InternalError::from_response(err, Problem::invalid(field, message).error_response()).into()
}

fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    InternalError::from_response(err, Problem::not_found("resource").error_response()).into()
}

async fn no_route() -> Result<HttpResponse, Problem> {
    Err(Problem::not_found("route"))
}

/// The API's routes (and, through utoipa-actix-web, its OpenAPI paths).
pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope(PREFIX)
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_BODY_BYTES)
                // RFC 7396 merge patches (`PATCH /policy`) may say what they are.
                .content_type(|mime| {
                    mime.type_() == actix_web::mime::APPLICATION
                        && mime.subtype() == "merge-patch"
                        && mime.suffix() == Some(actix_web::mime::JSON)
                })
                .error_handler(json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .service(me::me)
        .service(users::list)
        .service(users::create)
        .service(users::read)
        .service(users::update)
        .service(users::disable)
        .service(users::enable)
        .service(users::set_password)
        .service(users::reset_mfa)
        .service(users::sessions)
        .service(users::end_sessions)
        .service(users::set_role)
        .service(user_access::consents)
        .service(user_access::withdraw)
        .service(user_access::identities)
        .service(user_access::unlink)
        .service(invitations::list)
        .service(invitations::create)
        .service(invitations::revoke)
        .service(sessions::end)
        .service(clients::list)
        .service(clients::create)
        .service(clients::read)
        .service(clients_update::update)
        .service(clients::rotate_secret)
        .service(clients::remove)
        .service(idps::list)
        .service(idps::create)
        .service(idps::read)
        .service(idps::update)
        .service(idps::remove)
        .service(idp_metadata::import)
        .service(policy::read)
        .service(policy::replace)
        .service(policy::update)
        .service(keys::list)
        .service(keys::rotate)
        .service(keys::withdraw)
        .service(tenants::list)
        .service(tenants::create)
        .service(tenants::read)
        .service(api_keys::list)
        .service(api_keys::create)
        .service(api_keys::revoke)
        .service(events::audit)
        .service(events::export)
        .service(audit_verify::verify)
        .service(events::events)
        .service(event_mark::mark)
        .default_service(web::to(no_route))
        .wrap(actix_web::middleware::from_fn(auth::gate))
}

/// The OpenAPI document with `{tenant}` in every path, built once from the route table.
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, api) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .service(scope())
            .split_for_parts();
        serde_json::to_value(&api).unwrap_or_default()
    })
}

type Table = Vec<(
    String,
    Vec<String>,
    Option<crate::domain::admin::Permission>,
)>;

/// Every operation of the document: method, path segments, the permission it declares.
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Table::new();
        let paths = document()["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in paths {
            for (verb, op) in item.as_object().into_iter().flatten() {
                // No requirement, or a scope that names no permission: the route is not in
                // the table, so it is refused (fail closed on a typo in an annotation).
                let Some(scopes) = op["security"]
                    .as_array()
                    .and_then(|s| s.first())
                    .and_then(|r| r["bearer"].as_array())
                else {
                    continue;
                };
                let needed = match scopes.first().and_then(|s| s.as_str()) {
                    None => None,
                    Some(scope) => match crate::domain::admin::Permission::from_scope(scope) {
                        Some(p) => Some(p),
                        None => continue,
                    },
                };
                let segments = path.split('/').map(str::to_owned).collect();
                table.push((verb.to_ascii_uppercase(), segments, needed));
            }
        }
        table
    })
}

/// The permission the route of `method` and `path` needs, from its operation's security
/// requirement (the scope `admin:users:read` is the permission `users:read`): `Some(None)` for
/// a route any administrator may call (`/me`), `None` for a route the document does not know.
pub fn required_for_path(
    method: &actix_web::http::Method,
    path: &str,
) -> Option<Option<crate::domain::admin::Permission>> {
    let parts: Vec<&str> = path.split('/').collect();
    table()
        .iter()
        .find(|(verb, segments, _)| {
            verb == method.as_str()
                && segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| {
                    (s.starts_with('{') && s.ends_with('}') && !p.is_empty()) || s == p
                })
        })
        .map(|(_, _, needed)| *needed)
}

/// The document for one tenant: paths relative to `servers[0]` (`/t/<slug>/admin/api/v1`),
/// without the tenant parameter, so generated clients and fuzzers need no tenant argument.
pub fn document_for(slug: &str) -> serde_json::Value {
    let mut doc = document().clone();
    let base = PREFIX.replace("{tenant}", slug);
    doc["servers"] = serde_json::json!([{ "url": base }]);
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let taken = std::mem::take(paths);
        for (path, mut item) in taken {
            if let Some(ops) = item.as_object_mut() {
                for op in ops.values_mut() {
                    if let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                        params.retain(|p| !(p["name"] == "tenant" && p["in"] == "path"));
                    }
                }
            }
            let relative = path.strip_prefix(PREFIX).unwrap_or(&path).to_owned();
            paths.insert(relative, item);
        }
    }
    doc
}

/// `GET /t/{tenant}/admin/api/openapi.json` (public, like any API description; the tenant must
/// exist).
pub async fn openapi_json(
    state: web::Data<crate::web::state::AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let slug = path.into_inner();
    if crate::domain::tenant::TenantSlug::parse(&slug).is_err()
        || crate::admin::tenants::find(&state.ctx, &slug)
            .await?
            .is_none()
    {
        return Err(Problem::not_found("tenant"));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(document_for(&slug)))
}
