//! The landing page for direct visits: "you are signed in as X", or off to sign in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{Visitor, must_sign_in, see_other, visitor};
use crate::clock::from_unix;
use crate::domain::tenant::DEFAULT_TENANT;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::paths;
use crate::web::people::PeopleTenant;
use crate::web::state::AppState;
use crate::web::templates::{HomePage, html};

/// `/` leads to the default tenant.
pub async fn root() -> HttpResponse {
    see_other(&paths::home(DEFAULT_TENANT))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    PeopleTenant(tenant): PeopleTenant,
) -> Result<HttpResponse, PageError> {
    match visitor(&state, &req, &tenant).await? {
        Visitor::SignedIn { session, user } => {
            let issue = csrf::issue(&state, &req);
            let signed_in = from_unix(session.auth_time);
            let mut res = html(
                StatusCode::OK,
                &HomePage {
                    tenant_name: &tenant.display_name,
                    tenant_slug: tenant.slug.as_str(),
                    csrf_token: &issue.token,
                    user_label: user.label(),
                    username: &user.username,
                    signed_in: signed_in.format("%Y-%m-%d %H:%M UTC").to_string(),
                    signed_in_iso: signed_in.to_rfc3339(),
                    ip: &session.ip,
                },
            );
            if let Some(c) = issue.cookie {
                let _ = res.add_cookie(&c);
            }
            Ok(res)
        }
        Visitor::Anonymous {
            stale_cookie,
            ended,
        } => Ok(must_sign_in(
            &state,
            &tenant,
            &paths::home(&tenant.slug),
            stale_cookie,
            ended,
        )),
    }
}
