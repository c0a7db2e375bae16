//! Plain hourly limits on requests that cost Watchword work or someone else a message (sign-up,
//! password reset requests, registration mail per address): at most `limit` per clock hour per
//! client address (IPv6: its /64) or per other value, reserved before the request is handled
//! (one bounded increment: a burst, however parallel, gets exactly `limit` through) and counted
//! in `watchword_throttle_refusals_total{scope}` when refused. Keys hold only keyed hashes:
//! `bf:<tenant>:h:<what>:<tag>:<hour>`.

use std::net::IpAddr;
use std::time::Duration;

use super::{Ctx, StoreError, Tenant, count_refusal, key, tag};
use crate::domain::throttle::address_of;
use crate::session_store::{BoundedIncr, Incremented};

/// Whether a request is handled.
#[derive(Debug, PartialEq, Eq)]
pub enum Hourly {
    /// Counted; go on.
    Allowed,
    /// The hour's limit is reached: try again in `retry_after` seconds (the next hour).
    Refused { retry_after: u64 },
}

/// One request of kind `what` (also the metric's `scope`) from `ip`, under `limit` an hour.
pub async fn per_address(
    ctx: &Ctx,
    tenant: &Tenant,
    what: &'static str,
    ip: IpAddr,
    limit: u64,
) -> Result<Hourly, StoreError> {
    per_value(ctx, tenant, what, &address_of(ip).to_string(), limit).await
}

/// One request of kind `what` for `value` (e.g. a normalized e-mail address), under `limit` an
/// hour.
pub async fn per_value(
    ctx: &Ctx,
    tenant: &Tenant,
    what: &'static str,
    value: &str,
    limit: u64,
) -> Result<Hourly, StoreError> {
    let now = ctx.clock.unix();
    let hour = now.div_euclid(3600).to_string();
    let counter = key(tenant, &["h", what, &tag(ctx, tenant, what, value), &hour]);
    let outcome = ctx
        .store
        .incr_bounded(&BoundedIncr {
            holds: &[],
            counters: &[(&counter, limit)],
            now,
            ttl: Duration::from_secs(7200),
        })
        .await?;
    Ok(match outcome {
        Incremented::Yes(_) => Hourly::Allowed,
        Incremented::Held { .. } | Incremented::Full { .. } => {
            count_refusal(tenant, what);
            Hourly::Refused {
                retry_after: u64::try_from(3600 - now.rem_euclid(3600)).unwrap_or(60),
            }
        }
    })
}
