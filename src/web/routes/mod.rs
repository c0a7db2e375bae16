//! Every route of the HTTP interface, in one place (the management UI's in `admin_ui.rs`).

use actix_web::http::StatusCode;
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, error::InternalError};

use super::error::PageError;
use actix_web::http::Method;

use super::oauth::{authorize, cors, discovery, end_session, token, userinfo};
mod admin_ui;

use super::pages::{
    account, account_changes, apps, assets, email, factors, federation, health, home, identities,
    login, logout, mfa, mfa_enrol, recovery, register, saml, session, setup, sign_in_check,
    webauthn,
};
use admin_ui::admin_ui_routes;

async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError::not_found())
}

/// `/t/acme` → `/t/acme/`.
async fn add_slash(path: web::Path<String>) -> HttpResponse {
    let slug: String = path
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header(("Location", format!("/t/{slug}/")))
        .finish()
}

/// A 405 page with the `Allow` header (RFC 9110 15.5.6).
pub(super) fn not_allowed(
    allow: &'static str,
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        let page = PageError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This address does not accept that kind of request.",
        );
        let mut res = actix_web::ResponseError::error_response(&page);
        res.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        std::future::ready(res)
    }
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, _req| {
        InternalError::from_response(
            "invalid path",
            actix_web::ResponseError::error_response(&PageError::not_found()),
        )
        .into()
    })
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(super::admin_api::scope());
    cfg.route(
        "/t/{tenant}/admin/api/openapi.json",
        web::get().to(super::admin_api::openapi_json),
    );
    admin_ui_routes(cfg);
    cfg.app_data(path_config())
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(super::metrics::on_main))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/", web::get().to(home::root))
        .route("/t/{tenant}", web::get().to(add_slash))
        .service(
            web::resource("/t/{tenant}/")
                .get(home::show)
                .default_service(web::to(not_allowed("GET"))),
        )
        .service(
            web::resource("/t/{tenant}/login")
                .get(login::show)
                .post(login::submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route("/t/{tenant}/login/sso", web::post().to(federation::sso))
        .route(
            "/t/{tenant}/idp/{idp}/start",
            web::get().to(federation::start),
        )
        .route(
            "/t/{tenant}/idp/{idp}/callback",
            web::get().to(federation::callback),
        )
        .route(
            "/t/{tenant}/idp/{idp}/backchannel-logout",
            web::post().to(federation::backchannel_logout),
        )
        .service(
            web::resource("/t/{tenant}/idp/{idp}/saml/acs")
                .app_data(web::PayloadConfig::new(saml::ACS_MAX_BYTES))
                .post(saml::acs)
                .default_service(web::to(not_allowed("POST"))),
        )
        .route(
            "/t/{tenant}/idp/{idp}/saml/continue",
            web::get().to(saml::resume),
        )
        .route(
            "/t/{tenant}/idp/{idp}/saml/slo",
            web::get().to(saml::single_logout),
        )
        .route(
            "/t/{tenant}/saml/{idp}/metadata",
            web::get().to(saml::metadata),
        )
        .service(
            web::resource("/t/{tenant}/login/verify")
                .get(mfa::verify_page)
                .post(mfa::verify_submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            "/t/{tenant}/login/verify/email-code",
            web::post().to(mfa::send_email_code),
        )
        .route(
            "/t/{tenant}/login/verify/webauthn/options",
            web::post().to(webauthn::verify_webauthn_options),
        )
        .route(
            "/t/{tenant}/login/verify/webauthn",
            web::post().to(webauthn::verify_webauthn_finish),
        )
        .route(
            "/t/{tenant}/login/enrol",
            web::get().to(mfa_enrol::enrol_page),
        )
        .route(
            "/t/{tenant}/login/enrol/totp",
            web::post().to(mfa_enrol::enrol_totp),
        )
        .route(
            "/t/{tenant}/login/enrol/webauthn/options",
            web::post().to(webauthn::enrol_webauthn_options),
        )
        .route(
            "/t/{tenant}/login/enrol/webauthn",
            web::post().to(webauthn::enrol_webauthn_finish),
        )
        .route(
            "/t/{tenant}/login/recovery-used",
            web::get().to(mfa::recovery_used),
        )
        .route("/t/{tenant}/account/security", web::get().to(factors::show))
        .route(
            "/t/{tenant}/account/identities",
            web::get().to(identities::show),
        )
        .route(
            "/t/{tenant}/account/identities/link",
            web::post().to(identities::link),
        )
        .route(
            "/t/{tenant}/account/identities/unlink",
            web::post().to(identities::unlink),
        )
        .service(
            web::resource("/t/{tenant}/account/totp")
                .get(factors::totp_page)
                .post(factors::totp_confirm)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            "/t/{tenant}/account/totp/remove",
            web::post().to(factors::totp_remove),
        )
        .route(
            "/t/{tenant}/account/webauthn/options",
            web::post().to(webauthn::key_options),
        )
        .route(
            "/t/{tenant}/account/webauthn",
            web::post().to(webauthn::key_finish),
        )
        .route(
            "/t/{tenant}/account/webauthn/{id}/remove",
            web::post().to(factors::key_remove),
        )
        .route(
            "/t/{tenant}/account/webauthn/{id}/rename",
            web::post().to(factors::key_rename),
        )
        .route(
            "/t/{tenant}/account/recovery",
            web::post().to(factors::recovery_generate),
        )
        .route(
            "/t/{tenant}/passkey/options",
            web::post().to(webauthn::passkey_options),
        )
        .route(
            "/t/{tenant}/passkey",
            web::post().to(webauthn::passkey_finish),
        )
        .service(
            web::resource("/t/{tenant}/logout")
                .get(logout::confirm)
                .post(logout::submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/account")
                .get(account::show)
                .default_service(web::to(not_allowed("GET"))),
        )
        .service(
            web::resource("/t/{tenant}/account/apps")
                .get(apps::show)
                .default_service(web::to(not_allowed("GET"))),
        )
        .route(
            "/t/{tenant}/account/apps/remove",
            web::post().to(apps::remove),
        )
        .route(
            "/t/{tenant}/account/email/verify",
            web::post().to(email::send),
        )
        .service(
            web::resource("/t/{tenant}/account/password")
                .get(account_changes::password_form)
                .post(account_changes::password_submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/account/email")
                .get(account_changes::email_form)
                .post(account_changes::email_submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/email/change")
                .get(account_changes::change_confirm)
                .post(account_changes::change_use)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/register")
                .get(register::show)
                .post(register::submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/register/confirm")
                .get(register::confirm_page)
                .post(register::confirm)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/password/forgot")
                .get(recovery::forgot_page)
                .post(recovery::forgot)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/password/reset")
                .get(recovery::reset_page)
                .post(recovery::reset)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/password/new")
                .get(recovery::new_page)
                .post(recovery::set_new)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/email/verify")
                .get(email::confirm)
                .post(email::verify)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/sign-in-check")
                .get(sign_in_check::show)
                .post(sign_in_check::answer)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            "/t/{tenant}/account/sessions/end",
            web::post().to(account::end_one),
        )
        .route(
            "/t/{tenant}/account/sessions/end-others",
            web::post().to(account::end_all_others),
        )
        .service(
            web::resource("/t/{tenant}/session/status")
                .get(session::status)
                .default_service(web::to(not_allowed("GET"))),
        )
        .service(
            web::resource("/t/{tenant}/session-ended")
                .get(session::ended)
                .default_service(web::to(not_allowed("GET"))),
        )
        .service(
            web::resource("/t/{tenant}/signed-out")
                .get(logout::signed_out)
                .default_service(web::to(not_allowed("GET"))),
        )
        .service(
            web::resource("/t/{tenant}/setup")
                .get(setup::show)
                .post(setup::submit)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/authorize")
                .get(authorize::authorize_get)
                .post(authorize::authorize_post)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            "/t/{tenant}/authorize/continue",
            web::get().to(authorize::resume_after_sign_in),
        )
        .service(
            web::resource("/t/{tenant}/authorize/consent")
                .get(authorize::consent_page)
                .post(authorize::consent_answer)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/t/{tenant}/token")
                .post(token::token)
                .route(web::method(Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(not_allowed("POST, OPTIONS"))),
        )
        .service(
            web::resource("/t/{tenant}/introspect")
                .post(token::introspect)
                .default_service(web::to(not_allowed("POST"))),
        )
        .service(
            web::resource("/t/{tenant}/revoke")
                .post(token::revoke)
                .route(web::method(Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(not_allowed("POST, OPTIONS"))),
        )
        .service(
            web::resource("/t/{tenant}/userinfo")
                .get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .route(web::method(Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(not_allowed("GET, POST, OPTIONS"))),
        )
        .service(
            web::resource("/t/{tenant}/end-session")
                .get(end_session::end_session_get)
                .post(end_session::end_session_post)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            "/t/{tenant}/end-session/confirm",
            web::post().to(end_session::confirm),
        )
        .service(
            web::resource("/t/{tenant}/jwks.json")
                .get(discovery::jwks)
                .head(discovery::jwks)
                .default_service(web::to(not_allowed("GET, HEAD"))),
        )
        .route(
            "/t/{tenant}/.well-known/openid-configuration",
            web::get().to(discovery::openid_configuration),
        )
        .route(
            "/t/{tenant}/.well-known/oauth-authorization-server",
            web::get().to(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server/t/{tenant}",
            web::get().to(discovery::openid_configuration),
        )
        .route(
            "/.well-known/openid-configuration/t/{tenant}",
            web::get().to(discovery::openid_configuration),
        )
        .default_service(web::to(not_found));
}
