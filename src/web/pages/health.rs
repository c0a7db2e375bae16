//! Operational endpoints: liveness (`/healthz`) and readiness (`/readyz`: database and session
//! store reachable). `/metrics` is in `web::metrics`.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::web::state::AppState;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to serve traffic: both stores answer within a few seconds.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.ctx.draining.load(std::sync::atomic::Ordering::SeqCst) {
        // Shutting down: still serving, but a load balancer should send nothing new.
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(json!({ "status": "draining" }));
    }
    let limit = Duration::from_secs(3);
    let db = tokio::time::timeout(limit, state.ctx.db.ping());
    let store = tokio::time::timeout(limit, state.ctx.store.ping());
    let (db, store) = futures_util::future::join(db, store).await;
    let describe = |ok: bool, err: Option<String>| {
        if ok {
            "ok".to_owned()
        } else {
            err.unwrap_or_else(|| "timed out".into())
        }
    };
    let (db_ok, db_err) = match db {
        Ok(Ok(())) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, None),
    };
    let (store_ok, store_err) = match store {
        Ok(Ok(())) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, None),
    };
    if !db_ok || !store_ok {
        tracing::warn!(database = ?db_err, session_store = ?store_err, "not ready");
    }
    let body = json!({
        "status": if db_ok && store_ok { "ready" } else { "unavailable" },
        "checks": {
            "database": { "backend": format!("{:?}", state.ctx.db.backend()).to_lowercase(), "status": describe(db_ok, db_err.map(|_| "unreachable".into())) },
            "session_store": { "backend": state.ctx.store.kind(), "status": describe(store_ok, store_err.map(|_| "unreachable".into())) },
        }
    });
    if db_ok && store_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(body)
    }
}
