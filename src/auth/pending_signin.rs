//! A sign-in between its steps: the password (or nothing, for a step-up) is proven, a second
//! factor (or setting one up) is still needed. Kept in the session store for ten minutes under the
//! SHA-256 of a random token that the browser holds in a cookie; finished, it becomes a browser
//! session (`super::signin::start_session`) or, for a step-up, renews the existing one.
//!
//! identify → first factor → second factor → session: the password step is `super::signin`,
//! the factors are `super::mfa`, and this is the state in between.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::SignInError;
use super::mfa::Need;
use super::session_start::{SessionRequest, Started, start_session};
use super::sessions::{NewSession, Reauthentication, SessionLookup, Sessions};
use crate::context::Ctx;
use crate::crypto::{random, sha256_hex};
use crate::domain::audit::Origin;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::session::{Acr, Amr, is_new_authentication, proves_second_factor};
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::session_store::StoreError;

const TTL: Duration = Duration::from_secs(600);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    /// What was proven so far.
    pub amr: Vec<Amr>,
    pub need: NeedState,
    /// A step-up of this existing session (its `sid`), rather than a new sign-in.
    pub step_up: Option<String>,
    /// The level the step must reach: `mfa`, or `phr` (a WebAuthn credential only).
    pub level: LevelState,
    /// A same-origin path to continue to afterwards.
    pub return_to: String,
    pub end_other_sessions: bool,
    pub replaces_session: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A step-up that re-proved the password (`NeedState::Password`): finishing it is a new
    /// authentication of the session, and `amr` holds only what this step proved.
    #[serde(default)]
    pub reauthenticated: bool,
    /// A password reset by mail link (`crate::recovery`), not a sign-in: proving the second
    /// factor leads to `NeedState::NewPassword`, never to a session.
    #[serde(default)]
    pub reset: bool,
    /// The risk judgement of this sign-in (`super::risk`): recorded on its session and, once
    /// finished, learnt by the user's profile. A breached password leads to a new password
    /// after the second factor, never straight to a session.
    #[serde(default)]
    pub risk: Option<super::risk::Note>,
    /// A keyed digest of the password hash the password step verified: if the password is
    /// changed, reset or removed ("this wasn't me") before the sign-in finishes, it cannot
    /// finish.
    #[serde(default)]
    pub password_tag: Option<String>,
    /// A federated sign-in (`crate::federation`) waiting for our own second factor.
    #[serde(default)]
    pub via: Option<crate::domain::session::Federated>,
}

/// The keyed digest of a stored password hash kept in a pending sign-in.
pub fn password_tag(ctx: &Ctx, stored_hash: &str) -> String {
    hex::encode(&crate::crypto::hmac_sha256(&ctx.keys.secret_hash, stored_hash.as_bytes())[..16])
}

/// Whether the user's password is still the one `pending` verified.
async fn password_unchanged(ctx: &Ctx, pending: &PendingSignIn) -> Result<bool, SignInError> {
    let Some(tag) = &pending.password_tag else {
        return Ok(true);
    };
    let (t, u) = (pending.tenant_id, pending.user_id);
    let stored = ctx
        .db
        .run(move |c| crate::storage::users::find_by_id(c, t, u))
        .await?
        .and_then(|found| found.password_hash);
    Ok(stored.is_some_and(|h| {
        crate::crypto::constant_time_eq(password_tag(ctx, &h).as_bytes(), tag.as_bytes())
    }))
}

/// Serializable form of [`Need`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeedState {
    SecondFactor,
    Enrolment,
    /// A step-up for a user with no second factor: the password again first (a session alone,
    /// however old, may not add a first factor), then `Enrolment`.
    Password,
    /// A password reset whose person is proven (the link, and the second factor if they have
    /// one): a new password is all that is accepted.
    NewPassword,
}

