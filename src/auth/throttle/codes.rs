//! Throttling of second-factor codes (TOTP, recovery codes, security-key answers), with the
//! reservations of the parent module: the check reserves the attempt in the user's hourly counter
//! before the code is looked at; a failure leaves it there and sets the user and address's
//! progressive wait; a success gives it back. And of client authentication at the token
//! endpoint, which is counted after the fact (see [`check_client`]).

use std::net::IpAddr;

use super::{
    COUNTER_TTL, Ctx, StoreError, Tenant, count_refusal, hold, hourly, key, parse_count,
    previous_window, reserve, tag, window_now, windowed,
};
use crate::domain::throttle::{WINDOW_SECS, address_of, window_wait};

/// Client authentication at the token endpoint: refused while the client+address pair waits
/// after failures, or once it reached `client_failures_per_hour`. Unlike passwords and codes it
/// reserves nothing: secrets are long random values that no burst can guess, while an
/// application's server may well have more than the hourly limit of authentications in flight
/// from one address; failures are counted after the fact ([`client_failed`]).
pub async fn check_client(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
    ip: IpAddr,
) -> Result<Option<u64>, StoreError> {
    let pair = client_pair(ctx, tenant, client_id, ip);
    let base = key(tenant, &["c", &pair]);
    let now = ctx.clock.unix();
    let window = now.div_euclid(WINDOW_SECS);
    // The pair's wait and its counts in this window and the previous one, in one round trip
    // (this runs on every client authentication: client credentials, introspection, refresh).
    let wait_key = key(tenant, &["cw", &pair]);
    let (current_key, previous_key) = (windowed(&base, window), windowed(&base, window - 1));
    let mut read = ctx
        .store
        .get_many(&[&wait_key, &current_key, &previous_key])
        .await?
        .into_iter()
        .map(parse_count);
    let (until, current, previous) = (
        read.next().unwrap_or(0),
        read.next().unwrap_or(0),
        read.next().unwrap_or(0),
    );
    if until as i64 > now {
        count_refusal(tenant, "client_wait");
        return Ok(Some((until as i64 - now) as u64));
    }
    let limit = tenant.policy.throttle.client_failures_per_hour;
    if let Some(wait) = window_wait(limit, previous, current, now.rem_euclid(WINDOW_SECS)) {
        count_refusal(tenant, "client");
        return Ok(Some(wait));
    }
    Ok(None)
}

/// Records a failed client authentication and sets the pair's wait.
pub async fn client_failed(
    ctx: &Ctx,
    tenant: &Tenant,
    client_id: &str,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let pair = client_pair(ctx, tenant, client_id, ip);
    let base = key(tenant, &["c", &pair]);
    let current = windowed(&base, window_now(ctx));
    let n = ctx.store.incr(&current, COUNTER_TTL).await? + previous_window(ctx, &base).await?;
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
        &format!("{client_id}|{}", address_of(ip)),
    )
}

/// The user's tag and the user+address pair's tag.
fn second_factor_tags(ctx: &Ctx, tenant: &Tenant, user: &str, ip: IpAddr) -> (String, String) {
    let account = tag(ctx, tenant, "mfa-account", user);
    let pair = tag(
        ctx,
        tenant,
        "mfa-pair",
        &format!("{user}|{}", address_of(ip)),
    );
    (account, pair)
}

/// Second-factor codes (TOTP, recovery codes): refused while the user+address pair waits after
/// failures, or once the user reached `second_factor_failures_per_hour` (from any address:
/// whoever tries already has the password, so locking is what protects the account here).
/// Otherwise the attempt is reserved in the user's count: report it back with
/// [`second_factor_failed`] or [`second_factor_succeeded`].
pub async fn check_second_factor(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
    ip: IpAddr,
) -> Result<Option<u64>, StoreError> {
    let (account, pair) = second_factor_tags(ctx, tenant, user, ip);
    let limit = tenant.policy.throttle.second_factor_failures_per_hour;
    let base = key(tenant, &["f", &account]);
    let previous = previous_window(ctx, &base).await?;
    let slot = hourly(ctx, &base, limit, previous, "second_factor");
    let wait = (key(tenant, &["fw", &pair]), "second_factor_wait");
    Ok(reserve(ctx, tenant, &[wait], &[slot])
        .await?
        .err()
        .map(|r| r.1))
}

/// Records a wrong second-factor code: the user's reservation stays as the count, and the
/// user+address pair counts it for its wait.
pub async fn second_factor_failed(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let (_, pair) = second_factor_tags(ctx, tenant, user, ip);
    let base = key(tenant, &["fp", &pair]);
    let current = windowed(&base, window_now(ctx));
    let n =
        ctx.store.incr(&current, super::COUNTER_TTL).await? + previous_window(ctx, &base).await?;
    let delay = tenant.policy.throttle.delay_after(n);
    if delay > 0 {
        hold(ctx, &key(tenant, &["fw", &pair]), delay).await?;
    }
    Ok(())
}

/// A right second-factor code: the user's reservation is given back and the user+address pair's
/// failures are forgiven (the user-wide count of failures stays, so guessing between successes
/// still adds up).
pub async fn second_factor_succeeded(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &str,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let (account, pair) = second_factor_tags(ctx, tenant, user, ip);
    let window = window_now(ctx);
    ctx.store
        .decr(&[&windowed(&key(tenant, &["f", &account]), window)])
        .await?;
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
