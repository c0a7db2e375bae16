//! The offline breached-password filter: an `xorf` `BinaryFuse16` over the SHA-1 of common
//! breached passwords (false positives about 1 in 65,536, no false negatives), its compact file
//! layout, and the manifest whose SHA-256 the server checks before it believes the file.
//!
//! File layout (`filter.bin`, little-endian): the 8-byte magic `WWBF16v1`, the descriptor (seed
//! `u64`, segment length `u32`, segment length mask `u32`, segment count length `u32`), the
//! number of fingerprints `u32`, then that many `u16` fingerprints. A key is the first 8 bytes of
//! the SHA-1 of the password's UTF-8 bytes, read big-endian.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use xorf::{BinaryFuse16, Descriptor, Filter as _};

/// The first bytes of every filter file.
pub const MAGIC: &[u8; 8] = b"WWBF16v1";
/// The manifest's `format_version` this code reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 8 + 4 * 3 + 4;

/// SHA-1 of a password (uppercase hex is what range services speak).
pub fn sha1(password: &str) -> [u8; 20] {
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// The filter key of a SHA-1: its first 8 bytes, big-endian.
pub fn key(sha1: &[u8; 20]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&sha1[..8]);
    u64::from_be_bytes(first)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// What the manifest beside a filter says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// Where the passwords come from.
    pub source: String,
    pub licence: String,
    /// The date of the data (`YYYY-MM-DD`), exported as `watchword_breach_data_timestamp_seconds`.
    pub data_date: String,
    /// Distinct passwords in the filter.
    pub entries: u64,
    /// Lowercase hex SHA-256 of `filter.bin`.
    pub filter_sha256: String,
    /// How a password becomes a key (informative).
    pub key: String,
}

impl Manifest {
    /// `data_date` as Unix seconds (midnight UTC).
    pub fn data_timestamp(&self) -> Option<i64> {
        chrono::NaiveDate::parse_from_str(&self.data_date, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
    }
}

/// Why a filter was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("the manifest is not valid: {0}")]
    Manifest(String),
    #[error(
        "the manifest's format_version is {0}; this version of Watchword reads {FORMAT_VERSION}"
    )]
    Version(u32),
    #[error("the filter's SHA-256 is {actual}, the manifest says {expected}")]
    Checksum { expected: String, actual: String },
    #[error("the filter file is corrupt: {0}")]
    Corrupt(&'static str),
}

/// A verified filter, ready for lookups.
pub struct BreachFilter {
    filter: BinaryFuse16,
    manifest: Manifest,
}

impl std::fmt::Debug for BreachFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachFilter")
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl BreachFilter {
    /// Checks `bytes` against the manifest (version, SHA-256), then decodes them.
    pub fn verify(bytes: &[u8], manifest_json: &str) -> Result<Self, FilterError> {
        let manifest: Manifest = serde_json::from_str(manifest_json)
            .map_err(|e| FilterError::Manifest(e.to_string()))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(FilterError::Version(manifest.format_version));
        }
        if manifest.data_timestamp().is_none() {
            return Err(FilterError::Manifest(format!(
                "data_date {:?} is not a YYYY-MM-DD date",
                manifest.data_date
            )));
        }
        let actual = sha256_hex(bytes);
        let expected = manifest.filter_sha256.to_ascii_lowercase();
        if actual != expected {
            return Err(FilterError::Checksum { expected, actual });
        }
        if manifest.entries == 0 {
            return Err(FilterError::Manifest("entries is 0".into()));
        }
        let filter = decode(bytes)?;
        Ok(Self { filter, manifest })
    }

    /// Reads `filter_path` and the `manifest.json` beside it, then [`BreachFilter::verify`].
    pub fn read(filter_path: &std::path::Path) -> Result<Self, FilterError> {
        let read_err = |path: &std::path::Path, e: std::io::Error| FilterError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let bytes = std::fs::read(filter_path).map_err(|e| read_err(filter_path, e))?;
        let manifest_path = filter_path.with_file_name("manifest.json");
        let manifest =
            std::fs::read_to_string(&manifest_path).map_err(|e| read_err(&manifest_path, e))?;
        Self::verify(&bytes, &manifest)
    }

    /// Is this SHA-1 (probably) in the list?
    pub fn contains(&self, sha1: &[u8; 20]) -> bool {
        self.filter.contains(&key(sha1))
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Builds a filter file from passwords (duplicates removed). Returns the bytes and the number of
/// distinct keys. For the generator (`tools/breach_filter.rs`) and tests.
pub fn build<'a>(passwords: impl IntoIterator<Item = &'a str>) -> Result<(Vec<u8>, u64), String> {
    let mut keys: Vec<u64> = passwords.into_iter().map(|p| key(&sha1(p))).collect();
    keys.sort_unstable();
    keys.dedup();
    let filter = BinaryFuse16::try_from(&keys).map_err(str::to_owned)?;
    Ok((encode(&filter), keys.len() as u64))
}

/// The manifest of `filter_bytes`.
pub fn manifest_for(
    filter_bytes: &[u8],
    entries: u64,
    source: &str,
    licence: &str,
    data_date: &str,
) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        source: source.to_owned(),
        licence: licence.to_owned(),
        data_date: data_date.to_owned(),
        entries,
        filter_sha256: sha256_hex(filter_bytes),
        key: "xorf BinaryFuse16 over the first 8 bytes (big-endian) of SHA-1(UTF-8 password)"
            .to_owned(),
    }
}

fn encode(filter: &BinaryFuse16) -> Vec<u8> {
    let d = &filter.descriptor;
    let mut out = Vec::with_capacity(HEADER_LEN + filter.fingerprints.len() * 2);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&d.seed.to_le_bytes());
    out.extend_from_slice(&d.segment_length.to_le_bytes());
    out.extend_from_slice(&d.segment_length_mask.to_le_bytes());
    out.extend_from_slice(&d.segment_count_length.to_le_bytes());
    let n = u32::try_from(filter.fingerprints.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    for f in filter.fingerprints.iter() {
        out.extend_from_slice(&f.to_le_bytes());
    }
    out
}

/// Decodes a filter file, checking that no lookup can index outside the fingerprints.
fn decode(bytes: &[u8]) -> Result<BinaryFuse16, FilterError> {
    if bytes.len() < HEADER_LEN {
        return Err(FilterError::Corrupt("shorter than its header"));
    }
    if &bytes[..8] != MAGIC {
        return Err(FilterError::Corrupt("not a Watchword BinaryFuse16 filter"));
    }
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[8..16]);
    let descriptor = Descriptor {
        seed: u64::from_le_bytes(seed),
        segment_length: u32_at(16),
        segment_length_mask: u32_at(20),
        segment_count_length: u32_at(24),
    };
    let n = u32_at(28) as usize;
    let body = &bytes[HEADER_LEN..];
    if body.len() != n * 2 {
        return Err(FilterError::Corrupt("its length does not match its header"));
    }
    let sl = descriptor.segment_length;
    if sl == 0 || !sl.is_power_of_two() || descriptor.segment_length_mask != sl - 1 {
        return Err(FilterError::Corrupt("bad segment length"));
    }
    // A lookup reads below segment_count_length + 2 × segment_length.
    let reach = u64::from(descriptor.segment_count_length) + 2 * u64::from(sl);
    if descriptor.segment_count_length == 0 || reach > n as u64 {
        return Err(FilterError::Corrupt(
            "its descriptor reaches past its fingerprints",
        ));
    }
    let fingerprints: Box<[u16]> = body
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(BinaryFuse16 {
        descriptor,
        fingerprints,
    })
}
