//! Brute-force protection: counting failed attempts in the session store and deciding whether
//! the next attempt is evaluated at all (see `crate::domain::throttle` for the rules and why
//! known devices and networks are counted apart). Counters are keyed by keyed hashes, never by
//! identifiers or addresses in clear. Time comes from the injected clock: counters are per fixed
//! hour (the window number is part of the key; limits use a sliding estimate over two windows,
//! `domain::throttle::window_wait`) and waits and locks store their end time, so store TTLs only
//! collect garbage and tests move the clock on both stores alike.
//!
//! Keys (per tenant, `<w>` = window): `bf:a:<account>:<w>` failures of an account from unknown
//! devices and networks; `bf:p:<account>:<ip>:<w>` failures of an account from one address,
//! `bf:pw:` the end of its wait before the next attempt, `bf:pl:` the end of its lock;
//! `bf:i:<ip>:<w>` failures from an address; `bf:d:<device>:<w>` failures of a known device;
//! `bf:n:<account>` the account's known networks; `bf:c:<client>:<ip>:<w>` and `bf:cw:` failed
//! client authentications.

use std::net::IpAddr;
use std::time::Duration;

use crate::context::Ctx;
use crate::crypto::{hmac_sha256, hmac_sha256_verify, random};
use crate::domain::tenant::Tenant;
use crate::domain::throttle::{ThrottlePolicy, WINDOW_SECS, canonical, network_of, window_wait};
use crate::session_store::StoreError;

/// Counters outlive their window by one more (the sliding estimate reads the previous one).
const COUNTER_TTL: Duration = Duration::from_secs(2 * WINDOW_SECS as u64 + 60);

/// How an attempt's client relates to the account it tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A browser that signed in to this account before (valid known-device cookie).
    KnownDevice(String),
    /// An address in a network this account signed in from before.
    KnownNetwork,
    Unknown,
}

impl Standing {
    pub fn as_str(&self) -> &'static str {
        match self {
            Standing::KnownDevice(_) => "known_device",
            Standing::KnownNetwork => "known_network",
            Standing::Unknown => "unknown",
        }
    }
}

/// An attempt allowed through, to report back with [`failed`] or [`succeeded`].
#[derive(Clone, Debug)]
pub struct Gate {
    account: String,
    ip: String,
    network: String,
    pub standing: Standing,
}

/// Whether an attempt is evaluated.
#[derive(Debug)]
pub enum Verdict {
    Proceed(Gate),
    /// Refused without evaluation; try again in `retry_after` seconds. `scope` says which limit
    /// (for metrics and the audit log): `account`, `address`, `pair_wait`, `pair_lock`, `device`.
    Refused {
        retry_after: u64,
        scope: &'static str,
    },
}

fn tag(ctx: &Ctx, tenant: &Tenant, kind: &str, value: &str) -> String {
    let mac = hmac_sha256(
        &ctx.keys.throttle,
        format!("{}|{kind}|{value}", tenant.id).as_bytes(),
    );
    hex::encode(&mac[..12])
}

fn key(tenant: &Tenant, parts: &[&str]) -> String {
    format!("bf:{}:{}", tenant.id, parts.join(":"))
}

