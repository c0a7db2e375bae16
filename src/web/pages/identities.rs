//! The account's linked sign-ins (upstream identities): listed, unlinked, and linked from here
//! (the signed-in user goes to the provider; what comes back is linked to this account).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::see_other;
use crate::federation::{self, flow::Intent};
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, StrictQuery};
use crate::web::paths;
use crate::web::people::{SignedIn, back};
use crate::web::state::AppState;
use crate::web::templates::html;

pub struct LinkedRow {
    pub slug: String,
    pub name: String,
    pub subject: String,
    pub linked: String,
}

pub struct AvailableRow {
    pub slug: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "account_identities.html")]
struct IdentitiesPage<'a> {
    tenant_name: &'a str,
    tenant_slug: &'a str,
    csrf_token: &'a str,
    user_label: &'a str,
    notice: Option<&'a str>,
    linked: Vec<LinkedRow>,
    available: Vec<AvailableRow>,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    query: StrictQuery<DoneQuery>,
    SignedIn { tenant, user, .. }: SignedIn<back::Identities>,
) -> Result<HttpResponse, PageError> {
    let linked = federation::linked(&state.ctx, &user).await?;
    let providers = federation::offered(&state.ctx, &tenant).await?;
    let notice = match query.done.as_deref() {
        Some("unlinked") => Some("The sign-in was unlinked."),
        Some("last") => Some(
            "This is the only way to sign in to this account, so it cannot be unlinked. Set a password first.",
        ),
        _ => None,
    };
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        actix_web::http::StatusCode::OK,
        &IdentitiesPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            user_label: user.label(),
            notice,
            available: providers
                .iter()
                .filter(|p| !linked.iter().any(|(slug, ..)| *slug == p.slug))
                .map(|p| AvailableRow {
                    slug: p.slug.clone(),
                    name: p.display_name.clone(),
                })
                .collect(),
            linked: linked
                .into_iter()
                .map(|(slug, name, subject, at)| LinkedRow {
                    slug,
                    name,
                    subject,
                    linked: crate::clock::from_unix(at).format("%Y-%m-%d").to_string(),
                })
                .collect(),
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct LinkForm {
    idp: String,
}

pub async fn link(
    state: web::Data<AppState>,
    CheckedForm(form): CheckedForm<LinkForm>,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Identities>,
) -> Result<HttpResponse, PageError> {
    let intent = Intent::Link {
        user: user.id,
        sid: session.sid.clone(),
    };
    super::federation::leave(
        &state,
        &tenant,
        &form.idp,
        intent,
        &paths::identities(&tenant.slug),
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct UnlinkForm {
    idp: String,
    subject: String,
}

pub async fn unlink(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(form): CheckedForm<UnlinkForm>,
    SignedIn { tenant, user, .. }: SignedIn<back::Identities>,
) -> Result<HttpResponse, PageError> {
    let done = match federation::unlink(
        &state.ctx,
        &tenant,
        &user,
        &form.idp,
        &form.subject,
        crate::domain::audit::Actor::User(user.id.to_string()),
        client.origin(),
    )
    .await?
    {
        federation::Unlinked::Done | federation::Unlinked::NotLinked => "unlinked",
        federation::Unlinked::LastWayIn => "last",
    };
    Ok(see_other(&format!(
        "{}?done={done}",
        paths::identities(&tenant.slug)
    )))
}
