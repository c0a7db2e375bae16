//! `watchword risk events|mark|policy`: a tenant's sign-in events, newest first, filtered by user,
//! level, decision and time (`crate::risk_feedback::activity`); an operator's mark on one
//! (`crate::risk_feedback::mark`: `invalid --end-sessions` also ends the user's sessions and
//! grants, in the running server when sessions live in its memory); the tenant's effective risk
//! policy as JSON, defaults filled in.

use std::collections::HashMap;

use chrono::DateTime;
use clap::Subcommand;

use super::{CliError, admin_err};
use crate::admin;
use crate::admin::authz::Admin;
use crate::app::Watchword;
use crate::domain::audit::Actor;
use crate::domain::ids::UserId;
use crate::domain::risk::Level;
use crate::domain::tenant::Tenant;
use crate::risk_feedback::{Value, activity, mark};
use crate::storage::risk::{Filter, MAX_PAGE, SignInEvent};
use crate::web::control::{Request, Response};

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// List sign-in events, newest first: time, id, user, level, decision, result, feedback,
    /// address, place, device and reasons.
    Events {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Only this user's: username, e-mail address or user id.
        #[arg(long)]
        user: Option<String>,
        /// Only events of this level: low, medium or high.
        #[arg(long, value_parser = parse_level)]
        level: Option<Level>,
        /// Only events with this decision: allow, second_factor, block or deny.
        #[arg(long, value_parser = parse_decision)]
        decision: Option<&'static str>,
        /// Only events since this time: RFC 3339 (2026-01-31T12:00:00Z) or a duration back from
        /// now (90s, 30m, 24h, 7d, 2w).
        #[arg(long, value_parser = parse_since)]
        since: Option<Since>,
        /// At most this many events (1 .. 500).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=MAX_PAGE))]
        limit: i64,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Mark a sign-in event `valid` (it was the user: its device and place become known) or
    /// `invalid` (it was not: the event is marked and its device forgotten). Audited.
    Mark {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The event id, as `risk events` lists it.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// valid or invalid.
        #[arg(value_parser = parse_value)]
        value: Value,
        /// With `invalid`: also end every session of the user and revoke every grant.
        #[arg(long)]
        end_sessions: bool,
    },
    /// Print the tenant's effective risk policy as JSON (defaults filled in).
    Policy {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

/// `--since`: a moment, or a duration back from now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    At(i64),
    Ago(i64),
}

fn parse_level(raw: &str) -> Result<Level, String> {
    Level::parse(raw).ok_or_else(|| "expected low, medium or high".into())
}

fn parse_decision(raw: &str) -> Result<&'static str, String> {
    ["allow", "second_factor", "block", "deny"]
        .into_iter()
        .find(|d| *d == raw)
        .ok_or_else(|| "expected allow, second_factor, block or deny".into())
}

fn parse_value(raw: &str) -> Result<Value, String> {
    Value::parse(raw).ok_or_else(|| "expected valid or invalid".into())
}

fn parse_since(raw: &str) -> Result<Since, String> {
    let err = || {
        "expected an RFC 3339 time (2026-01-31T12:00:00Z) or a duration such as 30m, 24h, 7d"
            .to_owned()
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Since::At(t.timestamp()));
    }
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (n, unit) = raw.split_at(split);
    let n: i64 = n.parse().map_err(|_| err())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(err()),
    };
    n.checked_mul(secs)
        .filter(|s| *s > 0 && *s <= 3650 * 86_400)
        .map(Since::Ago)
        .ok_or_else(|| "the duration must be more than 0 and at most 10 years".into())
}

pub async fn run(app: &Watchword, cmd: RiskCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        RiskCommand::Events {
            tenant,
            user,
            level,
            decision,
            since,
            limit,
            json,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let user = match user {
                Some(u) => Some(user_id(app, &tenant, &u).await?),
                None => None,
            };
            let since = since.map(|s| match s {
                Since::At(t) => t,
                Since::Ago(secs) => ctx.clock.unix() - secs,
            });
            let filter = Filter {
                user,
                level: level.map(|l| l.as_str().to_owned()),
                decision: decision.map(str::to_owned),
                since,
                before: None,
                limit,
            };
            let events = activity::list(ctx, &tenant, filter, &Admin::operator(Actor::Cli))
                .await
                .map_err(admin_err)?;
            print_events(app, &tenant, &events, json).await
        }
        RiskCommand::Mark {
            tenant,
            id,
            value,
            end_sessions,
        } => {
            if end_sessions && value != Value::Invalid {
                return Err(CliError::Usage(
                    "--end-sessions goes only with `invalid`".into(),
                ));
            }
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let ended = if end_sessions {
                // Sessions may live in the running server's memory: it does the whole job.
                let request = Request::MarkSignInEvent {
                    tenant: tenant.slug.to_string(),
                    id: id.clone(),
                    value,
                    end_sessions,
                };
                match super::commands::where_sessions_live(app, &request).await? {
                    Response::Marked { ended } => ended,
                    _ => {
                        return Err(CliError::Failed("unexpected answer from the server".into()));
                    }
                }
            } else {
                mark::mark(
                    ctx,
                    &tenant,
                    &id,
                    value,
                    false,
                    &Admin::operator(Actor::Cli),
                )
                .await
                .map_err(admin_err)?
                .ended
            };
            match ended {
                Some(ended) => println!("marked sign-in event {id} {}; {ended}", value.as_str()),
                None => println!("marked sign-in event {id} {}", value.as_str()),
            }
            Ok(())
        }
        RiskCommand::Policy { tenant } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            println!("{}", serde_json::to_string_pretty(&tenant.policy.risk)?);
            Ok(())
        }
    }
}

