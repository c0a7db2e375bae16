//! Argon2id password hashing on a bounded pool of dedicated threads. The threads run at a lower
//! CPU priority than the HTTP workers, so a burst of sign-ins saturates spare CPU without
//! stalling other requests; a full queue answers "busy" instead of growing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use crossbeam_channel::{Sender, TrySendError, bounded};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::config::HashingConfig;

#[derive(Debug, Clone, thiserror::Error)]
pub enum HashError {
    #[error("too many sign-ins are being processed; try again in a moment")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash uses other parameters than configured and should be replaced.
    pub needs_rehash: bool,
}

enum Job {
    Hash {
        password: Zeroizing<String>,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        password: Zeroizing<String>,
        hash: String,
        reply: oneshot::Sender<bool>,
    },
}

pub struct PasswordHasher {
    jobs: Sender<Job>,
    params: Params,
    /// A hash of a random password, verified when the user is unknown so that unknown and known
    /// users take the same time.
    dummy_hash: String,
    verifications: AtomicU64,
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

impl PasswordHasher {
    /// Starts the pool (`threads` 0 = one per core) and computes the dummy hash.
    pub fn start(config: &HashingConfig) -> Result<Arc<Self>, HashError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let threads = match config.threads {
            0 => crate::config::Config::cores(),
            n => n,
        };
        let (tx, rx) = bounded::<Job>(config.max_queue);
        for i in 0..threads {
            let rx = rx.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("ww-hash-{i}"))
                .spawn(move || {
                    lower_thread_priority();
                    let hasher = argon2(&params);
                    while let Ok(job) = rx.recv() {
                        run_job(&hasher, job);
                    }
                })
                .map_err(|e| HashError::Failed(format!("cannot start hashing thread: {e}")))?;
        }
        let random_password = crate::crypto::random::token();
        let dummy_hash = argon2(&params)
            .hash_password(random_password.as_bytes())
            .map_err(|e| HashError::Failed(e.to_string()))?
            .to_string();
        Ok(Arc::new(Self {
            jobs: tx,
            params,
            dummy_hash,
            verifications: AtomicU64::new(0),
        }))
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Busy,
            TrySendError::Disconnected(_) => HashError::Failed("hashing pool stopped".into()),
        })
    }

    /// Hashes a new password with the configured parameters (PHC string).
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Hash {
            password: Zeroizing::new(password.to_owned()),
            reply,
        })?;
        let hashed = rx
            .await
            .map_err(|_| HashError::Failed("hashing thread died".into()))?;
        metrics::counter!("watchword_password_hashing_total", "operation" => "hash").increment(1);
        hashed
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user, or a user without
    /// a password) it checks against the dummy hash and always fails, taking the same time.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.clone(), false),
        };
        let needs_rehash = real && self.needs_rehash(&hash);
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Verify {
            password: Zeroizing::new(password.to_owned()),
            hash,
            reply,
        })?;
        let ok = rx
            .await
            .map_err(|_| HashError::Failed("hashing thread died".into()))?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("watchword_password_hashing_total", "operation" => "verify").increment(1);
        Ok(Verified {
            ok: ok && real,
            needs_rehash,
        })
    }

    /// Whether `stored` was made with other parameters (or another algorithm) than configured.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm.as_str() != "argon2id"
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost()
    }

    /// How many verifications ran (tests use it to prove unknown users are hashed too).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

fn run_job(hasher: &Argon2<'_>, job: Job) {
    match job {
        Job::Hash { password, reply } => {
            let result = hasher
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()));
            let _ = reply.send(result);
        }
        Job::Verify {
            password,
            hash,
            reply,
        } => {
            // A stored hash that does not parse verifies as false (and is logged by the caller
            // path only as a failed sign-in; the row is repaired by the next password change).
            let ok = PasswordHash::new(&hash)
                .map(|parsed| hasher.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false);
            let _ = reply.send(ok);
        }
    }
}

/// Hashing threads yield to request-handling threads (Linux: per-thread nice value).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread (who = 0) with a valid nice value has no
    // memory-safety preconditions; failure (e.g. a sandbox forbidding it) is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> HashingConfig {
        HashingConfig {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
            threads: 1,
            max_queue: 4,
        }
    }

    #[tokio::test]
    async fn hash_verify_and_rehash_detection() {
        let h = PasswordHasher::start(&small()).unwrap();
        let phc = h.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
        assert_eq!(
            h.verify("correct horse", Some(&phc)).await.unwrap(),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(!h.verify("wrong", Some(&phc)).await.unwrap().ok);
        assert!(!h.verify("anything", None).await.unwrap().ok);
        assert!(!h.verify("x", Some("not a hash")).await.unwrap().ok);
        assert_eq!(h.verifications(), 4);

        let stronger = PasswordHasher::start(&HashingConfig {
            memory_kib: 9216,
            ..small()
        })
        .unwrap();
        let v = stronger.verify("correct horse", Some(&phc)).await.unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
    }
}
