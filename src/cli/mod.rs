//! The command line (clap): `serve` (default), `migrate`, `tenant`, `user`, `client`, `keys`,
//! `session`, `seed`, `mail`, `invite`, `risk`, `idp`, `audit`.
//! Exit status: 0 success, 1 the operation failed, 2 bad usage or configuration.

mod audit;
mod clients;
mod commands;
mod idps;
mod invites;
mod mail;
mod risk;
mod serve;
mod sessions;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::domain::admin::Role;

#[derive(Debug, Parser)]
#[command(
    name = "watchword",
    version,
    about = "Watchword: OpenID Connect identity and session server",
    long_about = "Watchword: OpenID Connect identity and session server.\n\nWithout a command it runs the server. Configuration comes from built-in defaults, then the TOML file (--config, or config/watchword.toml if it exists), then WATCHWORD__SECTION__KEY environment variables."
)]
pub struct Cli {
    /// Configuration file (default: config/watchword.toml if it exists).
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve {
        /// Apply this seed file before serving (idempotent).
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients (applications).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(clients::KeysCommand),
    /// See and end users' browser sessions.
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// See the mail outbox, send stuck messages again, send a test message.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Invite people to sign up: single-use links, optionally mailed.
    #[command(subcommand)]
    Invite(invites::InviteCommand),
    /// Risk scoring: sign-in events, feedback on them, the effective policy.
    #[command(subcommand)]
    Risk(risk::RiskCommand),
    /// Upstream identity providers (OpenID Connect, Entra ID, SAML 2.0) of a tenant.
    #[command(subcommand)]
    Idp(idps::IdpCommand),
    /// The audit log: verify its hash chains.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Create or update tenants, users and clients from a seed file (idempotent).
    Seed {
        /// The seed file (TOML; see config/seed.example.toml).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// URL name: 1-63 characters a-z, 0-9 and '-'.
        slug: String,
        /// Name shown on pages (default: the slug).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List tenants.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from a prompt, or from standard input with
    /// --password-stdin.
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Mark the address as verified (an import from a system that verified it); otherwise
        /// the user verifies it with a link.
        #[arg(long, requires = "email")]
        email_verified: bool,
        #[arg(long)]
        display_name: Option<String>,
        /// Make the user an administrator of the tenant.
        #[arg(long, value_name = "ROLE", value_parser = parse_role)]
        admin: Option<Role>,
        /// Read the password from standard input (first line).
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Create the user without a password (cannot sign in with one).
        #[arg(long)]
        no_password: bool,
        /// Create the account disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List the users of a tenant.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password (checked against the tenant's password policy). Ends every
    /// session of the user and revokes every grant (refresh and access tokens), unless
    /// --keep-sessions.
    SetPassword {
        #[arg(long, default_value = "default")]
        tenant: String,
        username: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// Leave the user's sessions and grants alone.
        #[arg(long)]
        keep_sessions: bool,
    },
    /// Disable an account; its sessions end at once.
    Disable {
        #[arg(long, default_value = "default")]
        tenant: String,
        username: String,
    },
    /// Remove every second factor of a user who lost theirs (authenticator app, security keys,
    /// passkeys, recovery codes), once you have made sure who they are. Ends every session of
    /// the user and revokes every grant, unless --keep-sessions. Audited.
    ResetMfa {
        #[arg(long, default_value = "default")]
        tenant: String,
        username: String,
        /// Leave the user's sessions and grants alone.
        #[arg(long)]
        keep_sessions: bool,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long, default_value = "default")]
        tenant: String,
        username: String,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).map_err(|e| e.message)
}

/// Entry point of the `watchword` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("watchword: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watchword: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve { seed: None });
    let result = runtime.block_on(async move {
        match command {
            Command::Serve { seed } => serve::run(config, seed).await,
            Command::Session(cmd) if sessions::needs_server(&config) => {
                sessions::via_server(&config, cmd).await
            }
            other => commands::run(config, other).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(m)) => {
            eprintln!("watchword: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(m)) => {
            eprintln!("watchword: {m}");
            ExitCode::FAILURE
        }
    }
}

/// How a command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: exit status 2.
    Usage(String),
    /// The operation failed: exit status 1.
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// Invalid input is a usage error (exit 2); anything else is a failure (exit 1).
pub(crate) fn usage_or_failure(e: crate::admin::AdminError, at: &str) -> CliError {
    let prefix = if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    };
    match e {
        crate::admin::AdminError::Storage(_)
        | crate::admin::AdminError::Store(_)
        | crate::admin::AdminError::Hashing(_)
        | crate::admin::AdminError::Signing(_) => CliError::Failed(format!("{prefix}{e}")),
        other => CliError::Usage(format!("{prefix}{other}")),
    }
}

/// An admin use case's error as a CLI error (see `usage_or_failure`).
pub(crate) fn admin_err(e: crate::admin::AdminError) -> CliError {
    usage_or_failure(e, "")
}