/// A user by id, username or e-mail address.
async fn user_id(app: &Watchword, tenant: &Tenant, user: &str) -> Result<UserId, CliError> {
    let ctx = &app.ctx;
    if let Ok(id) = user.parse::<UserId>()
        && admin::users::find_by_id(ctx, tenant, id)
            .await
            .map_err(admin_err)?
            .is_some()
    {
        return Ok(id);
    }
    Ok(admin::users::get(ctx, tenant, user)
        .await
        .map_err(|e| super::usage_or_failure(e, "--user"))?
        .user
        .id)
}

async fn print_events(
    app: &Watchword,
    tenant: &Tenant,
    events: &[SignInEvent],
    json: bool,
) -> Result<(), CliError> {
    let mut names: HashMap<String, String> = HashMap::new();
    for id in events.iter().filter_map(|e| e.user_id.as_deref()) {
        if names.contains_key(id) {
            continue;
        }
        let name = match id.parse() {
            Ok(uid) => admin::users::find_by_id(&app.ctx, tenant, uid)
                .await
                .map_err(admin_err)?
                .map(|u| u.username),
            Err(_) => None,
        };
        names.insert(id.to_owned(), name.unwrap_or_else(|| "(deleted)".into()));
    }
    let name_of = |e: &SignInEvent| {
        e.user_id
            .as_deref()
            .and_then(|u| names.get(u).cloned())
            .unwrap_or_else(|| "-".into())
    };
    if !json {
        println!(
            "{:<19}  {:<36}  {:<16}  {:<6}  {:<13}  {:<13}  {:<8}  {:<15}  {:<20}  {:<20}  REASONS",
            "TIME",
            "ID",
            "USER",
            "LEVEL",
            "DECISION",
            "RESULT",
            "FEEDBACK",
            "ADDRESS",
            "PLACE",
            "DEVICE"
        );
    }
    for e in events {
        if json {
            let line = serde_json::json!({
                "id": e.id,
                "time": time(e.created_at),
                "kind": e.kind,
                "user_id": e.user_id,
                "username": e.user_id.as_ref().map(|_| name_of(e)),
                "ip": e.ip,
                "country": e.country,
                "city": e.city,
                "asn": e.asn,
                "device": e.device,
                "device_id": e.device_id,
                "level": e.level,
                "score": e.score,
                "reasons": serde_json::from_str::<serde_json::Value>(&e.reasons)
                    .unwrap_or(serde_json::Value::Null),
                "decision": e.decision,
                "enforced": e.enforced,
                "result": e.result,
                "feedback": e.feedback,
                "feedback_at": e.feedback_at.map(time),
            });
            println!("{line}");
            continue;
        }
        let reasons: Vec<&str> = activity::weighed_reasons(&e.reasons)
            .iter()
            .map(|r| r.as_str())
            .collect();
        let place = crate::domain::place::words(
            e.city.as_deref(),
            e.country.as_deref(),
            e.asn.and_then(|a| u32::try_from(a).ok()),
        );
        println!(
            "{:<19}  {:<36}  {:<16}  {:<6}  {:<13}  {:<13}  {:<8}  {:<15}  {:<20}  {:<20}  {}",
            time(e.created_at),
            e.id,
            name_of(e),
            e.level,
            if e.enforced {
                e.decision.clone()
            } else {
                format!("({})", e.decision)
            },
            e.result,
            e.feedback.as_deref().unwrap_or("-"),
            if e.ip.is_empty() { "-" } else { &e.ip },
            place,
            e.device,
            if reasons.is_empty() {
                "-".into()
            } else {
                reasons.join(",")
            }
        );
    }
    Ok(())
}

fn time(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration() {
        assert_eq!(parse_since("24h"), Ok(Since::Ago(86_400)));
        assert_eq!(parse_since("90s"), Ok(Since::Ago(90)));
        assert_eq!(parse_since("2w"), Ok(Since::Ago(14 * 86_400)));
        assert_eq!(
            parse_since("2026-01-31T12:00:00Z"),
            Ok(Since::At(1_769_860_800))
        );
        for bad in [
            "",
            "h",
            "24",
            "24y",
            "-3h",
            "0m",
            "yesterday",
            "99999999999d",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
        assert!(parse_decision("second_factor").is_ok());
        assert!(parse_decision("mfa").is_err());
        assert_eq!(parse_level("high"), Ok(Level::High));
        assert!(parse_level("severe").is_err());
        assert_eq!(parse_value("invalid"), Ok(Value::Invalid));
    }
}
