//! The storage a test runs on: a fresh PostgreSQL schema and a fresh Redis key prefix when
//! `WATCHWORD_TEST_DATABASE_URL` / `WATCHWORD_TEST_REDIS_URL` are set (both removed when the
//! test ends), SQLite and the in-process store otherwise. Shared by in-process servers
//! (`TestApp`) and the real binary, so several processes can share one database and one Redis.

use std::process::Command;

use diesel::{Connection, PgConnection, RunQueryDsl};

use super::{test_database_url, test_redis_url};

pub struct Backend {
    /// (server URL, schema)
    pg: Option<(String, String)>,
    /// (server URL, key prefix)
    redis: Option<(String, String)>,
}

impl Backend {
    /// The backends the environment selects, freshly isolated.
    pub fn fresh() -> Self {
        Self::with(test_database_url(), test_redis_url())
    }

    pub fn with(database_url: Option<String>, redis_url: Option<String>) -> Self {
        let pg = database_url.map(|base| {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn =
                PgConnection::establish(&base).expect("connect to WATCHWORD_TEST_DATABASE_URL");
            diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .unwrap();
            (base, schema)
        });
        let redis =
            redis_url.map(|url| (url, format!("ww-test:{}:", uuid::Uuid::new_v4().simple())));
        Self { pg, redis }
    }

    /// The PostgreSQL URL (with the schema as search path), if PostgreSQL is used.
    pub fn database_url(&self) -> Option<String> {
        self.pg.as_ref().map(|(base, schema)| {
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-csearch_path%3D{schema}")
        })
    }

    /// The Redis URL and key prefix, if Redis is used.
    pub fn redis(&self) -> Option<(String, String)> {
        self.redis.clone()
    }

    /// Points a `watchword` command at these backends (SQLite stays the binary's default).
    pub fn apply(&self, cmd: &mut Command) {
        if let Some(url) = self.database_url() {
            cmd.env("WATCHWORD__DATABASE__URL", url);
        }
        if let Some((url, prefix)) = &self.redis {
            cmd.env("WATCHWORD__REDIS__URL", url)
                .env("WATCHWORD__REDIS__KEY_PREFIX", prefix);
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg.take()
            && let Ok(mut conn) = PgConnection::establish(&base)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn);
        }
        if let Some((url, prefix)) = self.redis.take() {
            delete_redis_prefix(&url, &prefix);
        }
    }
}

/// Removes every key a test wrote to Redis.
pub fn delete_redis_prefix(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_connection() else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
    }
}
