//! `TestApp`: a real Watchword server on 127.0.0.1:0 with its own storage (a temporary SQLite
//! file, or a fresh PostgreSQL schema), its own Redis key prefix when Redis is used, and a manual
//! clock the test moves.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use base64::Engine;
use watchword::app::Watchword;
use watchword::clock::ManualClock;
use watchword::config::Config;
use watchword::domain::audit::Actor;
use watchword::domain::secret::Secret;
use watchword::domain::tenant::Tenant;
use watchword::domain::user::User;
use watchword::storage::audit::AuditRow;

use super::backend::Backend;
use super::{Browser, test_database_url, test_redis_url};

pub struct TestApp {
    pub base: String,
    pub app: Watchword,
    pub clock: Arc<ManualClock>,
    handle: ServerHandle,
    /// The `/metrics` listener's base URL when the test set `metrics.listen`.
    pub metrics_base: Option<String>,
    metrics_handle: Option<ServerHandle>,
    _dir: tempfile::TempDir,
    /// The database schema and Redis prefix, removed when the test ends.
    pub backend: Backend,
}

type Tweak = Box<dyn FnOnce(&mut Config)>;

pub struct TestAppBuilder {
    https: bool,
    localhost: bool,
    database_url: Option<String>,
    redis_url: Option<String>,
    tweaks: Vec<Tweak>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            https: false,
            localhost: false,
            database_url: test_database_url(),
            redis_url: test_redis_url(),
            tweaks: Vec::new(),
        }
    }

    /// A server on the configured backends with default settings.
    pub async fn start() -> TestApp {
        Self::builder().start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    pub async fn tenant(&self, slug: &str) -> Tenant {
        watchword::admin::tenants::get(&self.app.ctx, slug)
            .await
            .unwrap()
    }

    /// Creates an enabled user with `password` in tenant `slug`.
    pub async fn create_user(&self, slug: &str, username: &str, password: &str) -> User {
        let tenant = self.tenant(slug).await;
        watchword::admin::users::create(
            &self.app.ctx,
            &tenant,
            watchword::admin::users::NewUser {
                username: username.into(),
                email: Some(format!("{username}@example.test")),
                email_verified: false,
                display_name: None,
                password: Some(Secret::new(password.into())),
                admin_role: None,
                enabled: true,
            },
            &watchword::admin::authz::Admin::operator(Actor::Cli),
        )
        .await
        .unwrap()
    }

    /// The real `watchword` binary, configured like this server (same database, session store,
    /// master key and control socket), as an operator on the same machine would run it.
    pub fn cli(&self) -> std::process::Command {
        let config = &self.app.ctx.config;
        let mut cmd = super::binary::watchword(self._dir.path());
        cmd.env("WATCHWORD__DATABASE__URL", config.database_url())
            .env("WATCHWORD__SERVER__PUBLIC_URL", config.public_origin())
            .env(
                "WATCHWORD__SERVER__CONTROL_SOCKET",
                &config.server.control_socket,
            )
            .env(
                "WATCHWORD__SECRETS__MASTER_KEY",
                config.secrets.master_key.as_ref().unwrap().expose(),
            );
        if let Some((url, prefix)) = self.backend.redis() {
            cmd.env("WATCHWORD__REDIS__URL", url)
                .env("WATCHWORD__REDIS__KEY_PREFIX", prefix);
        }
        cmd
    }

    /// The newest audit events of a tenant, newest first.
    pub async fn audit(&self, slug: &str) -> Vec<AuditRow> {
        let tenant = self.tenant(slug).await;
        self.app
            .ctx
            .db
            .run(move |c| watchword::storage::audit::recent(c, tenant.id, 100))
            .await
            .unwrap()
    }
}

impl TestAppBuilder {
    /// Address the server as `localhost` (public URL and requests): WebAuthn needs a domain name,
    /// an IP address cannot be a relying party.
    pub fn localhost(mut self) -> Self {
        self.localhost = true;
        self
    }

    /// Pretend the public URL is https (cookies get `__Host-` and `Secure`, HSTS is sent).
    pub fn https(mut self) -> Self {
        self.https = true;
        self
    }

    /// Use this Redis URL (e.g. through a proxy) instead of the configured one.
    pub fn redis_url(mut self, url: Option<String>) -> Self {
        self.redis_url = url;
        self
    }

    /// Use this PostgreSQL base URL (e.g. through a proxy) instead of the configured one.
    pub fn database_url(mut self, url: Option<String>) -> Self {
        self.database_url = url;
        self
    }

    pub fn tweak(mut self, f: impl FnOnce(&mut Config) + 'static) -> Self {
        self.tweaks.push(Box::new(f));
        self
    }

    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if self.https { "https" } else { "http" };
        let host = if self.localhost {
            "localhost"
        } else {
            "127.0.0.1"
        };

        let mut config = Config::default();
        config.server.public_url = format!("{scheme}://{host}:{port}");
        config.server.bind = format!("127.0.0.1:{port}");
        config.server.workers = 1;
        config.server.control_socket = dir.path().join("control.sock").display().to_string();
        config.hashing.threads = 2;
        config.secrets.master_key = Some(Secret::new(
            base64::engine::general_purpose::STANDARD
                .encode(watchword::crypto::random::bytes::<32>()),
        ));
        config.database.url = Some(Secret::new(format!(
            "sqlite://{}",
            dir.path().join("watchword.db").display()
        )));
        let backend = Backend::with(self.database_url, self.redis_url);
        if let Some(url) = backend.database_url() {
            config.database.url = Some(Secret::new(url));
            config.database.pool_size = 4;
        }
        if let Some((url, prefix)) = backend.redis() {
            config.redis.url = Some(Secret::new(url));
            config.redis.key_prefix = prefix;
        }
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        config.validate().expect("test configuration is valid");

        let clock = Arc::new(ManualClock::starting_now());
        let app = Watchword::init(config, clock.clone())
            .await
            .expect("Watchword starts");
        let server = app.server(listener).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        if let Some(control) = app.control_server() {
            tokio::spawn(control);
        }
        let (metrics_base, metrics_handle) = if app.ctx.config.metrics.listen.is_empty() {
            (None, None)
        } else {
            let listener = TcpListener::bind(&app.ctx.config.metrics.listen).unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let server = app.metrics_server(listener).unwrap();
            let handle = server.handle();
            tokio::spawn(server);
            (Some(base), Some(handle))
        };
        TestApp {
            metrics_base,
            metrics_handle,
            base: format!("http://{host}:{port}"),
            app,
            clock,
            handle,
            _dir: dir,
            backend,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(h) = &self.metrics_handle {
            drop(h.stop(false));
        }
    }
}
