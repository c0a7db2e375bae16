//! Dedicated `redis-server` processes for fault tests: a persistent node to kill and restart,
//! replicas of it, and a Redis Sentinel watching them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::free_port;

/// `redis-server` with every write fsynced before it is acknowledged.
pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// Started with these further arguments (e.g. `--replicaof 127.0.0.1 PORT`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                // A replica syncs at once (the default waits 5 s for more replicas to share it).
                "--repl-diskless-sync-delay",
                "0",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("this test needs redis-server on PATH");
        self.child = Some(child);
        wait_for_pong(&self.url());
    }

    /// SIGKILL: no chance to write anything not already on disk.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// The answer to one command.
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        query(&self.url(), cmd)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Sentinel (`redis-server --sentinel`) monitoring one master as `name`, quick to act:
/// a master silent for a second is failed over.
pub struct Sentinel {
    pub port: u16,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Sentinel {
    pub fn start(name: &str, master_port: u16) -> Sentinel {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf: PathBuf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\n\
                 sentinel monitor {name} 127.0.0.1 {master_port} 1\n\
                 sentinel down-after-milliseconds {name} 1000\n\
                 sentinel failover-timeout {name} 5000\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("this test needs redis-server on PATH");
        let s = Sentinel {
            port,
            _dir: dir,
            child,
        };
        wait_for_pong(&s.url());
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        query(&self.url(), cmd)
    }

    /// The master's port as the sentinel names it now.
    pub fn master_port(&self, name: &str) -> Option<u16> {
        let addr: Option<(String, u16)> = self
            .query(
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(name),
            )
            .ok()
            .flatten();
        addr.map(|(_, port)| port)
    }

    /// How many replicas the sentinel knows of `name`'s master.
    pub fn replica_count(&self, name: &str) -> usize {
        self.query::<Vec<redis::Value>>(redis::cmd("SENTINEL").arg("replicas").arg(name))
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Asks for a failover now (the replica is promoted after it has caught up).
    pub fn failover(&self, name: &str) {
        let _: String = self
            .query(redis::cmd("SENTINEL").arg("failover").arg(name))
            .expect("SENTINEL FAILOVER");
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The answer of the server at `url` to one command.
fn query<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    redis::Client::open(url)?
        .get_connection_with_timeout(Duration::from_secs(2))
        .and_then(|mut c| cmd.query(&mut c))
}

fn wait_for_pong(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pong = redis::Client::open(url)
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok();
        if pong {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server at {url} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
