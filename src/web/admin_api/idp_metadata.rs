//! `POST /idps/{idp}/saml-metadata`: a SAML provider's settings refreshed from its metadata
//! (a certificate rollover, new endpoints), given as XML or fetched from a URL through the
//! outbound guard, and saved like any update (`admin::idp_metadata::refresh`, audited with a
//! diff).

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::ApiCaller;
use super::etag;
use super::idps::{IdpPath, IdpView, load, problem, with_etag};
use super::problem::{Problem, ProblemBody};
use crate::admin::{self, idp_metadata::Source};

/// Where the metadata comes from: exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataBody {
    /// The IdP's `EntityDescriptor` (bodies hold at most 64 KiB; use `metadata_url` for more).
    pub metadata_xml: Option<String>,
    /// An http(s) URL to fetch it from (no private or local addresses).
    pub metadata_url: Option<String>,
}

/// At most one source; `None` when neither is given.
pub(super) fn source(xml: Option<String>, url: Option<String>) -> Result<Option<Source>, Problem> {
    match (xml, url) {
        (Some(_), Some(_)) => Err(Problem::invalid(
            "metadata_url",
            "give metadata_xml or metadata_url, not both",
        )),
        (Some(xml), None) => Ok(Some(Source::Xml(xml))),
        (None, Some(url)) => Ok(Some(Source::Url(url))),
        (None, None) => Ok(None),
    }
}

/// Refresh a SAML provider's entity id, endpoints and signing certificates from its metadata;
/// what the metadata cannot say (SHA-1 allowance, unsolicited responses, our certificates,
/// signed requests) is kept. `If-Match` is optional: when given, a change made meanwhile
/// answers 412.
#[utoipa::path(
    operation_id = "import_idp_saml_metadata",
    tag = "idps",
    params(IdpPath, ("If-Match" = Option<String>, Header, description = "the ETag last read")),
    request_body = MetadataBody,
    responses(
        (status = 200, body = IdpView, headers(("ETag" = String))),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:idps:write"]))
)]
#[post("/idps/{idp}/saml-metadata")]
pub async fn import(
    c: ApiCaller,
    req: HttpRequest,
    path: web::Path<IdpPath>,
    body: web::Json<MetadataBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let source = source(body.metadata_xml, body.metadata_url)?
        .ok_or_else(|| Problem::invalid("metadata_xml", "give metadata_xml or metadata_url"))?;
    let current = load(&c, &path.idp).await?;
    if req.headers().contains_key("If-Match") && current.version != etag::if_match(&req)? {
        return Err(Problem::precondition_failed());
    }
    let updated = admin::idp_metadata::refresh(c.ctx(), &c.tenant, current, &source, &c.admin)
        .await
        .map_err(problem)?;
    Ok(with_etag(actix_web::http::StatusCode::OK, updated))
}
