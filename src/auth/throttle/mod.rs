//! Brute-force protection of sign-ins: counting failed attempts in the session store and deciding
//! whether the next attempt is evaluated at all (see `crate::domain::throttle` for the rules and
//! why known devices and networks are counted apart); `codes.rs` does the same for second-factor
//! codes and client authentication. Counters are keyed by keyed hashes, never by identifiers or
//! addresses in clear. Time comes from the injected clock: counters are per fixed hour (the window
//! number is part of the key; limits use a sliding estimate over two windows,
//! `domain::throttle::window_wait`) and waits and locks store their end time, so store TTLs only
//! collect garbage and tests move the clock on both stores alike.
//!
//! An attempt **reserves** before it is evaluated: one `SessionStore::incr_bounded` adds it to
//! every counter it counts against, all or none, and only while no wait or lock of its pair is
//! ahead and every counter is below its bound. So no burst, however parallel and on however many
//! replicas, gets more attempts evaluated than the limits allow. A failure leaves the reservation
//! as its count (and sets the pair's wait or lock); a success gives it back (`decr`) and forgives
//! the pair; an attempt that was not evaluated after all gives it back too (`release`).
//!
//! Keys (per tenant, `<w>` = window; an address is an IPv4 address or an IPv6 /64):
//! `bf:a:<account>:<w>` failures of an account from unknown devices and networks;
//! `bf:k:<account>:<w>` failures of an account from its known networks (their own budget);
//! `bf:p:<account>:<ip>:<w>` failures of an account from one address, `bf:pw:` the end of its wait
//! before the next attempt, `bf:pl:` the end of its lock; `bf:i:<ip>:<w>` failures from an
//! address; `bf:d:<device>:<w>` failures of a known device; `bf:n:<account>` the account's known
//! networks; `bf:f:`, `bf:fp:`, `bf:fw:` wrong second-factor codes and `bf:c:`, `bf:cw:` failed
//! client authentications (`codes.rs`; client authentications are counted after the fact, not
//! reserved, see `check_client`); `h:` plain hourly limits on requests per address or value
//! (`hourly.rs`: sign-ups, reset requests).

mod codes;
pub mod hourly;
pub mod spraying;

use std::net::IpAddr;
use std::time::Duration;

pub use codes::{
    check_client, check_second_factor, client_failed, second_factor_failed, second_factor_succeeded,
};

use crate::context::Ctx;
use crate::crypto::{hmac_sha256, hmac_sha256_verify, random};
use crate::domain::tenant::Tenant;
use crate::domain::throttle::{WINDOW_SECS, address_of, network_of, window_room, window_wait};
use crate::session_store::{BoundedIncr, Incremented, StoreError, Writes};

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

/// An attempt allowed through, holding its reservation: report back with [`failed`],
/// [`succeeded`] or, if it was not evaluated after all, [`release`].
#[derive(Clone, Debug)]
pub struct Gate {
    account: String,
    ip: String,
    network: String,
    pub standing: Standing,
    /// The account-, address- or device-wide counters reserved (keys of the check's window).
    reserved: Vec<String>,
    /// The pair's reserved counter and the pair's recent failures counting this attempt (none
    /// for a known device).
    pair: Option<(String, u64)>,
    /// The account's known networks as the check read them (rewritten on success).
    known: Vec<String>,
    /// Failed attempts counted against this attempt's account-wide budget in the last hour or
    /// two, this one not included (risk scoring's `account_failures`).
    pub recent_failures: u64,
    /// Failed attempts from this address (over every account) in the last hour or two, this one
    /// not included, where the check read them (an unknown client; risk's `address_failures`).
    pub address_failures: u64,
}

/// Whether an attempt is evaluated.
#[derive(Debug)]
pub enum Verdict {
    Proceed(Gate),
    /// Refused without evaluation; try again in `retry_after` seconds. `scope` says which limit
    /// (for metrics and the audit log): `account`, `known_network`, `address`, `pair_wait`,
    /// `pair_lock`, `device`.
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
    Ok(parse_count(ctx.store.get(key).await?))
}

