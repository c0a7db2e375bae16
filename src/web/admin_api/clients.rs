//! `/clients`: list, read, register (the secret shown once), rotate the secret, delete (its
//! grants revoked). Registration is validated by the same rules as the CLI and seed file.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;
use crate::admin::{self, clients::NewClient};
use crate::domain::client::{Client, ClientKind, ClientSettings, GrantType};

/// A registered application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    /// `confidential` or `public`.
    pub kind: String,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// The whole registration (as the seed file's `[[tenants.clients]]`): also response modes,
    /// PKCE, signing algorithms, token lifetimes, back-channel logout, MFA, resource server
    /// and audiences.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            kind: match c.kind {
                ClientKind::Confidential => "confidential".into(),
                ClientKind::Public => "public".into(),
            },
            auth_method: c.auth_method.as_str().to_owned(),
            grant_types: c
                .settings
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            settings: serde_json::to_value(&c.settings).unwrap_or_default(),
            redirect_uris: c.settings.redirect_uris,
            post_logout_redirect_uris: c.settings.post_logout_redirect_uris,
            scopes: c.settings.scopes,
            first_party: c.settings.first_party,
            client_id: c.client_id,
            name: c.name,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A tenant's applications (a tenant has few: not paged).
#[utoipa::path(
    operation_id = "list_clients",
    tag = "clients",
    params(TenantPath),
    responses(
        (status = 200, body = Vec<ClientView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:read"]))
)]
#[get("/clients")]
pub async fn list(c: ApiCaller) -> Result<HttpResponse, Problem> {
    let clients = admin::clients::list(c.ctx(), &c.tenant).await?;
    Ok(HttpResponse::Ok().json(
        clients
            .into_iter()
            .map(ClientView::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClientPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The client's `client_id`.
    pub client_id: String,
}

pub(super) async fn load(c: &ApiCaller, client_id: &str) -> Result<Client, Problem> {
    admin::clients::find(c.ctx(), &c.tenant, client_id)
        .await?
        .map(|found| found.client)
        .ok_or_else(|| Problem::not_found("client"))
}

/// Read an application.
#[utoipa::path(
    operation_id = "read_client",
    tag = "clients",
    params(ClientPath),
    responses(
        (status = 200, body = ClientView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:read"]))
)]
#[get("/clients/{client_id}")]
pub async fn read(c: ApiCaller, path: web::Path<ClientPath>) -> Result<HttpResponse, Problem> {
    Ok(super::clients_update::with_etag(
        load(&c, &path.client_id).await?,
    ))
}

/// An application to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// Generated when absent.
    #[schema(max_length = 128)]
    pub client_id: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// `confidential` (default) or `public`.
    pub kind: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code`, `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub first_party: bool,
    /// Any other registration setting (as in `ClientView.settings`); the fields above win.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

/// A registered application and, for a confidential one, its secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredClient {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// Register an application.
#[utoipa::path(
    operation_id = "create_client",
    tag = "clients",
    params(TenantPath),
    request_body = NewClientBody,
    responses(
        (status = 201, body = RegisteredClient),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[post("/clients")]
pub async fn create(c: ApiCaller, body: web::Json<NewClientBody>) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let kind = match body.kind.as_deref() {
        None | Some("confidential") => ClientKind::Confidential,
        Some("public") => ClientKind::Public,
        Some(_) => {
            return Err(Problem::invalid(
                "kind",
                "kind must be confidential or public",
            ));
        }
    };
    let grant_types = match body.grant_types {
        None => ClientSettings::default().grant_types,
        Some(given) => given
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| {
                    Problem::invalid("grant_types", format!("`{g}` is not a grant type"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let base = match body.settings {
        Some(given) if !given.is_object() => {
            return Err(Problem::invalid("settings", "must be an object"));
        }
        Some(given) => super::settings_json::parse(given)?,
        None => ClientSettings::default(),
    };
    let settings = ClientSettings {
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types,
        scopes: body.scopes,
        first_party: body.first_party,
        ..base
    };
    let registered = admin::clients::create(
        c.ctx(),
        &c.tenant,
        NewClient {
            client_id: body.client_id,
            name: body.name,
            kind,
            auth_method: None,
            settings,
            secret: None,
        },
        &c.admin,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(RegisteredClient {
            client: registered.client.into(),
            client_secret: registered.secret.map(|s| s.expose().clone()),
        }))
}

/// A new client secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub client_secret: String,
}

/// Replace a confidential application's secret with a new random one (the old one stops
/// working at once).
#[utoipa::path(
    tag = "clients",
    params(ClientPath),
    responses(
        (status = 200, body = NewSecret),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[post("/clients/{client_id}/rotate-secret")]
pub async fn rotate_secret(
    c: ApiCaller,
    path: web::Path<ClientPath>,
) -> Result<HttpResponse, Problem> {
    let client = load(&c, &path.client_id).await?;
    let secret = admin::clients::set_secret(c.ctx(), &c.tenant, &client, None, &c.admin).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(NewSecret {
            client_secret: secret.expose().clone(),
        }))
}

/// Delete an application: its grants are revoked and consents forgotten. Deleting one that is
/// already gone answers 204 too.
#[utoipa::path(
    tag = "clients",
    params(ClientPath),
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:clients:write"]))
)]
#[delete("/clients/{client_id}")]
pub async fn remove(c: ApiCaller, path: web::Path<ClientPath>) -> Result<HttpResponse, Problem> {
    match admin::clients::delete(c.ctx(), &c.tenant, &path.client_id, &c.admin).await {
        Ok(()) | Err(crate::admin::AdminError::NotFound(_)) => {
            Ok(HttpResponse::NoContent().finish())
        }
        Err(e) => Err(e.into()),
    }
}
