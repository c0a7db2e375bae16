//! Risk scoring in the sign-in engine: [`screen`] before the password is checked (the tenant's
//! blocked and skipped ranges, listed networks, password spraying: a block here costs no
//! hashing), [`judge`] once the first factor is proven (device, place, travel, failures, breached
//! password, against the user's profile), which turns the level into a [`Decision`] under the
//! tenant's policy and the user's factors, records the sign-in event and carries a [`Note`]
//! through the rest of the sign-in; [`signed_in`] learns from a finished sign-in. Every path
//! (password page, JSON endpoint, passkey, later federation) goes through here. What it writes
//! and counts (sign-in events, results, metrics) is `events.rs`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::error::SignInError;
use super::mfa::Need;
use super::throttle;
use crate::context::Ctx;
use crate::domain::risk::{Action, Level};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::risk::Reason;
use crate::risk::assess::{self, Assessment, Before};
use crate::risk::network::NetworkKind;
use crate::risk::place::Place;
use crate::risk::profile::{Visit, network_name};
use crate::risk::travel::TravelRules;
use crate::session_store::StoreError;
mod events;

use crate::storage::{self, factors::Factors, risk::SignInEvent};
pub use events::{ContextChange, blocked_early, continuous, finished, park, signed_in};
use events::{count, event_row};

/// The `kind` of a sign-in's event.
const SIGN_IN: &str = "sign_in";
/// The `kind` of a continuous evaluation's event.
const CONTINUOUS: &str = "continuous";

/// What the pre-password screening found.
#[derive(Clone, Debug)]
pub struct Screening {
    pub ip: IpAddr,
    pub place: Option<Place>,
    pub network: NetworkKind,
    pub assessment: Assessment,
    /// Risk scoring is off for the tenant.
    pub off: bool,
}

impl Screening {
    /// Refused before the password is checked: a blocked range, or a level whose action is
    /// `block` (enforced unless the tenant is audit-only).
    pub fn blocks(&self, tenant: &Tenant) -> bool {
        let policy = &tenant.policy.risk;
        !self.off
            && !policy.audit_only
            && (self.assessment.blocked
                || policy.actions.of(self.assessment.level).action == Action::Block)
    }
}

/// Screens an attempt from `ip` before its password is looked at.
pub async fn screen(ctx: &Ctx, tenant: &Tenant, ip: IpAddr) -> Result<Screening, StoreError> {
    let policy = &tenant.policy.risk;
    let locator = ctx.risk_place.clone();
    let network = locator.network(ip);
    let place = locator.place(ip);
    let off = !policy.enabled;
    let failed_usernames = if off {
        0
    } else {
        throttle::spraying::distinct_failures(ctx, tenant, ip).await?
    };
    let assessment = if off {
        Assessment {
            level: Level::Low,
            score: 0,
            signals: Vec::new(),
            blocked: false,
            skipped: false,
        }
    } else {
        assess::before_password(
            policy,
            &Before {
                ip,
                network,
                failed_usernames,
            },
        )
    };
    Ok(Screening {
        ip,
        place,
        network,
        assessment,
        off,
    })
}

/// What a judged sign-in must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Go on as the tenant's MFA policy says.
    Allow,
    /// A second factor first (one the user has, or a code by mail).
    SecondFactor,
    /// Refused; answered like a wrong password (the attacker learns nothing), the user is told
    /// by mail when the level notifies.
    Block,
    /// A second factor is required and the user has none that may be used from here (a risky
    /// sign-in never sets one up): refused with a page saying so.
    Deny,
    /// Continuous evaluation: a session or refresh token used from both another network and
    /// another device must sign in again (the session ended, the refresh-token family revoked).
    Reauthenticate,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::SecondFactor => "second_factor",
            Decision::Block => "block",
            Decision::Deny => "deny",
            Decision::Reauthenticate => "reauthenticate",
        }
    }
}

/// A judged sign-in, carried with it until its session starts (in the pending sign-in and the
/// session request).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Note {
    /// The sign-in event's id.
    pub event: String,
    pub level: Level,
    pub reasons: Vec<Reason>,
    pub decision: Decision,
    pub enforced: bool,
    /// Mail the user a notice once signed in.
    pub notify: bool,
    /// The password is known from breaches: a new password before any token.
    pub breached: bool,
    /// What the profile learns when the sign-in finishes.
    pub visit: VisitState,
    /// The event, when it is written only as the sign-in finishes (an allowed sign-in: its row,
    /// its result and the profile's update are one transaction then).
    #[serde(default)]
    pub row: Option<Box<SignInEvent>>,
    /// The user had a profile when judged (its row need not be created).
    #[serde(default)]
    pub profile_exists: bool,
}

impl Note {
    /// The sign-in was medium or high risk (enforced): its session may not set up factors
    /// unless it proved one.
    pub fn risky(&self) -> bool {
        self.enforced && self.level >= Level::Medium
    }
}

/// The serializable form of a [`Visit`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VisitState {
    pub at: i64,
    pub ip: Option<IpAddr>,
    pub place: Option<Place>,
    pub network: Option<String>,
    pub device: Option<String>,
    pub agent: Option<String>,
}

