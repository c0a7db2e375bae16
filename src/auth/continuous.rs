//! Continuous evaluation (issue 11): every use of a browser session (its cookie resolved,
//! `crate::lifecycle::resolve`) and of a refresh token (`crate::oauth::token::refresh_token`) is
//! compared with where and on what it was issued (`crate::risk::drift`). Used from both another
//! network and another device, the tenant's `policy.risk.on_change` decides: `reauthenticate`
//! ([`Verdict::Reauthenticate`]: the caller ends the session or revokes the grant, then calls
//! [`reauthenticated`]) or `off` (recorded once per session or grant, a marker `rcc:<sid>` or
//! `rcc:g:<grant>` in the session store, and nothing ended). An audit-only tenant records like
//! `off` does. Each event is a `sign_in_events` row of kind `continuous`, an audit event
//! `context_changed` and a count in `watchword_risk_continuous_total{tenant,where,result}`.

use std::net::IpAddr;
use std::time::Duration;

use super::risk::{self, ContextChange, Decision};
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::ids::UserId;
use crate::domain::risk::OnChange;
use crate::domain::tenant::Tenant;
use crate::risk::drift::{self, Context};
use crate::risk::network::NetworkKind;
use crate::risk::place::Place;
use crate::risk::{Reason, Signal};
use crate::session_store::StoreError;
use crate::storage::{self, StorageError};

/// Where a request came from: the client address and user agent as the web layer found them
/// (`web::caller::Caller`), and the request's id for the audit log.
#[derive(Clone, Debug)]
pub struct Seen {
    pub ip: IpAddr,
    pub user_agent: String,
    pub request_id: Option<String>,
}

impl Seen {
    /// The audit origin of the request.
    pub fn origin(&self) -> Origin {
        Origin {
            ip: Some(self.ip.to_string()),
            user_agent: Some(self.user_agent.clone()),
            request_id: self.request_id.clone(),
        }
    }
}

/// What is being used.
#[derive(Clone, Copy, Debug)]
pub enum Use<'a> {
    /// A browser session, by `sid`.
    Session { sid: &'a str },
    /// A refresh token of grant (family) `grant`, presented by `client`.
    Refresh { grant: &'a str, client: &'a str },
}

impl Use<'_> {
    /// The metric's and audit's `where`.
    pub fn label(self) -> &'static str {
        match self {
            Use::Session { .. } => "session",
            Use::Refresh { .. } => "refresh",
        }
    }

    /// The session-store key that says this session or grant was recorded already.
    fn marker(self) -> String {
        match self {
            Use::Session { sid } => format!("rcc:{sid}"),
            Use::Refresh { grant, .. } => format!("rcc:g:{grant}"),
        }
    }

    fn details(self) -> serde_json::Value {
        match self {
            Use::Session { sid } => serde_json::json!({ "session": sid }),
            Use::Refresh { grant, client } => {
                serde_json::json!({ "grant": grant, "client": client })
            }
        }
    }
}

/// Where and on what the session or grant was issued; either missing (a grant issued before
/// continuous evaluation existed, an address that does not parse) means no baseline: never a
/// change.
#[derive(Clone, Copy, Debug)]
pub struct Baseline<'a> {
    pub ip: Option<IpAddr>,
    /// "Firefox on Linux".
    pub device: Option<&'a str>,
}

/// A use from both another network and another device.
#[derive(Clone, Debug)]
pub struct Change {
    pub signal: Signal,
    place: Option<Place>,
    network: NetworkKind,
    agent: String,
}

/// The answer of [`evaluate`].
#[derive(Debug)]
pub enum Verdict {
    /// Nothing changed (or risk scoring is off for the tenant).
    Unchanged,
    /// It changed and was recorded (or had been already); nothing else to do.
    Recorded,
    /// It changed, and the session must sign in again / the grant is revoked: the caller does
    /// that, then calls [`reauthenticated`].
    Reauthenticate(Change),
}

