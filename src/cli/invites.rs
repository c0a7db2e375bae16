//! `watchword invite create|list|revoke`: invitations to sign up (`crate::registration::invites`).
//! `create` prints the single-use link (the only time its token is shown); with `--send` it is
//! also queued to the address (the running server's mail worker delivers it).

use chrono::DateTime;
use clap::Subcommand;

use super::{CliError, admin_err};
use crate::admin::authz::Admin;
use crate::app::Watchword;
use crate::domain::audit::Actor;
use crate::registration::invites;

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Create a single-use invitation link and print it. Sign-ups with it work whatever the
    /// tenant's registration mode, except "off".
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Bind the invitation to this address (the sign-up must use it).
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
        /// How long the link works, 1 .. 720 hours.
        #[arg(long, default_value_t = invites::DEFAULT_HOURS)]
        expires_hours: i64,
        /// Mail the invitation to --email. Using a mailed invitation also proves the address, so
        /// the account is created without a confirmation link.
        #[arg(long, requires = "email")]
        send: bool,
    },
    /// List the tenant's invitations, newest first.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Withdraw an unused invitation by the id `list` shows.
    Revoke {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

pub async fn run(app: &Watchword, cmd: InviteCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        InviteCommand::Create {
            tenant,
            email,
            expires_hours,
            send,
        } => {
            let tenant = crate::admin::tenants::get(ctx, &tenant)
                .await
                .map_err(admin_err)?;
            if !tenant.policy.registration.enabled() {
                eprintln!(
                    "watchword: note: registration is off in tenant {}; the link works once `registration.mode` is \"open\" or \"invite\"",
                    tenant.slug
                );
            }
            let created = invites::create(
                ctx,
                &tenant,
                email.as_deref(),
                expires_hours,
                send,
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!("{}", created.link);
            eprintln!(
                "invitation {} for {}, works once until {}{}",
                created.id,
                created.address.as_deref().unwrap_or("any address"),
                time(created.expires_at),
                if created.mailed { "; mail queued" } else { "" }
            );
            Ok(())
        }
        InviteCommand::List { tenant, json } => {
            let tenant = crate::admin::tenants::get(ctx, &tenant)
                .await
                .map_err(admin_err)?;
            let rows = invites::list(ctx, &tenant, &Admin::operator(Actor::Cli))
                .await
                .map_err(admin_err)?;
            if !json {
                println!(
                    "{:<12}  {:<7}  {:<32}  {:<6}  {:<19}  EXPIRES",
                    "ID", "STATE", "ADDRESS", "MAILED", "CREATED"
                );
            }
            for r in rows {
                if json {
                    println!("{}", serde_json::to_string(&r)?);
                    continue;
                }
                println!(
                    "{:<12}  {:<7}  {:<32}  {:<6}  {:<19}  {}",
                    r.id,
                    r.state,
                    r.address.as_deref().unwrap_or("-"),
                    if r.mailed { "yes" } else { "no" },
                    time(r.created_at),
                    time(r.expires_at)
                );
            }
            Ok(())
        }
        InviteCommand::Revoke { tenant, id } => {
            let tenant = crate::admin::tenants::get(ctx, &tenant)
                .await
                .map_err(admin_err)?;
            if invites::revoke(ctx, &tenant, &id, &Admin::operator(Actor::Cli))
                .await
                .map_err(admin_err)?
            {
                println!("revoked invitation {id}");
                Ok(())
            } else {
                Err(CliError::Failed(format!(
                    "no unused invitation {id} in tenant {}",
                    tenant.slug
                )))
            }
        }
    }
}

fn time(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map_or_else(|| unix.to_string(), |t| t.format("%F %T").to_string())
}
