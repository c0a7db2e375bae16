//! Every address of the hosted pages for people, built in one place: handlers and redirects ask
//! here instead of formatting `/t/{tenant}/…` by hand. (Templates write the same paths with the
//! tenant slug they are given.)

use std::fmt::Display;

/// Percent-encodes a value for use in a query string.
pub fn query_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// The tenant's landing page.
pub fn home(t: impl Display) -> String {
    format!("/t/{t}/")
}

pub fn login(t: impl Display) -> String {
    format!("/t/{t}/login")
}

/// Leaves for identity provider `idp`, coming back to `return_to` afterwards.
pub fn idp_start(t: impl Display, idp: &str, return_to: &str) -> String {
    if return_to.is_empty() {
        format!("/t/{t}/idp/{idp}/start")
    } else {
        format!(
            "/t/{t}/idp/{idp}/start?return_to={}",
            query_escape(return_to)
        )
    }
}

/// The sign-in page, coming back to `return_to` afterwards.
pub fn login_returning(t: impl Display, return_to: &str) -> String {
    format!("/t/{t}/login?return_to={}", query_escape(return_to))
}

/// The sign-in page, saying the previous session timed out.
pub fn login_expired(t: impl Display) -> String {
    format!("/t/{t}/login?reason=expired")
}

/// A step of a pending sign-in: `verify`, `enrol`, `recovery-used`.
pub fn login_step(t: impl Display, step: &str) -> String {
    format!("/t/{t}/login/{step}")
}

pub fn enrol(t: impl Display) -> String {
    login_step(t, "enrol")
}

pub fn enrol_totp(t: impl Display) -> String {
    login_step(t, "enrol/totp")
}

pub fn enrol_webauthn(t: impl Display) -> String {
    login_step(t, "enrol/webauthn")
}

/// A step-up (`kind`: `mfa` or `login`) before going on to `return_to`.
pub fn step_up(t: impl Display, kind: &str, return_to: &str) -> String {
    format!(
        "/t/{t}/login/verify?step_up={kind}&return_to={}",
        query_escape(return_to)
    )
}

pub fn signed_out(t: impl Display) -> String {
    format!("/t/{t}/signed-out")
}

/// The page that explains why this browser's session ended.
pub fn session_ended(t: impl Display, return_to: &str) -> String {
    format!("/t/{t}/session-ended?return_to={}", query_escape(return_to))
}

/// Where a parked authorization request resumes.
pub fn authorize_continue(t: impl Display, pending_id: &str) -> String {
    format!("/t/{t}/authorize/continue?id={}", query_escape(pending_id))
}

/// The consent page of a parked authorization request.
pub fn consent(t: impl Display, pending_id: &str) -> String {
    format!("/t/{t}/authorize/consent?id={}", query_escape(pending_id))
}

pub fn account(t: impl Display) -> String {
    format!("/t/{t}/account")
}

/// The linked identities page (upstream identity providers).
pub fn identities(t: impl Display) -> String {
    format!("/t/{t}/account/identities")
}

/// The sign-in methods page.
pub fn security(t: impl Display) -> String {
    format!("/t/{t}/account/security")
}

pub fn account_totp(t: impl Display) -> String {
    format!("/t/{t}/account/totp")
}

pub fn apps(t: impl Display) -> String {
    format!("/t/{t}/account/apps")
}

/// Changing the password.
pub fn account_password(t: impl Display) -> String {
    format!("/t/{t}/account/password")
}

/// Changing the e-mail address.
pub fn account_email(t: impl Display) -> String {
    format!("/t/{t}/account/email")
}

/// Where a change-of-address link's button posts.
pub fn email_change(t: impl Display) -> String {
    format!("/t/{t}/email/change")
}

/// The sign-in page after changing the password without staying signed in.
pub fn login_after_password_change(t: impl Display) -> String {
    format!("/t/{t}/login?reason=password_changed")
}

/// The management UI's dashboard (`web::admin_ui`).
pub fn admin(t: impl Display) -> String {
    format!("/t/{t}/admin/")
}

/// A management screen: `admin_page("acme", "users")` is `/t/acme/admin/users`.
pub fn admin_page(t: impl Display, screen: &str) -> String {
    format!("/t/{t}/admin/{screen}")
}

/// A user in the management UI.
pub fn admin_user(t: impl Display, id: impl Display) -> String {
    format!("/t/{t}/admin/users/{id}")
}

/// `path` with a fixed notice code (`?done=…`) for the page to show.
pub fn done(path: String, code: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}done={code}")
}

/// "Forgot your password?".
pub fn password_forgot(t: impl Display) -> String {
    format!("/t/{t}/password/forgot")
}

/// Where a reset link's button posts.
pub fn password_reset(t: impl Display) -> String {
    format!("/t/{t}/password/reset")
}

/// The new password of a reset.
pub fn password_new(t: impl Display) -> String {
    format!("/t/{t}/password/new")
}

/// Where an address verification link's button posts.
pub fn email_verify(t: impl Display) -> String {
    format!("/t/{t}/email/verify")
}

/// The sign-up page (with `?invite=` for an invitation).
pub fn register(t: impl Display) -> String {
    format!("/t/{t}/register")
}

/// Where a sign-up link's button posts.
pub fn register_confirm(t: impl Display) -> String {
    format!("/t/{t}/register/confirm")
}

/// The sign-in page after a sign-up created the account.
pub fn login_after_registration(t: impl Display) -> String {
    format!("/t/{t}/login?reason=registered")
}

/// The sign-in page after a password reset.
pub fn login_after_reset(t: impl Display) -> String {
    format!("/t/{t}/login?reason=password_reset")
}

/// The link of a sign-in notice ("Was this you?"), where its buttons post.
pub fn sign_in_check(t: impl Display) -> String {
    format!("/t/{t}/sign-in-check")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_escape_what_they_carry() {
        assert_eq!(home("acme"), "/t/acme/");
        assert_eq!(
            login_returning("acme", "/t/acme/authorize?x=1&y=2"),
            "/t/acme/login?return_to=%2Ft%2Facme%2Fauthorize%3Fx%3D1%26y%3D2"
        );
        assert_eq!(
            step_up("acme", "mfa", &security("acme")),
            "/t/acme/login/verify?step_up=mfa&return_to=%2Ft%2Facme%2Faccount%2Fsecurity"
        );
        assert_eq!(done(apps("a"), "removed"), "/t/a/account/apps?done=removed");
        assert_eq!(done("/x?a=1".into(), "b"), "/x?a=1&done=b");
        assert_eq!(
            authorize_continue("a", "p q"),
            "/t/a/authorize/continue?id=p+q"
        );
    }
}
