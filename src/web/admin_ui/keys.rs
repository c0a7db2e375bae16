//! Signing keys in the management UI (`keys:read`): every published key with its state
//! (`signing::rotation::list`: pending, active, retiring); rotating (one algorithm or all, new keys
//! signing after the usual delay or at once) and withdrawing a key after a confirmation page
//! (`keys:write`; `admin::keys::rotate`, `admin::keys::withdraw`, both audited).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views_config::{ConfirmPage, KeysPage, SigningKeyLine};
use super::{Done, Screen, render, when};
use crate::admin;
use crate::domain::admin::{Module, Permission};
use crate::domain::keys::SigningAlg;
use crate::signing::rotation;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::see_other;
use crate::web::state::AppState;

fn here(page: &AdminPage) -> String {
    paths::admin_page(&page.tenant.slug, "keys")
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<Done>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Keys))?;
    let rows = rotation::list(&state.ctx, page.tenant.id)
        .await
        .map_err(admin::AdminError::from)?
        .into_iter()
        .map(|k| SigningKeyLine {
            created: when(k.created_at),
            activates: when(k.activates_at),
            expires: k.expires_at.map_or_else(|| "—".into(), when),
            kid: k.kid,
            alg: k.alg,
            state: k.state,
        })
        .collect();
    let can_write = page.can(Permission::write(Module::Keys));
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Keys,
        StatusCode::OK,
        super::notice(query.done.as_deref()),
        |frame| KeysPage {
            frame,
            rows,
            algs: SigningAlg::ALL.iter().map(|a| a.as_str()).collect(),
            can_write,
        },
    ))
}

#[derive(Deserialize)]
pub struct RotateForm {
    /// An algorithm, or `all`.
    alg: String,
    immediate: Option<String>,
}

pub async fn rotate(
    state: web::Data<AppState>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<RotateForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Keys))?;
    let algs = if form.alg == "all" {
        SigningAlg::ALL.to_vec()
    } else {
        vec![SigningAlg::parse(&form.alg).map_err(|e| PageError::bad_request(e.to_string()))?]
    };
    admin::keys::rotate(
        &state.ctx,
        &page.tenant,
        &algs,
        form.immediate.is_some(),
        &page.admin,
    )
    .await?;
    Ok(see_other(&paths::done(here(&page), "keys-rotated")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KidQuery {
    kid: String,
}

/// The key of `kid` among the tenant's published keys; anything else is "not found".
async fn published(state: &AppState, page: &AdminPage, kid: &str) -> Result<(), PageError> {
    let keys = rotation::list(&state.ctx, page.tenant.id)
        .await
        .map_err(admin::AdminError::from)?;
    if keys.iter().any(|k| k.kid == kid) {
        Ok(())
    } else {
        Err(PageError::not_found())
    }
}

pub async fn confirm_withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<KidQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Keys))?;
    published(&state, &page, &query.kid).await?;
    let kid = query.into_inner().kid;
    Ok(render(
        &state,
        &req,
        &page,
        Screen::Keys,
        StatusCode::OK,
        None,
        |frame| ConfirmPage {
            frame,
            title: format!("Withdraw the key {kid}?"),
            question: "It leaves the published keys at once, so every token it signed stops \
                       verifying (sessions of applications end); a new key signs instead. Do \
                       this for a key that may be compromised."
                .into(),
            action: format!("{}/withdraw", here(&page)),
            fields: vec![("kid", kid.clone())],
            button: "Withdraw the key",
            cancel: here(&page),
        },
    ))
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    kid: String,
}

pub async fn withdraw(
    state: web::Data<AppState>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<WithdrawForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Keys))?;
    published(&state, &page, &form.kid).await?;
    admin::keys::withdraw(&state.ctx, &page.tenant, &form.kid, &page.admin).await?;
    Ok(see_other(&paths::done(here(&page), "key-withdrawn")))
}
