//! `/idps`: a tenant's upstream identity providers: list, read (with `ETag`), create, update
//! (with `If-Match`; settings as a JSON merge patch), delete (idempotent). Secrets are never
//! shown: a provider answers `has_client_secret` instead. Validated by the same rules as the
//! CLI and seed file (`admin::idps`).

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::etag;
use super::problem::{Problem, ProblemBody};
use super::settings_json;
use super::users::TenantPath;
use crate::admin::{self, AdminError};
use crate::domain::idp::{IdentityProvider, IdpKind, IdpSettings};
use crate::domain::secret::Secret;

/// An upstream identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdpView {
    pub slug: String,
    /// `oidc`, `entra` or `saml`.
    pub kind: String,
    pub display_name: String,
    pub enabled: bool,
    /// Whether a secret is kept for it (sealed; never shown): the OAuth client secret, or for
    /// SAML our private key.
    pub has_client_secret: bool,
    /// Domains, JIT, linking, claim mapping, upstream MFA, and the `oidc`, `entra` or `saml`
    /// section.
    #[schema(value_type = Object)]
    pub settings: Value,
}

impl From<IdentityProvider> for IdpView {
    fn from(i: IdentityProvider) -> Self {
        Self {
            kind: i.kind.as_str().to_owned(),
            settings: serde_json::to_value(&i.settings).unwrap_or(Value::Null),
            slug: i.slug,
            display_name: i.display_name,
            enabled: i.enabled,
            has_client_secret: i.has_secret,
        }
    }
}

pub(super) fn with_etag(
    status: actix_web::http::StatusCode,
    idp: IdentityProvider,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("ETag", etag::of(idp.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(IdpView::from(idp))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdpPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The provider's slug.
    pub idp: String,
}

/// An engine error about a provider: a field of the settings is named as the body names it
/// (`settings.oidc.issuer`).
pub(super) fn problem(e: AdminError) -> Problem {
    match e {
        AdminError::Invalid(i)
            if ![
                "slug",
                "display_name",
                "kind",
                "client_secret",
                "metadata_xml",
                "metadata_url",
            ]
            .contains(&i.field) =>
        {
            Problem::invalid(format!("settings.{}", i.field), i.to_string())
        }
        other => other.into(),
    }
}

pub(super) async fn load(c: &ApiCaller, slug: &str) -> Result<IdentityProvider, Problem> {
    admin::idps::find(c.ctx(), &c.tenant, slug)
        .await?
        .map(|s| s.idp)
        .ok_or_else(|| Problem::not_found("identity provider"))
}

/// The tenant's identity providers, by slug (a tenant has few: not paged).
#[utoipa::path(
    operation_id = "list_idps",
    tag = "idps",
    params(TenantPath),
    responses(
        (status = 200, body = Vec<IdpView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:idps:read"]))
)]
#[get("/idps")]
pub async fn list(c: ApiCaller) -> Result<HttpResponse, Problem> {
    let all = admin::idps::list(c.ctx(), &c.tenant).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(
            all.into_iter()
                .map(|s| IdpView::from(s.idp))
                .collect::<Vec<_>>(),
        ))
}

/// Read a provider (the `ETag` is what `If-Match` takes on updates).
#[utoipa::path(
    operation_id = "read_idp",
    tag = "idps",
    params(IdpPath),
    responses(
        (status = 200, body = IdpView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:idps:read"]))
)]
#[get("/idps/{idp}")]
pub async fn read(c: ApiCaller, path: web::Path<IdpPath>) -> Result<HttpResponse, Problem> {
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        load(&c, &path.idp).await?,
    ))
}

/// A provider to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdpBody {
    /// 1-40 lower-case letters, digits and `-`; part of its addresses.
    #[schema(min_length = 1, max_length = 40)]
    pub slug: String,
    /// `oidc`, `entra` or `saml`.
    pub kind: String,
    #[schema(min_length = 1, max_length = 80)]
    pub display_name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// As the seed file's `[…idps.settings]`: needs the section of its kind.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// The OAuth client secret at the provider (sealed; never shown again).
    #[schema(max_length = 8192)]
    pub client_secret: Option<String>,
    /// SAML: the IdP's metadata document; fills `settings.saml` (entity id, endpoints,
    /// signing certificates). At most one of `metadata_xml` and `metadata_url`.
    pub metadata_xml: Option<String>,
    /// SAML: where to fetch the IdP's metadata (http(s), no private or local addresses);
    /// remembered as `settings.saml.metadata_url`.
    pub metadata_url: Option<String>,
}

