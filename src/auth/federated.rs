//! The engine's end of a sign-in through an upstream identity provider (`crate::federation`
//! proves who the person is upstream and finds their account): everything a local sign-in
//! gets still applies here: disabled accounts, risk scoring (before and after), the tenant's
//! MFA policy unless the provider's multi-factor authentication counts as ours, the session
//! limit (a federated session evicts like any other), audit and metrics.

use super::error::SignInError;
use super::mfa::Need;
use super::pending_signin::{LevelState, NeedState, PendingSignIn};
use super::session_start::{SessionRequest, Started, start_session};
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::session::Amr;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

/// A person proven upstream, and the account they are.
pub struct FederatedProof<'a> {
    pub user: &'a User,
    /// The upstream proved multi-factor authentication and the provider's counts as ours.
    pub mfa: bool,
    /// "Contoso (entra)", for audit.
    pub provider: &'a str,
    /// The session to start (`via` set to the provider).
    pub request: SessionRequest,
    /// This browser's known-device cookie, if any (risk scoring).
    pub device: Option<&'a str>,
    pub return_to: &'a str,
}

#[derive(Debug)]
pub enum FederatedResult {
    /// The session was started (or refused by the session limit).
    Started(Started),
    /// Our own second factor (or setting one up) comes next; `token` is the pending sign-in.
    MoreNeeded {
        token: String,
        need: NeedState,
    },
    Disabled,
    /// Refused by risk scoring (a blocked network or level).
    Blocked,
    /// Risk scoring requires a second factor the user cannot give from here.
    RiskDenied,
}

pub async fn sign_in(
    ctx: &Ctx,
    tenant: &Tenant,
    proof: FederatedProof<'_>,
) -> Result<FederatedResult, SignInError> {
    let user = proof.user;
    let origin = proof.request.origin.clone();
    let audit = |outcome: &str, details: serde_json::Value| {
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::SignIn,
            outcome,
            Actor::User(user.id.to_string()),
        )
        .origin(origin.clone())
        .subject(format!("user:{}", user.id))
        .details(details)
    };
    let via = serde_json::json!({ "via": proof.provider });
    if !user.enabled {
        storage::audit::record(&ctx.db, audit("disabled", via)).await;
        return Ok(FederatedResult::Disabled);
    }
    let ip = origin
        .ip
        .as_deref()
        .and_then(|i| i.parse().ok())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let ua = origin.user_agent.as_deref().unwrap_or("");
    let screening = super::risk::screen(ctx, tenant, ip).await?;
    if screening.blocks(tenant) {
        let note = super::risk::blocked_early(ctx, tenant, &screening, Some(user.id), ua).await?;
        let details = serde_json::json!({
            "via": proof.provider, "risk_event": note.event, "reasons": note.reasons,
        });
        storage::audit::record(&ctx.db, audit("risk_blocked", details)).await;
        return Ok(FederatedResult::Blocked);
    }
    let factors = super::mfa::factors(ctx, tenant, user).await?;
    let need = if proof.mfa {
        Need::Nothing
    } else {
        super::mfa::needs(tenant, user, &factors)
    };
    let known = proof
        .device
        .and_then(|d| super::throttle::known_device(ctx, tenant, &user.id.to_string(), d));
    let judged = super::risk::judge(
        ctx,
        tenant,
        &screening,
        super::risk::Proven {
            user,
            factors: &factors,
            need,
            device_presented: known.is_some(),
            device: known,
            user_agent: ua,
            account_failures: 0,
            address_failures: 0,
            breached: false,
            strong: proof.mfa,
        },
    )
    .await?;
    let details = serde_json::json!({
        "via": proof.provider,
        "risk_event": judged.note.event,
        "risk_level": judged.note.level,
        "reasons": judged.note.reasons,
    });
    match judged.decision {
        super::risk::Decision::Block => {
            storage::audit::record(&ctx.db, audit("risk_blocked", details)).await;
            if judged.note.notify {
                super::risk_notice::send(ctx, tenant, user, &judged.note).await;
            }
            return Ok(FederatedResult::Blocked);
        }
        super::risk::Decision::Deny => {
            storage::audit::record(&ctx.db, audit("risk_denied", details)).await;
            return Ok(FederatedResult::RiskDenied);
        }
        _ => {}
    }
    let need = match judged.decision {
        super::risk::Decision::SecondFactor if !proof.mfa => Need::SecondFactor,
        _ => need,
    };
    let mut note = judged.note;
    let mut amr = vec![Amr::Fed];
    if proof.mfa {
        amr.push(Amr::Xmfa);
    }
    if need != Need::Nothing {
        super::risk::park(ctx, &mut note).await?;
        let request = &proof.request;
        let pending = PendingSignIn {
            tenant_id: tenant.id,
            user_id: user.id,
            amr,
            need: need.into(),
            step_up: None,
            level: LevelState::Mfa,
            return_to: proof.return_to.to_owned(),
            end_other_sessions: request.end_other_sessions,
            replaces_session: request.replaces_session.clone(),
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            reauthenticated: false,
            reset: false,
            risk: Some(note),
            password_tag: None,
            via: request.via.clone(),
        };
        let token = super::pending_signin::begin(ctx, &pending).await?;
        storage::audit::record(&ctx.db, audit("upstream_verified", details)).await;
        return Ok(FederatedResult::MoreNeeded {
            token,
            need: pending.need,
        });
    }
    let mut request = proof.request;
    request.risk = Some(note);
    let started = start_session(ctx, tenant, user, amr, &request).await?;
    Ok(FederatedResult::Started(started))
}
