//! `watchword serve`: initialize, optionally seed, print the first-start link, serve until
//! SIGINT/SIGTERM, then shut down gracefully: `/readyz` answers 503 for
//! `server.shutdown_delay_ms` while requests are still served, then the listener closes and
//! in-flight requests get `server.shutdown_timeout_secs`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use super::CliError;
use crate::app::Watchword;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::observability;

pub async fn run(config: Config, seed: Option<PathBuf>) -> Result<(), CliError> {
    observability::init_logging(&config.log, observability::LogTarget::Stdout);
    let bind = config.server.bind.clone();
    let public = config.public_origin();
    let wait = std::time::Duration::from_secs(config.database.startup_wait_secs);
    let app = Watchword::init_waiting(config, Arc::new(SystemClock), wait).await?;
    if let Some(path) = seed {
        let report = app.seed(&path).await.map_err(super::commands::seed_error)?;
        tracing::info!(file = %path.display(), %report, "applied seed file");
    }
    if let Some(url) = app.setup_url().await? {
        // Printed, not logged: the link is a one-time credential and does not belong in log
        // storage. It is only shown while no administrator exists.
        eprintln!(
            "\n  Watchword has no administrator yet. Create one within the next hour at:\n\n    {url}\n\n  \
             or run:  watchword user create --tenant default --admin read-write <username>\n"
        );
    }
    let listener = TcpListener::bind(&bind)
        .map_err(|e| CliError::Failed(format!("cannot listen on {bind}: {e}")))?;
    let server = app.server(listener)?;
    let handle = server.handle();
    let metrics_listen = app.ctx.config.metrics.listen.clone();
    let metrics_handle = if metrics_listen.is_empty() {
        None
    } else {
        let listener = TcpListener::bind(&metrics_listen).map_err(|e| {
            CliError::Failed(format!(
                "cannot listen on {metrics_listen} (metrics.listen): {e}"
            ))
        })?;
        let metrics = app.metrics_server(listener)?;
        let h = metrics.handle();
        tokio::spawn(metrics);
        tracing::info!(listen = %metrics_listen, "metrics listener ready");
        Some(h)
    };
    // The control socket lives as long as the process.
    #[cfg(unix)]
    if let Some(control) = app.control_server() {
        tokio::spawn(control);
    }
    tracing::info!(bind = %bind, public_url = %public, "Watchword is serving");
    let draining = app.ctx.draining.clone();
    let delay = std::time::Duration::from_millis(app.ctx.config.server.shutdown_delay_ms);
    tokio::spawn(async move {
        shutdown_signal().await;
        // Readiness goes 503 first; the listener keeps serving for `shutdown_delay_ms` so a load
        // balancer polling `/readyz` stops sending new requests before connections are refused.
        draining.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "shutting down: draining"
        );
        tokio::time::sleep(delay).await;
        tracing::info!("shutting down: closing the listener");
        handle.stop(true).await;
        if let Some(m) = metrics_handle {
            m.stop(true).await;
        }
    });
    server.await?;
    let left = app
        .ctx
        .backchannel
        .flush(std::time::Duration::from_secs(5))
        .await;
    if left > 0 {
        tracing::warn!(
            left,
            "shut down with back-channel logout notifications still pending"
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
