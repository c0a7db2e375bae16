//! `watchword session list|end`. With Redis, the command reads and ends sessions itself (every
//! replica sees the same store). With the in-process store, sessions exist only inside the
//! running server, so the command asks it over the control socket (`server.control_socket`).

use clap::Subcommand;

use super::CliError;
use crate::config::Config;
use crate::web::control::{Request, Response};

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List a user's live browser sessions (device, address, times).
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Username or e-mail address.
        #[arg(long)]
        user: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End a session (by its id, as listed) or every session of a user, everywhere: cookie,
    /// refresh tokens (also offline ones issued in it), applications (back-channel logout).
    End {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The session id (`sid`).
        #[arg(
            required_unless_present = "user",
            conflicts_with = "user",
            allow_hyphen_values = true
        )]
        id: Option<String>,
        /// End every session of this user instead.
        #[arg(long)]
        user: Option<String>,
    },
}

impl SessionCommand {
    fn request(&self) -> Request {
        match self {
            SessionCommand::List { tenant, user, .. } => Request::ListSessions {
                tenant: tenant.clone(),
                user: user.clone(),
            },
            SessionCommand::End {
                tenant,
                user: Some(user),
                ..
            } => Request::EndUserSessions {
                tenant: tenant.clone(),
                user: user.clone(),
            },
            SessionCommand::End { tenant, id, .. } => Request::EndSession {
                tenant: tenant.clone(),
                sid: id.clone().unwrap_or_default(),
            },
        }
    }
}

/// Whether this configuration keeps sessions in Redis (the command acts itself) or in the
/// server's memory (the command asks the server).
pub fn needs_server(config: &Config) -> bool {
    config.redis.url.is_none()
}

/// Asks the running server over its control socket.
pub async fn via_server(config: &Config, cmd: SessionCommand) -> Result<(), CliError> {
    let response = ask_server(config, &cmd.request()).await?;
    print(cmd, response)
}

/// Sends one request to the running server's control socket.
pub async fn ask_server(config: &Config, request: &Request) -> Result<Response, CliError> {
    let path = &config.server.control_socket;
    if path.is_empty() {
        return Err(CliError::Usage(
            "sessions are kept in the server's memory (no redis.url), and server.control_socket \
             is empty: there is no way to reach them"
                .into(),
        ));
    }
    let body = serde_json::to_vec(request)?;
    let answer = post_unix(path, "/control", &body).await.map_err(|e| {
        CliError::Failed(format!(
            "cannot reach the running server at {path} ({e}). Sessions are kept in its memory \
             (no redis.url): start the server, or run this command where it runs"
        ))
    })?;
    serde_json::from_slice(&answer)
        .map_err(|e| CliError::Failed(format!("unexpected answer from the server: {e}")))
}

/// Acts directly on the shared store (Redis).
pub async fn direct(app: &crate::app::Watchword, cmd: SessionCommand) -> Result<(), CliError> {
    let response = crate::web::control::run(&app.ctx, cmd.request())
        .await
        .map_err(super::admin_err)?;
    print(cmd, response)
}

fn print(cmd: SessionCommand, response: Response) -> Result<(), CliError> {
    match response {
        Response::Sessions { sessions } => {
            if matches!(cmd, SessionCommand::List { json: true, .. }) {
                println!("{}", serde_json::to_string_pretty(&sessions)?);
                return Ok(());
            }
            if sessions.is_empty() {
                println!("no live sessions");
            }
            for s in sessions {
                let at = |t: i64| crate::clock::from_unix(t).format("%Y-%m-%d %H:%M:%S UTC");
                println!(
                    "{}  {}  {}  signed in {}  last seen {}",
                    s.sid,
                    s.device,
                    if s.ip.is_empty() { "-" } else { &s.ip },
                    at(s.created_at),
                    at(s.last_seen)
                );
            }
        }
        Response::Ended { count } => println!("ended {count} session(s)"),
        Response::PasswordSet { .. } | Response::FactorsReset { .. } | Response::Marked { .. } => {
            return Err(CliError::Failed("unexpected answer from the server".into()));
        }
        Response::Error { message, usage } => {
            return Err(if usage {
                CliError::Usage(message)
            } else {
                CliError::Failed(message)
            });
        }
    }
    Ok(())
}

/// One HTTP/1.1 POST over a Unix socket; returns the body of a 200 answer.
#[cfg(unix)]
async fn post_unix(path: &str, target: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = |m: String| std::io::Error::other(m);
    let mut stream = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::UnixStream::connect(path),
    )
    .await
    .map_err(|_| io("timed out".into()))??;
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut answer),
    )
    .await
    .map_err(|_| io("the server did not answer in time".into()))??;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io("malformed answer".into()))?;
    let status_line = String::from_utf8_lossy(&answer[..split]);
    if !status_line.starts_with("HTTP/1.1 200") {
        return Err(io(status_line.lines().next().unwrap_or("").to_owned()));
    }
    let rest = answer[split + 4..].to_vec();
    if status_line
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(&rest));
    }
    Ok(rest)
}

#[cfg(not(unix))]
async fn post_unix(_: &str, _: &str, _: &[u8]) -> std::io::Result<Vec<u8>> {
    Err(std::io::Error::other("control sockets need a Unix system"))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use super::SessionCommand;

    /// Generated ids are base64url, so one in 32 starts with `-`: it is still an id, not a flag.
    #[test]
    fn an_id_that_starts_with_a_hyphen_is_an_id() {
        let cli = Cli::try_parse_from(["watchword", "session", "end", "-wXyZ"]).unwrap();
        match cli.command {
            Some(Command::Session(SessionCommand::End { id, .. })) => {
                assert_eq!(id.as_deref(), Some("-wXyZ"))
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["watchword", "client", "show", "-abc"]);
        assert!(cli.is_ok(), "{cli:?}");
    }
}
