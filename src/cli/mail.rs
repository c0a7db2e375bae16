//! `watchword mail list|retry|test`: the outbox as operators see it (never a message's content),
//! sending stuck or given-up messages again, and a test message that proves the transport.

use chrono::DateTime;
use clap::{Subcommand, ValueEnum};

use super::CliError;
use crate::app::Watchword;
use crate::storage::outbox::{self, Which};

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List messages of the outbox, newest first.
    List {
        /// Which messages: stuck (not delivered after an attempt, or given up), pending (not
        /// delivered yet), failed (given up), all.
        #[arg(long, value_enum, default_value = "stuck")]
        state: State,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make messages due now with a fresh count of attempts (the running server sends them
    /// within seconds): the given ids, or with --failed every message given up.
    Retry {
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        ids: Vec<String>,
        #[arg(long)]
        failed: bool,
    },
    /// Queue a test message to ADDRESS and deliver it now through the configured transport.
    Test {
        address: String,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum State {
    Stuck,
    Pending,
    Failed,
    All,
}

pub async fn run(app: &Watchword, cmd: MailCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        MailCommand::List { state, limit, json } => {
            let which = match state {
                State::Stuck => Which::Stuck,
                State::Pending => Which::Pending,
                State::Failed => Which::Failed,
                State::All => Which::All,
            };
            let rows = ctx
                .db
                .run(move |c| outbox::list(c, which, limit.clamp(1, 10_000)))
                .await?;
            for row in rows {
                if json {
                    println!("{}", serde_json::to_string(&row).expect("serializes"));
                    continue;
                }
                let state = match (row.sent_at, row.failed_at) {
                    (Some(_), _) => "sent".to_owned(),
                    (None, Some(_)) => "failed".to_owned(),
                    (None, None) => format!("due {}", time(row.next_attempt_at)),
                };
                println!(
                    "{}  {}  {:<14} {:<32} attempts {:<3} {}  {}",
                    row.id,
                    time(row.created_at),
                    row.kind,
                    row.recipient,
                    row.attempts,
                    state,
                    row.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        MailCommand::Retry { ids, failed: _ } => {
            let now = ctx.clock.unix();
            let n = ctx
                .db
                .write(move |c| outbox::retry_now(c, &ids, now))
                .await?;
            println!("{n} message(s) due now");
            Ok(())
        }
        MailCommand::Test { address, tenant } => {
            let tenant = crate::admin::tenants::get(ctx, &tenant)
                .await
                .map_err(super::admin_err)?;
            let to = crate::mail::Recipient::new(&address, None)
                .ok_or_else(|| CliError::Usage(format!("not a mail address: {address}")))?;
            let rendered = crate::mail::message::test(&tenant.display_name);
            let (key, now, tenant_id) = (*ctx.keys.encryption, ctx.clock.unix(), tenant.id);
            let id = ctx
                .db
                .write(move |c| crate::mail::queue(c, &key, now, Some(tenant_id), &to, &rendered))
                .await?;
            let round = crate::mail::worker::deliver_due(ctx).await;
            let rows = ctx
                .db
                .run(move |c| outbox::list(c, Which::All, 200))
                .await?;
            match rows.into_iter().find(|r| r.id == id) {
                Some(r) if r.sent_at.is_some() => {
                    println!("sent {id} through {}", ctx.mail.transport.kind());
                    Ok(())
                }
                Some(r) => Err(CliError::Failed(format!(
                    "not sent ({} delivered this round): {}",
                    round.sent,
                    r.last_error.unwrap_or_else(|| "still queued".into())
                ))),
                None => Err(CliError::Failed("the message left the outbox".into())),
            }
        }
    }
}

fn time(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map_or_else(|| unix.to_string(), |t| t.format("%F %T").to_string())
}
