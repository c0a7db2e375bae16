//! API keys in the management UI: the list (`admins:read`; newest first, "Next" by the last key's
//! creation time and id), creating one (`admins:write`; permissions the person holds, never
//! `admins:write`: `admin::api_keys::create` decides) with its secret shown once on the answer
//! page, and revoking one.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::AdminPage;
use super::views::{ApiKeysPage, KeyLine, PermissionOption};
use super::{Screen, render};
use crate::admin::{self, AdminError};
use crate::domain::admin::{Access, Module, Permission, Permissions};
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths::{self, query_escape};
use crate::web::people::see_other;
use crate::web::state::AppState;

/// Keys a page lists.
const PAGE: i64 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    done: Option<String>,
    /// `{created_at}.{id}` of the previous page's last key.
    after: Option<String>,
}

/// What a page of keys shows besides the list.
struct Extra {
    notice: Option<&'static str>,
    error: Option<String>,
    created: Option<(String, String)>,
    status: StatusCode,
}

async fn page_of_keys(
    state: &AppState,
    req: &HttpRequest,
    page: &AdminPage,
    after: Option<(i64, String)>,
    extra: Extra,
) -> Result<HttpResponse, PageError> {
    let mut keys =
        admin::api_keys::list(&state.ctx, &page.tenant, &page.admin, after, PAGE + 1).await?;
    let more = keys.len() as i64 > PAGE;
    keys.truncate(PAGE as usize);
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    let next = keys.last().filter(|_| more).map(|k| {
        format!(
            "{}?after={}",
            paths::admin_page(&page.tenant.slug, "api-keys"),
            query_escape(&format!("{}.{}", k.created_at.timestamp(), k.id))
        )
    });
    let keys = keys
        .into_iter()
        .map(|k| KeyLine {
            permissions: k.permissions.render(),
            created: day(k.created_at),
            expires: k.expires_at.map_or_else(|| "never".into(), day),
            last_used: k.last_used_at.map_or_else(|| "never".into(), day),
            revoked: k.revoked_at.is_some(),
            id: k.id,
            name: k.name,
        })
        .collect();
    let can_write = page.can(Permission::write(Module::Admins));
    let offer = offered(page)
        .into_iter()
        .map(|p| PermissionOption {
            id: format!("perm-{}", p.to_string().replace(':', "-")),
            value: p.to_string(),
        })
        .collect();
    Ok(render(
        state,
        req,
        page,
        Screen::ApiKeys,
        extra.status,
        extra.notice,
        |frame| ApiKeysPage {
            frame,
            keys,
            next,
            can_write,
            offer,
            error: extra.error,
            created: extra.created,
        },
    ))
}

/// The permissions a new key may be given by this person: theirs, but never `admins:write` or
/// tenants.
fn offered(page: &AdminPage) -> Vec<Permission> {
    Module::ALL
        .into_iter()
        .filter(|m| *m != Module::Tenants)
        .flat_map(|m| [Permission::write(m), Permission::read(m)])
        .filter(|p| !(p.module == Module::Admins && p.access == Access::Write))
        .filter(|p| page.can(*p))
        .collect()
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<ListQuery>,
    page: AdminPage,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::read(Module::Admins))?;
    let after = query
        .after
        .as_deref()
        .and_then(|a| a.split_once('.'))
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.chars().take(64).collect())));
    let extra = Extra {
        notice: super::notice(query.done.as_deref()),
        error: None,
        created: None,
        status: StatusCode::OK,
    };
    page_of_keys(&state, &req, &page, after, extra).await
}

/// The create form: `name`, `expires_in_days` (empty: never), and one `perm_{module:access}`
/// checkbox per permission (distinct names: the strict form decoder refuses repeated fields).
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: AdminPage,
    CheckedForm(form): CheckedForm<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Admins))?;
    let name = form.get("name").map_or("", String::as_str);
    let expires = match form.get("expires_in_days").map(|d| d.trim()) {
        None | Some("") => Ok(None),
        Some(d) => d.parse::<u32>().map(Some),
    };
    let permissions = form
        .keys()
        .filter_map(|k| k.strip_prefix("perm_"))
        .map(Permission::parse)
        .collect::<Result<Vec<_>, _>>();
    let made = match (expires, permissions) {
        (Err(_), _) => Err("The expiry must be a number of days.".to_owned()),
        (_, Err(e)) => Err(e.to_string()),
        (Ok(expires), Ok(list)) => match admin::api_keys::create(
            &state.ctx,
            &page.tenant,
            &page.admin,
            name,
            Permissions::new(list),
            expires,
        )
        .await
        {
            Ok(created) => Ok(created),
            Err(e @ AdminError::Invalid(_)) => Err(e.to_string()),
            Err(e) => return Err(e.into()),
        },
    };
    let extra = match made {
        Ok(created) => Extra {
            notice: Some("The API key was created. Copy its secret now: it is not shown again."),
            error: None,
            created: Some((created.key.name, created.secret)),
            status: StatusCode::OK,
        },
        Err(why) => Extra {
            notice: None,
            error: Some(why),
            created: None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
    };
    page_of_keys(&state, &req, &page, None, extra).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    id: String,
}

pub async fn revoke(
    state: web::Data<AppState>,
    page: AdminPage,
    CheckedForm(form): CheckedForm<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    page.require(Permission::write(Module::Admins))?;
    admin::api_keys::revoke(&state.ctx, &page.tenant, &page.admin, &form.id).await?;
    Ok(see_other(&paths::done(
        paths::admin_page(&page.tenant.slug, "api-keys"),
        "revoked",
    )))
}
