//! Feedback on sign-in events (issue 11) and reading them. "This was me" (`valid`) adds the
//! event's device, country and network to the user's risk profile; "this wasn't me" (`invalid`)
//! forgets the event's device, takes the password away (only a reset link sets a new one), ends
//! every session, revokes every grant and mails a reset link. People answer through the single-use
//! link of a sign-in notice (`link`: looked at without being used, then used once, in the same
//! transaction as the feedback); operators mark events from the command line (`mark`: an
//! `invalid` mark ends access only when asked). `activity` reads events: a user's recent sign-ins
//! for the account page, a tenant's filtered list for operators. Every answer is audited
//! (`risk_feedback`, outcome the value) and counted in `watchword_risk_feedback_total{tenant,value}`.

pub mod activity;
pub mod link;
pub mod mark;

use serde::{Deserialize, Serialize};

use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::risk::place::{Place, PlaceSource};
use crate::risk::profile::Visit;
use crate::storage::{self, DbConn, StorageError, risk::SignInEvent};

/// What someone says about a sign-in event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// "This was me."
    Valid,
    /// "This wasn't me."
    Invalid,
}

impl Value {
    pub fn as_str(self) -> &'static str {
        match self {
            Value::Valid => "valid",
            Value::Invalid => "invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "valid" => Some(Value::Valid),
            "invalid" => Some(Value::Invalid),
            _ => None,
        }
    }
}

/// The event's device and place as the profile takes them (confirmed at `now`).
fn visit_of(event: &SignInEvent, now: i64) -> Visit {
    let place = (event.country.is_some() || event.asn.is_some()).then(|| Place {
        country: event.country.clone(),
        city: event.city.clone(),
        latitude: None,
        longitude: None,
        accuracy_radius_km: None,
        asn: event.asn.and_then(|a| u32::try_from(a).ok()),
        asn_org: None,
        source: PlaceSource::Database,
    });
    Visit {
        at: now,
        ip: None,
        place,
        network: None,
        device: event.device_id.clone(),
        agent: None,
    }
}

/// Writes `value` on `event` and what it means for the user's profile, inside the caller's
/// transaction: `valid` confirms the device and place, `invalid` forgets the device.
fn write_feedback(
    c: &mut DbConn,
    tenant: &Tenant,
    event: &SignInEvent,
    user: Option<UserId>,
    value: Value,
    now: i64,
) -> Result<(), StorageError> {
    storage::risk::set_feedback(c, tenant.id, &event.id, value.as_str(), now)?;
    let Some(user) = user else { return Ok(()) };
    match value {
        Value::Valid => {
            let visit = visit_of(event, now);
            storage::risk::update_profile(c, user, now, false, |p| p.confirm(&visit))
        }
        Value::Invalid => match &event.device_id {
            Some(device) => {
                storage::risk::update_profile(c, user, now, false, |p| p.disown(device))
            }
            None => Ok(()),
        },
    }
}

/// The user id of an event, if it names one.
fn user_of(event: &SignInEvent) -> Option<UserId> {
    event.user_id.as_deref().and_then(|u| u.parse().ok())
}

/// Audits and counts one answer.
async fn record(
    ctx: &Ctx,
    tenant: &Tenant,
    event: &SignInEvent,
    value: Value,
    actor: Actor,
    origin: Origin,
    details: serde_json::Value,
) {
    metrics::counter!(
        "watchword_risk_feedback_total",
        "tenant" => tenant.slug.to_string(),
        "value" => value.as_str(),
    )
    .increment(1);
    let mut details = details;
    details["risk_event"] = serde_json::Value::from(event.id.clone());
    let mut audit = AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        AuditAction::RiskFeedback,
        value.as_str(),
        actor,
    )
    .origin(origin)
    .details(details);
    if let Some(user) = &event.user_id {
        audit = audit.subject(format!("user:{user}"));
    }
    storage::audit::record(&ctx.db, audit).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> SignInEvent {
        SignInEvent {
            id: "e".into(),
            tenant_id: "t".into(),
            user_id: None,
            kind: "sign_in".into(),
            created_at: 100,
            ip: "192.0.2.1".into(),
            country: Some("DE".into()),
            city: Some("Berlin".into()),
            asn: Some(64500),
            device: "Firefox on Linux".into(),
            device_id: Some("d1".into()),
            level: "medium".into(),
            score: 40,
            reasons: "[]".into(),
            decision: "block".into(),
            enforced: true,
            result: "blocked".into(),
            feedback: None,
            feedback_at: None,
        }
    }

    #[test]
    fn a_confirmed_event_teaches_its_device_and_place() {
        let mut profile = crate::risk::profile::Profile::default();
        profile.confirm(&visit_of(&event(), 500));
        assert!(profile.knows_device("d1", 500));
        assert!(profile.knows_country("DE", 500));
        assert!(profile.knows_asn(64500, 500));
        assert_eq!(profile.successes, 0, "a confirmation is not a sign-in");
        let mut bare = event();
        (bare.country, bare.asn, bare.device_id) = (None, None, None);
        assert!(visit_of(&bare, 1).place.is_none());
    }

    #[test]
    fn values_parse() {
        for v in [Value::Valid, Value::Invalid] {
            assert_eq!(Value::parse(v.as_str()), Some(v));
        }
        assert_eq!(Value::parse("maybe"), None);
    }
}
