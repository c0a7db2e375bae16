//! Running the real `watchword` binary (CLI tests, first start, configuration errors).

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A `watchword` command running in `dir`, with no inherited `WATCHWORD__*` variables and a
/// master key given inline (so nothing is written outside `dir`).
pub fn watchword(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_watchword"));
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("WATCHWORD__") {
            cmd.env_remove(k);
        }
    }
    cmd.env("WATCHWORD__LOG__FORMAT", "json");
    cmd
}

/// Runs the command with `stdin` as standard input.
pub fn run(mut cmd: Command, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watchword binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A working directory for the real binary, on the test's backends (a fresh PostgreSQL schema
/// and Redis prefix when the environment selects them; SQLite under the directory otherwise).
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub backend: super::backend::Backend,
}

impl Workdir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            backend: super::backend::Backend::fresh(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `watchword` in this directory, on these backends.
    pub fn watchword(&self) -> Command {
        let mut cmd = watchword(self.path());
        self.backend.apply(&mut cmd);
        cmd
    }
}
