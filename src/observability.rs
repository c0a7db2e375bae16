//! Logs (tracing: JSON for machines, pretty for people) and the Prometheus recorder.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Where log lines go: the server logs to stdout; command-line tools keep stdout for their
/// output and log to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Installs the global log subscriber (once; later calls are ignored, which suits tests).
pub fn init_logging(config: &LogConfig, target: LogTarget) {
    let filter = EnvFilter::try_new(&config.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let writer = match target {
        LogTarget::Stdout => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stdout),
        LogTarget::Stderr => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
    };
    let ansi = match target {
        LogTarget::Stdout => std::io::stdout().is_terminal(),
        LogTarget::Stderr => std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}

/// Latency buckets (seconds) for HTTP histograms: fine-grained below 100 ms, where token
/// endpoints live, and up to 10 s for hashing-bound sign-ins under load.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "watchword_signin_attempts_total",
        "Password sign-in attempts by tenant and result"
    );
    metrics::describe_histogram!(
        "watchword_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route and status"
    );
    metrics::describe_counter!(
        "watchword_token_requests_total",
        "Token endpoint requests by tenant, grant type and result (success or the OAuth error code)"
    );
    metrics::describe_counter!(
        "watchword_sessions_ended_total",
        "Browser sessions ended, by tenant and reason"
    );
    metrics::describe_counter!(
        "watchword_backchannel_logout_total",
        "Back-channel logout deliveries by result (delivered, failed, dropped)"
    );
    metrics::describe_gauge!(
        "watchword_breach_data_timestamp_seconds",
        metrics::Unit::Seconds,
        "Date of the breached-password filter's data (its manifest's data_date), Unix seconds"
    );
    metrics::describe_counter!(
        "watchword_breach_hits_total",
        "New passwords refused as breached, by source (filter, range)"
    );
    metrics::describe_counter!(
        "watchword_breach_range_unavailable_total",
        "Breached-password range service calls that failed (timeout, status, redirect)"
    );
    metrics::describe_counter!(
        "watchword_retention_rows_deleted_total",
        "Rows deleted by the retention purges, by table (audit_events, sign_in_events)"
    );
    metrics::describe_gauge!(
        "watchword_retention_last_run_timestamp_seconds",
        metrics::Unit::Seconds,
        "When each retention purge last completed, by table, Unix seconds"
    );
    metrics::describe_histogram!(
        "watchword_backchannel_logout_delay_seconds",
        metrics::Unit::Seconds,
        "Time from a session ending to its logout token being accepted by the client"
    );
}
