//! The records of risk scoring: sign-in events written (at once, or with the profile's update
//! once the session exists), their results, refusals before the password, continuous-evaluation
//! events, and the metrics counted with them.

use crate::context::Ctx;
use crate::domain::ids::UserId;
use crate::domain::risk::Level;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::risk::assess::Assessment;
use crate::risk::network::NetworkKind;
use crate::risk::place::Place;
use crate::risk::profile::network_name;
use crate::risk::{Reason, Signal};
use crate::storage::{self, StorageError, risk::SignInEvent};
use std::net::IpAddr;

use super::{CONTINUOUS, Decision, Note, SIGN_IN, Screening, VisitState};

/// Records the sign-in event of `note` and counts it.
#[allow(clippy::too_many_arguments)]
async fn record(
    ctx: &Ctx,
    tenant: &Tenant,
    user: Option<UserId>,
    kind: &str,
    note: &Note,
    assessment: &Assessment,
    agent: &str,
    result: &str,
) -> Result<(), StorageError> {
    let event = event_row(tenant, user, kind, note, assessment, agent, result);
    ctx.db
        .write(move |c| storage::risk::insert(c, &event))
        .await?;
    count(tenant, kind, note, &assessment.signals);
    Ok(())
}

/// The sign-in event row of `note`.
pub(super) fn event_row(
    tenant: &Tenant,
    user: Option<UserId>,
    kind: &str,
    note: &Note,
    assessment: &Assessment,
    agent: &str,
    result: &str,
) -> SignInEvent {
    let place = note.visit.place.as_ref();
    SignInEvent {
        id: note.event.clone(),
        tenant_id: tenant.id.to_string(),
        user_id: user.map(|u| u.to_string()),
        kind: kind.to_owned(),
        created_at: note.visit.at,
        ip: note.visit.ip.map(|i| i.to_string()).unwrap_or_default(),
        country: place.and_then(|p| p.country.clone()),
        city: place.and_then(|p| p.city.clone()),
        asn: place.and_then(|p| p.asn).map(i64::from),
        device: agent.to_owned(),
        device_id: note.visit.device.clone(),
        level: note.level.as_str().to_owned(),
        score: assessment.score as i32,
        reasons: serde_json::to_string(&assessment.signals).expect("signals serialize"),
        decision: note.decision.as_str().to_owned(),
        enforced: note.enforced,
        result: result.to_owned(),
        feedback: None,
        feedback_at: None,
    }
}

/// Sign-ins by level and decision (`kind` `sign_in` only), and signals by reason.
pub(super) fn count(tenant: &Tenant, kind: &str, note: &Note, signals: &[Signal]) {
    let slug = tenant.slug.to_string();
    if kind == SIGN_IN {
        metrics::counter!(
            "watchword_signin_risk_total",
            "tenant" => slug.clone(),
            "level" => note.level.as_str(),
            "decision" => note.decision.as_str(),
            "enforced" => if note.enforced { "true" } else { "false" },
        )
        .increment(1);
    }
    for s in signals {
        metrics::counter!(
            "watchword_risk_signal_total",
            "tenant" => slug.clone(),
            "reason" => s.code.as_str(),
        )
        .increment(1);
    }
}

/// Records a sign-in refused before its password was checked (`screening.blocks`). The user is
/// recorded when the identifier names one (the answer does not depend on it).
pub async fn blocked_early(
    ctx: &Ctx,
    tenant: &Tenant,
    screening: &Screening,
    user: Option<UserId>,
    user_agent: &str,
) -> Result<Note, StorageError> {
    let agent = crate::domain::device::describe(user_agent);
    let note = Note {
        event: uuid::Uuid::now_v7().to_string(),
        level: screening.assessment.level,
        reasons: screening
            .assessment
            .signals
            .iter()
            .map(|s| s.code)
            .collect(),
        decision: Decision::Block,
        enforced: true,
        notify: false,
        breached: false,
        visit: VisitState {
            at: ctx.clock.unix(),
            ip: Some(screening.ip),
            place: screening.place.clone(),
            network: Some(network_name(screening.network).to_owned()),
            device: None,
            agent: Some(agent.clone()),
        },
        row: None,
        profile_exists: false,
    };
    record(
        ctx,
        tenant,
        user,
        SIGN_IN,
        &note,
        &screening.assessment,
        &agent,
        "blocked",
    )
    .await?;
    Ok(note)
}

