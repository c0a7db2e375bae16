//! A SAML identity provider's metadata imported into its settings: the `EntityDescriptor` given
//! as XML or fetched from an http(s) URL through the outbound guard (no private or local
//! addresses), read by `federation::saml::parse_idp_metadata`. The command line and the admin
//! API import through here; `refresh` is the use case of re-importing a saved provider's
//! metadata (API and management UI).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::idp::{IdentityProvider, IdpKind, SamlSettings};
use crate::domain::tenant::Tenant;
use crate::domain::user::InvalidInput;

/// The largest metadata document accepted (1 MiB; real federations' single-entity metadata is
/// tens of KiB).
pub const MAX_BYTES: usize = 1 << 20;

/// Where the metadata comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The document itself.
    Xml(String),
    /// An http(s) URL, remembered as `metadata_url` for later re-imports.
    Url(String),
}

/// The SAML section built from the metadata at `source`. What the metadata cannot say
/// (`allow_sha1`, `allow_unsolicited`, our own certificates, `sign_requests`) is kept from
/// `previous`. Errors name the field (`metadata_xml` or `metadata_url`) and say what is wrong.
/// Needs `idps:write` (checked before anything is fetched); saving the result is the caller's
/// `admin::idps::create` or `update`.
pub async fn import(
    ctx: &Ctx,
    tenant: &Tenant,
    source: &Source,
    previous: Option<&SamlSettings>,
    by: &Admin,
) -> Result<SamlSettings, AdminError> {
    by.require(tenant.id, Permission::write(Module::Idps))?;
    let (field, xml) = match source {
        Source::Xml(xml) => ("metadata_xml", xml.clone()),
        Source::Url(url) => ("metadata_url", fetch(ctx, url).await?),
    };
    if xml.len() > MAX_BYTES {
        return Err(InvalidInput::new(field, "is larger than 1 MiB").into());
    }
    let md = crate::federation::saml::parse_idp_metadata(&xml)
        .map_err(|e| InvalidInput::new(field, e.to_string()))?;
    Ok(SamlSettings {
        entity_id: md.entity_id,
        sso_url: md.sso_redirect_url,
        slo_url: md.slo_redirect_url,
        signing_certs: md
            .signing_certs
            .iter()
            .map(|c| STANDARD.encode(c))
            .collect(),
        allow_sha1: previous.is_some_and(|p| p.allow_sha1),
        allow_unsolicited: previous.is_some_and(|p| p.allow_unsolicited),
        metadata_url: match source {
            Source::Url(url) => Some(url.clone()),
            Source::Xml(_) => None,
        },
        sp_certs: previous.map(|p| p.sp_certs.clone()).unwrap_or_default(),
        sign_requests: previous.is_some_and(|p| p.sign_requests),
    })
}

async fn fetch(ctx: &Ctx, url: &str) -> Result<String, AdminError> {
    let bad = |why: String| AdminError::from(InvalidInput::new("metadata_url", why));
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(bad("must be an http(s) URL".into()));
    }
    let out = &ctx.outbound;
    let request = out
        .client()
        .get(url)
        .build()
        .map_err(|_| bad("is not a URL".into()))?;
    let fetched = out
        .send(request)
        .await
        .map_err(|e| bad(format!("could not be fetched: {e}")))?;
    if fetched.status != 200 {
        return Err(bad(format!("answered status {}", fetched.status)));
    }
    String::from_utf8(fetched.body).map_err(|_| bad("is not UTF-8".into()))
}

/// Refreshes the SAML provider `idp` from the metadata at `source` and saves it with
/// `admin::idps::update` (audited with a diff). A provider of another kind is refused, naming
/// `metadata_xml`.
pub async fn refresh(
    ctx: &Ctx,
    tenant: &Tenant,
    mut idp: IdentityProvider,
    source: &Source,
    by: &Admin,
) -> Result<IdentityProvider, AdminError> {
    by.require(tenant.id, Permission::write(Module::Idps))?;
    if idp.kind != IdpKind::Saml {
        return Err(InvalidInput::new("metadata_xml", "is for SAML providers").into());
    }
    let saml = import(ctx, tenant, source, idp.settings.saml.as_ref(), by).await?;
    idp.settings.saml = Some(saml);
    super::idps::update(ctx, tenant, idp, None, by).await
}
