//! Password spraying: how many distinct accounts failed from one address (IPv6: its /64) in the
//! last hour or two. Each failed attempt marks its (address, account) pair for the hour with
//! `set_if_absent`; only a new mark adds one to the address's count, so one account tried many
//! times counts once. Keys hold keyed hashes only: `bf:<tenant>:sm:<address>:<account>:<hour>`
//! (mark) and `bf:<tenant>:sc:<address>:<hour>` (count).

use std::net::IpAddr;
use std::time::Duration;

use super::{Ctx, StoreError, Tenant, key, parse_count, tag};
use crate::domain::throttle::address_of;

const TTL: Duration = Duration::from_secs(2 * 3600 + 60);

fn hour(ctx: &Ctx) -> i64 {
    ctx.clock.unix().div_euclid(3600)
}

/// Counts a failed attempt on `account` from `ip`.
pub async fn failed(
    ctx: &Ctx,
    tenant: &Tenant,
    ip: IpAddr,
    account: &str,
) -> Result<(), StoreError> {
    let address = tag(ctx, tenant, "ip", &address_of(ip).to_string());
    let who = tag(ctx, tenant, "account", account);
    let hour = hour(ctx).to_string();
    let mark = key(tenant, &["sm", &address, &who, &hour]);
    if ctx.store.set_if_absent(&mark, b"1", TTL).await? {
        ctx.store
            .incr(&key(tenant, &["sc", &address, &hour]), TTL)
            .await?;
    }
    Ok(())
}

/// Distinct accounts that failed from `ip` this hour and the last (at most counts an account
/// twice across the hour's turn: conservative). One round trip.
pub async fn distinct_failures(ctx: &Ctx, tenant: &Tenant, ip: IpAddr) -> Result<u64, StoreError> {
    let address = tag(ctx, tenant, "ip", &address_of(ip).to_string());
    let now = hour(ctx);
    let keys = [now, now - 1].map(|h| key(tenant, &["sc", &address, &h.to_string()]));
    let read = ctx
        .store
        .get_many(&[keys[0].as_str(), keys[1].as_str()])
        .await?;
    Ok(read.into_iter().map(parse_count).sum())
}
