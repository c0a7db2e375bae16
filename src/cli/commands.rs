//! The administrative commands: migrate, tenant, user, seed. They talk to the database directly
//! (and to Redis, when configured, to end sessions of disabled users and of users whose password
//! or factors were reset); with the in-process store, those ask the running server.

use crate::admin::authz::Admin;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use super::{CliError, Command, TenantCommand, UserCommand, admin_err, usage_or_failure};
use crate::admin::access::{AccessEnded, OnReset};
use crate::admin::{self, users::NewUser};
use crate::app::Watchword;
use crate::clock::SystemClock;
use crate::config::{Config, LogConfig, LogFormat};
use crate::domain::audit::Actor;
use crate::domain::secret::Secret;
use crate::observability;
use crate::storage::migrations;
use crate::web::control::{Request, Response};

pub async fn run(config: Config, command: Command) -> Result<(), CliError> {
    // Commands print their results on stdout; only warnings and errors are logged.
    observability::init_logging(
        &LogConfig {
            format: LogFormat::Pretty,
            level: "warn".into(),
        },
        observability::LogTarget::Stderr,
    );
    if let Command::Migrate = command {
        let ctx = crate::context::Ctx::build(config, Arc::new(SystemClock))?;
        let db = ctx.db.clone();
        let applied = tokio::task::spawn_blocking(move || migrations::run(&db)).await??;
        if applied.is_empty() {
            println!("database is up to date");
        } else {
            for m in applied {
                println!("applied {m}");
            }
        }
        return Ok(());
    }
    let app = Watchword::init(config, Arc::new(SystemClock)).await?;
    let result = run_command(&app, command).await;
    // Ending sessions (e.g. `user disable`) queues back-channel logout tokens; send them before
    // the process exits.
    let left = app
        .ctx
        .backchannel
        .flush(std::time::Duration::from_secs(20))
        .await;
    if left > 0 {
        eprintln!(
            "watchword: {left} back-channel logout notification(s) could not be sent in time"
        );
    }
    result
}

async fn run_command(app: &Watchword, command: Command) -> Result<(), CliError> {
    match command {
        Command::Tenant(cmd) => tenant(app, cmd).await,
        Command::User(cmd) => user(app, cmd).await,
        Command::Client(cmd) => super::clients::client(app, cmd).await,
        Command::Keys(cmd) => super::clients::keys(app, cmd).await,
        Command::Session(cmd) => super::sessions::direct(app, cmd).await,
        Command::Mail(cmd) => super::mail::run(app, cmd).await,
        Command::Invite(cmd) => super::invites::run(app, cmd).await,
        Command::Risk(cmd) => super::risk::run(app, cmd).await,
        Command::Idp(cmd) => super::idps::run(app, cmd).await,
        Command::Audit(cmd) => super::audit::run(app, cmd).await,
        Command::Seed { file } => {
            let report = app.seed(&file).await.map_err(seed_error)?;
            println!("{report}");
            Ok(())
        }
        Command::Serve { .. } | Command::Migrate => unreachable!("handled by the caller"),
    }
}

