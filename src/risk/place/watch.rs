//! A data file read at start and read again when it changes on disk (modification time or
//! size), checked by [`Watched::reload_if_changed`]; readers keep the version they hold, and a
//! broken replacement is logged at error level and the old data kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::{Mutex, RwLock};

/// Reads and checks a file; the message says what is wrong with it.
pub(super) type Loader<T> = Box<dyn Fn(&Path) -> Result<T, String> + Send + Sync>;

/// What a reload check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded,
    /// The file changed but could not be read: the old data stays.
    Failed,
}

/// The file's identity on disk, to notice a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

pub(super) struct Watched<T> {
    /// Which file this is, in logs (`risk.geoip_database`, …).
    key: &'static str,
    path: PathBuf,
    load: Loader<T>,
    current: RwLock<Arc<T>>,
    /// The stamp of the last version tried, loaded or not (a broken file is not retried until
    /// it changes again).
    seen: Mutex<Option<Stamp>>,
}

impl<T> Watched<T> {
    /// Reads the file now; an error is the loader's message with the path.
    pub(super) fn open(key: &'static str, path: &Path, load: Loader<T>) -> Result<Self, String> {
        let seen = stamp(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let data = load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self {
            key,
            path: path.to_owned(),
            load,
            current: RwLock::new(Arc::new(data)),
            seen: Mutex::new(Some(seen)),
        })
    }

    /// The data in use.
    pub(super) fn get(&self) -> Arc<T> {
        self.current.read().clone()
    }

    /// Reads the file again if its modification time or size changed since the last check.
    pub(super) fn reload_if_changed(&self) -> Reload {
        let now = match stamp(&self.path) {
            Ok(s) => s,
            Err(e) => {
                let mut seen = self.seen.lock();
                if seen.is_some() {
                    tracing::error!(key = self.key, path = %self.path.display(), error = %e,
                        "risk data file unreadable; keeping the data loaded before");
                    *seen = None;
                }
                return Reload::Failed;
            }
        };
        {
            let mut seen = self.seen.lock();
            if *seen == Some(now) {
                return Reload::Unchanged;
            }
            *seen = Some(now);
        }
        match (self.load)(&self.path) {
            Ok(data) => {
                *self.current.write() = Arc::new(data);
                tracing::info!(key = self.key, path = %self.path.display(), "risk data file reloaded");
                Reload::Reloaded
            }
            Err(e) => {
                tracing::error!(key = self.key, path = %self.path.display(), error = %e,
                    "risk data file changed but is broken; keeping the data loaded before");
                Reload::Failed
            }
        }
    }
}