/// The sign-in goes on to a second step (the tenant's MFA policy asks for one): its event, if
/// not written yet, is written now as `pending`, so it exists even if the step is never taken.
pub async fn park(ctx: &Ctx, note: &mut Note) -> Result<(), StorageError> {
    if let Some(mut row) = note.row.take() {
        row.result = "pending".into();
        ctx.db
            .write(move |c| storage::risk::insert(c, &row))
            .await?;
    }
    Ok(())
}

/// Sets the final result of a sign-in's event (`success`, `session_limit`, …); an event not
/// written yet is written with it.
pub async fn finished(ctx: &Ctx, note: &Note, result: &'static str) {
    let id = note.event.clone();
    let row = note.row.clone().map(|mut r| {
        r.result = result.to_owned();
        r
    });
    let written = ctx
        .db
        .write(move |c| match row {
            Some(row) => storage::risk::insert(c, &row).map(|_| true),
            None => storage::risk::set_result(c, &id, result),
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not record a sign-in event's result");
    }
}

/// A sign-in finished with a session: the event written (or its result set) and the profile's
/// update, in one transaction.
pub async fn signed_in(ctx: &Ctx, user: &User, note: &Note) -> Result<(), StorageError> {
    let visit = note.visit.visit();
    let (user_id, now) = (user.id, ctx.clock.unix());
    let (id, row, exists) = (note.event.clone(), note.row.clone(), note.profile_exists);
    ctx.db
        .write(move |c| {
            storage::write_transaction(c, |c| {
                match &row {
                    Some(row) => storage::risk::insert(c, row)?,
                    None => {
                        storage::risk::set_result(c, &id, "success")?;
                    }
                }
                storage::risk::update_profile(c, user_id, now, exists, |p| p.learn(&visit))
            })
        })
        .await
}

/// A continuous evaluation that found a session or refresh token used from both another network
/// and another device (`crate::auth::continuous`).
pub struct ContextChange<'a> {
    pub user: UserId,
    /// The address, place and network kind of the use.
    pub ip: IpAddr,
    pub place: Option<Place>,
    pub network: NetworkKind,
    /// Its device ("Chrome on Windows").
    pub agent: &'a str,
    /// [`Reason::ContextChanged`], with what changed.
    pub signal: Signal,
    /// `Reauthenticate`, or `Allow` when the tenant's `on_change` is `off`.
    pub decision: Decision,
    /// The decision was applied (not audit-only, not `off`).
    pub enforced: bool,
    /// `reauthenticate` (applied) or `recorded`.
    pub result: &'static str,
}

/// Records a continuous evaluation's sign-in event (kind `continuous`, level high, the one
/// reason `context_changed`) and counts its signal. Returns the event's id.
pub async fn continuous(
    ctx: &Ctx,
    tenant: &Tenant,
    change: ContextChange<'_>,
) -> Result<String, StorageError> {
    let assessment = Assessment {
        level: Level::High,
        score: u32::from(change.signal.weight),
        signals: vec![change.signal],
        blocked: false,
        skipped: false,
    };
    let note = Note {
        event: uuid::Uuid::now_v7().to_string(),
        level: Level::High,
        reasons: vec![Reason::ContextChanged],
        decision: change.decision,
        enforced: change.enforced,
        notify: false,
        breached: false,
        visit: VisitState {
            at: ctx.clock.unix(),
            ip: Some(change.ip),
            place: change.place,
            network: Some(network_name(change.network).to_owned()),
            device: None,
            agent: Some(change.agent.to_owned()),
        },
        row: None,
        profile_exists: false,
    };
    record(
        ctx,
        tenant,
        Some(change.user),
        CONTINUOUS,
        &note,
        &assessment,
        change.agent,
        change.result,
    )
    .await?;
    Ok(note.event)
}
