//! The messages Watchword sends: one kind each, rendered from a pair of askama templates under
//! `templates/mail/` (plain text, and HTML escaped automatically) sharing one layout with the
//! tenant's display name. Links are built by the caller from `public_url`; `link_hint` cuts the
//! secret off a link for log lines.

use askama::Template;

/// What a message is about (the `kind` label of the mail metrics and of the outbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `watchword mail test`: proves the transport works.
    Test,
    VerifyEmail,
    PasswordReset,
    PasswordChanged,
    /// A sign-up's link: using it creates the account.
    ConfirmRegistration,
    /// A sign-up with an address that already has an account.
    AccountExists,
    /// A sign-up with a new address but a username already taken.
    UsernameUnavailable,
    /// An operator's invitation to sign up.
    Invite,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Test => "test",
            Kind::VerifyEmail => "verify_email",
            Kind::PasswordReset => "password_reset",
            Kind::PasswordChanged => "password_changed",
            Kind::ConfirmRegistration => "confirm_registration",
            Kind::AccountExists => "account_exists",
            Kind::UsernameUnavailable => "username_unavailable",
            Kind::Invite => "invite",
        }
    }
}

/// A message ready to queue.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub kind: Kind,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message's one-time link, if it has one (logged only through [`link_hint`]).
    pub link: Option<String>,
}

/// A link with its secret cut off: everything before the query or fragment.
pub fn link_hint(link: &str) -> String {
    match link.find(['?', '#']) {
        Some(at) => format!("{}?…", &link[..at]),
        None => link.to_owned(),
    }
}

/// Renders the text and HTML templates of one message from the same data.
macro_rules! render {
    ($kind:expr, $subject:expr, $ty:ty, $data:expr, $text:literal, $html:literal, $link:expr) => {{
        #[derive(Template)]
        #[template(path = $text)]
        struct Text<'a> {
            m: &'a $ty,
        }
        #[derive(Template)]
        #[template(path = $html)]
        struct Html<'a> {
            m: &'a $ty,
        }
        let data: $ty = $data;
        Rendered {
            kind: $kind,
            subject: $subject,
            text: Text { m: &data }.render().expect("mail templates render"),
            html: Html { m: &data }.render().expect("mail templates render"),
            link: $link,
        }
    }};
}

/// The operator's test message.
pub struct TestMail {
    pub tenant: String,
}

pub fn test(tenant: &str) -> Rendered {
    render!(
        Kind::Test,
        format!("{tenant}: test message"),
        TestMail,
        TestMail {
            tenant: tenant.to_owned()
        },
        "mail/test.txt",
        "mail/test.html",
        None
    )
}

/// "Confirm your e-mail address".
pub struct VerifyEmail {
    pub tenant: String,
    pub name: String,
    pub address: String,
    pub link: String,
    pub hours: i64,
}

pub fn verify_email(m: VerifyEmail) -> Rendered {
    let subject = format!("{}: confirm your e-mail address", m.tenant);
    let link = Some(m.link.clone());
    render!(
        Kind::VerifyEmail,
        subject,
        VerifyEmail,
        m,
        "mail/verify_email.txt",
        "mail/verify_email.html",
        link
    )
}

/// "Reset your password" (only ever sent to a verified address).
pub struct PasswordReset {
    pub tenant: String,
    pub name: String,
    pub link: String,
    pub minutes: i64,
}

pub fn password_reset(m: PasswordReset) -> Rendered {
    let subject = format!("{}: reset your password", m.tenant);
    let link = Some(m.link.clone());
    render!(
        Kind::PasswordReset,
        subject,
        PasswordReset,
        m,
        "mail/password_reset.txt",
        "mail/password_reset.html",
        link
    )
}

/// "Your password was changed" (after a reset or a change on the account page).
pub struct PasswordChanged {
    pub tenant: String,
    pub name: String,
    /// Where and when, in words ("Firefox on Linux, 2026-12-06 23:20 UTC").
    pub when: String,
    /// The sign-in page, to start over if it was not them.
    pub sign_in: String,
}

pub fn password_changed(m: PasswordChanged) -> Rendered {
    let subject = format!("{}: your password was changed", m.tenant);
    render!(
        Kind::PasswordChanged,
        subject,
        PasswordChanged,
        m,
        "mail/password_changed.txt",
        "mail/password_changed.html",
        None
    )
}

/// "Create your account": the link of a sign-up, which creates the account.
pub struct ConfirmRegistration {
    pub tenant: String,
    pub username: String,
    pub link: String,
    pub hours: i64,
}

pub fn confirm_registration(m: ConfirmRegistration) -> Rendered {
    let subject = format!(
        "{}: confirm your e-mail address to create your account",
        m.tenant
    );
    let link = Some(m.link.clone());
    render!(
        Kind::ConfirmRegistration,
        subject,
        ConfirmRegistration,
        m,
        "mail/confirm_registration.txt",
        "mail/confirm_registration.html",
        link
    )
}

/// "You already have an account" (a sign-up with an address that has one).
pub struct AccountExists {
    pub tenant: String,
    /// The sign-in page.
    pub sign_in: String,
}

pub fn account_exists(m: AccountExists) -> Rendered {
    let subject = format!("{}: you already have an account", m.tenant);
    render!(
        Kind::AccountExists,
        subject,
        AccountExists,
        m,
        "mail/account_exists.txt",
        "mail/account_exists.html",
        None
    )
}

/// "That username is not available" (a sign-up with a new address and a taken username).
pub struct UsernameUnavailable {
    pub tenant: String,
    pub username: String,
    /// The sign-up page (with the invitation, if there was one).
    pub register: String,
}

pub fn username_unavailable(m: UsernameUnavailable) -> Rendered {
    let subject = format!("{}: choose another username", m.tenant);
    render!(
        Kind::UsernameUnavailable,
        subject,
        UsernameUnavailable,
        m,
        "mail/username_unavailable.txt",
        "mail/username_unavailable.html",
        None
    )
}

/// "You are invited to create an account".
pub struct Invite {
    pub tenant: String,
    pub link: String,
    pub hours: i64,
}

pub fn invite(m: Invite) -> Rendered {
    let subject = format!("{}: you are invited to create an account", m.tenant);
    let link = Some(m.link.clone());
    render!(
        Kind::Invite,
        subject,
        Invite,
        m,
        "mail/invite.txt",
        "mail/invite.html",
        link
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not_mangled() {
        let r = verify_email(VerifyEmail {
            tenant: "Acme <Corp>".into(),
            name: "Ann & Bob".into(),
            address: "ann@example.com".into(),
            link: "https://id.example.com/t/acme/email/verify?token=abc".into(),
            hours: 24,
        });
        assert!(r.html.contains("Acme &#60;Corp&#62;") || r.html.contains("Acme &lt;Corp&gt;"));
        assert!(!r.html.contains("<Corp>"));
        assert!(r.text.contains("Acme <Corp>"), "{}", r.text);
        assert!(
            r.text
                .contains("https://id.example.com/t/acme/email/verify?token=abc")
        );
        assert_eq!(r.subject, "Acme <Corp>: confirm your e-mail address");
    }

    #[test]
    fn link_hints_hold_no_secret() {
        assert_eq!(
            link_hint("https://x.example/t/a/email/verify?token=secret"),
            "https://x.example/t/a/email/verify?…"
        );
        assert_eq!(
            link_hint("https://x.example/a#secret"),
            "https://x.example/a?…"
        );
        assert_eq!(link_hint("https://x.example/a"), "https://x.example/a");
    }
}