fn yes() -> bool {
    true
}

/// Add a provider.
#[utoipa::path(
    operation_id = "create_idp",
    tag = "idps",
    params(TenantPath),
    request_body = NewIdpBody,
    responses(
        (status = 201, body = IdpView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:idps:write"]))
)]
#[post("/idps")]
pub async fn create(c: ApiCaller, body: web::Json<NewIdpBody>) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let kind = IdpKind::parse(&body.kind).map_err(|e| Problem::invalid("kind", e.to_string()))?;
    let mut settings: IdpSettings = settings_json::parse(body.settings)?;
    if let Some(source) = super::idp_metadata::source(body.metadata_xml, body.metadata_url)? {
        if kind != IdpKind::Saml {
            return Err(Problem::invalid("metadata_xml", "is for SAML providers"));
        }
        let saml = admin::idp_metadata::import(
            c.ctx(),
            &c.tenant,
            &source,
            settings.saml.as_ref(),
            &c.admin,
        )
        .await
        .map_err(problem)?;
        settings.saml = Some(saml);
    }
    let idp = admin::idps::create(
        c.ctx(),
        &c.tenant,
        admin::idps::NewIdp {
            slug: body.slug,
            kind,
            display_name: body.display_name,
            enabled: body.enabled,
            settings,
            client_secret: body.client_secret.map(Secret::new),
        },
        &c.admin,
    )
    .await
    .map_err(problem)?;
    Ok(with_etag(actix_web::http::StatusCode::CREATED, idp))
}

/// Changes to a provider; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpPatch {
    #[schema(min_length = 1, max_length = 80)]
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    /// A JSON merge patch (RFC 7396) of the settings: members replace, `null` removes.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// A new client secret, or `null` to remove it.
    #[serde(default, deserialize_with = "some")]
    #[schema(max_length = 8192)]
    pub client_secret: Option<Option<String>>,
}

fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Update a provider. Needs `If-Match` with the `ETag` last read: a change made meanwhile
/// answers 412 and nothing is written.
#[utoipa::path(
    operation_id = "update_idp",
    tag = "idps",
    params(IdpPath, ("If-Match" = String, Header, description = "the ETag last read")),
    request_body = IdpPatch,
    responses(
        (status = 200, body = IdpView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
        (status = 428, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:idps:write"]))
)]
#[patch("/idps/{idp}")]
pub async fn update(
    c: ApiCaller,
    req: HttpRequest,
    path: web::Path<IdpPath>,
    body: web::Json<IdpPatch>,
) -> Result<HttpResponse, Problem> {
    let expected = etag::if_match(&req)?;
    let current = load(&c, &path.idp).await?;
    if current.version != expected {
        return Err(Problem::precondition_failed());
    }
    let body = body.into_inner();
    let mut next = current.clone();
    if let Some(name) = body.display_name {
        next.display_name = name;
    }
    if let Some(enabled) = body.enabled {
        next.enabled = enabled;
    }
    if let Some(changes) = &body.settings {
        next.settings = settings_json::merged(&current.settings, changes)?;
    }
    let secret = body.client_secret.map(|s| s.map(Secret::new));
    let updated = admin::idps::update(c.ctx(), &c.tenant, next, secret, &c.admin)
        .await
        .map_err(problem)?;
    Ok(with_etag(actix_web::http::StatusCode::OK, updated))
}

/// Delete a provider and the identities linked through it (their users stay). Deleting one
/// that is already gone answers 204 too.
#[utoipa::path(
    operation_id = "delete_idp",
    tag = "idps",
    params(IdpPath),
    responses(
        (status = 204),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:idps:write"]))
)]
#[delete("/idps/{idp}")]
pub async fn remove(c: ApiCaller, path: web::Path<IdpPath>) -> Result<HttpResponse, Problem> {
    match admin::idps::delete(c.ctx(), &c.tenant, &path.idp, &c.admin).await {
        Ok(()) | Err(AdminError::NotFound(_)) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => Err(e.into()),
    }
}
