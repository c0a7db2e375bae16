//! The policy form's help line of each field, keyed by its dotted path: generated from the doc
//! comments of the `TenantPolicy` structs in `src/domain/` by `scripts/policy_help.py` (run
//! `python3 scripts/policy_help.py > src/web/admin_ui/policy_help.rs` after changing them). A
//! unit test checks that every field of the policy has its line.

/// (dotted path, help) for every leaf of the serialized `TenantPolicy`.
pub const HELP: &[(&str, &str)] = &[
    (
        "session.idle_timeout_secs",
        "A session unused for this long ends (default 30 minutes).",
    ),
    (
        "session.absolute_timeout_secs",
        "A session ends this long after sign-in, however active (default 12 hours).",
    ),
    (
        "session.max_sessions_per_user",
        "How many browser sessions one user may have at once (default 1).",
    ),
    (
        "session.on_limit",
        "What a sign-in beyond the limit does (default: ends the oldest session).",
    ),
    (
        "password.min_length",
        "Minimum length in characters (default 8; ASVS recommends 15 for single-factor accounts).",
    ),
    (
        "password.max_length",
        "Maximum length in characters (default 128; at least 64 must be allowed).",
    ),
    (
        "tokens.access_token_secs",
        "How long an access token is valid, in seconds (default 300), unless a client sets its own.",
    ),
    (
        "tokens.id_token_secs",
        "How long an ID token is valid, in seconds (default 300), unless a client sets its own.",
    ),
    (
        "tokens.refresh_idle_secs",
        "A refresh token unused for this long expires.",
    ),
    (
        "tokens.refresh_absolute_secs",
        "A refresh-token family ends this long after the sign-in that started it.",
    ),
    (
        "tokens.id_token_alg",
        "ID tokens: RS256 unless a client registers another (OpenID Connect's default).",
    ),
    (
        "tokens.access_token_alg",
        "Access tokens: the algorithm they are signed with unless a client registers another.",
    ),
    (
        "throttle.account_failures_per_hour",
        "Failed attempts per account per hour evaluated from unknown devices and networks; beyond it, they are refused without checking the password (default 100, the ASVS maximum).",
    ),
    (
        "throttle.free_failures",
        "Failed attempts per account and address before each further attempt must wait (default 3).",
    ),
    (
        "throttle.max_delay_secs",
        "The longest wait between attempts, in seconds (default 60); waits double from 1 second.",
    ),
    (
        "throttle.pair_lock_failures",
        "Failed attempts per account and address in an hour that lock that pair (default 20)...",
    ),
    (
        "throttle.pair_lock_secs",
        "...for this many seconds (default 900).",
    ),
    (
        "throttle.ip_failures_per_hour",
        "Failed attempts from one address, over all accounts, per hour (default 300).",
    ),
    (
        "throttle.known_network_failures_per_hour",
        "Failed attempts per account per hour evaluated from all its known networks together (their own budget, apart from account_failures_per_hour; default 20).",
    ),
    (
        "throttle.device_failures_per_hour",
        "Failed attempts per known device (browser with a known-device cookie) per hour (default 20).",
    ),
    (
        "throttle.client_failures_per_hour",
        "Failed client authentications per client and address per hour at the token, introspection and revocation endpoints (default 20), with the same progressive delay.",
    ),
    (
        "throttle.known_for_days",
        "How long a browser and a network stay known after a successful sign-in (default 90 days).",
    ),
    (
        "throttle.second_factor_failures_per_hour",
        "Wrong second-factor codes (TOTP, recovery) per user per hour before they are refused (default 20), with the same progressive delay per user and address.",
    ),
    (
        "network.allow",
        "If not empty, only these addresses or ranges are served.",
    ),
    (
        "network.deny",
        "These addresses or ranges are refused (checked after allow).",
    ),
    (
        "mfa.mode",
        "Who uses a second factor: off, optional (whoever set one up), required (everyone), required_for_admins.",
    ),
    (
        "mfa.fresh_for_secs",
        "Removing or resetting a factor needs a second-factor check this recent (seconds, default 600); otherwise the user is asked for one first.",
    ),
    (
        "mfa.email_code",
        "Codes by mail as a second factor (off, fallback, allowed).",
    ),
    (
        "registration.mode",
        "Who may create an account on the hosted sign-up page: off (operators only), open (anyone, once the address is proven), invite (with an invitation link).",
    ),
    ("risk.enabled", "Score sign-ins at all (on by default)."),
    (
        "risk.audit_only",
        "Record every decision but enforce none (to try a policy out).",
    ),
    (
        "risk.actions.low.action",
        "What a sign-in of this level leads to: allow, mfa_if_enrolled, mfa_required or block.",
    ),
    (
        "risk.actions.low.notify",
        "Mail the user a notice with \"this was me\" / \"this wasn't me\" links.",
    ),
    (
        "risk.actions.medium.action",
        "What a sign-in of this level leads to: allow, mfa_if_enrolled, mfa_required or block.",
    ),
    (
        "risk.actions.medium.notify",
        "Mail the user a notice with \"this was me\" / \"this wasn't me\" links.",
    ),
    (
        "risk.actions.high.action",
        "What a sign-in of this level leads to: allow, mfa_if_enrolled, mfa_required or block.",
    ),
    (
        "risk.actions.high.notify",
        "Mail the user a notice with \"this was me\" / \"this wasn't me\" links.",
    ),
    (
        "risk.notify_new_sign_in",
        "Mail a notice for every sign-in from a new device or country, whatever its level.",
    ),
    (
        "risk.learning.sign_ins",
        "Successful sign-ins a user needs before new-device and new-place signals are raised.",
    ),
    (
        "risk.learning.days",
        "Days since a user's first sign-in before new-device and new-place signals are raised.",
    ),
    (
        "risk.thresholds.medium",
        "A sum of signal weights at or above this is a medium risk.",
    ),
    (
        "risk.thresholds.high",
        "A sum of signal weights at or above this is a high risk.",
    ),
    (
        "risk.thresholds.spraying_usernames",
        "Distinct usernames that failed from one address in an hour before it counts as password spraying.",
    ),
    (
        "risk.thresholds.account_failures",
        "Failed attempts on the account in the last hour that raise account_failures.",
    ),
    (
        "risk.thresholds.address_failures",
        "Failed attempts from the address (any account) in the last hour that raise address_failures.",
    ),
    (
        "risk.blocked_ip_ranges",
        "Always refused, before the password is checked (Cognito's blocked_ip_ranges).",
    ),
    (
        "risk.skipped_ip_ranges",
        "Never scored: sign-ins from here are low (Cognito's skipped_ip_ranges). Blocked ranges win over skipped ones.",
    ),
    (
        "risk.on_change",
        "Continuous evaluation at session use and refresh.",
    ),
    (
        "risk.claim",
        "Put the risk claim (level, decision, reasons of the sign-in) in ID tokens.",
    ),
    ("risk.retention_days", "Keep sign-in events this many days."),
    (
        "audit.retention_days",
        "Days an audit event is kept; the purge then removes whole leading segments of the tenant's chain and records a checkpoint, so what is left still verifies.",
    ),
];

/// The help line of the field at `key`, if it has one.
pub fn of(key: &str) -> Option<&'static str> {
    HELP.iter().find(|(k, _)| *k == key).map(|(_, h)| *h)
}
