//! Breached passwords (issue 11): is a password known from data breaches? Offline by default: a
//! filter over the SHA-1 of common breached passwords ships inside the binary
//! (`data/breached/filter.bin`, verified against its `manifest.json` at start, like a configured
//! `[risk.breach] filter`, which replaces it). Optionally a Pwned-Passwords-compatible range service
//! is asked too (`[risk.breach] range_url`, k-anonymity: 5 hex characters of the SHA-1 leave).
//!
//! [`check`] is the one engine function: the filter first, the range service only if configured
//! and the filter found nothing. [`refusal`] is the rule the flows that set a password apply
//! (password change, reset, sign-up): a breached password is refused with [`BREACHED`]; when the
//! service is unavailable, `on_unavailable` decides. Operators (`admin::users::set_password`) are
//! warned, not refused. The filter's list is case-folded (lowercase), so a password is looked up
//! as typed and lowercased. Nothing here logs a password or a whole hash.

pub mod filter;
pub mod range;

use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::{BreachConfig, OnUnavailable};
pub use filter::{BreachFilter, FilterError, Manifest};

/// The person's message for a breached password.
pub const BREACHED: &str = "This password appears in known data breaches; choose another.";
/// The person's message when the range service is unavailable and `on_unavailable = "deny"`.
pub const UNCHECKED: &str =
    "This password could not be checked against known data breaches; try again in a moment.";

/// The built-in filter and its manifest.
const SHIPPED_FILTER: &[u8] = include_bytes!("../../../data/breached/filter.bin");
const SHIPPED_MANIFEST: &str = include_str!("../../../data/breached/manifest.json");

/// Where a breach was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The offline filter (no count: it only says "listed").
    Filter,
    /// The range service.
    Range,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Filter => "filter",
            Source::Range => "range",
        }
    }
}

/// What [`check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Breached {
        source: Source,
        count: Option<u64>,
    },
    NotFound,
    /// The filter found nothing and the range service could not answer.
    Unavailable,
}

/// Why the breach checker could not start (the start stops; the message names the key).
#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("invalid value for `risk.breach.filter`: {0}")]
    Filter(FilterError),
    #[error("the built-in breached-password filter is damaged ({0}); rebuild Watchword")]
    Shipped(FilterError),
    #[error("invalid value for `risk.breach.range_url`: {0}")]
    Range(String),
}

/// The filter and the optional range client, built once at start (`Ctx::breach`).
#[derive(Debug)]
pub struct Checker {
    filter: BreachFilter,
    range: Option<range::RangeClient>,
    on_unavailable: OnUnavailable,
}

impl Checker {
    /// Loads and verifies the filter (the configured one, else the built-in one) and sets up the
    /// range client if one is configured.
    pub fn new(config: &BreachConfig, clock: SharedClock) -> Result<Self, BreachError> {
        let filter = match &config.filter {
            Some(path) => BreachFilter::read(path).map_err(BreachError::Filter)?,
            None => shipped().map_err(BreachError::Shipped)?,
        };
        let range = match &config.range_url {
            Some(url) => Some(
                range::RangeClient::new(url, Duration::from_millis(config.range_timeout_ms), clock)
                    .map_err(BreachError::Range)?,
            ),
            None => None,
        };
        Ok(Self {
            filter,
            range,
            on_unavailable: config.on_unavailable,
        })
    }

    /// The manifest of the filter in use (source, date, entries).
    pub fn manifest(&self) -> &Manifest {
        self.filter.manifest()
    }

    /// Sets `watchword_breach_data_timestamp_seconds` (the filter's data date).
    pub fn export_metrics(&self) {
        if let Some(t) = self.manifest().data_timestamp() {
            metrics::gauge!("watchword_breach_data_timestamp_seconds").set(t as f64);
        }
    }
}

/// The built-in filter, verified.
pub fn shipped() -> Result<BreachFilter, FilterError> {
    BreachFilter::verify(SHIPPED_FILTER, SHIPPED_MANIFEST)
}

/// Is `password` known from breaches? The filter first (as typed, then lowercased), then the
/// range service if configured.
pub async fn check(checker: &Checker, password: &str) -> Verdict {
    let digest = filter::sha1(password);
    let lowered = password.to_lowercase();
    if checker.filter.contains(&digest)
        || (lowered != password && checker.filter.contains(&filter::sha1(&lowered)))
    {
        return Verdict::Breached {
            source: Source::Filter,
            count: None,
        };
    }
    let Some(range) = &checker.range else {
        return Verdict::NotFound;
    };
    match range.count(&digest).await {
        Ok(0) => Verdict::NotFound,
        Ok(n) => Verdict::Breached {
            source: Source::Range,
            count: Some(n),
        },
        Err(why) => {
            tracing::warn!(reason = %why.0, "the breached-password range service is unavailable");
            metrics::counter!("watchword_breach_range_unavailable_total").increment(1);
            Verdict::Unavailable
        }
    }
}

/// Whether the password a user just signed in with is known from breaches (then the sign-in
/// needs a second factor and a new password). An unavailable range service never counts as a
/// breach here: an outage must not lock people out.
pub async fn at_sign_in(checker: &Checker, password: &str) -> bool {
    match check(checker, password).await {
        Verdict::Breached { source, .. } => {
            metrics::counter!("watchword_breach_hits_total", "source" => source.as_str())
                .increment(1);
            true
        }
        Verdict::NotFound | Verdict::Unavailable => false,
    }
}

/// The rule for a password a person chooses: `Some(message)` to refuse it (see the module docs).
pub async fn refusal(checker: &Checker, password: &str) -> Option<&'static str> {
    match check(checker, password).await {
        Verdict::Breached { source, .. } => {
            metrics::counter!("watchword_breach_hits_total", "source" => source.as_str())
                .increment(1);
            Some(BREACHED)
        }
        Verdict::NotFound => None,
        Verdict::Unavailable => match checker.on_unavailable {
            OnUnavailable::Allow => None,
            OnUnavailable::Deny => Some(UNCHECKED),
        },
    }
}

#[cfg(test)]
mod tests;
