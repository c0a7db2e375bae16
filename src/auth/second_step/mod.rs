//! The second step of signing in, as one use case next to the password step (`super::signin`):
//! starting a step-up of an existing session, and proving something for a pending sign-in or
//! step-up (an authenticator-app code, a recovery code, the password again, or the first code of
//! an authenticator app being set up, a code sent by mail). Each proof goes through the same sequence here: is this
//! proof offered for this pending sign-in, throttle, verify, counters, audit, metrics, and
//! finishing the sign-in. WebAuthn assertions verify in `super::mfa::webauthn` and finish through
//! `prove_webauthn`. The answer is typed (`Outcome`); the web layer only renders it. Sending a
//! code by mail is `email_code_step.rs`; signing in with a passkey alone is `passkey.rs`.

use std::net::IpAddr;

use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::error::SignInError;
use super::mfa::{self, FactorError, email_code, recovery, totp, webauthn};
use super::pending_signin::{self, Finished, LevelState, NeedState, PendingSignIn};
use super::throttle;
use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::session::{Acr, Amr, BrowserSession};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage;

mod email_code_step;
mod passkey;

use email_code_step::email_code_offered;
pub use email_code_step::{CodeRequest, send_email_code};
pub use passkey::{PasskeySignIn, passkey_sign_in};

