//! The tenant's policy in the management UI (`policies:read`): one form with every field of
//! `TenantPolicy`, grouped in a fieldset per section (`policy_form`: generic over the serialized
//! policy, so a new field appears by itself). Saving (`policies:write`) rebuilds the policy from
//! the form, checks it with `TenantPolicy::validate` (an error names the field, shown next to it,
//! and the form keeps what was typed) and writes it through `admin::tenants::update`, which
//! audits it with a before/after diff.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::AdminPage;
use super::policy_form::{rebuild, sections};
use super::views_config::PolicyPage;
use super::{Done, Screen, render};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Module, Permission};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Policies))?;
    let can_write = page.can(Permission::write(Module::Policies));
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Policy,
        StatusCode::OK,
        super::notice(query.done.as_deref()),
        |frame| PolicyPage {
            frame,
            sections: sections(&page.tenant.policy, None, None),
            error: None,
            can_write,
        },
    ))
}

pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(mut form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Policies))?;
    form.remove("csrf_token");
    let error = match rebuild(&page.tenant.policy, &form) {
        Ok(policy) => {
            match admin::tenants::update(
                &state.ctx,
                page.tenant.clone(),
                None,
                Some(policy),
                &page.admin,
            )
            .await
            {
                Ok((_, changed)) => {
                    let done = if changed {
                        "policy-saved"
                    } else {
                        "policy-unchanged"
                    };
                    return Ok(see_other(&paths::done(
                        paths::admin_page(&page.tenant.slug, "policy"),
                        done,
                    )));
                }
                Err(AdminError::InvalidPolicy(field, why)) => (field, why),
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => e,
    };
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Policy,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        |frame| PolicyPage {
            frame,
            sections: sections(&page.tenant.policy, Some(&form), Some(&error)),
            error: Some((
                error.0.clone(),
                error.1.clone(),
                format!("policy-{}", error.0.replace('.', "-")),
            )),
            can_write: true,
        },
    ))
}
