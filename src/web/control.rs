//! The control socket: operator commands from the `watchword` CLI on the same machine, over a
//! Unix socket (mode 0600, so only the server's own user can connect). It exists because with the
//! in-process session store, sessions live only in the server's memory: `watchword session
//! list|end` ask the server, and so do `watchword user disable|set-password|reset-mfa` and
//! `watchword risk mark … --end-sessions`, which end a user's sessions. JSON in, JSON out; no cookies, no CSRF (not reachable by browsers).

use crate::admin::authz::Admin;
use actix_web::http::StatusCode;
use actix_web::web::{self, Json};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use crate::admin::access::{AccessEnded, OnReset};
use crate::admin::{self, AdminError, sessions::SessionInfo};
use crate::context::Ctx;
use crate::domain::audit::Actor;
use crate::domain::secret::Secret;

/// What the CLI asks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    ListSessions {
        tenant: String,
        user: String,
    },
    EndSession {
        tenant: String,
        sid: String,
    },
    EndUserSessions {
        tenant: String,
        user: String,
    },
    /// Disable a user here, in the server: the account, its grants (with the revocation markers
    /// in this server's memory) and its sessions.
    DisableUser {
        tenant: String,
        user: String,
    },
    /// Set a user's password here, in the server, so that ending the user's sessions and
    /// grants (unless `on_reset` keeps them) reaches this server's memory.
    SetPassword {
        tenant: String,
        user: String,
        #[serde(serialize_with = "expose")]
        password: Secret<String>,
        #[serde(default)]
        on_reset: OnReset,
    },
    /// Remove a user's second factors here, in the server (same reason).
    ResetFactors {
        tenant: String,
        user: String,
        #[serde(default)]
        on_reset: OnReset,
    },
    /// Mark a sign-in event here, in the server, so that ending the user's sessions
    /// (`end_sessions`) reaches this server's memory.
    MarkSignInEvent {
        tenant: String,
        id: String,
        value: crate::risk_feedback::Value,
        end_sessions: bool,
    },
}

/// The password travels over the control socket (mode 0600) as it is; `Secret` serializes as
/// `[redacted]` everywhere else.
fn expose<S: serde::Serializer>(password: &Secret<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(password.expose())
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    Sessions {
        sessions: Vec<SessionInfo>,
    },
    Ended {
        count: usize,
    },
    /// `ended`: `None` when the sessions and grants were kept.
    PasswordSet {
        ended: Option<AccessEnded>,
    },
    FactorsReset {
        totp: bool,
        credentials: usize,
        recovery_codes: usize,
        ended: Option<AccessEnded>,
    },
    /// `ended`: `None` unless the sessions and grants were ended.
    Marked {
        ended: Option<AccessEnded>,
    },
    /// `usage`: bad input (exit 2), otherwise the operation failed (exit 1).
    Error {
        message: String,
        usage: bool,
    },
}

#[derive(Debug)]
struct Failure(AdminError);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        StatusCode::OK
    }

    fn error_response(&self) -> HttpResponse {
        let usage = !matches!(
            self.0,
            AdminError::Storage(_) | AdminError::Store(_) | AdminError::Hashing(_)
        );
        HttpResponse::Ok().json(Response::Error {
            message: self.0.to_string(),
            usage,
        })
    }
}

async fn handle(ctx: web::Data<Ctx>, Json(req): Json<Request>) -> Result<HttpResponse, Failure> {
    Ok(HttpResponse::Ok().json(run(&ctx, req).await.map_err(Failure)?))
}

/// Runs one request (also used directly by the CLI when sessions are in Redis).
pub async fn run(ctx: &Ctx, req: Request) -> Result<Response, AdminError> {
    Ok(match req {
        Request::ListSessions { tenant, user } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            let id = user_id(ctx, &tenant, &user).await?;
            Response::Sessions {
                sessions: admin::sessions::list(ctx, &tenant, id).await?,
            }
        }
        Request::EndSession { tenant, sid } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            admin::sessions::end(ctx, &tenant, &sid, &Admin::operator(Actor::Cli)).await?;
            Response::Ended { count: 1 }
        }
        Request::EndUserSessions { tenant, user } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            let id = user_id(ctx, &tenant, &user).await?;
            Response::Ended {
                count: admin::sessions::end_user(ctx, &tenant, id, &Admin::operator(Actor::Cli))
                    .await?,
            }
        }
        Request::DisableUser { tenant, user } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            let found = admin::users::get(ctx, &tenant, &user).await?;
            Response::Ended {
                count: admin::users::set_enabled(
                    ctx,
                    &tenant,
                    found.user,
                    false,
                    &Admin::operator(Actor::Cli),
                )
                .await?,
            }
        }
        Request::SetPassword {
            tenant,
            user,
            password,
            on_reset,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            let found = admin::users::get(ctx, &tenant, &user).await?;
            Response::PasswordSet {
                ended: admin::users::set_password(
                    ctx,
                    &tenant,
                    &found.user,
                    &password,
                    on_reset,
                    &Admin::operator(Actor::Cli),
                )
                .await?,
            }
        }
        Request::ResetFactors {
            tenant,
            user,
            on_reset,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            let found = admin::users::get(ctx, &tenant, &user).await?;
            let reset = admin::users::reset_factors(
                ctx,
                &tenant,
                &found.user,
                on_reset,
                &Admin::operator(Actor::Cli),
            )
            .await?;
            Response::FactorsReset {
                totp: reset.removed.totp,
                credentials: reset.removed.credentials,
                recovery_codes: reset.removed.recovery_codes,
                ended: reset.ended,
            }
        }
        Request::MarkSignInEvent {
            tenant,
            id,
            value,
            end_sessions,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await?;
            let marked = crate::risk_feedback::mark::mark(
                ctx,
                &tenant,
                &id,
                value,
                end_sessions,
                &admin::authz::Admin::operator(Actor::Cli),
            )
            .await?;
            Response::Marked {
                ended: marked.ended,
            }
        }
    })
}

async fn user_id(
    ctx: &Ctx,
    tenant: &crate::domain::tenant::Tenant,
    user: &str,
) -> Result<crate::domain::ids::UserId, AdminError> {
    admin::users::find(ctx, tenant, user)
        .await?
        .map(|u| u.user.id)
        .ok_or_else(|| AdminError::NotFound(format!("user {user:?}")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/control", web::post().to(handle));
}
