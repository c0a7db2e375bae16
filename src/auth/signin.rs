//! Password sign-in: find the user, verify the password (against a dummy hash when the user is
//! unknown, so both cases cost the same), refuse disabled accounts, upgrade outdated hashes,
//! replace any previous session with a new one (no fixation), audit and count every attempt.

use crate::context::Ctx;
use crate::crypto::password::HashError;
use crate::domain::audit::{Actor, AuditAction, AuditEvent, Origin};
use crate::domain::session::{AuthMethod, SessionState};
use crate::domain::tenant::Tenant;
use crate::domain::user::{LoginIdentifier, User};
use crate::session_store::StoreError;
use crate::storage::{self, StorageError};

use super::sessions::{Created, Found, NewSession, SessionLookup, Sessions};
use super::throttle::{self, Verdict};

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
}

#[derive(Debug)]
pub enum SignInResult {
    SignedIn {
        user: Box<User>,
        session: Box<NewSession>,
        /// The browser's previous session, to be ended by the caller (`crate::logout`).
        replaced: Option<Box<Found>>,
        /// The user's sessions evicted by the session limit (records already gone), to be ended
        /// everywhere by the caller (`crate::logout::end_evicted`).
        evicted: Vec<Found>,
        /// The known-device cookie to give this browser.
        device: String,
    },
    /// Correct credentials, but the user is at the tenant's session limit and its policy is
    /// `deny_new`: no session. These are the sessions in the way, oldest first.
    SessionLimit {
        user: Box<User>,
        live: Vec<Found>,
        device: String,
    },
    /// Too many failed attempts: this one was not evaluated. Try again in `retry_after` seconds.
    Throttled { retry_after: u64 },
    /// Unknown user or wrong password: deliberately indistinguishable.
    InvalidCredentials,
    /// Correct password, but the account is disabled.
    Disabled,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Busy(HashError),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StorageError> for SignInError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<HashError> for SignInError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy(e),
            HashError::Failed(m) => Self::Internal(m),
        }
    }
}

pub async fn password_sign_in(
    ctx: &Ctx,
    req: PasswordSignIn<'_>,
) -> Result<SignInResult, SignInError> {
    let result = attempt(ctx, &req).await;
    let label = match &result {
        Ok(SignInResult::SignedIn { .. }) => "success",
        Ok(SignInResult::InvalidCredentials) => "invalid_credentials",
        Ok(SignInResult::Disabled) => "disabled",
        Ok(SignInResult::SessionLimit { .. }) => "session_limit",
        Ok(SignInResult::Throttled { .. }) => "throttled",
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
    let verified = ctx.hasher.verify(password, stored_hash.as_deref()).await?;

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
            return Ok(SignInResult::InvalidCredentials);
        }
    };
    let user = found.user;
    let actor = Actor::User(user.id.to_string());
    if !user.enabled {
        storage::audit::record(&ctx.db, audit("disabled", actor)).await;
        return Ok(SignInResult::Disabled);
    }
    if verified.needs_rehash
        && let Some(old) = stored_hash
    {
        upgrade_hash(ctx, &user, req.password, old);
    }
    let device = throttle::succeeded(ctx, tenant, &gate).await?;

    match start_session(ctx, tenant, &user, vec![AuthMethod::Pwd], req).await? {
        Started::Session {
            session,
            replaced,
            evicted,
        } => {
            storage::audit::record(
                &ctx.db,
                audit("success", actor)
                    .subject(format!("session:{}", session.record.sid))
                    .details(serde_json::json!({ "sessions_evicted": evicted.len() })),
            )
            .await;
            Ok(SignInResult::SignedIn {
                user: Box::new(user),
                session,
                replaced,
                evicted,
                device,
            })
        }
        Started::Denied { live } => {
            storage::audit::record(
                &ctx.db,
                audit("session_limit", actor)
                    .subject(format!("user:{}", user.id))
                    .details(
                        serde_json::json!({ "live_sessions": live.len(), "on_limit": "deny_new" }),
                    ),
            )
            .await;
            Ok(SignInResult::SessionLimit {
                user: Box::new(user),
                live,
                device,
            })
        }
    }
}

/// What [`start_session`] did.
pub enum Started {
    Session {
        session: Box<NewSession>,
        replaced: Option<Box<Found>>,
        evicted: Vec<Found>,
    },
    Denied {
        live: Vec<Found>,
    },
}

/// The last step of every sign-in: the browser's session for `user`. A session this browser
/// already has for the same user continues under a new cookie token; otherwise a new session is
/// created within the tenant's session limit (`crate::auth::sessions::Sessions::create`).
pub async fn start_session(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    amr: Vec<AuthMethod>,
    req: &PasswordSignIn<'_>,
) -> Result<Started, SignInError> {
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let previous = match &req.replaces_session {
        Some(token) => match sessions.lookup(tenant, token, false).await? {
            SessionLookup::Active(found) | SessionLookup::Expired(found, _) => Some(found),
            SessionLookup::Ended(_) | SessionLookup::Missing => None,
        },
        None => None,
    };
    let ip = req.origin.ip.as_deref().unwrap_or("");
    let ua = req.origin.user_agent.as_deref().unwrap_or("");
    let now = ctx.clock.now();
    let replaced = match previous {
        Some(prev)
            if prev.record.user_id == user.id
                && prev.record.state(now, &tenant.policy.session) == SessionState::Active =>
        {
            if let Some(session) = sessions
                .reauthenticate(tenant, &prev, amr.clone(), ip, ua)
                .await?
            {
                return Ok(Started::Session {
                    session: Box::new(session),
                    replaced: None,
                    evicted: Vec::new(),
                });
            }
            None // it ended meanwhile: a new session below
        }
        other => other.map(Box::new),
    };
    Ok(
        match sessions
            .create(tenant, user.id, amr, ip, ua, req.end_other_sessions)
            .await?
        {
            Created::Admitted { session, evicted } => Started::Session {
                session,
                replaced,
                evicted,
            },
            Created::Denied { live } => Started::Denied { live },
        },
    )
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
