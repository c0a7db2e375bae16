//! Per-tenant signing keys: generated with aws-lc-rs, stored encrypted (AES-256-GCM under the
//! master-derived key), loaded once into an in-memory key ring (refreshed every 30 s, so a
//! rotation on another replica is picked up long before the new key starts signing), and
//! published as a pre-serialized JWKS.
//!
//! Schedule of a key: published in the JWKS from `created_at`; signs from `activates_at`
//! (rotation sets it [`PUBLISH_LEAD_SECS`] ahead, longer than the JWKS cache lifetime, so
//! relying parties know a key before they see it); leaves the JWKS at `expires_at`, set when a
//! successor activates plus the longest token lifetime, so every token it signed still verifies.

pub mod rotation;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::Serialize;

use crate::context::Ctx;
use crate::crypto::{aead, jws};
use crate::domain::ids::TenantId;
use crate::domain::keys::SigningAlg;
use crate::storage::{self, StorageError, signing_keys::KeyRow};

/// How long a JWKS response may be cached (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;
/// A rotated-in key is published this long before it signs.
pub const PUBLISH_LEAD_SECS: i64 = JWKS_MAX_AGE_SECS + 60;
/// How often a replica re-reads its key ring from the database.
const RELOAD_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("signing key {0} cannot be decrypted: was the master key changed?")]
    Decrypt(String),
    #[error("signing key {0} is damaged: {1}")]
    BadKey(String, String),
    #[error("tenant has no active {0} signing key")]
    NoKey(&'static str),
}

/// One key, parsed and ready.
pub struct LoadedKey {
    pub kid: String,
    pub alg: SigningAlg,
    signer: jws::SigningKey,
    pub decoding: jsonwebtoken::DecodingKey,
    pub created_at: i64,
    pub activates_at: i64,
    pub expires_at: Option<i64>,
}

/// A tenant's key ring at one moment.
pub struct TenantKeys {
    loaded: Instant,
    keys: Vec<LoadedKey>,
    /// `{"keys":[...]}`, serialized once.
    pub jwks: Arc<str>,
    /// Strong validator of `jwks`.
    pub etag: String,
}

impl TenantKeys {
    /// The key that signs `alg` at `now`: the most recently activated one.
    pub fn signer(&self, alg: SigningAlg, now: i64) -> Option<&LoadedKey> {
        self.keys
            .iter()
            .filter(|k| {
                k.alg == alg && k.activates_at <= now && k.expires_at.is_none_or(|e| e > now)
            })
            .max_by_key(|k| k.activates_at)
    }

    pub fn by_kid(&self, kid: &str) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Signs `claims` as a JWT of type `typ` with the current `alg` key.
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
        now: i64,
    ) -> Result<String, SigningError> {
        let key = self
            .signer(alg, now)
            .ok_or(SigningError::NoKey(alg.as_str()))?;
        Ok(jws::sign(&key.signer, alg, &key.kid, typ, claims))
    }

    pub fn keys(&self) -> &[LoadedKey] {
        &self.keys
    }

    /// The ring of `keys`, with `public` (their public JWKs) served as the JWKS.
    fn ring(keys: Vec<LoadedKey>, public: Vec<serde_json::Value>) -> Self {
        let jwks: Arc<str> = serde_json::json!({ "keys": public }).to_string().into();
        let etag = format!("\"{}\"", &crate::crypto::sha256_hex(jwks.as_bytes())[..16]);
        TenantKeys {
            loaded: Instant::now(),
            keys,
            jwks,
            etag,
        }
    }

    /// A key ring of freshly generated keys, never stored (benchmarks and fuzzing).
    pub fn generated(algs: &[(SigningAlg, &str)]) -> Result<Self, SigningError> {
        let mut keys = Vec::with_capacity(algs.len());
        let mut public = Vec::with_capacity(algs.len());
        for (alg, kid) in algs {
            let bad = |e: String| SigningError::BadKey((*kid).to_owned(), e);
            let generated = jws::generate(*alg, kid).map_err(|e| bad(e.to_string()))?;
            let signer =
                jws::SigningKey::load(*alg, &generated.pkcs8).map_err(|e| bad(e.to_string()))?;
            let decoding =
                jws::decoding_key(&generated.public_jwk).ok_or_else(|| bad("public JWK".into()))?;
            public.push(generated.public_jwk);
            keys.push(LoadedKey {
                kid: (*kid).to_owned(),
                alg: *alg,
                signer,
                decoding,
                created_at: 0,
                activates_at: 0,
                expires_at: None,
            });
        }
        Ok(TenantKeys::ring(keys, public))
    }
}

