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
    /// A one-time sign-in code (a second factor).
    EmailCode,
    /// The link that confirms a new address (sent to the new address).
    ChangeEmail,
    /// Someone asked to use this address for an account, but another account has it already.
    EmailInUse,
    /// The notice to the old address that the account's address changed.
    EmailChanged,
    /// A sign-up's link: using it creates the account.
    ConfirmRegistration,
    /// A sign-up with an address that already has an account.
    AccountExists,
    /// A sign-up with a new address but a username already taken.
    UsernameUnavailable,
    /// An operator's invitation to sign up.
    Invite,
    /// A sign-in from a new device or place, or one refused by risk scoring, with the
    /// "this was me" / "this wasn't me" link.
    SignInNotice,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Test => "test",
            Kind::VerifyEmail => "verify_email",
            Kind::PasswordReset => "password_reset",
            Kind::PasswordChanged => "password_changed",
            Kind::EmailCode => "email_code",
            Kind::ChangeEmail => "change_email",
            Kind::EmailInUse => "email_in_use",
            Kind::EmailChanged => "email_changed",
            Kind::ConfirmRegistration => "confirm_registration",
            Kind::AccountExists => "account_exists",
            Kind::UsernameUnavailable => "username_unavailable",
            Kind::Invite => "invite",
            Kind::SignInNotice => "sign_in_notice",
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

/// "New sign-in to your account" (or "A sign-in was blocked"), with the feedback link.
pub struct SignInNotice {
    pub tenant: String,
    pub name: String,
    /// Whether the sign-in was refused.
    pub blocked: bool,
    /// When, the device, the approximate place.
    pub when: String,
    pub device: String,
    pub place: String,
    /// Why it was noticed, in words.
    pub reasons: Vec<String>,
    pub link: String,
    pub days: i64,
}

pub fn sign_in_notice(m: SignInNotice) -> Rendered {
    let subject = if m.blocked {
        format!("{}: a sign-in to your account was blocked", m.tenant)
    } else {
        format!("{}: new sign-in to your account", m.tenant)
    };
    let link = Some(m.link.clone());
    render!(
        Kind::SignInNotice,
        subject,
        SignInNotice,
        m,
        "mail/sign_in_notice.txt",
        "mail/sign_in_notice.html",
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

/// "Your sign-in code" (a second factor; never in a log line: the message has no link).
pub struct EmailCode {
    pub tenant: String,
    pub name: String,
    /// The code, grouped for reading ("1234 5678").
    pub code: String,
    pub minutes: i64,
    /// The sign-in it is for, in words (device and time).
    pub when: String,
}

pub fn email_code(m: EmailCode) -> Rendered {
    let subject = format!("{}: your sign-in code", m.tenant);
    render!(
        Kind::EmailCode,
        subject,
        EmailCode,
        m,
        "mail/email_code.txt",
        "mail/email_code.html",
        None
    )
}

/// "Confirm your new e-mail address" (sent to the new address; the account keeps its old one
/// until the link is used).
pub struct ChangeEmail {
    pub tenant: String,
    pub name: String,
    pub address: String,
    pub link: String,
    pub hours: i64,
}

pub fn change_email(m: ChangeEmail) -> Rendered {
    let subject = format!("{}: confirm your new e-mail address", m.tenant);
    let link = Some(m.link.clone());
    render!(
        Kind::ChangeEmail,
        subject,
        ChangeEmail,
        m,
        "mail/change_email.txt",
        "mail/change_email.html",
        link
    )
}

/// "This address is already in use" (sent instead of [`change_email`] when another account has
/// the address, so the page that asked tells nothing).
pub struct EmailInUse {
    pub tenant: String,
    pub address: String,
    /// The sign-in page ("Forgot your password?" is there).
    pub sign_in: String,
}

pub fn email_in_use(m: EmailInUse) -> Rendered {
    let subject = format!("{}: this address is already in use", m.tenant);
    render!(
        Kind::EmailInUse,
        subject,
        EmailInUse,
        m,
        "mail/email_in_use.txt",
        "mail/email_in_use.html",
        None
    )
}

/// "Your e-mail address was changed" (to the old address, if it was verified).
pub struct EmailChanged {
    pub tenant: String,
    pub name: String,
    /// The new address, masked ([`masked`]).
    pub new_address: String,
    /// The sign-in page, to reset the password if it was not them.
    pub sign_in: String,
}

pub fn email_changed(m: EmailChanged) -> Rendered {
    let subject = format!("{}: your e-mail address was changed", m.tenant);
    render!(
        Kind::EmailChanged,
        subject,
        EmailChanged,
        m,
        "mail/email_changed.txt",
        "mail/email_changed.html",
        None
    )
}

/// An address with most of its local part hidden: `n***@example.com` (for mail to the old
/// address, which may no longer be the user's).
pub fn masked(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
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
    fn masked_addresses_keep_the_first_letter_and_the_domain() {
        assert_eq!(masked("nora@example.com"), "n***@example.com");
        assert_eq!(masked("Ärger@x.example"), "Ä***@x.example");
        assert_eq!(masked("nothing"), "***");
        let r = email_changed(EmailChanged {
            tenant: "Acme".into(),
            name: "Nora".into(),
            new_address: masked("nora@new.example"),
            sign_in: "https://id.example.com/t/acme/login".into(),
        });
        assert!(r.text.contains("n***@new.example"), "{}", r.text);
        assert!(!r.text.contains("nora@new.example"));
        assert_eq!(r.kind.as_str(), "email_changed");
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