/// A bad seed file is a usage error (exit 2); a storage failure while applying it is not.
pub(super) fn seed_error(e: crate::app::AppError) -> CliError {
    match e {
        crate::app::AppError::Seed(admin::seed::SeedError::Apply { at, source }) => {
            usage_or_failure(source, &at)
        }
        crate::app::AppError::Seed(other) => CliError::Usage(other.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

async fn tenant(app: &Watchword, cmd: TenantCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        TenantCommand::Create { slug, display_name } => {
            let t = admin::tenants::create(
                ctx,
                &slug,
                display_name.as_deref(),
                None,
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!("created tenant {} ({})", t.slug, t.display_name);
            println!("issuer: {}/t/{}", ctx.config.public_origin(), t.slug);
        }
        TenantCommand::List { json } => {
            let tenants = admin::tenants::list(ctx).await.map_err(admin_err)?;
            if json {
                let rows: Vec<_> = tenants
                    .iter()
                    .map(|t| serde_json::json!({ "id": t.id, "slug": t.slug, "display_name": t.display_name, "created_at": t.created_at.to_rfc3339() }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<24} {:<32} CREATED", "SLUG", "NAME");
                for t in tenants {
                    println!(
                        "{:<24} {:<32} {}",
                        t.slug,
                        t.display_name,
                        t.created_at.format("%Y-%m-%d %H:%M")
                    );
                }
            }
        }
    }
    Ok(())
}

async fn user(app: &Watchword, cmd: UserCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        UserCommand::Create {
            tenant,
            username,
            email,
            email_verified,
            display_name,
            admin,
            password_stdin,
            no_password,
            disabled,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let password = if no_password {
                None
            } else {
                Some(read_password(password_stdin)?)
            };
            let user = admin::users::create(
                ctx,
                &tenant,
                NewUser {
                    username,
                    email,
                    email_verified,
                    display_name,
                    password,
                    admin_role: admin,
                    enabled: !disabled,
                },
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!(
                "created user {} ({}) in tenant {}",
                user.username, user.id, tenant.slug
            );
        }
        UserCommand::List { tenant, json } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let users = admin::users::list(ctx, &tenant).await.map_err(admin_err)?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| serde_json::json!({
                        "id": u.id, "username": u.username, "email": u.email, "display_name": u.display_name,
                        "enabled": u.enabled, "admin": u.admin_role, "created_at": u.created_at.to_rfc3339(),
                    }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<24} {:<32} {:<8} {:<11} CREATED",
                    "USERNAME", "EMAIL", "ENABLED", "ADMIN"
                );
                for u in users {
                    println!(
                        "{:<24} {:<32} {:<8} {:<11} {}",
                        u.username,
                        u.email.as_deref().unwrap_or("-"),
                        if u.enabled { "yes" } else { "no" },
                        u.admin_role.map_or("-", |r| r.as_str()),
                        u.created_at.format("%Y-%m-%d %H:%M")
                    );
                }
            }
        }
        UserCommand::SetPassword {
            tenant,
            username,
            password_stdin,
            keep_sessions,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let user = admin::users::get(ctx, &tenant, &username)
                .await
                .map_err(admin_err)?
                .user;
            let password = read_password(password_stdin)?;
            let request = Request::SetPassword {
                tenant: tenant.slug.to_string(),
                user: user.username.clone(),
                password,
                on_reset: on_reset(keep_sessions),
            };
            let Response::PasswordSet { ended } = where_sessions_live(app, &request).await? else {
                return Err(unexpected());
            };
            println!("password set for {}; {}", user.username, access_text(ended));
        }
        UserCommand::Disable { tenant, username } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let user = admin::users::get(ctx, &tenant, &username)
                .await
                .map_err(admin_err)?
                .user;
            if ctx.memory_store.is_some() {
                // Sessions and revocation markers live in the running server's memory: it does
                // the whole job. Without a running server there are no sessions to end.
                let request = crate::web::control::Request::DisableUser {
                    tenant: tenant.slug.to_string(),
                    user: user.username.clone(),
                };
                if let Ok(crate::web::control::Response::Ended { count }) =
                    super::sessions::ask_server(&ctx.config, &request).await
                {
                    println!("disabled {} ({count} session(s) ended)", user.username);
                    return Ok(());
                }
            }
            let ended = admin::users::set_enabled(
                ctx,
                &tenant,
                user.clone(),
                false,
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!("disabled {} ({ended} session(s) ended)", user.username);
        }
        UserCommand::ResetMfa {
            tenant,
            username,
            keep_sessions,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let user = admin::users::get(ctx, &tenant, &username)
                .await
                .map_err(admin_err)?
                .user;
            let request = Request::ResetFactors {
                tenant: tenant.slug.to_string(),
                user: user.username.clone(),
                on_reset: on_reset(keep_sessions),
            };
            let Response::FactorsReset {
                totp,
                credentials,
                recovery_codes,
                ended,
            } = where_sessions_live(app, &request).await?
            else {
                return Err(unexpected());
            };
            println!(
                "removed the second factors of {}: authenticator app: {}, security keys and passkeys: {}, unused recovery codes: {}; {}",
                user.username,
                if totp { "yes" } else { "none" },
                credentials,
                recovery_codes,
                access_text(ended)
            );
        }
        UserCommand::Enable { tenant, username } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let user = admin::users::get(ctx, &tenant, &username)
                .await
                .map_err(admin_err)?
                .user;
            admin::users::set_enabled(
                ctx,
                &tenant,
                user.clone(),
                true,
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!("enabled {}", user.username);
        }
    }
    Ok(())
}

fn on_reset(keep_sessions: bool) -> OnReset {
    if keep_sessions {
        OnReset::KeepAccess
    } else {
        OnReset::EndAccess
    }
}

/// "ended 2 sessions and revoked 3 grants", or that they were kept.
fn access_text(ended: Option<AccessEnded>) -> String {
    match ended {
        Some(ended) => ended.to_string(),
        None => "sessions and grants kept (--keep-sessions)".into(),
    }
}

fn unexpected() -> CliError {
    CliError::Failed("unexpected answer from the server".into())
}

/// Runs a request that ends a user's sessions where they live: with the in-process store, in the
/// running server (asked over its control socket; when none answers there are no sessions in
/// memory to end, and this process does the rest), with Redis, here.
pub(super) async fn where_sessions_live(
    app: &Watchword,
    request: &Request,
) -> Result<Response, CliError> {
    let ctx = &app.ctx;
    if ctx.memory_store.is_some() {
        match super::sessions::ask_server(&ctx.config, request).await {
            Ok(Response::Error { message, usage }) => {
                return Err(if usage {
                    CliError::Usage(message)
                } else {
                    CliError::Failed(message)
                });
            }
            Ok(response) => return Ok(response),
            Err(_) => eprintln!(
                "watchword: no server answered on the control socket; acting here (a server \
                 that is not running keeps no sessions)"
            ),
        }
    }
    crate::web::control::run(ctx, request.clone())
        .await
        .map_err(admin_err)
}

/// The password from standard input (`--password-stdin`) or an interactive prompt.
fn read_password(from_stdin: bool) -> Result<Secret<String>, CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CliError::Usage(format!("cannot read the password from standard input: {e}"))
        })?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            return Err(CliError::Usage("standard input held no password".into()));
        }
        return Ok(Secret::new(password));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no password given: use --password-stdin, run in a terminal to be prompted, or pass --no-password".into(),
        ));
    }
    let first =
        rpassword::prompt_password("Password: ").map_err(|e| CliError::Usage(e.to_string()))?;
    let second = rpassword::prompt_password("Repeat password: ")
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if first != second {
        return Err(CliError::Usage("the passwords do not match".into()));
    }
    Ok(Secret::new(first))
}