/// The in-memory key rings of every tenant this process has served.
#[derive(Default)]
pub struct KeyRing {
    tenants: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
}

impl KeyRing {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn invalidate(&self, tenant: TenantId) {
        self.tenants.write().remove(&tenant);
    }
}

/// The tenant's key ring (from memory, re-read from the database every 30 s).
pub async fn keys_for(ctx: &Ctx, tenant: TenantId) -> Result<Arc<TenantKeys>, SigningError> {
    if let Some(k) = ctx.keyring.tenants.read().get(&tenant)
        && k.loaded.elapsed() < RELOAD_AFTER
    {
        return Ok(k.clone());
    }
    let now = ctx.clock.unix();
    let rows = ctx
        .db
        .run(move |c| storage::signing_keys::live(c, tenant, now))
        .await?;
    let loaded = Arc::new(load(ctx, tenant, rows)?);
    ctx.keyring.tenants.write().insert(tenant, loaded.clone());
    Ok(loaded)
}

/// Associated data binding a sealed private key to its tenant and id.
pub(crate) fn sealing_aad(tenant: TenantId, kid: &str) -> Vec<u8> {
    format!("signing-key:{tenant}:{kid}").into_bytes()
}

fn load(ctx: &Ctx, tenant: TenantId, rows: Vec<KeyRow>) -> Result<TenantKeys, SigningError> {
    let mut keys = Vec::with_capacity(rows.len());
    let mut public = Vec::with_capacity(rows.len());
    for row in rows {
        let alg = SigningAlg::parse(&row.alg)
            .map_err(|e| SigningError::BadKey(row.kid.clone(), e.to_string()))?;
        let pkcs8 = zeroize::Zeroizing::new(
            aead::open(
                &ctx.keys.encryption,
                &sealing_aad(tenant, &row.kid),
                &row.private_key,
            )
            .map_err(|_| SigningError::Decrypt(row.kid.clone()))?,
        );
        let signer = jws::SigningKey::load(alg, &pkcs8)
            .map_err(|e| SigningError::BadKey(row.kid.clone(), e.to_string()))?;
        let jwk: serde_json::Value = serde_json::from_str(&row.public_jwk)
            .map_err(|e| SigningError::BadKey(row.kid.clone(), e.to_string()))?;
        let decoding = jws::decoding_key(&jwk)
            .ok_or_else(|| SigningError::BadKey(row.kid.clone(), "public JWK".into()))?;
        public.push(jwk);
        keys.push(LoadedKey {
            kid: row.kid,
            alg,
            signer,
            decoding,
            created_at: row.created_at,
            activates_at: row.activates_at,
            expires_at: row.expires_at,
        });
    }
    Ok(TenantKeys::ring(keys, public))
}

/// The tenant's key ring, re-read at once (at most every 5 seconds) when it does not know `kid`:
/// a key rotated in on another replica may sign before this replica's regular 30-second reload.
pub async fn keys_knowing(
    ctx: &Ctx,
    tenant: TenantId,
    kid: &str,
) -> Result<Arc<TenantKeys>, SigningError> {
    let keys = keys_for(ctx, tenant).await?;
    if keys.by_kid(kid).is_some() || keys.loaded.elapsed() < Duration::from_secs(5) {
        return Ok(keys);
    }
    ctx.keyring.invalidate(tenant);
    keys_for(ctx, tenant).await
}
