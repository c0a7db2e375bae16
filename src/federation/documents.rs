//! Upstream documents (discovery, JWKS) fetched through the guarded client and cached per
//! process for an hour. A refetch on demand (an unknown `kid` after a key rollover) happens at
//! most once a minute per URL, so forged tokens naming random keys cannot make us hammer the
//! provider.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Ctx;
use crate::outbound::OutboundError;

/// The least time between two fetches of one URL when a refetch is asked for.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// The document at `url`, cached.
pub async fn get(ctx: &Ctx, url: &str) -> Result<Arc<serde_json::Value>, OutboundError> {
    if let Some((_, doc)) = ctx.cache.upstream.get(&url.to_owned()) {
        return Ok(doc);
    }
    fetch(ctx, url).await
}

/// The document at `url` fetched again, unless it was fetched less than a minute ago (then
/// the cached one, and `false`).
pub async fn refetch(
    ctx: &Ctx,
    url: &str,
) -> Result<(Arc<serde_json::Value>, bool), OutboundError> {
    if let Some((at, doc)) = ctx.cache.upstream.get(&url.to_owned())
        && ctx.clock.unix() - at < REFETCH_AFTER.as_secs() as i64
    {
        return Ok((doc, false));
    }
    Ok((fetch(ctx, url).await?, true))
}

async fn fetch(ctx: &Ctx, url: &str) -> Result<Arc<serde_json::Value>, OutboundError> {
    let doc = Arc::new(ctx.outbound.get_json(url).await?);
    metrics::counter!("watchword_upstream_fetches_total").increment(1);
    ctx.cache
        .upstream
        .insert(url.to_owned(), (ctx.clock.unix(), doc.clone()));
    Ok(doc)
}
