//! A SAML provider's metadata imported from its page (`idps:write`): pasted XML, or else a URL
//! fetched through the outbound guard, and saved (`admin::idp_metadata::refresh`, audited). A
//! refusal is shown on the provider's page next to the field it names, with what was typed kept.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::idp::{Import, href, load, page_of};
use crate::admin::AdminError;
use crate::admin::idp_metadata::{self, Source};
use crate::domain::admin::{Module, Permission};
use crate::domain::idp::IdpKind;
use crate::domain::user::InvalidInput;
use crate::web::error::PageError;
use crate::web::form::CheckedForm;
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    metadata_url: String,
    #[serde(default)]
    metadata_xml: String,
}

pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<ImportForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Idps))?;
    let idp = load(&state, &page, &path.1).await?;
    if idp.kind != IdpKind::Saml {
        return Err(PageError::not_found());
    }
    let (url, xml) = (form.metadata_url.trim(), form.metadata_xml.trim());
    let source = if !xml.is_empty() {
        Ok(Source::Xml(xml.to_owned()))
    } else if !url.is_empty() {
        Ok(Source::Url(url.to_owned()))
    } else {
        Err(AdminError::from(InvalidInput::new(
            "metadata_url",
            "is required (or paste the XML)",
        )))
    };
    let saved = match source {
        Ok(source) => {
            idp_metadata::refresh(&state.ctx, &page.tenant, idp.clone(), &source, &page.admin)
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(see_other(&paths::done(
            href(&page, &idp.slug),
            "idp-metadata-imported",
        ))),
        Err(AdminError::Invalid(i)) => {
            let import = Import {
                url: form.metadata_url,
                xml: form.metadata_xml,
                error: Some((i.field.to_owned(), i.message)),
            };
            let idp = load(&state, &page, &path.1).await?;
            let status = (StatusCode::UNPROCESSABLE_ENTITY, None);
            Ok(page_of(&state, &req, &page, idp, status, import))
        }
        Err(e) => Err(e.into()),
    }
}
