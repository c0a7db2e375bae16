//! Cookie names and attributes. Every cookie is HttpOnly and SameSite=Lax, path `/`; when the
//! public URL is https they are `Secure` with the `__Host-` prefix (bound to this exact host).

use actix_web::cookie::{Cookie, SameSite, time::Duration};

use crate::domain::tenant::TenantSlug;

/// The browser-session cookie of one tenant (a browser can be signed in to several tenants).
pub fn session_name(https: bool, tenant: &TenantSlug) -> String {
    let prefix = if https { "__Host-" } else { "" };
    format!("{prefix}ww-session-{tenant}")
}

/// The known-device cookie of one tenant (brute-force protection: attempts from a browser that
/// signed in before are counted apart, so attackers cannot lock its user out).
pub fn device_name(https: bool, tenant: &TenantSlug) -> String {
    let prefix = if https { "__Host-" } else { "" };
    format!("{prefix}ww-device-{tenant}")
}

/// A sign-in waiting for its second factor (see `crate::auth::pending_signin`).
pub fn pending_name(https: bool, tenant: &TenantSlug) -> String {
    let prefix = if https { "__Host-" } else { "" };
    format!("{prefix}ww-signin-{tenant}")
}

/// A federated sign-in gone upstream (`crate::federation::flow`): its token, also the `state`.
pub fn flow_name(https: bool, tenant: &TenantSlug) -> String {
    let prefix = if https { "__Host-" } else { "" };
    format!("{prefix}ww-fed-{tenant}")
}

/// An upstream identity waiting to be linked once its matching account is proven.
pub fn link_name(https: bool, tenant: &TenantSlug) -> String {
    let prefix = if https { "__Host-" } else { "" };
    format!("{prefix}ww-fedlink-{tenant}")
}

/// The anti-CSRF cookie, shared by all tenants.
pub fn csrf_name(https: bool) -> &'static str {
    if https { "__Host-ww-csrf" } else { "ww-csrf" }
}

/// A cookie that lives until the browser closes (the server enforces the real lifetime).
pub fn build(https: bool, name: String, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Lax)
        .finish()
}

/// A cookie kept for `days` (the known-device cookie).
pub fn lasting(https: bool, name: String, value: String, days: u32) -> Cookie<'static> {
    let mut c = build(https, name, value);
    c.set_max_age(Duration::days(i64::from(days)));
    c
}

/// Tells the browser to delete a cookie.
pub fn removal(https: bool, name: String) -> Cookie<'static> {
    let mut c = build(https, name, String::new());
    c.set_max_age(Duration::ZERO);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_are_host_prefixed_and_secure() {
        let slug = TenantSlug::parse("acme").unwrap();
        let c = build(true, session_name(true, &slug), "v".into()).to_string();
        assert!(c.starts_with("__Host-ww-session-acme=v"), "{c}");
        for attr in ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        assert!(!c.contains("Domain"), "__Host- cookies must not set Domain");
        let c = build(false, session_name(false, &slug), "v".into()).to_string();
        assert!(
            c.starts_with("ww-session-acme=v") && !c.contains("Secure"),
            "{c}"
        );
    }
}