/// A stored counter's value (absent or unreadable: 0).
fn parse_count(value: Option<Vec<u8>>) -> u64 {
    value
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A per-window counter: its key in window `window`.
fn windowed(base: &str, window: i64) -> String {
    format!("{base}:{window}")
}

fn window_now(ctx: &Ctx) -> i64 {
    ctx.clock.unix().div_euclid(WINDOW_SECS)
}

/// The count of `base` in the previous window (failures of the last hour or two, for waits and
/// locks: conservative, never fewer than the last hour's).
async fn previous_window(ctx: &Ctx, base: &str) -> Result<u64, StoreError> {
    count(ctx, &windowed(base, window_now(ctx) - 1)).await
}

/// One counter an attempt counts against: its key in the current window, the bound its count
/// must stay below, and the refusal when it does not.
struct Slot {
    key: String,
    bound: u64,
    scope: &'static str,
    full: Full,
}

/// How long a full counter refuses.
enum Full {
    /// An hourly limit: until the sliding estimate drops below it.
    Hourly { limit: u32, previous: u64 },
    /// A fixed time (the pair's lock, about to be set by the attempt that filled it).
    For(u64),
}

/// The slot of counter `base` under `limit` failures per hour (the sliding estimate: the
/// previous window's count `previous`, read by the caller, bounds what the current one may still
/// take).
fn hourly(ctx: &Ctx, base: &str, limit: u32, previous: u64, scope: &'static str) -> Slot {
    let now = ctx.clock.unix();
    let window = now.div_euclid(WINDOW_SECS);
    Slot {
        key: windowed(base, window),
        bound: window_room(limit, previous, now.rem_euclid(WINDOW_SECS)),
        scope,
        full: Full::Hourly { limit, previous },
    }
}

/// Reserves one count in every slot, in one atomic step, unless one of `holds` (a wait or lock
/// end time, with its scope) is ahead or a slot is full. The new counts, or the refusal's scope
/// and seconds to wait (counted in `watchword_throttle_refusals_total`).
async fn reserve(
    ctx: &Ctx,
    tenant: &Tenant,
    holds: &[(String, &'static str)],
    slots: &[Slot],
) -> Result<Result<Vec<u64>, (&'static str, u64)>, StoreError> {
    let now = ctx.clock.unix();
    let hold_keys: Vec<&str> = holds.iter().map(|(k, _)| k.as_str()).collect();
    let counters: Vec<(&str, u64)> = slots.iter().map(|s| (s.key.as_str(), s.bound)).collect();
    let outcome = ctx
        .store
        .incr_bounded(&BoundedIncr {
            holds: &hold_keys,
            counters: &counters,
            now,
            ttl: COUNTER_TTL,
        })
        .await?;
    let refusal = match outcome {
        Incremented::Yes(counts) => return Ok(Ok(counts)),
        Incremented::Held { index, until } => (
            holds.get(index).map_or("wait", |h| h.1),
            u64::try_from(until - now).unwrap_or(1).max(1),
        ),
        Incremented::Full { index, count } => match slots.get(index) {
            Some(slot) => (
                slot.scope,
                match slot.full {
                    Full::Hourly { limit, previous } => {
                        window_wait(limit, previous, count, now.rem_euclid(WINDOW_SECS))
                            .unwrap_or(1)
                    }
                    Full::For(secs) => secs,
                },
            ),
            None => ("limit", 1),
        },
    };
    count_refusal(tenant, refusal.0);
    Ok(Err(refusal))
}

/// A hold of `secs` seconds: its value ("until now + secs") and its TTL in the store.
fn hold_until(ctx: &Ctx, secs: u64) -> (String, Duration) {
    let end = ctx.clock.unix() + secs as i64;
    (end.to_string(), Duration::from_secs(secs + 60))
}

/// Stores a hold of `secs` seconds under `key`.
async fn hold(ctx: &Ctx, key: &str, secs: u64) -> Result<(), StoreError> {
    let (end, ttl) = hold_until(ctx, secs);
    ctx.store.set(key, end.as_bytes(), ttl).await
}

/// Decides whether a password attempt on `account` (a user id, or for an unknown identifier the
/// normalized identifier: both are hashed, and both are treated the same) from `ip` with the
/// known-device cookie `device` is evaluated, and if so reserves its place in every counter it
/// counts against: its known device's; or the account's known-network budget, or the address's
/// and the account's; and its pair's (account and address), whose wait and lock it must not be
/// under.
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
        ip: tag(ctx, tenant, "ip", &address_of(ip).to_string()),
        network: tag(ctx, tenant, "net", &network_of(ip).to_string()),
        standing: Standing::Unknown,
        reserved: Vec::new(),
        pair: None,
        known: Vec::new(),
        recent_failures: 0,
        address_failures: 0,
    };
    let mut holds = Vec::new();
    let mut slots = Vec::new();
    let mut pair_previous = None;
    let device =
        device.and_then(|d| device_id(&ctx.keys.throttle, ctx.clock.unix(), &gate.account, d));
    // Everything the decision reads, in one round trip: the account's known networks and the
    // previous window of every counter this attempt may count against.
    let previous = window_now(ctx) - 1;
    let networks_key = key(tenant, &["n", &gate.account]);
    let bases = match &device {
        Some(id) => vec![key(tenant, &["d", id])],
        None => vec![
            key(tenant, &["k", &gate.account]),
            key(tenant, &["i", &gate.ip]),
            key(tenant, &["a", &gate.account]),
            key(tenant, &["p", &gate.account, &gate.ip]),
        ],
    };
    let previous_keys: Vec<String> = bases.iter().map(|b| windowed(b, previous)).collect();
    let mut wanted: Vec<&str> = vec![networks_key.as_str()];
    wanted.extend(previous_keys.iter().map(String::as_str));
    let mut read = ctx.store.get_many(&wanted).await?.into_iter();
    gate.known = read
        .next()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let before: Vec<u64> = read.map(parse_count).collect();
    if let Some(id) = device {
        let limit = policy.device_failures_per_hour;
        slots.push(hourly(ctx, &bases[0], limit, before[0], "device"));
        gate.standing = Standing::KnownDevice(id);
    } else {
        if gate.known.contains(&gate.network) {
            gate.standing = Standing::KnownNetwork;
            let limit = policy.known_network_failures_per_hour;
            slots.push(hourly(ctx, &bases[0], limit, before[0], "known_network"));
        } else {
            let limit = policy.ip_failures_per_hour;
            slots.push(hourly(ctx, &bases[1], limit, before[1], "address"));
            let limit = policy.account_failures_per_hour;
            slots.push(hourly(ctx, &bases[2], limit, before[2], "account"));
        }
        holds.push((key(tenant, &["pl", &gate.account, &gate.ip]), "pair_lock"));
        holds.push((key(tenant, &["pw", &gate.account, &gate.ip]), "pair_wait"));
        // The pair's count is reserved too, so a burst gets at most the lock threshold evaluated,
        // even before the first failure has set a wait.
        let previous = before[3];
        pair_previous = Some(previous);
        slots.push(Slot {
            key: windowed(&bases[3], window_now(ctx)),
            bound: u64::from(policy.pair_lock_failures).saturating_sub(previous),
            scope: "pair_lock",
            full: Full::For(u64::from(policy.pair_lock_secs)),
        });
    }
    let counts = match reserve(ctx, tenant, &holds, &slots).await? {
        Ok(counts) => counts,
        Err((scope, retry_after)) => return Ok(Verdict::Refused { retry_after, scope }),
    };
    // The account-wide slot: the device's, the known networks', or (for an unknown client) the
    // account's, which comes after the address's.
    let (base, slot) = match gate.standing {
        Standing::Unknown => (2, 1),
        _ => (0, 0),
    };
    gate.recent_failures = before.get(base).copied().unwrap_or(0)
        + counts.get(slot).copied().unwrap_or(1).saturating_sub(1);
    if gate.standing == Standing::Unknown {
        gate.address_failures = before.get(1).copied().unwrap_or(0)
            + counts.first().copied().unwrap_or(1).saturating_sub(1);
    }
    let mut reserved: Vec<String> = slots.into_iter().map(|s| s.key).collect();
    if let Some(previous) = pair_previous
        && let (Some(pair), Some(n)) = (reserved.pop(), counts.last())
    {
        gate.pair = Some((pair, n + previous));
    }
    gate.reserved = reserved;
    Ok(Verdict::Proceed(gate))
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

/// Records a failed attempt that was evaluated: its reservation stays as its count, and its pair
/// (for known networks and unknown clients) waits before the next attempt, or is locked.
pub async fn failed(ctx: &Ctx, tenant: &Tenant, gate: &Gate) -> Result<(), StoreError> {
    let Some((pair, n)) = &gate.pair else {
        return Ok(());
    };
    let policy = &tenant.policy.throttle;
    if *n >= u64::from(policy.pair_lock_failures) {
        // The lock, and room for one attempt once it ends (each of which locks again), as when
        // failures were counted after the fact; the lock keeps it closed until then.
        let (end, ttl) = hold_until(ctx, u64::from(policy.pair_lock_secs));
        ctx.store
            .apply(&Writes {
                decr: &[pair],
                set: &[(
                    &key(tenant, &["pl", &gate.account, &gate.ip]),
                    end.as_bytes(),
                    ttl,
                )],
                ..Writes::default()
            })
            .await?;
        metrics::counter!("watchword_throttle_locks_total", "tenant" => tenant.slug.to_string())
            .increment(1);
        return Ok(());
    }
    let delay = policy.delay_after(*n);
    if delay > 0 {
        hold(ctx, &key(tenant, &["pw", &gate.account, &gate.ip]), delay).await?;
    }
    Ok(())
}

/// Gives back the reservation of an attempt that was let through but not evaluated after all
/// (the password hashing pool was busy) or that was not a failure (a disabled account's right
/// password).
pub async fn release(ctx: &Ctx, gate: &Gate) -> Result<(), StoreError> {
    let mut keys: Vec<&str> = gate.reserved.iter().map(String::as_str).collect();
    keys.extend(gate.pair.as_ref().map(|(pair, _)| pair.as_str()));
    ctx.store.decr(&keys).await
}

/// Records a successful sign-in: its reservation is given back, the pair's failures are
/// forgiven, the network becomes known, and the browser gets (or renews) its known-device cookie,
/// whose value is returned.
pub async fn succeeded(ctx: &Ctx, tenant: &Tenant, gate: &Gate) -> Result<String, StoreError> {
    let policy = &tenant.policy.throttle;
    let reserved: Vec<&str> = gate.reserved.iter().map(String::as_str).collect();
    let window = window_now(ctx);
    let pair = key(tenant, &["p", &gate.account, &gate.ip]);
    let forgiven = [
        windowed(&pair, window),
        windowed(&pair, window - 1),
        key(tenant, &["pw", &gate.account, &gate.ip]),
        key(tenant, &["pl", &gate.account, &gate.ip]),
    ];
    let known_for = Duration::from_secs(u64::from(policy.known_for_days) * 86_400);
    let mut nets = gate.known.clone();
    nets.retain(|n| n != &gate.network);
    nets.push(gate.network.clone());
    let keep = nets.len().saturating_sub(20);
    nets.drain(..keep);
    let nets = serde_json::to_vec(&nets).expect("serializes");
    // One step: the reservation given back, the pair forgiven, the network known.
    ctx.store
        .apply(&Writes {
            decr: &reserved,
            delete: &forgiven.iter().map(String::as_str).collect::<Vec<_>>(),
            set: &[(&key(tenant, &["n", &gate.account]), &nets, known_for)],
        })
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

/// The device id of `cookie` if it is a valid known-device cookie of `account` (a user id) in
/// `tenant`.
pub fn known_device(ctx: &Ctx, tenant: &Tenant, account: &str, cookie: &str) -> Option<String> {
    let account = tag(ctx, tenant, "account", account);
    device_id(&ctx.keys.throttle, ctx.clock.unix(), &account, cookie)
}

/// The device id inside a known-device cookie this server just made (not verified: use
/// [`device_id`] for a cookie a browser sent).
pub fn device_of(cookie: &str) -> Option<String> {
    cookie.split('.').nth(1).map(str::to_owned)
}

/// The device id of a valid, unexpired known-device cookie for `account` (`key`: the throttle
/// key; `now`: unix seconds).
pub fn device_id(key: &[u8; 32], now: i64, account: &str, cookie: &str) -> Option<String> {
    let mut parts = cookie.split('.');
    let (v, id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if v != "v1" || parts.next().is_some() || expires.parse::<i64>().ok()? <= now {
        return None;
    }
    let body = format!("v1.{id}.{expires}.{account}");
    hmac_sha256_verify(key, body.as_bytes(), &hex::decode(mac).ok()?).then(|| id.to_owned())
}
