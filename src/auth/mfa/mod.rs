//! Second factors: TOTP (`totp`), WebAuthn security keys and passkeys (`webauthn`), recovery
//! codes (`recovery`), codes by mail where the tenant allows them (`email_code`), and the rules
//! that decide whether a sign-in needs one (`needs`). The sign-in state machine that asks for
//! them is `crate::auth::pending_signin`.

pub mod changes;
pub mod email_code;
pub mod recovery;
pub mod totp;
pub mod webauthn;

use crate::context::Ctx;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::{self, StorageError, factors::Factors};

/// What a sign-in still needs after the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: MFA is off for the tenant, or the user has no second factor and needs none.
    Nothing,
    /// A second factor the user has (a code by mail counts where the tenant allows it).
    SecondFactor,
    /// The tenant requires a second factor and the user has none at all (not even recovery
    /// codes): set one up first. Only then may a sign-in that proved just the password register
    /// a factor; anyone else must prove the factor they have.
    Enrolment,
}

/// What a user proving their password must do next.
pub fn needs(tenant: &Tenant, user: &User, factors: &Factors) -> Need {
    let policy = &tenant.policy.mfa;
    if !policy.enabled() {
        Need::Nothing
    } else if factors.any() || factors.recovery_left > 0 {
        Need::SecondFactor
    } else if !policy.required_for(user.admin_role.is_some()) {
        Need::Nothing
    } else if email_code::available(tenant, user, factors) {
        Need::SecondFactor
    } else {
        Need::Enrolment
    }
}

/// The user's second factors.
pub async fn factors(ctx: &Ctx, tenant: &Tenant, user: &User) -> Result<Factors, StorageError> {
    let (t, u) = (tenant.id, user.id);
    ctx.db
        .run(move |c| storage::factors::factors(c, t, u))
        .await
}

/// Why a second factor was refused (shown to the person; the same for wrong and replayed codes).
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error("That code is not valid. Check your authenticator app and try again.")]
    WrongCode,
    #[error("That recovery code is not valid or was already used.")]
    WrongRecoveryCode,
    #[error("That code is not valid or has expired. Ask for a new one if you need to.")]
    WrongEmailCode,
    #[error("The security key could not be verified: {0}")]
    WebAuthn(String),
    #[error("This security key is not registered to your account.")]
    UnknownCredential,
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Store(#[from] crate::session_store::StoreError),
}
