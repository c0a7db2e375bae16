//! The management UI's routes (`web::admin_ui`, `/t/{tenant}/admin/…`): pages are GET,
//! actions are POST forms; any other method is a 405 page with `Allow`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, ServiceConfig};

use super::not_allowed;

/// The management UI (`web::admin_ui`): pages are GET, actions are POST forms.
pub(super) fn admin_ui_routes(cfg: &mut ServiceConfig) {
    use crate::web::admin_ui::{api_keys, dashboard, logs, user, users};
    admin_ui_config_routes(cfg);
    cfg.route("/t/{tenant}/admin", web::get().to(admin_add_slash))
        .service(
            web::resource("/t/{tenant}/admin/")
                .get(dashboard::show)
                .default_service(web::to(not_allowed("GET"))),
        )
        .route("/t/{tenant}/admin/me", web::get().to(dashboard::me))
        .route("/t/{tenant}/admin/users", web::get().to(users::list))
        .service(
            web::resource("/t/{tenant}/admin/users/new")
                .get(users::new_form)
                .post(users::create)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route("/t/{tenant}/admin/users/{id}", web::get().to(user::show))
        .route(
            "/t/{tenant}/admin/users/{id}/disable",
            web::post().to(user::disable),
        )
        .route(
            "/t/{tenant}/admin/users/{id}/enable",
            web::post().to(user::enable),
        )
        .route(
            "/t/{tenant}/admin/users/{id}/reset-mfa",
            web::post().to(user::reset_mfa),
        )
        .route(
            "/t/{tenant}/admin/users/{id}/end-sessions",
            web::post().to(user::end_sessions),
        )
        .route(
            "/t/{tenant}/admin/users/{id}/sessions/end",
            web::post().to(user::end_session),
        )
        .route(
            "/t/{tenant}/admin/users/{id}/role",
            web::post().to(user::set_role),
        )
        .route("/t/{tenant}/admin/audit", web::get().to(logs::audit))
        .route("/t/{tenant}/admin/events", web::get().to(logs::events))
        .service(
            web::resource("/t/{tenant}/admin/api-keys")
                .get(api_keys::list)
                .post(api_keys::create)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            "/t/{tenant}/admin/api-keys/revoke",
            web::post().to(api_keys::revoke),
        );
}

/// The management UI's configuration screens: applications, identity providers, sessions,
/// signing keys, the policy and tenants.
fn admin_ui_config_routes(cfg: &mut ServiceConfig) {
    use crate::web::admin_ui::{
        client, clients, idp, idp_import, idps, keys, policies, sessions, tenants,
    };
    const T: &str = "/t/{tenant}/admin";
    cfg.route(&format!("{T}/clients"), web::get().to(clients::list))
        .service(
            web::resource(format!("{T}/clients/new"))
                .get(clients::new_form)
                .post(clients::create)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(&format!("{T}/clients/{{id}}"), web::get().to(client::show))
        .service(
            web::resource(format!("{T}/clients/{{id}}/edit"))
                .get(clients::edit_form)
                .post(clients::update)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            &format!("{T}/clients/{{id}}/secret"),
            web::post().to(client::rotate_secret),
        )
        .service(
            web::resource(format!("{T}/clients/{{id}}/delete"))
                .get(client::confirm_delete)
                .post(client::delete)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(&format!("{T}/idps"), web::get().to(idps::list))
        .service(
            web::resource(format!("{T}/idps/new"))
                .get(idps::new_form)
                .post(idps::create)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(&format!("{T}/idps/{{slug}}"), web::get().to(idp::show))
        .service(
            web::resource(format!("{T}/idps/{{slug}}/edit"))
                .get(idps::edit_form)
                .post(idps::update)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(
            &format!("{T}/idps/{{slug}}/metadata"),
            web::post().to(idp_import::import),
        )
        .route(
            &format!("{T}/idps/{{slug}}/enabled"),
            web::post().to(idp::set_enabled),
        )
        .service(
            web::resource(format!("{T}/idps/{{slug}}/delete"))
                .get(idp::confirm_delete)
                .post(idp::delete)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .route(&format!("{T}/sessions"), web::get().to(sessions::show))
        .route(&format!("{T}/sessions/end"), web::post().to(sessions::end))
        .route(&format!("{T}/keys"), web::get().to(keys::list))
        .route(&format!("{T}/keys/rotate"), web::post().to(keys::rotate))
        .service(
            web::resource(format!("{T}/keys/withdraw"))
                .get(keys::confirm_withdraw)
                .post(keys::withdraw)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource(format!("{T}/policy"))
                .get(policies::show)
                .post(policies::save)
                .default_service(web::to(not_allowed("GET, POST"))),
        )
        .service(
            web::resource(format!("{T}/tenants"))
                .get(tenants::list)
                .post(tenants::create)
                .default_service(web::to(not_allowed("GET, POST"))),
        );
}

/// `/t/acme/admin` → `/t/acme/admin/`.
async fn admin_add_slash(path: web::Path<String>) -> HttpResponse {
    let slug: String = path
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header(("Location", format!("/t/{slug}/admin/")))
        .finish()
}