/// Compares a use seen now with its baseline. When it changed and the tenant does not enforce
/// (`on_change = off`, or audit-only), records it once per session or grant (`marker_ttl`: how
/// long the "recorded already" marker lives, the session's or grant's lifetime).
pub async fn evaluate<E>(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    used: Use<'_>,
    baseline: Baseline<'_>,
    seen: &Seen,
    marker_ttl: Duration,
) -> Result<Verdict, E>
where
    E: From<StoreError> + From<StorageError>,
{
    let policy = &tenant.policy.risk;
    let (true, Some(from_ip), Some(from_device)) = (policy.enabled, baseline.ip, baseline.device)
    else {
        return Ok(Verdict::Unchanged);
    };
    let agent = crate::domain::device::describe(&seen.user_agent);
    // Cheap tests first: most uses are the same device, or the same network.
    if !drift::may_have_changed((from_ip, from_device), (seen.ip, &agent)) {
        return Ok(Verdict::Unchanged);
    }
    let locator = &ctx.risk_place;
    let (from_place, place) = (locator.place(from_ip), locator.place(seen.ip));
    let Some(signal) = drift::changed(
        &Context {
            ip: from_ip,
            place: from_place.as_ref(),
            device: from_device,
        },
        &Context {
            ip: seen.ip,
            place: place.as_ref(),
            device: &agent,
        },
    ) else {
        return Ok(Verdict::Unchanged);
    };
    let change = Change {
        signal,
        place,
        network: locator.network(seen.ip),
        agent,
    };
    let reauthenticate = policy.on_change == OnChange::Reauthenticate;
    if reauthenticate && !policy.audit_only {
        return Ok(Verdict::Reauthenticate(change));
    }
    let ttl = marker_ttl.max(Duration::from_secs(1));
    if ctx.store.set_if_absent(&used.marker(), b"1", ttl).await? {
        let decision = if reauthenticate {
            Decision::Reauthenticate
        } else {
            Decision::Allow
        };
        finish(ctx, tenant, user, used, change, seen, decision, false).await?;
    }
    Ok(Verdict::Recorded)
}

/// Records a change whose session was ended or whose grant was revoked.
pub async fn reauthenticated(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    used: Use<'_>,
    change: Change,
    seen: &Seen,
) -> Result<(), StorageError> {
    finish(
        ctx,
        tenant,
        user,
        used,
        change,
        seen,
        Decision::Reauthenticate,
        true,
    )
    .await
}

/// The sign-in event, the audit event and the metric.
#[allow(clippy::too_many_arguments)]
async fn finish(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
    used: Use<'_>,
    change: Change,
    seen: &Seen,
    decision: Decision,
    enforced: bool,
) -> Result<(), StorageError> {
    let result = if enforced {
        "reauthenticate"
    } else {
        "recorded"
    };
    let changed = change.signal.details.clone();
    let event = risk::continuous(
        ctx,
        tenant,
        ContextChange {
            user,
            ip: seen.ip,
            place: change.place,
            network: change.network,
            agent: &change.agent,
            signal: change.signal,
            decision,
            enforced,
            result,
        },
    )
    .await?;
    let mut details = serde_json::json!({
        "where": used.label(),
        "risk_event": event,
        "reasons": [Reason::ContextChanged],
        "decision": decision.as_str(),
        "changed": changed,
    });
    if let (Some(all), serde_json::Value::Object(extra)) = (details.as_object_mut(), used.details())
    {
        all.extend(extra);
    }
    storage::audit::record(
        &ctx.db,
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::ContextChanged,
            if enforced {
                "risk_reauthenticate"
            } else {
                "risk_recorded"
            },
            Actor::System,
        )
        .subject(format!("user:{user}"))
        .origin(seen.origin())
        .details(details),
    )
    .await;
    metrics::counter!(
        "watchword_risk_continuous_total",
        "tenant" => tenant.slug.to_string(),
        "where" => used.label(),
        "result" => result,
    )
    .increment(1);
    Ok(())
}
