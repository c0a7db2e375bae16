//! The account's applications page: the clients the user has approved or that hold a grant
//! (tokens), with "remove access" (consent forgotten, grants revoked).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::oauth::access;
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::{SignedIn, back};
use crate::web::state::AppState;
use crate::web::templates::{AccountAppsPage, AppRow, html};

#[derive(Deserialize)]
pub struct AppsQuery {
    /// A fixed notice code after an action.
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct RemoveForm {
    client_id: String,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<AppsQuery>,
    SignedIn { tenant, user, .. }: SignedIn<back::Apps>,
) -> Result<HttpResponse, PageError> {
    let apps = access::of_user(&state.ctx, &tenant, user.id).await?;
    let notice = match query.done.as_deref() {
        Some("removed") => Some("The application no longer has access to your account."),
        Some("nothing") => Some("That application had no access to remove."),
        _ => None,
    };
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        StatusCode::OK,
        &AccountAppsPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            notice,
            apps: apps.iter().map(AppRow::new).collect(),
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

pub async fn remove(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(form): CheckedForm<RemoveForm>,
    SignedIn { tenant, user, .. }: SignedIn<back::Apps>,
) -> Result<HttpResponse, PageError> {
    let back = paths::apps(&tenant.slug);
    let done = if form.client_id.len() <= 256 {
        access::withdraw(
            &state.ctx,
            &tenant,
            user.id,
            &form.client_id,
            client.origin(),
        )
        .await?
        .anything()
    } else {
        false
    };
    let notice = if done { "removed" } else { "nothing" };
    Ok(see_other(&format!("{back}?done={notice}")))
}
