//! Signing in with a passkey alone (a discoverable credential with user verification): the
//! network screened first, the assertion verified, risk judged, then the session started.

use webauthn_rs::prelude::PublicKeyCredential;

use super::super::error::SignInError;
use super::super::mfa::{FactorError, webauthn};
use super::count;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

/// What signing in with a passkey alone did.
pub enum PasskeySignIn {
    Started {
        user: Box<User>,
        started: super::super::session_start::Started,
    },
    /// The assertion was refused (audited `passkey_refused`).
    Refused(FactorError),
    /// The passkey's user is disabled.
    Disabled,
    /// Refused by risk scoring (a blocked network, or a level whose action is `block`).
    Blocked,
}

/// Signs in with a passkey alone (a discoverable credential with user verification): verify the
/// assertion for the ceremony `handle` (started in this tenant), then start the session.
pub async fn passkey_sign_in(
    ctx: &Ctx,
    tenant: &Tenant,
    handle: &str,
    credential: &PublicKeyCredential,
    request: &super::super::session_start::SessionRequest,
    device: Option<&str>,
) -> Result<PasskeySignIn, SignInError> {
    let ip = request
        .origin
        .ip
        .as_deref()
        .and_then(|i| i.parse().ok())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let screening = super::super::risk::screen(ctx, tenant, ip).await?;
    let ua = request.origin.user_agent.as_deref().unwrap_or("");
    if screening.blocks(tenant) {
        super::super::risk::blocked_early(ctx, tenant, &screening, None, ua).await?;
        return Ok(PasskeySignIn::Blocked);
    }
    let (user_id, methods) =
        match webauthn::finish_passwordless(ctx, tenant, handle, credential).await {
            Ok(v) => v,
            Err(FactorError::Storage(e)) => return Err(e.into()),
            Err(FactorError::Store(e)) => return Err(e.into()),
            Err(e) => {
                count(tenant, "passkey", "failure");
                let event = AuditEvent::new(
                    ctx.clock.now(),
                    Some(tenant.id),
                    AuditAction::SignIn,
                    "passkey_refused",
                    Actor::Anonymous,
                )
                .origin(request.origin.clone())
                .details(serde_json::json!({ "reason": e.to_string() }));
                storage::audit::record(&ctx.db, event).await;
                return Ok(PasskeySignIn::Refused(e));
            }
        };
    let (t, u) = (tenant.id, user_id);
    let Some(user) = ctx
        .db
        .run(move |c| storage::users::find_by_id(c, t, u))
        .await?
        .map(|found| found.user)
        .filter(|u| u.enabled)
    else {
        return Ok(PasskeySignIn::Disabled);
    };
    count(tenant, "passkey", "success");
    let factors = super::super::mfa::factors(ctx, tenant, &user).await?;
    let known = device
        .and_then(|d| super::super::throttle::known_device(ctx, tenant, &user.id.to_string(), d));
    let judged = super::super::risk::judge(
        ctx,
        tenant,
        &screening,
        super::super::risk::Proven {
            user: &user,
            factors: &factors,
            need: super::super::mfa::Need::Nothing,
            device_presented: known.is_some(),
            device: known,
            user_agent: ua,
            account_failures: 0,
            address_failures: 0,
            breached: false,
            strong: true,
        },
    )
    .await?;
    if judged.decision == super::super::risk::Decision::Block {
        let event = AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::SignIn,
            "risk_blocked",
            Actor::User(user.id.to_string()),
        )
        .origin(request.origin.clone())
        .subject(format!("user:{}", user.id))
        .details(
            serde_json::json!({ "risk_event": judged.note.event, "reasons": judged.note.reasons }),
        );
        storage::audit::record(&ctx.db, event).await;
        if judged.note.notify {
            super::super::risk_notice::send(ctx, tenant, &user, &judged.note).await;
        }
        return Ok(PasskeySignIn::Blocked);
    }
    let request = &super::super::session_start::SessionRequest {
        risk: Some(judged.note),
        ..request.clone()
    };
    let started =
        super::super::session_start::start_session(ctx, tenant, &user, methods, request).await?;
    Ok(PasskeySignIn::Started {
        user: Box::new(user),
        started,
    })
}
