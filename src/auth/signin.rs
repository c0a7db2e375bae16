//! Password sign-in: find the user, verify the password (against a dummy hash when the user is
//! unknown, so both cases cost the same), refuse disabled accounts, upgrade outdated hashes,
//! replace any previous session with a new one (no fixation), audit and count every attempt.

use crate::context::Ctx;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::session::Amr;
use crate::domain::tenant::Tenant;
use crate::domain::user::{LoginIdentifier, User};
use crate::storage;

use super::throttle::{self, Verdict};

pub use super::error::SignInError;
pub use super::session_start::{SessionRequest, Started, start_session};

/// Longest identifier or password looked at; longer input fails like a wrong password.
const MAX_IDENTIFIER_CHARS: usize = 254;
const MAX_PASSWORD_BYTES: usize = 4096;

pub struct PasswordSignIn<'a> {
    pub tenant: &'a Tenant,
    pub identifier: &'a str,
    pub password: &'a str,
    pub origin: Origin,
    /// The cookie of a session this browser already has: for the same user it continues under a
    /// new cookie token; another user's (or a timed-out) session is handed back to be ended.
    pub replaces_session: Option<String>,
    /// The user has confirmed ending their other sessions to make room (after a `deny_new`
    /// refusal): the oldest are evicted whatever the tenant's `on_limit`.
    pub end_other_sessions: bool,
    /// The client's address (throttling).
    pub ip: std::net::IpAddr,
    /// The browser's known-device cookie, if it has one (throttling: see `super::throttle`).
    pub device: Option<String>,
    /// Where to continue after signing in (a same-origin path), kept if a second step follows.
    pub return_to: &'a str,
}

impl PasswordSignIn<'_> {
    fn session_request(&self, risk: Option<super::risk::Note>) -> SessionRequest {
        SessionRequest {
            origin: self.origin.clone(),
            replaces_session: self.replaces_session.clone(),
            end_other_sessions: self.end_other_sessions,
            risk,
            via: None,
        }
    }
}

#[derive(Debug)]
pub enum SignInResult {
    /// The password was right and no second factor is needed: the session was started, or the
    /// session limit refused it (`Started::Denied`). The caller ends replaced and evicted
    /// sessions (`crate::lifecycle`) and gives the browser its cookies.
    Done {
        user: Box<User>,
        started: Started,
        /// The known-device cookie to give this browser.
        device: String,
    },
    /// Too many failed attempts: this one was not evaluated. Try again in `retry_after` seconds.
    Throttled { retry_after: u64 },
    /// The password is right; a second factor (or setting one up) comes next. `token` goes into
    /// the browser's pending sign-in cookie (see `super::pending_signin`).
    MoreNeeded {
        token: String,
        need: super::pending_signin::NeedState,
        device: String,
    },
    /// Unknown user or wrong password: deliberately indistinguishable.
    InvalidCredentials,
    /// Refused by risk scoring: before the password was checked (a blocked network, or a level
    /// whose action is `block`) or after it. Answered like `InvalidCredentials` so that an
    /// attacker learns nothing about the password; the user is told by mail where the policy
    /// says so.
    Blocked,
    /// The password is right, but risk scoring requires a second factor the user cannot give
    /// from here (none set up, no code by mail; a risky sign-in never sets one up), or the
    /// password is breached and there is no second factor to prove before changing it.
    RiskDenied { breached: bool },
    /// Correct password, but the account is disabled.
    Disabled,
}

pub async fn password_sign_in(
    ctx: &Ctx,
    req: PasswordSignIn<'_>,
) -> Result<SignInResult, SignInError> {
    let result = attempt(ctx, &req).await;
    let label = match &result {
        Ok(SignInResult::Done {
            started: Started::Session { .. },
            ..
        }) => "success",
        Ok(SignInResult::Done {
            started: Started::Denied { .. },
            ..
        }) => "session_limit",
        Ok(SignInResult::InvalidCredentials) => "invalid_credentials",
        Ok(SignInResult::Blocked) => "risk_blocked",
        Ok(SignInResult::RiskDenied { .. }) => "risk_denied",
        Ok(SignInResult::Disabled) => "disabled",
        Ok(SignInResult::Throttled { .. }) => "throttled",
        Ok(SignInResult::MoreNeeded { .. }) => "second_factor_needed",
        Err(SignInError::Busy(_)) => "busy",
        Err(_) => "error",
    };
    metrics::counter!(
        "watchword_signin_attempts_total",
        "tenant" => req.tenant.slug.to_string(),
        "result" => label,
    )
    .increment(1);
    result
}

