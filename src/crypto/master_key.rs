//! The master key: the root secret from which purpose-specific keys are derived (HKDF-SHA-256).
//! It comes from configuration, an environment variable or a file; on a fresh development
//! start a key file is generated with permissions 0600.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::random;

/// 256-bit root key. Never printed, never stored except in the operator's key file.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 32 bytes encoded as base64 (e.g. `openssl rand -base64 32`)")]
    Malformed,
    #[error("cannot read master key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create master key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
}

/// Purposes a derived key may serve; each gets an independent key.
#[derive(Clone, Copy, Debug)]
pub enum KeyPurpose {
    /// Signs CSRF tokens.
    Csrf,
    /// Encrypts secrets at rest (signing keys, TOTP seeds).
    Encryption,
    /// Keys the fast hash of high-entropy secrets (client secrets, refresh tokens).
    SecretHash,
    /// Signs known-device cookies and tags identifiers in throttle counters.
    Throttle,
}

impl KeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            KeyPurpose::Csrf => b"watchword/v1/csrf",
            KeyPurpose::Encryption => b"watchword/v1/encryption",
            KeyPurpose::SecretHash => b"watchword/v1/secret-hash",
            KeyPurpose::Throttle => b"watchword/v1/throttle",
        }
    }
}

impl MasterKey {
    /// Parses a base64-encoded 32-byte key.
    pub fn from_base64(encoded: &str) -> Result<Self, MasterKeyError> {
        let raw = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| MasterKeyError::Malformed)?,
        );
        let key: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::Malformed)?;
        Ok(Self(Zeroizing::new(key)))
    }

    /// Reads the key from `path`.
    pub fn read_file(path: &Path) -> Result<Self, MasterKeyError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            MasterKeyError::Read {
                path: path.display().to_string(),
                source,
            }
        })?);
        Self::from_base64(&text)
    }

    /// Reads the key from `path`, creating a new random one (mode 0600) if the file does not
    /// exist. Returns whether a new key was generated.
    pub fn load_or_generate(path: &Path) -> Result<(Self, bool), MasterKeyError> {
        if path.exists() {
            return Ok((Self::read_file(path)?, false));
        }
        let create_err = |source| MasterKeyError::Create {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(create_err)?;
        }
        let key = Zeroizing::new(random::bytes::<32>());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(create_err)?;
        let encoded = Zeroizing::new(STANDARD.encode(*key));
        writeln!(file, "{}", encoded.as_str()).map_err(create_err)?;
        Ok((Self(key), true))
    }

    /// A key for one purpose, independent of every other purpose's key.
    pub fn derive(&self, purpose: KeyPurpose) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(None, self.0.as_slice());
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(purpose.label(), out.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_private_file_once_and_derives_distinct_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let (a, created) = MasterKey::load_or_generate(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, created) = MasterKey::load_or_generate(&path).unwrap();
        assert!(!created);
        assert_eq!(*a.derive(KeyPurpose::Csrf), *b.derive(KeyPurpose::Csrf));
        assert_ne!(
            *a.derive(KeyPurpose::Csrf),
            *a.derive(KeyPurpose::Encryption)
        );
    }

    #[test]
    fn rejects_wrong_sizes() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
    }
}
