//! The composition root: builds the context (database, session store, hasher, keys), applies
//! migrations, makes sure the default tenant exists, and assembles the actix server. The only
//! module that knows every layer.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware::from_fn, web};

use crate::admin::{self, AdminError};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::context::{Ctx, StartError};
use crate::observability;
use crate::storage::{StorageError, migrations};
use crate::web::{middleware, routes, state::AppState};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Seed(#[from] admin::seed::SeedError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

/// A ready-to-serve Watchword: storage migrated, default tenant present.
pub struct Watchword {
    pub ctx: Ctx,
}

impl Watchword {
    /// Opens storage, applies migrations and creates the default tenant if missing.
    pub async fn init(config: Config, clock: SharedClock) -> Result<Self, AppError> {
        Self::init_waiting(config, clock, Duration::ZERO).await
    }

    /// Like [`Watchword::init`], but keeps retrying for up to `wait` while the database is
    /// unreachable (the server waits for a database that starts next to it; commands do not).
    pub async fn init_waiting(
        config: Config,
        clock: SharedClock,
        wait: Duration,
    ) -> Result<Self, AppError> {
        let ctx = Ctx::build(config, clock)?;
        let deadline = std::time::Instant::now() + wait;
        let applied = loop {
            let db = ctx.db.clone();
            let result = tokio::task::spawn_blocking(move || migrations::run(&db))
                .await
                .map_err(|e| StorageError::Unavailable(e.to_string()))?;
            match result {
                Err(e) if e.is_unavailable() && std::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "database not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                other => break other?,
            }
        };
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied database migrations");
        }
        let (tenant, created) = admin::tenants::ensure_default(&ctx).await?;
        if created {
            tracing::info!(tenant = %tenant.slug, "created the default tenant");
        }
        for t in admin::tenants::list(&ctx).await? {
            let created = crate::signing::rotation::ensure(&ctx, t.id)
                .await
                .map_err(AdminError::from)?;
            if !created.is_empty() {
                tracing::info!(tenant = %t.slug, keys = ?created, "created signing keys");
            }
        }
        Ok(Self { ctx })
    }

    /// Applies a seed file (see config/seed.example.toml).
    pub async fn seed(&self, path: &Path) -> Result<admin::seed::SeedReport, AppError> {
        let file = admin::seed::load(path)?;
        Ok(admin::seed::apply(&self.ctx, &file).await?)
    }

    /// If the default tenant has no administrator, a one-time setup URL to create one.
    pub async fn setup_url(&self) -> Result<Option<String>, AppError> {
        let tenant = admin::tenants::get(&self.ctx, crate::domain::tenant::DEFAULT_TENANT).await?;
        let token = admin::setup::issue_token_if_no_admin(&self.ctx, &tenant).await?;
        Ok(token.map(|t| {
            format!(
                "{}/t/{}/setup?token={}",
                self.ctx.config.public_origin(),
                tenant.slug,
                t.expose()
            )
        }))
    }

    /// The actix server on an already bound listener (tests bind port 0). Spawn or await it.
    pub fn server(&self, listener: TcpListener) -> Result<Server, AppError> {
        let config = &self.ctx.config;
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let state = self.state();
        self.ctx.breach.export_metrics();
        if state.https && !state.metrics_access.own_listener && state.metrics_access.token.is_none()
        {
            tracing::warn!(
                "/metrics is served on the public listener without a token: set [metrics] listen or token"
            );
        }
        let workers = match config.server.workers {
            0 => Config::cores(),
            n => n,
        };
        self.start_background_jobs();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(state.max_body_bytes))
                .wrap(from_fn(middleware::observe))
                .configure(routes::configure)
        })
        .workers(workers)
        .shutdown_timeout(config.server.shutdown_timeout_secs)
        .disable_signals()
        .listen(listener)
        .map_err(|e| AppError::Bind(addr, e))?
        .run();
        Ok(server)
    }

    /// The `/metrics` listener (`[metrics] listen`) on an already bound listener. Spawn or await it.
    pub fn metrics_server(&self, listener: TcpListener) -> Result<Server, AppError> {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let state = self.state();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(crate::web::metrics::configure_own_listener)
        })
        .workers(1)
        .shutdown_timeout(self.ctx.config.server.shutdown_timeout_secs)
        .disable_signals()
        .listen(listener)
        .map_err(|e| AppError::Bind(addr, e))?
        .run();
        Ok(server)
    }

    fn state(&self) -> web::Data<AppState> {
        let config = &self.ctx.config;
        web::Data::new(AppState {
            ctx: self.ctx.clone(),
            metrics: observability::metrics(),
            https: config.is_https(),
            public_origin: config.public_origin(),
            trusted_proxies: config.server.trusted_proxies.clone(),
            max_body_bytes: config.server.max_body_bytes,
            metrics_access: crate::web::metrics::MetricsAccess {
                own_listener: !config.metrics.listen.is_empty(),
                token: config.metrics.token.clone(),
            },
        })
    }

    /// The control-socket server (`server.control_socket`), if one is configured and the socket
    /// can be created; a failure is logged and the server runs without it. Spawn or await it.
    #[cfg(unix)]
    pub fn control_server(&self) -> Option<Server> {
        let path = std::path::PathBuf::from(&self.ctx.config.server.control_socket);
        if path.as_os_str().is_empty() {
            return None;
        }
        match bind_control(&path, self.ctx.clone()) {
            Ok(server) => {
                tracing::info!(socket = %path.display(), "control socket ready");
                Some(server)
            }
            Err(e) => {
                tracing::warn!(socket = %path.display(), error = %e, "no control socket: `watchword session` commands need Redis or this socket");
                None
            }
        }
    }

    fn start_background_jobs(&self) {
        crate::jobs::start(self.ctx.clone());
    }

    /// Runs the session sweep now (tests move the clock, then sweep).
    pub async fn sweep_sessions(&self) -> usize {
        crate::jobs::sweep_sessions(&self.ctx).await
    }
}

/// Binds the control socket with mode 0600 (an old socket file left by a previous run is
/// replaced; a path that is not a socket is refused).
#[cfg(unix)]
fn bind_control(path: &std::path::Path, ctx: crate::context::Ctx) -> std::io::Result<Server> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a socket",
            ));
        }
        Err(_) => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let data = web::Data::new(ctx);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(16 * 1024))
            .configure(crate::web::control::configure)
    })
    .workers(1)
    .disable_signals()
    .listen_uds(listener)?
    .run())
}