async fn attempt(ctx: &Ctx, req: &PasswordSignIn<'_>) -> Result<SignInResult, SignInError> {
    // Who a failed or refused attempt was on: a known user by id; for an unknown identifier only
    // a keyed hash (people type passwords into the username field, and an unkeyed hash of a
    // password could be guessed offline), which still lets an operator see repeated attempts on
    // one name.
    let who = |event: AuditEvent, found: Option<&crate::storage::users::UserWithHash>| match found {
        Some(u) => event.subject(format!("user:{}", u.user.id)),
        None => {
            let normalized = crate::domain::user::normalize(req.identifier.trim());
            let tag = crate::crypto::hmac_sha256(&ctx.keys.secret_hash, normalized.as_bytes());
            event.details(serde_json::json!({ "unknown_identifier_hmac": hex::encode(&tag[..8]) }))
        }
    };
    let tenant = req.tenant;
    let plausible = req.identifier.chars().count() <= MAX_IDENTIFIER_CHARS
        && req.password.len() <= MAX_PASSWORD_BYTES
        && !req.identifier.trim().is_empty();
    let found = if plausible {
        let identifier = LoginIdentifier::from_input(req.identifier);
        let tenant_id = tenant.id;
        ctx.db
            .run(move |c| storage::users::find_by_identifier(c, tenant_id, &identifier))
            .await?
    } else {
        None
    };
    let audit = |outcome: &str, actor: Actor| {
        AuditEvent::new(
            ctx.clock.now(),
            Some(tenant.id),
            AuditAction::SignIn,
            outcome,
            actor,
        )
        .origin(req.origin.clone())
    };

    // Risk before the password: a block here costs no hashing and does not depend on whether
    // the user exists (no enumeration).
    let screening = super::risk::screen(ctx, tenant, req.ip).await?;
    if screening.blocks(tenant) {
        let user = found.as_ref().map(|u| u.user.id);
        let ua = req.origin.user_agent.as_deref().unwrap_or("");
        let note = super::risk::blocked_early(ctx, tenant, &screening, user, ua).await?;
        let event = who(audit("risk_blocked", Actor::Anonymous), found.as_ref()).details_extend(
            serde_json::json!({ "risk_event": note.event, "reasons": note.reasons }),
        );
        storage::audit::record(&ctx.db, event).await;
        return Ok(SignInResult::Blocked);
    }

    // Known or not, the account is throttled the same way (no enumeration).
    let account = match &found {
        Some(u) => u.user.id.to_string(),
        None => crate::domain::user::normalize(req.identifier.trim()),
    };
    let gate = match throttle::check(ctx, tenant, &account, req.ip, req.device.as_deref()).await? {
        Verdict::Proceed(gate) => gate,
        Verdict::Refused { retry_after, scope } => {
            let event = who(audit("throttled", Actor::Anonymous), found.as_ref())
                .details_extend(serde_json::json!({ "limit": scope, "retry_after": retry_after }));
            throttle::audit_refusal(ctx, tenant, &[scope, &account], event).await?;
            return Ok(SignInResult::Throttled { retry_after });
        }
    };

    let stored_hash = found.as_ref().and_then(|u| u.password_hash.clone());
    let password = if plausible { req.password } else { "" };
    let verified = match ctx.hasher.verify(password, stored_hash.as_deref()).await {
        Ok(verified) => verified,
        Err(e) => {
            // Not evaluated (the pool is busy): the attempt does not count.
            throttle::release(ctx, &gate).await?;
            return Err(e.into());
        }
    };

    let found = match found {
        Some(found) if verified.ok => found,
        found => {
            let event = who(
                audit("invalid_credentials", Actor::Anonymous),
                found.as_ref(),
            );
            storage::audit::record(
                &ctx.db,
                event.details_extend(serde_json::json!({ "client": gate.standing.as_str() })),
            )
            .await;
            throttle::failed(ctx, tenant, &gate).await?;
            throttle::spraying::failed(ctx, tenant, req.ip, &account).await?;
            return Ok(SignInResult::InvalidCredentials);
        }
    };
    let user = found.user;
    let actor = Actor::User(user.id.to_string());
    if !user.enabled {
        throttle::release(ctx, &gate).await?;
        storage::audit::record(&ctx.db, audit("disabled", actor)).await;
        return Ok(SignInResult::Disabled);
    }
    // What a pending sign-in is bound to (not after a re-hash: the stored hash changes then).
    let password_tag = stored_hash
        .as_deref()
        .filter(|_| !verified.needs_rehash)
        .map(|h| super::pending_signin::password_tag(ctx, h));
    if verified.needs_rehash
        && let Some(old) = stored_hash
    {
        upgrade_hash(ctx, &user, req.password, old);
    }
    let breached = tenant.policy.risk.enabled
        && crate::risk::breach::at_sign_in(&ctx.breach, req.password).await;
    let factors = super::mfa::factors(ctx, tenant, &user).await?;
    let need = super::mfa::needs(tenant, &user, &factors);
    let presented = match &gate.standing {
        throttle::Standing::KnownDevice(id) => Some(id.clone()),
        _ => None,
    };
    let judged = super::risk::judge(
        ctx,
        tenant,
        &screening,
        super::risk::Proven {
            user: &user,
            factors: &factors,
            need,
            device_presented: presented.is_some(),
            device: presented,
            user_agent: req.origin.user_agent.as_deref().unwrap_or(""),
            account_failures: gate.recent_failures,
            address_failures: gate.address_failures,
            breached,
            strong: false,
        },
    )
    .await?;
    let risk_details = serde_json::json!({
        "risk_event": judged.note.event,
        "risk_level": judged.note.level,
        "reasons": judged.note.reasons,
    });
    match judged.decision {
        super::risk::Decision::Block => {
            // Not a failure of the password, and not a success either.
            throttle::release(ctx, &gate).await?;
            storage::audit::record(
                &ctx.db,
                audit("risk_blocked", actor)
                    .subject(format!("user:{}", user.id))
                    .details(risk_details),
            )
            .await;
            if judged.note.notify {
                super::risk_notice::send(ctx, tenant, &user, &judged.note).await;
            }
            return Ok(SignInResult::Blocked);
        }
        super::risk::Decision::Deny => {
            throttle::release(ctx, &gate).await?;
            storage::audit::record(
                &ctx.db,
                audit("risk_denied", actor)
                    .subject(format!("user:{}", user.id))
                    .details(risk_details),
            )
            .await;
            return Ok(SignInResult::RiskDenied {
                breached: judged.note.breached || breached,
            });
        }
        _ => {}
    }
    let device = throttle::succeeded(ctx, tenant, &gate).await?;
    let mut note = judged.note;
    if note.visit.device.is_none() {
        note.visit.device = throttle::device_of(&device);
    }
    let need = match judged.decision {
        super::risk::Decision::SecondFactor => super::mfa::Need::SecondFactor,
        _ => need,
    };
    if need != super::mfa::Need::Nothing {
        super::risk::park(ctx, &mut note).await?;
        let pending = super::pending_signin::PendingSignIn {
            tenant_id: tenant.id,
            user_id: user.id,
            amr: vec![Amr::Pwd],
            need: need.into(),
            step_up: None,
            level: super::pending_signin::LevelState::Mfa,
            return_to: req.return_to.to_owned(),
            end_other_sessions: req.end_other_sessions,
            replaces_session: req.replaces_session.clone(),
            ip: req.origin.ip.clone(),
            user_agent: req.origin.user_agent.clone(),
            reauthenticated: false,
            reset: false,
            risk: Some(note),
            password_tag,
            via: None,
        };
        let token = super::pending_signin::begin(ctx, &pending).await?;
        storage::audit::record(
            &ctx.db,
            audit("password_verified", actor)
                .subject(format!("user:{}", user.id))
                .details(risk_details),
        )
        .await;
        return Ok(SignInResult::MoreNeeded {
            token,
            need: pending.need,
            device,
        });
    }

    let request = req.session_request(Some(note));
    let started = start_session(ctx, tenant, &user, vec![Amr::Pwd], &request).await?;
    Ok(SignInResult::Done {
        user: Box::new(user),
        started,
        device,
    })
}

/// Re-hashes with the configured parameters in the background; the sign-in does not wait.
fn upgrade_hash(ctx: &Ctx, user: &User, password: &str, old: String) {
    let ctx = ctx.clone();
    let user_id = user.id;
    let password = zeroize::Zeroizing::new(password.to_owned());
    tokio::spawn(async move {
        match ctx.hasher.hash(&password).await {
            Ok(new) => {
                let result = ctx
                    .db
                    .run(move |c| storage::users::upgrade_password_hash(c, user_id, &old, &new))
                    .await;
                match result {
                    Ok(true) => {
                        tracing::info!(user = %user_id, "upgraded password hash parameters")
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "could not store upgraded password hash"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not upgrade password hash"),
        }
    });
}
