//! Signing in and browser sessions: the sign-in use case (identify, verify the password, decide)
//! and the session service that creates, checks, touches and ends server-side sessions.
//! Later factors (MFA, risk, federation) plug into `signin`.

pub mod error;
pub mod mfa;
pub mod pending_signin;
pub mod second_step;
pub mod session_start;
pub mod sessions;
pub mod signin;
pub mod throttle;