impl From<Need> for NeedState {
    fn from(n: Need) -> Self {
        match n {
            Need::Enrolment => NeedState::Enrolment,
            _ => NeedState::SecondFactor,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelState {
    Mfa,
    Phr,
}

impl LevelState {
    pub fn acr(self) -> Acr {
        match self {
            LevelState::Mfa => Acr::Mfa,
            LevelState::Phr => Acr::Phr,
        }
    }

    pub fn from_acr(acr: Acr) -> Self {
        if acr >= Acr::Phr {
            LevelState::Phr
        } else {
            LevelState::Mfa
        }
    }
}

fn key(token: &str) -> String {
    format!("psi:{}", sha256_hex(token.as_bytes()))
}

impl PendingSignIn {
    pub fn origin(&self) -> Origin {
        Origin {
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            request_id: None,
        }
    }

    /// The session to start, with the request id of the request that finishes the sign-in (the
    /// address and user agent stay those of the password step).
    pub fn session_request(&self, request_id: Option<String>) -> SessionRequest {
        SessionRequest {
            origin: Origin {
                request_id,
                ..self.origin()
            },
            replaces_session: self.replaces_session.clone(),
            end_other_sessions: self.end_other_sessions,
            risk: self.risk.clone(),
            via: self.via.clone(),
        }
    }
}

/// Moves a pending step-up past its password step: from now on `amr` is what this step proved.
pub async fn password_confirmed(
    ctx: &Ctx,
    token: &str,
    pending: &PendingSignIn,
) -> Result<PendingSignIn, StoreError> {
    let mut next = pending.clone();
    next.amr = vec![Amr::Pwd];
    next.need = NeedState::Enrolment;
    next.reauthenticated = true;
    save(ctx, token, &next).await?;
    Ok(next)
}

/// Parks a sign-in; returns the token for the browser's cookie.
pub async fn begin(ctx: &Ctx, pending: &PendingSignIn) -> Result<String, StoreError> {
    let token = random::token();
    save(ctx, &token, pending).await?;
    Ok(token)
}

pub async fn save(ctx: &Ctx, token: &str, pending: &PendingSignIn) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(pending).expect("pending sign-ins serialize");
    ctx.store.set(&key(token), &bytes, TTL).await
}

/// Uses a pending sign-in up (its token stops working); whether this call did.
pub async fn take(ctx: &Ctx, token: &str) -> Result<bool, StoreError> {
    Ok(ctx.store.take(&key(token)).await?.is_some())
}

/// The pending sign-in behind a cookie, if it exists and belongs to this tenant.
pub async fn load(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<PendingSignIn>, StoreError> {
    Ok(ctx
        .store
        .get(&key(token))
        .await?
        .and_then(|b| serde_json::from_slice::<PendingSignIn>(&b).ok())
        .filter(|p| p.tenant_id == tenant.id))
}

/// What finishing a pending sign-in did.
pub enum Finished {
    /// A password reset proved the second factor: the new password is next (same token).
    ResetProven,
    /// A new sign-in: its session (or the session limit's refusal).
    SignedIn(Started),
    /// A step-up: the same session, under a new cookie, with the stronger methods.
    SteppedUp(Box<NewSession>),
    /// The session being stepped up ended meanwhile.
    SessionGone,
}

/// Finishes a pending sign-in once `proved` has been added to what it had. The token is used up
/// (taken) so the same proof cannot finish it twice. A step-up moves the session's `auth_time`
/// only if it re-proved the password or a passkey.
pub async fn finish(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    token: &str,
    pending: &PendingSignIn,
    proved: &[Amr],
    request_id: Option<String>,
) -> Result<Finished, SignInError> {
    if ctx.store.take(&key(token)).await?.is_none() || !password_unchanged(ctx, pending).await? {
        return Ok(Finished::SessionGone);
    }
    let mut amr = pending.amr.clone();
    for m in proved {
        if !amr.contains(m) {
            amr.push(*m);
        }
    }
    let breached = pending.risk.as_ref().is_some_and(|r| r.breached);
    if pending.reset || (breached && pending.step_up.is_none()) {
        // A reset, or a sign-in with a breached password: the new password is next, and the
        // sign-in ends there (the person signs in again with it).
        let mut next = pending.clone();
        next.amr = amr;
        next.need = NeedState::NewPassword;
        next.reset = true;
        save(ctx, token, &next).await?;
        return Ok(Finished::ResetProven);
    }
    let Some(sid) = &pending.step_up else {
        return Ok(Finished::SignedIn(
            start_session(ctx, tenant, user, amr, &pending.session_request(request_id)).await?,
        ));
    };
    let sessions = Sessions::new(ctx.store.clone(), ctx.clock.clone());
    let SessionLookup::Active(found) = sessions.lookup_sid(tenant, sid, false).await? else {
        return Ok(Finished::SessionGone);
    };
    if found.record.user_id != user.id {
        return Ok(Finished::SessionGone);
    }
    let ip = pending.ip.as_deref().unwrap_or("");
    let ua = pending.user_agent.as_deref().unwrap_or("");
    let proof = Reauthentication {
        amr,
        new_authentication: pending.reauthenticated || is_new_authentication(proved),
        second_factor: proves_second_factor(proved),
        risk: None,
    };
    Ok(
        match sessions
            .reauthenticate(tenant, &found, proof, ip, ua)
            .await?
        {
            Some(session) => Finished::SteppedUp(Box::new(session)),
            None => Finished::SessionGone,
        },
    )
}
