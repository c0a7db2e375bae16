//! Reading sign-in events: a user's recent activity (the account page: time, device, approximate
//! place and coarse network, never the address, result, and why a second factor was asked or the
//! sign-in refused), a tenant's events for operators (filters by user, level, decision, time)
//! and their counts by result and level over a period (the admin dashboard).

use serde::Serialize;

use crate::admin::AdminError;
use crate::context::Ctx;
use crate::domain::ids::UserId;
use crate::domain::tenant::Tenant;
use crate::risk::Reason;
use crate::storage::{self, risk::Filter, risk::SignInEvent};

/// Events the account page lists.
pub const RECENT: i64 = 20;

/// A sign-in event as people see it: no address, a place in words, reasons as codes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Activity {
    pub id: String,
    /// `sign_in` or `continuous`.
    pub kind: String,
    pub at: i64,
    /// The browser family and system ("Firefox on Linux").
    pub device: String,
    /// "Berlin, DE (AS64500)", "unknown".
    pub place: String,
    /// The network, coarsely ("203.0.x.x", "2001:db8::/32").
    pub network: Option<String>,
    pub level: String,
    pub decision: String,
    /// The decision was applied (not audit-only).
    pub enforced: bool,
    pub result: String,
    /// The signals that weighed (informational ones such as an internal address left out).
    pub reasons: Vec<Reason>,
    pub feedback: Option<String>,
}

impl Activity {
    pub fn of(e: &SignInEvent) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind.clone(),
            at: e.created_at,
            device: e.device.clone(),
            place: crate::domain::place::words(
                e.city.as_deref(),
                e.country.as_deref(),
                e.asn.and_then(|a| u32::try_from(a).ok()),
            ),
            network: crate::domain::place::coarse_network(&e.ip),
            level: e.level.clone(),
            decision: e.decision.clone(),
            enforced: e.enforced,
            result: e.result.clone(),
            reasons: weighed_reasons(&e.reasons),
            feedback: e.feedback.clone(),
        }
    }

    /// Why a second factor was asked, or the sign-in refused: the reasons, when risk decided
    /// so (empty for an allowed sign-in or one only recorded in audit-only mode).
    pub fn why(&self) -> &[Reason] {
        let decided = matches!(self.decision.as_str(), "second_factor" | "block" | "deny");
        if decided && self.enforced {
            &self.reasons
        } else {
            &[]
        }
    }
}

/// The reason codes of an event's stored signals (`[{"code":…,"weight":…}]`) that weighed,
/// heaviest first.
pub fn weighed_reasons(json: &str) -> Vec<Reason> {
    let signals: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    let mut weighed: Vec<(u64, Reason)> = signals
        .iter()
        .filter_map(|s| {
            let weight = s["weight"].as_u64().filter(|w| *w > 0)?;
            Some((weight, s["code"].as_str().and_then(Reason::parse)?))
        })
        .collect();
    weighed.sort_by_key(|w| std::cmp::Reverse(w.0));
    weighed.into_iter().map(|(_, r)| r).collect()
}

/// The user's latest [`RECENT`] events, newest first.
pub async fn recent(ctx: &Ctx, tenant: &Tenant, user: UserId) -> Result<Vec<Activity>, AdminError> {
    let filter = Filter {
        user: Some(user),
        limit: RECENT,
        ..Filter::default()
    };
    let tenant_id = tenant.id;
    let events = ctx
        .db
        .run(move |c| storage::risk::list(c, tenant_id, &filter))
        .await?;
    Ok(events.iter().map(Activity::of).collect())
}

/// A tenant's events for an administrator with `events:read` (newest first, at most
/// `storage::risk::MAX_PAGE`).
pub async fn list(
    ctx: &Ctx,
    tenant: &Tenant,
    filter: Filter,
    by: &crate::admin::authz::Admin,
) -> Result<Vec<SignInEvent>, AdminError> {
    use crate::domain::admin::{Module, Permission};
    by.require(tenant.id, Permission::read(Module::Events))?;
    let tenant_id = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::risk::list(c, tenant_id, &filter))
        .await?)
}

/// A tenant's sign-in events of a period, counted by result and by risk level (each list
/// largest first).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub total: i64,
    pub by_result: Vec<(String, i64)>,
    pub by_level: Vec<(String, i64)>,
}

/// The tenant's sign-in events since `since` (Unix seconds), counted (one grouped query).
pub async fn summary(ctx: &Ctx, tenant: &Tenant, since: i64) -> Result<Summary, AdminError> {
    let tenant_id = tenant.id;
    let rows = ctx
        .db
        .run(move |c| storage::risk::counts_since(c, tenant_id, since))
        .await?;
    Ok(summarize(rows))
}

fn summarize(rows: Vec<(String, String, i64)>) -> Summary {
    use std::collections::BTreeMap;
    let (mut by_result, mut by_level) = (BTreeMap::new(), BTreeMap::new());
    let mut total = 0;
    for (result, level, n) in rows {
        total += n;
        *by_result.entry(result).or_insert(0) += n;
        *by_level.entry(level).or_insert(0) += n;
    }
    let sorted = |m: BTreeMap<String, i64>| {
        let mut v: Vec<(String, i64)> = m.into_iter().collect();
        v.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        v
    };
    Summary {
        total,
        by_result: sorted(by_result),
        by_level: sorted(by_level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_by_result_and_by_level() {
        let row = |r: &str, l: &str, n| (r.to_owned(), l.to_owned(), n);
        let s = summarize(vec![
            row("success", "low", 5),
            row("blocked", "high", 2),
            row("success", "high", 1),
        ]);
        assert_eq!(s.total, 8);
        assert_eq!(
            s.by_result,
            vec![("success".into(), 6), ("blocked".into(), 2)]
        );
        assert_eq!(s.by_level, vec![("low".into(), 5), ("high".into(), 3)]);
    }

    #[test]
    fn reasons_that_weighed_and_why() {
        let json = r#"[{"code":"internal_address","weight":0,"details":{}},
            {"code":"geo_unknown","weight":5,"details":{}},
            {"code":"new_device","weight":20,"details":{}},
            {"code":"unknown_future_code","weight":9,"details":{}}]"#;
        assert_eq!(
            weighed_reasons(json),
            vec![Reason::NewDevice, Reason::GeoUnknown]
        );
        assert!(weighed_reasons("not json").is_empty());
        let event = SignInEvent {
            id: "e".into(),
            tenant_id: "t".into(),
            user_id: None,
            kind: "sign_in".into(),
            created_at: 1,
            ip: "203.0.113.77".into(),
            country: None,
            city: None,
            asn: None,
            device: "Firefox on Linux".into(),
            device_id: None,
            level: "medium".into(),
            score: 20,
            reasons: json.into(),
            decision: "second_factor".into(),
            enforced: true,
            result: "success".into(),
            feedback: None,
            feedback_at: None,
        };
        let a = Activity::of(&event);
        assert_eq!(a.network.as_deref(), Some("203.0.x.x"));
        assert_eq!(a.place, "unknown");
        assert_eq!(a.why(), &[Reason::NewDevice, Reason::GeoUnknown]);
        let audit_only = Activity {
            enforced: false,
            ..a.clone()
        };
        assert!(audit_only.why().is_empty());
        let allowed = Activity {
            decision: "allow".into(),
            ..a
        };
        assert!(allowed.why().is_empty());
    }
}
