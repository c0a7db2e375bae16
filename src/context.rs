//! Handles to the shared infrastructure every use case needs (database, session store, clock,
//! password hasher, derived keys, caches, signing keys, back-channel queue, breached-password
//! checker, configuration, the risk data). Built once by `app` (server) or `cli`.

use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::backchannel::Backchannel;
use crate::cache::Caches;
use crate::clock::SharedClock;
use crate::config::{Config, MasterKeySource};
use crate::crypto::master_key::{KeyPurpose, MasterKey, MasterKeyError};
use crate::crypto::password::{HashError, PasswordHasher};
use crate::session_store::memory::MemoryStore;
use crate::session_store::redis::RedisStore;
use crate::session_store::sentinel::Master;
use crate::session_store::{SharedStore, StoreError};
use crate::signing::KeyRing;
use crate::storage::{Db, StorageError};

/// Keys derived from the master key, one per purpose.
pub struct DerivedKeys {
    pub csrf: Zeroizing<[u8; 32]>,
    pub encryption: Zeroizing<[u8; 32]>,
    pub secret_hash: Zeroizing<[u8; 32]>,
    pub throttle: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKeys([redacted])")
    }
}

#[derive(Clone)]
pub struct Ctx {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: SharedStore,
    /// Set when the store is the in-process one (for the periodic sweep).
    pub memory_store: Option<Arc<MemoryStore>>,
    pub clock: SharedClock,
    pub hasher: Arc<PasswordHasher>,
    pub keys: Arc<DerivedKeys>,
    pub cache: Arc<Caches>,
    /// Every tenant's signing keys, loaded.
    pub keyring: Arc<KeyRing>,
    /// The back-channel logout delivery queue.
    pub backchannel: Backchannel,
    /// Set at the shutdown signal: `/readyz` answers 503 while the listener still serves
    /// (`server.shutdown_delay_ms`).
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// The WebAuthn relying party (`None` when `public_url` has no domain name).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// Outgoing mail (the outbox's transport and worker bell).
    pub mail: Arc<crate::mail::Mailer>,
    /// Places and network kinds of client addresses (risk scoring; `[risk]` data files).
    pub risk_place: crate::risk::place::SharedLocator,
    /// Breached-password checks (the verified filter, the optional range service).
    pub breach: Arc<crate::risk::breach::Checker>,
    /// Guarded HTTP to addresses tenants configure (upstream identity providers).
    pub outbound: crate::outbound::Outbound,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Mail(#[from] crate::mail::transport::TransportError),
    #[error(transparent)]
    Risk(#[from] crate::risk::place::LocatorError),
    #[error(transparent)]
    Breach(#[from] crate::risk::breach::BreachError),
}

impl Ctx {
    /// Opens the database pool and session store and loads the master key. Nothing here needs
    /// the database or Redis to be up yet.
    pub fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let db = Db::connect(&config)?;
        let (store, memory_store): (SharedStore, _) = match &config.redis.url {
            Some(url) => (
                Arc::new(RedisStore::with_master(
                    match &config.redis.sentinel {
                        None => Master::fixed(url.expose())?,
                        Some(s) => Master::sentinel(
                            url.expose(),
                            &s.master_name,
                            &s.nodes,
                            Duration::from_millis(config.redis.timeout_ms),
                        )?,
                    },
                    &config.redis.key_prefix,
                    Duration::from_millis(config.redis.timeout_ms),
                )),
                None,
            ),
            None => {
                let m = Arc::new(MemoryStore::new(clock.clone()));
                (m.clone() as SharedStore, Some(m))
            }
        };
        let master = load_master_key(&config)?;
        let keys = DerivedKeys {
            csrf: master.derive(KeyPurpose::Csrf),
            encryption: master.derive(KeyPurpose::Encryption),
            secret_hash: master.derive(KeyPurpose::SecretHash),
            throttle: master.derive(KeyPurpose::Throttle),
        };
        let hasher = PasswordHasher::start(&config.hashing)?;
        let webauthn = match relying_party(&config.public_origin()) {
            Ok(w) => Some(Arc::new(w)),
            Err(why) => {
                tracing::warn!(%why, "WebAuthn (security keys, passkeys) is unavailable");
                None
            }
        };
        let mail = crate::mail::Mailer::new(&config.mail)?;
        let risk_place = Arc::new(crate::risk::place::Locator::from_config(&config.risk)?);
        let breach = Arc::new(crate::risk::breach::Checker::new(
            &config.risk.breach,
            clock.clone(),
        )?);
        if config.is_https() && config.mail.transport == crate::config::MailTransport::File {
            tracing::warn!(
                dir = %config.mail.file_dir.display(),
                "mail.transport is \"file\": messages (address verification, password resets) are written to files and never reach anyone; configure SMTP in [mail] for production"
            );
        }
        let config_outbound = config.outbound.clone();
        Ok(Self {
            config: Arc::new(config),
            db,
            store,
            memory_store,
            clock,
            hasher,
            keys: Arc::new(keys),
            cache: Arc::new(Caches::new()),
            keyring: Arc::new(KeyRing::new()),
            backchannel: Backchannel::start(),
            draining: Arc::default(),
            webauthn,
            mail,
            risk_place,
            breach,
            outbound: crate::outbound::Outbound::new(&config_outbound),
        })
    }
}

/// The WebAuthn relying party for the public URL: its host is the RP id, its origin the only
/// origin accepted. An IP address cannot be a relying party.
fn relying_party(public_url: &str) -> Result<webauthn_rs::Webauthn, String> {
    let origin = url::Url::parse(public_url).map_err(|e| e.to_string())?;
    let Some(host) = origin.domain().map(str::to_owned) else {
        return Err(format!(
            "{public_url} has no domain name (an IP address cannot be a WebAuthn relying party)"
        ));
    };
    webauthn_rs::WebauthnBuilder::new(&host, &origin)
        .map_err(|e| e.to_string())?
        .rp_name("Watchword")
        .build()
        .map_err(|e| e.to_string())
}

fn load_master_key(config: &Config) -> Result<MasterKey, MasterKeyError> {
    match config.master_key_source() {
        MasterKeySource::Inline(key) => MasterKey::from_base64(key.expose()),
        MasterKeySource::File(path) => MasterKey::read_file(&path),
        MasterKeySource::GeneratedDevFile(path) => {
            let (key, created) = MasterKey::load_or_generate(&path)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "generated a new master key file; fine for development, but in production \
                     set secrets.master_key_file (or WATCHWORD__SECRETS__MASTER_KEY) and back it up"
                );
            }
            Ok(key)
        }
    }
}
