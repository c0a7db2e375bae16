//! The server's log, captured: a process-wide JSON subscriber writing into memory, installed by
//! the first test that asks for it. Tests find their lines by request id.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static SINK: OnceLock<Option<Sink>> = OnceLock::new();

/// The captured log. `None` if another subscriber was installed first.
pub struct Logs(Sink);

/// Starts capturing the log of every server in this process (from now on).
pub fn capture() -> Option<Logs> {
    SINK.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .ok()
            .map(|()| sink)
    })
    .clone()
    .map(Logs)
}

impl Logs {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.0.lock().unwrap()).into_owned()
    }

    /// Every captured event of request `request_id` (JSON objects).
    pub fn of_request(&self, request_id: &str) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&self.0.0.lock().unwrap())
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| {
                v["fields"]["request_id"] == request_id || v["span"]["request_id"] == request_id
            })
            .collect()
    }
}
