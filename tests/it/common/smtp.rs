//! A real SMTP server for the mail tests: Debian's `python3-aiosmtpd` (installed by `.ci/run`)
//! on a loopback port, storing what it receives in a Maildir the test reads. Without it the mail
//! tests fail; they never pass without a server.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";

pub struct SmtpSink {
    pub port: u16,
    maildir: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

/// A received message: its headers and its plain-text part.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
}

impl SmtpSink {
    /// A server on a free port.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// A server on `port` (a test first points Watchword at a port where nothing listens yet).
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Mailbox"])
            .arg("-l")
            .arg(format!("127.0.0.1:{port}"))
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the mail tests need python3-aiosmtpd ({PYTHON} -m aiosmtpd): {e}")
            });
        let mut sink = Self {
            port,
            maildir,
            child: Some(child),
            _dir: dir,
        };
        sink.wait_listening();
        sink
    }

    /// A server that accepts mail only over TLS (`starttls` or `implicit`) and after AUTH as
    /// `user` / `password`, with a certificate for 127.0.0.1 from a new private CA (the CA's
    /// PEM file is returned, for Watchword's `mail.smtp_ca_file`).
    pub fn start_tls(mode: &str, user: &str, password: &str) -> (Self, PathBuf) {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let (cert, key, ca) = (path("cert.pem"), path("key.pem"), path("ca.pem"));
        std::fs::write(
            path("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        // A private CA, and the server's certificate for 127.0.0.1 signed by it.
        let p = |name: &str| path(name).to_str().unwrap().to_owned();
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1";
        openssl(&format!(
            "req -x509 {ec} -subj /CN=WatchwordTestCA -keyout {} -out {}",
            p("ca.key"),
            p("ca.pem")
        ));
        openssl(&format!(
            "req {ec} -subj /CN=127.0.0.1 -keyout {} -out {}",
            p("key.pem"),
            p("leaf.csr")
        ));
        openssl(&format!(
            "x509 -req -days 1 -in {} -CA {} -CAkey {} -CAcreateserial -extfile {} -out {}",
            p("leaf.csr"),
            p("ca.pem"),
            p("ca.key"),
            p("leaf.ext"),
            p("cert.pem")
        ));
        let maildir = dir.path().join("Maildir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/common/smtp_tls.py");
        let child = Command::new(PYTHON)
            .arg(script)
            .arg(port.to_string())
            .arg(&maildir)
            .arg(mode)
            .arg(&cert)
            .arg(&key)
            .args([user, password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("the mail tests need python3-aiosmtpd: {e}"));
        let mut sink = Self {
            port,
            maildir,
            child: Some(child),
            _dir: dir,
        };
        sink.wait_listening();
        (sink, ca)
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the SMTP server exited ({status}): is python3-aiosmtpd installed?");
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                out.push(parse(&std::fs::read_to_string(e.path()).unwrap()));
            }
        }
        out
    }

    /// Waits up to 10 s for at least `n` messages.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `openssl` with whitespace-separated `args` (paths without spaces).
fn openssl(args: &str) {
    let made = Command::new("openssl")
        .args(args.split_whitespace())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl makes the test server's certificates");
    assert!(made.success(), "openssl {args} failed");
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn header(raw: &str, name: &str) -> String {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
        .unwrap_or_default()
}

/// The text/plain part (7bit or quoted-printable, as lettre writes it).
fn text_part(raw: &str) -> String {
    let Some(start) = raw.find("Content-Type: text/plain") else {
        return String::new();
    };
    let part = &raw[start..];
    let body_at = part.find("\n\n").map_or(part.len(), |i| i + 2);
    let headers = &part[..body_at];
    let body = &part[body_at..];
    let body = body.split("\n--").next().unwrap_or("");
    if headers.contains("quoted-printable") {
        decode_qp(body)
    } else {
        body.to_owned()
    }
}

fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse(raw: &str) -> Received {
    let raw = raw.replace("\r\n", "\n");
    Received {
        to: header(&raw, "To"),
        subject: header(&raw, "Subject"),
        message_id: header(&raw, "Message-ID"),
        text: text_part(&raw),
        raw,
    }
}

/// The first `http(s)://` link in a text.
pub fn link(text: &str) -> Option<String> {
    let start = text.find("http://").or_else(|| text.find("https://"))?;
    Some(
        text[start..]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned(),
    )
}