impl VisitState {
    pub fn visit(&self) -> Visit {
        Visit {
            at: self.at,
            ip: self.ip,
            place: self.place.clone(),
            network: self.network.as_deref().map(|n| match n {
                "internal" => NetworkKind::Internal,
                "anonymizer" => NetworkKind::Anonymizer,
                "hosting" => NetworkKind::Hosting,
                _ => NetworkKind::Public,
            }),
            device: self.device.clone(),
            agent: self.agent.clone(),
        }
    }
}

/// What is known once the first factor is proven.
pub struct Proven<'a> {
    pub user: &'a User,
    pub factors: &'a Factors,
    /// What the tenant's MFA policy asks of this user anyway.
    pub need: Need,
    /// This browser's known-device id for the account (from its valid cookie), or a new one
    /// that it is being given.
    pub device: Option<String>,
    /// Whether `device` came from a valid cookie the browser sent.
    pub device_presented: bool,
    pub user_agent: &'a str,
    pub account_failures: u64,
    pub address_failures: u64,
    pub breached: bool,
    /// The first factor already counts as a second one (a passkey).
    pub strong: bool,
}

/// The judgement of a sign-in.
pub struct Judged {
    /// What to do (in audit-only mode always `Allow`).
    pub decision: Decision,
    pub note: Note,
    pub assessment: Assessment,
}

/// Judges a sign-in whose first factor is proven: the level, the decision, the event recorded.
pub async fn judge(
    ctx: &Ctx,
    tenant: &Tenant,
    screening: &Screening,
    proven: Proven<'_>,
) -> Result<Judged, SignInError> {
    let policy = &tenant.policy.risk;
    let now = ctx.clock.now();
    let agent = crate::domain::device::describe(proven.user_agent);
    let user_id = proven.user.id;
    let profile = if screening.off {
        None
    } else {
        ctx.db
            .run(move |c| storage::risk::profile(c, user_id))
            .await?
    };
    let profile_exists = profile.is_some();
    let profile = profile.unwrap_or_default();
    let presented = proven.device.as_deref().filter(|_| proven.device_presented);
    let assessment = if screening.off {
        screening.assessment.clone()
    } else {
        assess::after_password(
            policy,
            &profile,
            &screening.assessment,
            &assess::After {
                ip: screening.ip,
                place: screening.place.as_ref(),
                network: screening.network,
                device: presented,
                agent: &agent,
                now,
                account_failures: proven.account_failures,
                address_failures: proven.address_failures,
                breached: proven.breached,
            },
            &TravelRules::default(),
        )
    };
    let action = policy.actions.of(assessment.level);
    let decided = if screening.off {
        Decision::Allow
    } else {
        decide(tenant, &proven, &assessment, action.action)
    };
    let enforced = !screening.off && !policy.audit_only;
    let decision = if enforced { decided } else { Decision::Allow };
    let new_sign_in = assessment.has(Reason::NewDevice) || assessment.has(Reason::NewCountry);
    let notify = !screening.off && (action.notify || (policy.notify_new_sign_in && new_sign_in));
    let note = Note {
        event: uuid::Uuid::now_v7().to_string(),
        level: assessment.level,
        reasons: assessment.signals.iter().map(|s| s.code).collect(),
        decision: decided,
        enforced,
        notify,
        breached: proven.breached && enforced && decided != Decision::Block,
        visit: VisitState {
            at: now.timestamp(),
            ip: Some(screening.ip),
            place: screening.place.clone(),
            network: Some(network_name(screening.network).to_owned()),
            device: proven.device.clone(),
            agent: Some(agent.clone()),
        },
        row: None,
        profile_exists,
    };
    let mut note = note;
    let result = match decision {
        Decision::Block => "blocked",
        Decision::Deny => "denied",
        Decision::SecondFactor => "pending",
        Decision::Allow => "success",
        Decision::Reauthenticate => "reauthenticate",
    };
    let row = event_row(
        tenant,
        Some(user_id),
        SIGN_IN,
        &note,
        &assessment,
        &agent,
        result,
    );
    count(tenant, SIGN_IN, &note, &assessment.signals);
    if decision == Decision::Allow {
        // Written with the profile's update once the session exists (one transaction).
        note.row = Some(Box::new(row));
    } else {
        ctx.db
            .write(move |c| storage::risk::insert(c, &row))
            .await?;
    }
    Ok(Judged {
        decision,
        note,
        assessment,
    })
}

/// The decision for a level's action, given the user's factors.
fn decide(tenant: &Tenant, proven: &Proven<'_>, a: &Assessment, action: Action) -> Decision {
    if a.blocked || action == Action::Block {
        return Decision::Block;
    }
    if proven.strong {
        return Decision::Allow;
    }
    let has_factor = proven.factors.any() || proven.factors.recovery_left > 0;
    let by_mail =
        super::mfa::email_code::available(tenant, proven.user, proven.factors) && !has_factor;
    let can_prove = has_factor || by_mail;
    let risky = a.level >= Level::Medium;
    if proven.breached {
        // A breached password proves nothing by itself: a second factor, then a new password.
        return if can_prove {
            Decision::SecondFactor
        } else {
            Decision::Deny
        };
    }
    match action {
        Action::MfaRequired if can_prove => Decision::SecondFactor,
        Action::MfaRequired => Decision::Deny,
        Action::MfaIfEnrolled if can_prove => Decision::SecondFactor,
        // A risky sign-in never sets a first factor up.
        _ if risky && proven.need == Need::Enrolment => Decision::Deny,
        _ => Decision::Allow,
    }
}
