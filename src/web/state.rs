//! What every handler can reach: the use-case context plus web-only settings.

use ipnet::IpNet;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::context::Ctx;

pub struct AppState {
    pub ctx: Ctx,
    pub metrics: PrometheusHandle,
    /// `public_url` is https: `__Host-` cookies, `Secure`, HSTS.
    pub https: bool,
    /// e.g. `https://id.example.com`
    pub public_origin: String,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub metrics_access: super::metrics::MetricsAccess,
}
