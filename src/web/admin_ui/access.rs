//! Who may open the management UI: [`AdminPage`] is a signed-in person of the path's tenant with
//! an administrative role, as an `admin::authz::Admin` (`Caller::Person`). Anyone else is
//! answered before the handler runs: an anonymous visitor is sent to sign in and back to the
//! admin page, a person without a role gets the 403 page. Where the tenant requires a second
//! factor of administrators (`mfa.required_for(true)`) the session must have proven one
//! (`amr`), and a form that changes something needs it proven recently
//! (`auth::mfa::changes::recently_proven`, `mfa.fresh_for_secs`); otherwise the person goes
//! through a step-up and comes back. A person administers the tenant they are signed in to
//! (their home): session cookies are per tenant, so an instance admin of another tenant signs
//! in to this one's pages with an account of this tenant.

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::admin::authz::{Admin, Caller};
use crate::domain::session::{Acr, BrowserSession};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::web::error::PageError;
use crate::web::paths;
use crate::web::people::{PeopleTenant, see_other, signed_in_or_redirect};
use crate::web::state::AppState;

/// The administrator of a management page, with the tenant, session and user behind them.
pub struct AdminPage {
    pub tenant: Tenant,
    pub admin: Admin,
    pub session: BrowserSession,
    pub user: User,
}

/// Where a visitor goes back to after signing in or stepping up: the page itself for a GET, the
/// dashboard after a form (its fields cannot be replayed).
fn back(req: &HttpRequest, tenant: &Tenant) -> String {
    if req.method() == Method::GET {
        req.uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.to_string())
    } else {
        paths::admin(&tenant.slug)
    }
}

fn answer(why: &'static str, res: actix_web::HttpResponse) -> actix_web::Error {
    InternalError::from_response(why, res).into()
}

async fn extract(req: HttpRequest) -> Result<AdminPage, actix_web::Error> {
    let PeopleTenant(tenant) = PeopleTenant::extract(&req).await?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| PageError::internal("no application state"))?;
    let back = back(&req, &tenant);
    let (session, user) = match signed_in_or_redirect(state, &req, &tenant, &back).await? {
        Ok(found) => found,
        Err(res) => return Err(answer("sign in first", res)),
    };
    let Some(role) = user.admin_role else {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not an administrator",
            "These pages are for the administrators of this organization, and your account has \
             no administrative role.",
        )
        .into());
    };
    let policy = &tenant.policy.mfa;
    if policy.enabled() && policy.required_for(true) {
        let proven = Acr::of(&session.amr) >= Acr::Mfa;
        let fresh = || {
            crate::auth::mfa::changes::recently_proven(
                &tenant,
                &session,
                true,
                state.ctx.clock.unix(),
            )
        };
        if !proven || (req.method() != Method::GET && !fresh()) {
            let to = paths::step_up(&tenant.slug, "mfa", &back);
            return Err(answer("a second factor first", see_other(&to)));
        }
    }
    let client = crate::web::caller::Caller::of(&req, &state.trusted_proxies);
    let admin = Admin {
        caller: Caller::Person {
            user: user.id,
            username: user.username.clone(),
            role,
        },
        home: tenant.id,
        origin: client.origin(),
    };
    Ok(AdminPage {
        tenant,
        admin,
        session,
        user,
    })
}

impl FromRequest for AdminPage {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(extract(req.clone()))
    }
}
