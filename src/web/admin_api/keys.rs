//! `/keys`: the tenant's published signing keys with their state, rotating them, and
//! withdrawing a (compromised) key at once (`admin::keys`, audited as `keys_rotated`). Private
//! keys never leave the key ring.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiCaller;
use super::problem::{Problem, ProblemBody};
use super::users::TenantPath;
use crate::admin;
use crate::domain::keys::SigningAlg;
use crate::signing::rotation::KeyInfo;

/// A published signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// `pending` (published, not signing yet), `active`, or `retiring` (still published).
    pub state: String,
    /// Unix seconds.
    pub created_at: i64,
    pub activates_at: i64,
    /// When it leaves the key set, if it is retiring.
    pub expires_at: Option<i64>,
}

impl From<KeyInfo> for KeyView {
    fn from(k: KeyInfo) -> Self {
        Self {
            kid: k.kid,
            alg: k.alg.to_owned(),
            state: k.state.to_owned(),
            created_at: k.created_at,
            activates_at: k.activates_at,
            expires_at: k.expires_at,
        }
    }
}

fn views(keys: Vec<KeyInfo>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(keys.into_iter().map(KeyView::from).collect::<Vec<_>>())
}

/// The tenant's published signing keys (a handful: not paged).
#[utoipa::path(
    operation_id = "list_keys",
    tag = "keys",
    params(TenantPath),
    responses(
        (status = 200, body = Vec<KeyView>),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:read"]))
)]
#[get("/keys")]
pub async fn list(c: ApiCaller) -> Result<HttpResponse, Problem> {
    Ok(views(
        admin::keys::list(c.ctx(), &c.tenant, &c.admin).await?,
    ))
}

/// What to rotate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// `RS256`, `ES256`, `EdDSA`; default: all three.
    pub algs: Option<Vec<String>>,
    /// Sign with the new keys at once instead of after the publishing delay (a compromised key).
    #[serde(default)]
    pub immediate: bool,
}

/// Rotate signing keys: new keys are published now and sign after the publishing delay (or at
/// once with `immediate`); the keys they replace stay published until their tokens expire.
#[utoipa::path(
    operation_id = "rotate_keys",
    tag = "keys",
    params(TenantPath),
    request_body = RotateBody,
    responses(
        (status = 200, body = Vec<KeyView>, description = "the new keys"),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[post("/keys/rotate")]
pub async fn rotate(c: ApiCaller, body: web::Json<RotateBody>) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut algs = Vec::new();
    for name in body.algs.unwrap_or_default() {
        let alg = SigningAlg::parse(&name).map_err(|e| Problem::invalid("algs", e.to_string()))?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    if algs.is_empty() {
        algs = SigningAlg::ALL.to_vec();
    }
    let keys = admin::keys::rotate(c.ctx(), &c.tenant, &algs, body.immediate, &c.admin).await?;
    Ok(views(keys))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    /// The tenant's slug.
    pub tenant: String,
    /// The key's id.
    pub kid: String,
}

/// Withdraw a published key at once (compromised): a new key of its algorithm signs from now
/// on and the key leaves the key set, so every token it signed stops verifying. Answers the
/// replacement.
#[utoipa::path(
    operation_id = "withdraw_key",
    tag = "keys",
    params(KeyPath),
    responses(
        (status = 200, body = KeyView, description = "the key that signs instead"),
        (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin:keys:write"]))
)]
#[post("/keys/{kid}/withdraw")]
pub async fn withdraw(c: ApiCaller, path: web::Path<KeyPath>) -> Result<HttpResponse, Problem> {
    let published = admin::keys::list(c.ctx(), &c.tenant, &c.admin).await?;
    if !published.iter().any(|k| k.kid == path.kid) {
        return Err(Problem::not_found("signing key"));
    }
    let replacement = match admin::keys::withdraw(c.ctx(), &c.tenant, &path.kid, &c.admin).await {
        Ok(k) => k,
        // Withdrawn meanwhile by someone else.
        Err(admin::AdminError::Signing(crate::signing::SigningError::BadKey(kid, _)))
            if kid == path.kid =>
        {
            return Err(Problem::not_found("signing key"));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(KeyView::from(replacement)))
}