async fn count(ctx: &Ctx, key: &str) -> Result<u64, StoreError> {
    Ok(ctx
        .store
        .get(key)
        .await?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// A per-window counter: its key in the current window.
fn windowed(base: &str, window: i64) -> String {
    format!("{base}:{window}")
}

/// Refusal time under `limit` failures per hour for the counter `base` (sliding estimate).
async fn over_limit(ctx: &Ctx, base: &str, limit: u32) -> Result<Option<u64>, StoreError> {
    let now = ctx.clock.unix();
    let window = now.div_euclid(WINDOW_SECS);
    let previous = count(ctx, &windowed(base, window - 1)).await?;
    let current = count(ctx, &windowed(base, window)).await?;
    Ok(window_wait(
        limit,
        previous,
        current,
        now.rem_euclid(WINDOW_SECS),
    ))
}

/// Counts one failure on `base` in the current window; returns the window's count.
async fn add_failure(ctx: &Ctx, base: &str) -> Result<u64, StoreError> {
    let window = ctx.clock.unix().div_euclid(WINDOW_SECS);
    ctx.store.incr(&windowed(base, window), COUNTER_TTL).await
}

/// Seconds left until the time stored under `key`, if it is still ahead.
async fn until(ctx: &Ctx, key: &str) -> Result<Option<u64>, StoreError> {
    let end: Option<i64> = ctx
        .store
        .get(key)
        .await?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok());
    let now = ctx.clock.unix();
    Ok(end.filter(|e| *e > now).map(|e| (e - now) as u64))
}

/// Stores "until now + secs" under `key`.
async fn hold(ctx: &Ctx, key: &str, secs: u64) -> Result<(), StoreError> {
    let end = ctx.clock.unix() + secs as i64;
    ctx.store
        .set(
            key,
            end.to_string().as_bytes(),
            Duration::from_secs(secs + 60),
        )
        .await
}

/// Is the address's network among the account's known ones?
async fn known_network(ctx: &Ctx, tenant: &Tenant, gate: &Gate) -> Result<bool, StoreError> {
    Ok(known_networks(ctx, tenant, &gate.account)
        .await?
        .contains(&gate.network))
}

async fn known_networks(
    ctx: &Ctx,
    tenant: &Tenant,
    account: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(ctx
        .store
        .get(&key(tenant, &["n", account]))
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

/// Decides whether a password attempt on `account` (a user id, or for an unknown identifier the
/// normalized identifier: both are hashed, and both are treated the same) from `ip` with the
/// known-device cookie `device` is evaluated.
pub async fn check(
    ctx: &Ctx,
    tenant: &Tenant,
    account: &str,
    ip: IpAddr,
    device: Option<&str>,
) -> Result<Verdict, StoreError> {
    let policy = &tenant.policy.throttle;
    let mut gate = Gate {
        account: tag(ctx, tenant, "account", account),
        ip: tag(ctx, tenant, "ip", &canonical(ip).to_string()),
        network: tag(ctx, tenant, "net", &network_of(ip).to_string()),
        standing: Standing::Unknown,
    };
    if let Some(id) = device.and_then(|d| device_id(ctx, &gate.account, d)) {
        if let Some(wait) = over_limit(
            ctx,
            &key(tenant, &["d", &id]),
            policy.device_failures_per_hour,
        )
        .await?
        {
            return refused(tenant, "device", wait);
        }
        gate.standing = Standing::KnownDevice(id);
        return Ok(Verdict::Proceed(gate));
    }
    if known_network(ctx, tenant, &gate).await? {
        gate.standing = Standing::KnownNetwork;
    } else {
        let by_ip = key(tenant, &["i", &gate.ip]);
        if let Some(wait) = over_limit(ctx, &by_ip, policy.ip_failures_per_hour).await? {
            return refused(tenant, "address", wait);
        }
        let by_account = key(tenant, &["a", &gate.account]);
        if let Some(wait) = over_limit(ctx, &by_account, policy.account_failures_per_hour).await? {
            return refused(tenant, "account", wait);
        }
    }
    if let Some(wait) = until(ctx, &key(tenant, &["pl", &gate.account, &gate.ip])).await? {
        return refused(tenant, "pair_lock", wait);
    }
    if let Some(wait) = until(ctx, &key(tenant, &["pw", &gate.account, &gate.ip])).await? {
        return refused(tenant, "pair_wait", wait);
    }
    Ok(Verdict::Proceed(gate))
}

fn refused(tenant: &Tenant, scope: &'static str, retry_after: u64) -> Result<Verdict, StoreError> {
    count_refusal(tenant, scope);
    Ok(Verdict::Refused { retry_after, scope })
}

/// Audits a refusal at most once a minute per `what` (e.g. limit and account), so that an attack
/// cannot flood the audit log; every refusal is counted in `watchword_throttle_refusals_total`.
pub async fn audit_refusal(
    ctx: &Ctx,
    tenant: &Tenant,
    what: &[&str],
    event: crate::domain::audit::AuditEvent,
) -> Result<(), StoreError> {
    let marker = key(
        tenant,
        &["audited", &tag(ctx, tenant, "audit", &what.join("|"))],
    );
    if ctx
        .store
        .set_if_absent(&marker, b"1", Duration::from_secs(60))
        .await?
    {
        crate::storage::audit::record(&ctx.db, event).await;
    }
    Ok(())
}

/// Counts a request refused by the tenant's network allow/deny lists.
pub fn network_refused(tenant: &Tenant) {
    count_refusal(tenant, "network");
}

/// `watchword_throttle_refusals_total{tenant,scope}`.
fn count_refusal(tenant: &Tenant, scope: &'static str) {
    metrics::counter!(
        "watchword_throttle_refusals_total",
        "tenant" => tenant.slug.to_string(),
        "scope" => scope,
    )
    .increment(1);
}

/// Records a failed attempt that was evaluated.
pub async fn failed(ctx: &Ctx, tenant: &Tenant, gate: &Gate) -> Result<(), StoreError> {
    let policy = &tenant.policy.throttle;
    if let Standing::KnownDevice(id) = &gate.standing {
        add_failure(ctx, &key(tenant, &["d", id])).await?;
        return Ok(());
    }
    if gate.standing == Standing::Unknown {
        add_failure(ctx, &key(tenant, &["i", &gate.ip])).await?;
        add_failure(ctx, &key(tenant, &["a", &gate.account])).await?;
    }
    let pair = key(tenant, &["p", &gate.account, &gate.ip]);
    let n = add_failure(ctx, &pair).await? + previous_window(ctx, &pair).await?;
    pair_penalty(ctx, tenant, policy, &gate.account, &gate.ip, n).await
}

/// The count of `base` in the previous window (failures of the last hour or two, for waits and
/// locks: conservative, never fewer than the last hour's).
async fn previous_window(ctx: &Ctx, base: &str) -> Result<u64, StoreError> {
    let window = ctx.clock.unix().div_euclid(WINDOW_SECS);
    count(ctx, &windowed(base, window - 1)).await
}

/// After the `n`-th recent failure of a pair: the wait before its next attempt, or its lock.
async fn pair_penalty(
    ctx: &Ctx,
    tenant: &Tenant,
    policy: &ThrottlePolicy,
    account: &str,
    ip: &str,
    n: u64,
) -> Result<(), StoreError> {
    if n >= u64::from(policy.pair_lock_failures) {
        hold(
            ctx,
            &key(tenant, &["pl", account, ip]),
            u64::from(policy.pair_lock_secs),
        )
        .await?;
        metrics::counter!("watchword_throttle_locks_total", "tenant" => tenant.slug.to_string())
            .increment(1);
        return Ok(());
    }
    let delay = policy.delay_after(n);
    if delay > 0 {
        hold(ctx, &key(tenant, &["pw", account, ip]), delay).await?;
    }
    Ok(())
}

/// Records a successful sign-in: the pair's failures are forgiven, the network becomes known,
/// and the browser gets (or renews) its known-device cookie, whose value is returned.
pub async fn succeeded(ctx: &Ctx, tenant: &Tenant, gate: &Gate) -> Result<String, StoreError> {
    let policy = &tenant.policy.throttle;
    let window = ctx.clock.unix().div_euclid(WINDOW_SECS);
    let pair = key(tenant, &["p", &gate.account, &gate.ip]);
    for k in [
        windowed(&pair, window),
        windowed(&pair, window - 1),
        key(tenant, &["pw", &gate.account, &gate.ip]),
        key(tenant, &["pl", &gate.account, &gate.ip]),
    ] {
        ctx.store.delete(&k).await?;
    }
    let known_for = Duration::from_secs(u64::from(policy.known_for_days) * 86_400);
    let mut nets = known_networks(ctx, tenant, &gate.account).await?;
    nets.retain(|n| n != &gate.network);
    nets.push(gate.network.clone());
    let keep = nets.len().saturating_sub(20);
    nets.drain(..keep);
    ctx.store
        .set(
            &key(tenant, &["n", &gate.account]),
            &serde_json::to_vec(&nets).expect("serializes"),
            known_for,
        )
        .await?;
    let id = match &gate.standing {
        Standing::KnownDevice(id) => id.clone(),
        _ => random::token()[..22].to_owned(),
    };
    Ok(device_cookie(
        ctx,
        &gate.account,
        &id,
        ctx.clock.unix() + known_for.as_secs() as i64,
    ))
}

/// `v1.<device id>.<expiry>.<mac>`, the MAC binding it to the account (a keyed tag).
fn device_cookie(ctx: &Ctx, account: &str, id: &str, expires: i64) -> String {
    let body = format!("v1.{id}.{expires}");
    let mac = hmac_sha256(&ctx.keys.throttle, format!("{body}.{account}").as_bytes());
    format!("{body}.{}", hex::encode(mac))
}

/// The device id of a valid, unexpired known-device cookie for `account`.
fn device_id(ctx: &Ctx, account: &str, cookie: &str) -> Option<String> {
    let mut parts = cookie.split('.');
    let (v, id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if v != "v1" || parts.next().is_some() || expires.parse::<i64>().ok()? <= ctx.clock.unix() {
        return None;
    }
    let body = format!("v1.{id}.{expires}.{account}");
    hmac_sha256_verify(&ctx.keys.throttle, body.as_bytes(), &hex::decode(mac).ok()?)
        .then(|| id.to_owned())
}

/// Client authentication at the token endpoint: refused while the client+address pair waits
/// after failures, or once it reached `client_failures_per_hour`.
pub async fn check_client(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
    ip: IpAddr,
) -> Result<Option<u64>, StoreError> {
    let pair = client_pair(ctx, tenant, client_id, ip);
    if let Some(wait) = until(ctx, &key(tenant, &["cw", &pair])).await? {
        count_refusal(tenant, "client_wait");
        return Ok(Some(wait));
    }
    let limit = tenant.policy.throttle.client_failures_per_hour;
    if let Some(wait) = over_limit(ctx, &key(tenant, &["c", &pair]), limit).await? {
        count_refusal(tenant, "client");
        return Ok(Some(wait));
    }
    Ok(None)
}

/// Records a failed client authentication.
pub async fn client_failed(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let pair = client_pair(ctx, tenant, client_id, ip);
    let base = key(tenant, &["c", &pair]);
    let n = add_failure(ctx, &base).await? + previous_window(ctx, &base).await?;
    let delay = tenant.policy.throttle.delay_after(n);
    if delay > 0 {
        hold(ctx, &key(tenant, &["cw", &pair]), delay).await?;
    }
    Ok(())
}

fn client_pair(ctx: &Ctx, tenant: &Tenant, client_id: &str, ip: IpAddr) -> String {
    tag(
        ctx,
        tenant,
        "client",
        &format!("{client_id}|{}", canonical(ip)),
    )
}

/// Second-factor codes (TOTP, recovery codes): refused while the user+address pair waits after
/// failures, or once the user reached `second_factor_failures_per_hour` (from any address: whoever
/// tries already has the password, so locking is what protects the account here).
pub async fn check_second_factor(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
    ip: IpAddr,
) -> Result<Option<u64>, StoreError> {
    let account = tag(ctx, tenant, "mfa-account", user);
    let pair = tag(
        ctx,
        tenant,
        "mfa-pair",
        &format!("{user}|{}", canonical(ip)),
    );
    if let Some(wait) = until(ctx, &key(tenant, &["fw", &pair])).await? {
        count_refusal(tenant, "second_factor_wait");
        return Ok(Some(wait));
    }
    let limit = tenant.policy.throttle.second_factor_failures_per_hour;
    if let Some(wait) = over_limit(ctx, &key(tenant, &["f", &account]), limit).await? {
        count_refusal(tenant, "second_factor");
        return Ok(Some(wait));
    }
    Ok(None)
}

/// Records a wrong second-factor code.
pub async fn second_factor_failed(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let account = tag(ctx, tenant, "mfa-account", user);
    let pair = tag(
        ctx,
        tenant,
        "mfa-pair",
        &format!("{user}|{}", canonical(ip)),
    );
    add_failure(ctx, &key(tenant, &["f", &account])).await?;
    let base = key(tenant, &["fp", &pair]);
    let n = add_failure(ctx, &base).await? + previous_window(ctx, &base).await?;
    let delay = tenant.policy.throttle.delay_after(n);
    if delay > 0 {
        hold(ctx, &key(tenant, &["fw", &pair]), delay).await?;
    }
    Ok(())
}

/// A right second-factor code: the user+address pair's failures are forgiven (the user-wide
/// count stays, so guessing between successes still adds up).
pub async fn second_factor_succeeded(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let pair = tag(
        ctx,
        tenant,
        "mfa-pair",
        &format!("{user}|{}", canonical(ip)),
    );
    let window = ctx.clock.unix().div_euclid(WINDOW_SECS);
    let base = key(tenant, &["fp", &pair]);
    for k in [
        windowed(&base, window),
        windowed(&base, window - 1),
        key(tenant, &["fw", &pair]),
    ] {
        ctx.store.delete(&k).await?;
    }
    Ok(())
}
