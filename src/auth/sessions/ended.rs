//! Why a session ended: a note kept for an hour under `gone:<sid>`, readable by the browser that
//! held the session (its cookie secret's hash must match) and by the server's own checks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Sessions, gone_key, parse_cookie};
use crate::crypto::constant_time_eq;
use crate::domain::session::{BrowserSession, EXPIRED_GRACE_SECS, EndReason};
use crate::session_store::StoreError;

/// Why a session ended (kept for an hour so a returning browser can be told).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    pub reason: EndReason,
    pub at: i64,
    /// For a session ended by a sign-in elsewhere (the session limit): where that was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Elsewhere>,
    /// The hash of the ended session's cookie secret: only its browser may read this note.
    #[serde(default, skip_serializing)]
    pub(crate) holder: String,
}

/// The stored form of [`Ended`] (with the holder's hash).
#[derive(Serialize)]
struct EndedNote<'a> {
    #[serde(flatten)]
    ended: &'a Ended,
    holder: &'a str,
}

impl Ended {
    pub fn new(reason: EndReason, at: i64, by: Option<Elsewhere>) -> Self {
        Self {
            reason,
            at,
            by,
            holder: String::new(),
        }
    }
}

/// The sign-in that took a session's place, for the page that tells the evicted browser what
/// happened: its device and coarse network (`domain::place`), never its address, since that
/// browser may be a thief's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elsewhere {
    pub device: String,
    /// "203.0.x.x", "2001:db8::/32"; `None` when the address was unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

impl Sessions {
    /// The note of why a session ended, for the returning browser (the admission that evicted a
    /// session already removed its record and index entries).
    pub async fn note_ended(
        &self,
        record: &BrowserSession,
        ended: &Ended,
    ) -> Result<(), StoreError> {
        let note = EndedNote {
            ended,
            holder: &record.secret_hash,
        };
        let bytes = serde_json::to_vec(&note).expect("serializes");
        self.store
            .set(
                &gone_key(&record.sid),
                &bytes,
                Duration::from_secs(EXPIRED_GRACE_SECS as u64),
            )
            .await
    }

    pub(super) async fn ended_note(
        &self,
        sid: &str,
        hash: &str,
    ) -> Result<Option<Ended>, StoreError> {
        Ok(self
            .store
            .get(&gone_key(sid))
            .await?
            .and_then(|b| serde_json::from_slice::<Ended>(&b).ok())
            .filter(|e| constant_time_eq(e.holder.as_bytes(), hash.as_bytes())))
    }

    /// Why the session with public id `sid` ended, if it did within the last hour (for the
    /// server's own checks; browsers read their note with [`Sessions::ended`]).
    pub async fn end_reason(&self, sid: &str) -> Result<Option<EndReason>, StoreError> {
        Ok(self
            .store
            .get(&gone_key(sid))
            .await?
            .and_then(|b| serde_json::from_slice::<Ended>(&b).ok())
            .map(|e| e.reason))
    }

    /// Was the session with public id `sid` ended against its holder (evicted, ended from
    /// another device, by an administrator, the account disabled) within the last hour? Offline
    /// grants issued in it die then too (see `EndReason::ends_offline_grants`).
    pub async fn ended_against_holder(&self, sid: &str) -> Result<bool, StoreError> {
        Ok(self
            .end_reason(sid)
            .await?
            .is_some_and(EndReason::ends_offline_grants))
    }

    /// Why the session behind a cookie value ended, if it did within the last hour.
    pub async fn ended(&self, token: &str) -> Result<Option<Ended>, StoreError> {
        match parse_cookie(token) {
            Some((sid, hash)) => self.ended_note(sid, &hash).await,
            None => Ok(None),
        }
    }
}
