//! `PATCH /clients/{client_id}`: changing an application's registration with `If-Match`
//! (the client row's version, bumped by every write and the condition of the storage update),
//! validated by the same rules as registration, the CLI and the seed file
//! (`domain::client::validate` through `admin::clients::update`), audited with a diff.

use actix_web::{HttpRequest, HttpResponse, patch, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::ApiCaller;
use super::clients::{ClientPath, ClientView, load};
use super::etag;
use super::problem::{Problem, ProblemBody};
use crate::admin;
use crate::domain::client::{Client, GrantType};

/// The application with its `ETag`.
pub(super) fn with_etag(client: Client) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", etag::of(client.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientView::from(client))
}

/// Changes to an application's registration; absent fields stay as they are, lists are
/// replaced whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[schema(min_length = 1, max_length = 128)]
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
    /// A JSON merge patch (RFC 7396) of the whole registration (`ClientView.settings`):
    /// members replace, `null` resets to the default; applied before the fields above.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

/// Update an application's registration. Needs `If-Match` with the `ETag` last read: a change
/// made meanwhile answers 412 and nothing is written.
#[utoipa::path(
    operation_id = "update_client",
    tag = "clients",
    params(ClientPath, ("If-Match" = String, Header, description = "the ETag last read")),
    request_body = ClientPatch,
    responses(
        (status = 200, body = ClientView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
        (status = 428, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[patch("/clients/{client_id}")]
pub async fn update(
    c: ApiCaller,
    req: HttpRequest,
    path: web::Path<ClientPath>,
    body: web::Json<ClientPatch>,
) -> Result<HttpResponse, Problem> {
    let expected = etag::if_match(&req)?;
    let current = load(&c, &path.client_id).await?;
    if current.version != expected {
        return Err(Problem::precondition_failed());
    }
    let body = body.into_inner();
    let mut next = current.clone();
    if let Some(changes) = &body.settings {
        next.settings = super::settings_json::merged(&current.settings, changes)?;
    }
    if let Some(name) = body.name {
        next.name = name.trim().to_owned();
    }
    if let Some(uris) = body.redirect_uris {
        next.settings.redirect_uris = uris;
    }
    if let Some(uris) = body.post_logout_redirect_uris {
        next.settings.post_logout_redirect_uris = uris;
    }
    if let Some(given) = body.grant_types {
        next.settings.grant_types = given
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| {
                    Problem::invalid("grant_types", format!("`{g}` is not a grant type"))
                })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(scopes) = body.scopes {
        next.settings.scopes = scopes;
    }
    if let Some(first_party) = body.first_party {
        next.settings.first_party = first_party;
    }
    admin::clients::update(c.ctx(), &c.tenant, &current, next, &c.admin).await?;
    Ok(with_etag(load(&c, &path.client_id).await?))
}