/// What a person submits for a pending sign-in.
#[derive(Clone, Copy, Debug)]
pub enum Proof<'a> {
    Totp(&'a str),
    Recovery(&'a str),
    /// A code sent by mail for this pending sign-in (`mfa::email_code`).
    EmailCode(&'a str),
    /// The password again (a step-up for a user with no second factor).
    Password(&'a str),
    /// The first code of the authenticator app being set up (`NeedState::Enrolment`).
    EnrolTotp(&'a str),
    /// A WebAuthn assertion for the ceremony `handle` (a security key or passkey the user has).
    WebAuthn {
        handle: &'a str,
        credential: &'a PublicKeyCredential,
    },
    /// A new WebAuthn credential registered during sign-in (`NeedState::Enrolment`), named `name`.
    EnrolWebAuthn {
        handle: &'a str,
        name: &'a str,
        credential: &'a RegisterPublicKeyCredential,
    },
}

impl Proof<'_> {
    fn metric_name(self) -> &'static str {
        match self {
            Proof::Totp(_) | Proof::EnrolTotp(_) => "totp",
            Proof::Recovery(_) => "recovery_code",
            Proof::EmailCode(_) => "email_code",
            Proof::Password(_) => "password",
            Proof::WebAuthn { .. } | Proof::EnrolWebAuthn { .. } => "webauthn",
        }
    }
}

/// What proving did.
pub enum Outcome {
    /// The sign-in or step-up is finished. `recovery_left` is set when a recovery code was
    /// used (the person is told how many remain).
    Finished {
        finished: Finished,
        recovery_left: Option<i64>,
    },
    /// The password was confirmed: set a second factor up next.
    PasswordConfirmed,
    /// Wrong (or replayed, or malformed): the person's message.
    Wrong(String),
    /// Too many wrong attempts: try again in `retry_after` seconds.
    Throttled { retry_after: u64 },
    /// This pending sign-in does not offer that proof (a method the user does not have, a code
    /// where a security key is required, a code where the password is due first).
    NotOffered(&'static str),
}

/// Where a started step-up goes next.
pub enum StepUpStart {
    /// A pending step-up was parked under this token; the person proves `need` next.
    Parked { token: String, need: NeedState },
    /// Second factors are turned off for the tenant.
    Refused(&'static str),
}

/// Starts a step-up of `session` to `level` (at least `mfa`). A user with a second factor proves
/// it; a user with none sets one up, after proving the password again unless the session proved
/// it within `mfa.fresh_for_secs` (a session alone may not add a first factor).
pub async fn start_step_up(
    ctx: &Ctx,
    tenant: &Tenant,
    session: &BrowserSession,
    user: &User,
    level: Acr,
    return_to: &str,
    origin: &Origin,
) -> Result<StepUpStart, SignInError> {
    if !tenant.policy.mfa.enabled() {
        return Ok(StepUpStart::Refused(mfa::changes::MFA_OFF));
    }
    let factors = mfa::factors(ctx, tenant, user).await?;
    let has_any =
        factors.any() || factors.recovery_left > 0 || email_code::available(tenant, user, &factors);
    let recent_password = session.amr.contains(&Amr::Pwd)
        && ctx.clock.unix() - session.auth_time <= tenant.policy.mfa.fresh_for_secs;
    let need = if has_any {
        NeedState::SecondFactor
    } else if recent_password {
        NeedState::Enrolment
    } else {
        NeedState::Password
    };
    let pending = PendingSignIn {
        tenant_id: tenant.id,
        user_id: user.id,
        amr: session.amr.clone(),
        need,
        step_up: Some(session.sid.clone()),
        level: LevelState::from_acr(level.max(Acr::Mfa)),
        return_to: return_to.to_owned(),
        end_other_sessions: false,
        replaces_session: None,
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        reauthenticated: false,
        reset: false,
        risk: None,
        password_tag: None,
        via: None,
    };
    let token = pending_signin::begin(ctx, &pending).await?;
    Ok(StepUpStart::Parked { token, need })
}

/// Whether `proof` is one this pending sign-in accepts, given what the user has.
async fn offered(
    ctx: &Ctx,
    tenant: &Tenant,
    pending: &PendingSignIn,
    user: &User,
    proof: Proof<'_>,
) -> Result<Result<(), &'static str>, SignInError> {
    let phr = pending.level == LevelState::Phr;
    Ok(match (pending.need, proof) {
        (NeedState::NewPassword, _) => Err("Choose your new password."),
        (NeedState::Password, Proof::Password(_)) => Ok(()),
        (NeedState::Password, _) => Err("Enter your password first."),
        (_, Proof::Password(_)) => Err("Your password is not what is asked for here."),
        (NeedState::Enrolment, Proof::EnrolTotp(_)) if !phr => Ok(()),
        (NeedState::Enrolment, Proof::EnrolWebAuthn { .. }) => Ok(()),
        (NeedState::Enrolment, _) => Err("Set up a second factor first."),
        (NeedState::SecondFactor, Proof::EnrolTotp(_) | Proof::EnrolWebAuthn { .. }) => {
            Err("Prove the second factor you have first; add new ones on the account page.")
        }
        (NeedState::SecondFactor, Proof::WebAuthn { .. }) => {
            if mfa::factors(ctx, tenant, user)
                .await?
                .credentials
                .is_empty()
            {
                Err("You have no security key or passkey registered.")
            } else {
                Ok(())
            }
        }
        (NeedState::SecondFactor, _) if phr => {
            Err("This application asks for a security key or passkey.")
        }
        (NeedState::SecondFactor, Proof::EmailCode(_)) => {
            email_code_offered(ctx, tenant, pending, user).await?
        }
        (NeedState::SecondFactor, Proof::Totp(_)) => {
            if mfa::factors(ctx, tenant, user).await?.totp {
                Ok(())
            } else {
                Err("You have no authenticator app set up.")
            }
        }
        (NeedState::SecondFactor, Proof::Recovery(_)) => {
            if mfa::factors(ctx, tenant, user).await?.recovery_left > 0 {
                Ok(())
            } else {
                Err("You have no recovery codes left.")
            }
        }
    })
}

fn event(
    ctx: &Ctx,
    tenant: &Tenant,
    action: AuditAction,
    outcome: &str,
    user: &User,
    origin: &Origin,
) -> AuditEvent {
    AuditEvent::new(
        ctx.clock.now(),
        Some(tenant.id),
        action,
        outcome,
        Actor::User(user.id.to_string()),
    )
    .subject(format!("user:{}", user.id))
    .origin(origin.clone())
}

/// Counts a second-factor attempt (`watchword_second_factor_attempts_total`).
pub fn count(tenant: &Tenant, method: &'static str, result: &'static str) {
    metrics::counter!(
        "watchword_second_factor_attempts_total",
        "tenant" => tenant.slug.to_string(),
        "method" => method,
        "result" => result,
    )
    .increment(1);
}

/// Proves `proof` for the pending sign-in behind `token`: throttle, verify, count, audit and,
/// when proven, finish the sign-in (or move a password step on to set a factor up).
#[allow(clippy::too_many_arguments)]
pub async fn prove(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    pending: &PendingSignIn,
    user: &User,
    proof: Proof<'_>,
    ip: IpAddr,
    origin: &Origin,
) -> Result<Outcome, SignInError> {
    if let Err(why) = offered(ctx, tenant, pending, user, proof).await? {
        return Ok(Outcome::NotOffered(why));
    }
    let name = proof.metric_name();
    let user_id = user.id.to_string();
    let action = match proof {
        Proof::Password(_) => AuditAction::PasswordConfirmed,
        Proof::EnrolTotp(_) | Proof::EnrolWebAuthn { .. } => AuditAction::FactorAdded,
        _ => AuditAction::SecondFactor,
    };
    if let Some(wait) = throttle::check_second_factor(ctx, tenant, &user_id, ip).await? {
        count(tenant, name, "throttled");
        let refused = event(ctx, tenant, action, "throttled", user, origin)
            .details(serde_json::json!({ "method": name, "retry_after": wait }));
        throttle::audit_refusal(ctx, tenant, &["second_factor", &user_id], refused).await?;
        return Ok(Outcome::Throttled { retry_after: wait });
    }
    let proven = match verify(ctx, tenant, user, token, proof).await? {
        Ok(proven) => proven,
        Err(msg) => {
            count(tenant, name, "failure");
            throttle::second_factor_failed(ctx, tenant, &user_id, ip).await?;
            let failed = event(ctx, tenant, action, "failure", user, origin)
                .details(serde_json::json!({ "method": name, "reason": msg }));
            storage::audit::record(&ctx.db, failed).await;
            return Ok(Outcome::Wrong(msg));
        }
    };
    count(tenant, name, "success");
    throttle::second_factor_succeeded(ctx, tenant, &user_id, ip).await?;
    let done = event(ctx, tenant, action, "success", user, origin).details(proven.details);
    storage::audit::record(&ctx.db, done).await;
    if proven.methods.is_empty() {
        pending_signin::password_confirmed(ctx, token, pending).await?;
        return Ok(Outcome::PasswordConfirmed);
    }
    let finished = pending_signin::finish(
        ctx,
        tenant,
        user,
        token,
        pending,
        &proven.methods,
        origin.request_id.clone(),
    )
    .await?;
    Ok(Outcome::Finished {
        finished,
        recovery_left: proven.recovery_left,
    })
}

/// What a proof proved: the methods (none for the password step, which only moves the step on),
/// the recovery codes left, and the audit details.
struct Proven {
    methods: Vec<Amr>,
    recovery_left: Option<i64>,
    details: serde_json::Value,
}

impl Proven {
    fn method(method: Amr, name: &str) -> Self {
        Self {
            methods: vec![method],
            recovery_left: None,
            details: serde_json::json!({ "method": name }),
        }
    }
}

/// Checks the proof: what it proved, or the person's message.
async fn verify(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    pending_token: &str,
    proof: Proof<'_>,
) -> Result<Result<Proven, String>, SignInError> {
    let result = match proof {
        Proof::EmailCode(code) => {
            if email_code::redeem(ctx, tenant, user, pending_token, code).await? {
                Ok(Proven::method(Amr::Mail, "email_code"))
            } else {
                Err(FactorError::WrongEmailCode)
            }
        }
        Proof::Totp(code) => totp::verify(ctx, tenant, user, code, totp::Purpose::Verify)
            .await
            .map(|()| Proven::method(Amr::Otp, "totp")),
        Proof::EnrolTotp(code) => totp::verify(ctx, tenant, user, code, totp::Purpose::Confirm)
            .await
            .map(|()| Proven {
                details: serde_json::json!({ "factor": "totp", "during": "sign_in" }),
                ..Proven::method(Amr::Otp, "totp")
            }),
        Proof::Recovery(code) => recovery::redeem(ctx, user, code).await.map(|left| Proven {
            recovery_left: Some(left),
            details: serde_json::json!({ "method": "recovery_code", "recovery_codes_left": left }),
            ..Proven::method(Amr::Rec, "recovery_code")
        }),
        Proof::WebAuthn { handle, credential } => {
            webauthn::finish_authentication(ctx, tenant, user, handle, credential)
                .await
                .map(|methods| Proven {
                    methods,
                    recovery_left: None,
                    details: serde_json::json!({ "method": "webauthn" }),
                })
        }
        Proof::EnrolWebAuthn {
            handle,
            name,
            credential,
        } => webauthn::finish_registration(ctx, tenant, user, handle, name, credential)
            .await
            .map(|row| Proven {
                // Registering proves possession of the new credential, not who the user is:
                // no `user` method, so it is never a new authentication by itself.
                methods: vec![if row.backup_eligible {
                    Amr::Swk
                } else {
                    Amr::Hwk
                }],
                recovery_left: None,
                details: serde_json::json!({
                    "factor": if row.discoverable { "passkey" } else { "security_key" },
                    "name": row.name,
                    "during": "sign_in",
                }),
            }),
        Proof::Password(password) => {
            let (t, u) = (tenant.id, user.id);
            let stored = ctx
                .db
                .run(move |c| storage::users::find_by_id(c, t, u))
                .await?
                .and_then(|found| found.password_hash);
            let verified = ctx.hasher.verify(password, stored.as_deref()).await?;
            return Ok(if verified.ok {
                Ok(Proven {
                    methods: Vec::new(),
                    recovery_left: None,
                    details: serde_json::json!({ "method": "password" }),
                })
            } else {
                Err("That password is not right.".into())
            });
        }
    };
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(FactorError::Storage(e)) => Err(e.into()),
        Err(FactorError::Store(e)) => Err(e.into()),
        Err(e) => Ok(Err(e.to_string())),
    }
}
