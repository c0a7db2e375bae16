//! Signing out: `GET` asks for confirmation (a link alone can never sign anyone out), `POST`
//! checks CSRF, deletes the server-side session and the cookie, and shows the signed-out page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{Visitor, see_other, session_token, sessions, visitor};
use crate::domain::audit::Actor;
use crate::lifecycle::EndReason;
use crate::web::caller::Caller;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing};
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{LogoutPage, SignedOutPage, html};
use crate::web::{cookies, csrf};

pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    let Visitor::SignedIn { user, .. } = visitor(&state, &req, &tenant).await? else {
        return Ok(see_other(&paths::signed_out(&tenant.slug)));
    };
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        StatusCode::OK,
        &LogoutPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            user_label: user.label(),
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
    client: Caller,
    CheckedForm(_): CheckedForm<Nothing>,
) -> Result<HttpResponse, PageError> {
    let mut upstream = None;
    if let Some(token) = session_token(&state, &req, &tenant)
        && let Some(found) = sessions(&state).find_by_token(&token).await?
        && found.record.tenant_id == tenant.id
    {
        let actor = Actor::User(found.record.user_id.to_string());
        super::end(
            &state,
            &tenant,
            &found,
            EndReason::SignedOut,
            actor,
            client.origin(),
        )
        .await?;
        // Signed in through a SAML provider with single logout: on to it, so its session ends
        // too (it answers at our logout endpoint, which shows the signed-out page).
        upstream =
            crate::federation::saml_logout::logout_redirect(&state.ctx, &tenant, &found.record)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not build a SAML logout request");
                    None
                });
    }
    let mut res = see_other(
        upstream
            .as_deref()
            .unwrap_or(&paths::signed_out(&tenant.slug)),
    );
    let _ = res.add_cookie(&cookies::removal(
        state.https,
        cookies::session_name(state.https, &tenant.slug),
    ));
    if let Some(c) = csrf::fresh(&state).cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

pub async fn signed_out(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let tenant = super::load_tenant(&state, &path).await?;
    Ok(html(
        StatusCode::OK,
        &SignedOutPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            message: "Your session has ended on this device.",
        },
    ))
}
