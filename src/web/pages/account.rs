//! The account page: where the user is signed in (this browser and the others: device, address,
//! when), with "sign out this session" and "sign out everywhere else", the recent sign-in
//! activity (`risk_feedback::activity`: time, device, approximate place, result, why a second
//! factor was asked; never the address), and the notices of the changes made from it
//! (`account_changes`: password and e-mail address).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{see_other, sessions};
use crate::domain::audit::Actor;
use crate::lifecycle::EndReason;
use crate::web::caller::Caller;
use crate::web::csrf;
use crate::web::error::PageError;
use crate::web::form::{CheckedForm, Nothing, StrictQuery};
use crate::web::paths;
use crate::web::people::{SignedIn, back};
use crate::web::state::AppState;
use crate::web::templates::{AccountPage, ActivityRow, SessionRow, html, limit_text};

#[derive(Deserialize)]
pub struct AccountQuery {
    /// A fixed notice code after an action.
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct EndOneForm {
    sid: String,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: StrictQuery<AccountQuery>,
    SignedIn {
        tenant,
        session,
        user,
        ..
    }: SignedIn<back::Account>,
) -> Result<HttpResponse, PageError> {
    let now = state.ctx.clock.now();
    let mut rows: Vec<SessionRow> = sessions(&state)
        .list_for_user(tenant.id, user.id)
        .await?
        .iter()
        .filter(|f| f.record.state(now, &tenant.policy.session).is_active())
        .map(|f| SessionRow::new(&f.record, Some(&session.sid)))
        .collect();
    rows.sort_by_key(|r| !r.current); // this browser first
    let activity = crate::risk_feedback::activity::recent(&state.ctx, &tenant, user.id)
        .await?
        .iter()
        .map(ActivityRow::new)
        .collect();
    let notice = match query.done.as_deref() {
        Some("one") => Some("That session is signed out."),
        Some("others") => Some("You are signed out everywhere else."),
        Some("nothing") => Some("There was no such session to sign out."),
        Some("verify-sent") => Some("We sent you a link: open it to confirm your address."),
        Some("verify-throttled") => Some(
            "You asked for several links already. Use the newest one, or try again in an hour.",
        ),
        Some("verify-none") => Some("There is no address to confirm."),
        Some("password-changed") => Some(
            "Your password is changed. You are signed out everywhere else, and applications will ask for access again.",
        ),
        Some("email-sent") => Some(
            "We sent a link to the new address: open it to confirm the change. Until then your account keeps its current address.",
        ),
        Some("email-throttled") => Some(
            "You asked for several links already. Use the newest one, or try again in an hour.",
        ),
        Some("email-unchanged") => Some("That is your address already."),
        _ => None,
    };
    let issue = csrf::issue(&state, &req);
    let mut res = html(
        StatusCode::OK,
        &AccountPage {
            tenant_name: &tenant.display_name,
            tenant_slug: tenant.slug.as_str(),
            csrf_token: &issue.token,
            user_label: user.label(),
            username: &user.username,
            email: user.email.as_deref(),
            email_verified: user.email_verified,
            notice,
            limit_text: format!(
                "Your account can be signed in on {} at a time.",
                limit_text(&tenant.policy.session)
            ),
            others: rows.iter().any(|r| !r.current),
            sessions: rows,
            activity,
        },
    );
    if let Some(c) = issue.cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// Ends sessions of the signed-in user other than this browser's: the one with `sid`, or all.
async fn end_others(
    state: &AppState,
    who: SignedIn<back::Account>,
    client: &Caller,
    only: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let SignedIn {
        tenant,
        session,
        user,
        ..
    } = who;
    let now = state.ctx.clock.now();
    let mut ended = 0;
    for found in sessions(state).list_for_user(tenant.id, user.id).await? {
        let record = &found.record;
        if record.sid == session.sid
            || only.is_some_and(|sid| sid != record.sid)
            || !record.state(now, &tenant.policy.session).is_active()
        {
            continue; // this browser, another session, or timed out (the sweep ends those)
        }
        ended += 1;
        super::end(
            state,
            &tenant,
            &found,
            EndReason::User,
            Actor::User(user.id.to_string()),
            client.origin(),
        )
        .await?;
    }
    let done = match (only, ended) {
        (_, 0) => "nothing",
        (Some(_), _) => "one",
        (None, _) => "others",
    };
    Ok(see_other(&paths::done(paths::account(&tenant.slug), done)))
}

pub async fn end_one(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(form): CheckedForm<EndOneForm>,
    who: SignedIn<back::Account>,
) -> Result<HttpResponse, PageError> {
    end_others(&state, who, &client, Some(&form.sid)).await
}

pub async fn end_all_others(
    state: web::Data<AppState>,
    client: Caller,
    CheckedForm(_): CheckedForm<Nothing>,
    who: SignedIn<back::Account>,
) -> Result<HttpResponse, PageError> {
    end_others(&state, who, &client, None).await
}
