//! Signing in and browser sessions: the sign-in use case (identify, verify the password, decide)
//! and the session service that creates, checks, touches and ends server-side sessions.
//! Later factors (MFA, risk, federation) plug into `signin`.
//!
//! # Sign-in and sessions
//!
//! Signing in is a small state machine, **identify → first factor → second factor → session**, with
//! each step in one place:
//!
//! 1. **Identify and first factor.** `auth::signin::password_sign_in` looks the user up (an
//!    identifier containing `@` is an e-mail address), asks `auth::throttle::check` whether the
//!    attempt may be evaluated at all (refused: `SignInResult::Throttled { retry_after }`, before
//!    any Argon2 work), verifies the password on the Argon2 pool (against a dummy hash when the user
//!    is unknown or has no password), records a failure with `throttle::failed`, refuses disabled
//!    accounts (only after a correct password), re-hashes outdated parameters in the background, and
//!    records the success with `throttle::succeeded` (which returns the known-device cookie).
//! 2. **What else is needed.** `auth::mfa::needs` (tenant policy `domain::mfa::MfaPolicy`, the user's
//!    admin role, the user's factors from `storage::factors`): `Nothing`, `SecondFactor` or
//!    `Enrolment`. With `Nothing`, `start_session` follows at once and the result is
//!    `SignInResult::Done { started }`.
//! 3. **Pending sign-in.** Otherwise `auth::pending_signin::begin` parks a `PendingSignIn` (user,
//!    methods so far, `need`, `return_to`, the session to replace, origin) under `psi:<sha256 of a
//!    random token>` for 10 minutes, the result is `SignInResult::MoreNeeded { token, need }`, and
//!    `web::pages::login` puts the token in the `ww-signin-<tenant>` cookie and redirects to
//!    `/login/verify` or `/login/enrol`. No session exists yet.
//! 4. **Second factor.** `web::pages::mfa` loads the pending sign-in from the cookie (and the user,
//!    refusing a disabled one), checks the factor with `auth::mfa::totp::verify`,
//!    `auth::mfa::recovery::redeem` or `auth::mfa::webauthn::finish_authentication` (codes behind
//!    `throttle::check_second_factor`), or sets one up (`totp::start` + `verify`,
//!    `webauthn::start_registration` + `finish_registration`), then calls
//!    `auth::pending_signin::finish` with the methods proven. `finish` takes the pending sign-in (one
//!    proof finishes it once).
//! 5. **Session.** `finish` calls `auth::signin::start_session` with the methods of both steps: the
//!    same last step as a password-only sign-in. A passkey sign-in (`webauthn::start_passwordless`
//!    / `finish_passwordless`, `web::pages::webauthn::passkey_finish`) goes straight from one WebAuthn
//!    ceremony to `start_session`. Later steps (risk scoring, federation) are meant to plug in at
//!    step 2 and end in `start_session` as well.
//!
//! `start_session` takes a `SessionRequest` (origin, the browser's current session, whether to evict
//! whatever `on_limit` says) and either continues the browser's session under a new cookie secret
//! (`Sessions::reauthenticate`: the same user with an active session keeps its `sid`, and with it its
//! place in the user's index; the record is rewritten with `set_existing`, and if it is gone, evicted
//! meanwhile, a new session is created instead) or creates a new session (`Sessions::create`) within
//! the tenant's session limit. It returns `Started::Session` (with the browser's previous session and
//! the sessions the limit evicted) or `Started::Denied` (`deny_new`: no session; the page offers to
//! retry with `end_other_sessions`, which evicts the oldest whatever `on_limit` says), and audits the
//! sign-in (`sign_in` `success` with `details.amr`, or `session_limit`).
//! `web::pages::login::started_response` turns it into the answer for every way of signing in: it
//! ends the replaced session through `lifecycle` (reason `replaced`) and the evicted ones through
//! `lifecycle::end_evicted`, sets the session cookie, or renders the `deny_new` page, and deletes the
//! pending sign-in cookie. `password_sign_in` counts every attempt in
//! `watchword_signin_attempts_total{tenant,result}` (`second_factor_needed` for `MoreNeeded`).
//!
//! **Step-up.** `auth::second_step::start_step_up` (reached as `/login/verify?step_up=mfa|phr`)
//! parks a `PendingSignIn` with `step_up = Some(sid)`, the session's methods and the level to reach
//! (`LevelState::Mfa` or `Phr`); it refuses when the tenant's MFA mode is `off`, and a user with no
//! factor gets `NeedState::Password` first (the password again) unless the session proved it within
//! `mfa.fresh_for_secs`. `auth::second_step::prove` is the one place a proof for a pending sign-in or
//! step-up is checked (offered? throttle, verify, counters, audit, metrics, finish) and returns a
//! typed `Outcome`. `finish` then calls `Sessions::reauthenticate` on that session (same `sid`, new
//! cookie secret, the methods merged, `mfa_at` moved; `auth_time` and the sign-in id move only when
//! the password or a passkey was proved) instead of `start_session`; `Finished::SessionGone` sends
//! the browser back to sign in. Two callers send
//! browsers there: `oauth::authorize::next_step`, whose `step_up` check returns `Step::StepUp` when the
//! client has `require_mfa` or `acr_values` asks for a level the session lacks and the user can reach
//! (`web::oauth::authorize` redirects with `return_to=/authorize/continue?id=…`), and
//! `web::pages::factors` and the account's WebAuthn registration, whose changes go through
//! `auth::mfa::changes` (`permission`: a second factor proved within `mfa.fresh_for_secs`, judged by
//! the session's `mfa_at`, or for a first factor a password that recent; nothing added while MFA is
//! off; the last factor a tenant requires is not removed), which audits each change.
//!
//! **WebAuthn** (`auth::mfa::webauthn`) uses the `Ctx`'s relying party (`Ctx::webauthn`). Ceremony
//! state (webauthn-rs's `PasskeyRegistration`, `PasskeyAuthentication`,
//! `DiscoverableAuthentication`, serialized with its `danger-allow-state-serialisation` feature)
//! is parked under `wa:<sha256 of a random handle>` for 5 minutes, with the tenant and the user it
//! was started for, and taken when the response arrives (only in the same tenant). After each use `storage::factors::credential_used` stores
//! the new counter and backup state only if the stored counter is unchanged. The browser side is
//! `static/js/webauthn.js` (no inline script): elements with `data-webauthn` = `register`,
//! `authenticate` or `passkey` name the two JSON endpoints; the CSRF token travels in
//! `X-CSRF-Token`. **TOTP** (`auth::mfa::totp`, totp-rs) seals seeds with `crypto::aead` under
//! `DerivedKeys::encryption` and accepts a step with `storage::factors::totp_accept`, a conditional
//! update on `last_step`. **Recovery codes** (`auth::mfa::recovery`) are keyed digests under
//! `DerivedKeys::secret_hash`, used by a conditional update on `used_at`.
//!
//! `auth::sessions::Sessions` owns session records: the cookie is `<sid>.<secret>` (two 256-bit
//! random tokens), the record lives under `sess:<sid>` with `sh` = SHA-256 (base64url) of the secret,
//! and a cookie is accepted only if its secret's hash matches (constant-time). The record
//! (`domain::session::BrowserSession`) is JSON with short field names (`sid`, `sh`, `t`, `u`, `at`,
//! `ai`, `m`, `ip`, `d`, `c`, `l`) and keeps the device's description (`domain::device`, "Chrome on
//! Windows") rather than the `User-Agent` header. Beside it: the per-user index
//! `usess:<tenant>:<user>` (score = admission order) and the expiry index `sexp` (score = deadline).
//! `create` hands the new record to `SessionStore::admit_session`: in one atomic step (the
//! `ADMIT_SESSION` Lua script, or one lock in memory) each member of the user's index is judged
//! by its record (`c` and `l` against the idle and absolute timeouts, `Admission::is_live`):
//! members without a record leave the index, timed-out ones stay (the sweep ends them) but do not
//! count. At the limit the step either refuses (writing nothing; `create` returns
//! `Created::Denied` with the live sessions) or deletes the oldest live members' records and
//! removes them from both indexes; then it adds the new member with the next sequence number,
//! stores its record and adds it to `sexp`. The evicted records come back to the caller
//! (`Created::Admitted { evicted }`); `lifecycle::end_evicted` writes their `gone:` notes
//! (`Sessions::note_ended`) before the sign-in answers, revokes their grants (offline ones
//! included) in the database, and finishes the rest in the background. Records are only ever
//! rewritten with `set_existing` (touching `last_seen`, re-authentication), so an evicted or ended
//! session never comes back. `lookup` enforces the tenant's idle and absolute timeouts against the injected clock
//! and refreshes `last_seen` at most once a minute. A timed-out session found by a request is
//! returned as `Expired` and ended by the caller; `claim_due` lets the sweep
//! (`jobs::sweep_sessions`, every 15 s) claim due sessions atomically, so each is ended by exactly
//! one replica (an evicted session has already left `sexp`, so the sweep never ends it again).
//! Ending leaves a `gone:<sid>` note for one hour, holding the hash of the session's secret, so only
//! the returning browser is told why (`web::pages::session`: `/t/{tenant}/session-ended` and the
//! JSON `/t/{tenant}/session/status` that `static/js/session-watch.js` polls). `end_reason` reads a
//! note without the secret, for the server's own checks: a refresh with an offline grant, and its
//! access tokens at userinfo and introspection (`osid`), are refused once its origin session's note
//! gives a reason that `domain::session::ends_offline_grants` accepts, even if the database
//! revocation has not happened yet (after an eviction it failed and waits for the sweep's retry).
//!
//! Brute-force protection (`auth::throttle`, rules in `domain::throttle`) keeps its state in the
//! session store under `bf:<tenant>:…`, identifiers as keyed hashes (`DerivedKeys::throttle`).
//! Counters are per clock hour (the window number is in the key) and limits use a sliding estimate
//! over two windows; waits and locks store their end time, so all of it follows the injected clock on
//! both stores. The known-device cookie is an HMAC under the same key, bound to the account. The
//! pages people use (sign-in, authorization, consent, account, landing page, sign-out, end-session,
//! session status and session-ended, setup) apply the tenant's network lists through
//! `web::people::PeopleTenant` (`load_tenant_for`); the endpoints applications' servers call
//! (token, introspection, revocation, userinfo, discovery, JWKS) do not. `oauth::clients::authenticate` throttles failed
//! client authentications. Refusals are audited through `throttle::audit_refusal`, at most once a
//! minute per key (account and limit, client and address, or address), with a marker under
//! `bf:<tenant>:audited:<keyed hash>`.

pub mod continuous;
pub mod email;
pub mod email_change;
pub mod error;
pub mod federated;
pub mod mfa;
pub mod network;
pub mod pending_signin;
pub mod risk;
pub mod risk_notice;
pub mod second_step;
pub mod session_start;
pub mod sessions;
pub mod signin;
pub mod throttle;
