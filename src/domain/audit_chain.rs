//! The audit log's hash chain, pure: the canonical form of a row, its hash
//! `h_n = SHA-256(h_{n-1} || canonical_n)` (hex, `h_0` 64 zeros), and the verification of a
//! chain's rows in `seq` order from its start or from a retention checkpoint, up to its head.
//! Storage appends (`storage::audit::insert`); `admin::audit::verify` reads and feeds this.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before a chain's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain of instance-level rows (no tenant); a tenant's chain is named by its id.
pub const INSTANCE_CHAIN: &str = "";

/// One audit row as hashed: every stored field, `details` and `diff` as the stored JSON text
/// (so the hash covers exactly the bytes in the database). Serialized with the fields in this
/// order, this is the canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainRow<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub tenant_id: Option<&'a str>,
    pub occurred_at: i64,
    pub action: &'a str,
    pub outcome: &'a str,
    pub actor: &'a str,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub details: &'a str,
    pub diff: Option<&'a str>,
}

impl ChainRow<'_> {
    /// The canonical JSON of the row: fixed key order, no whitespace.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("strings and integers serialize")
    }
}

/// `SHA-256(prev || canonical(row))`, lowercase hex.
pub fn link(prev: &str, row: &ChainRow<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(row.canonical().as_bytes());
    hex::encode(h.finalize())
}

/// A stored row with its chain fields, as read back for verification.
#[derive(Clone, Debug)]
pub struct Linked<'a> {
    pub row: ChainRow<'a>,
    pub prev_hash: Option<&'a str>,
    pub hash: Option<&'a str>,
}

/// Why a chain does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakReason {
    /// Rows `seq .. found - 1` are missing (deleted); `found` is the next row present.
    Missing { found: i64 },
    /// A row with a seq already seen (or before the checkpoint).
    OutOfOrder { found: i64 },
    /// The row's `prev_hash` is not the hash of the row before it (that row was changed, or
    /// the chain was rewritten from here).
    PrevMismatch,
    /// The row's content does not match its hash (the row was changed).
    Altered,
    /// The row has a seq but no hash.
    Unhashed,
    /// The chain's head (its last seq) is past the last row: rows `seq ..= head` are missing.
    TailMissing { head: i64 },
    /// The head is behind the last row, or its hash is not the last row's.
    HeadMismatch { head: i64 },
    /// Rows exist but the chain has no head.
    NoHead,
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakReason::Missing { found } => {
                write!(f, "rows missing before seq {found} (deleted)")
            }
            BreakReason::OutOfOrder { found } => write!(f, "seq {found} out of order"),
            BreakReason::PrevMismatch => f.write_str(
                "prev_hash is not the hash of the row before (that row was changed, or the chain rewritten from here)",
            ),
            BreakReason::Altered => f.write_str("the row does not match its hash (changed)"),
            BreakReason::Unhashed => f.write_str("the row has no hash"),
            BreakReason::TailMissing { head } => {
                write!(f, "the chain's head is at seq {head}: the last rows are missing")
            }
            BreakReason::HeadMismatch { head } => write!(
                f,
                "the chain's head (seq {head}) does not match its last row"
            ),
            BreakReason::NoHead => f.write_str("the chain has rows but no head"),
        }
    }
}

/// Where and why a chain breaks: the first seq that does not verify, and the event id of the
/// row there when there is one (a deleted row has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Break {
    pub seq: i64,
    pub event_id: Option<String>,
    pub reason: BreakReason,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event_id {
            Some(id) => write!(
                f,
                "broken at seq {} (event id {id}): {}",
                self.seq, self.reason
            ),
            None => write!(f, "broken at seq {}: {}", self.seq, self.reason),
        }
    }
}

/// What a verified chain covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Rows checked.
    pub rows: u64,
    /// The first and last seq checked (`None` when no row was).
    pub first: Option<i64>,
    pub last: Option<i64>,
}

/// Checks rows fed in `seq` order, one batch after another.
#[derive(Clone, Debug)]
pub struct Verifier {
    next_seq: i64,
    prev: String,
    verified: Verified,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::from_checkpoint(0, GENESIS)
    }
}

impl Verifier {
    /// A chain whose rows up to `seq` were removed, the last of them with hash `hash`
    /// (`0` and [`GENESIS`]: from the start).
    pub fn from_checkpoint(seq: i64, hash: &str) -> Self {
        Self {
            next_seq: seq + 1,
            prev: hash.to_owned(),
            verified: Verified {
                rows: 0,
                first: None,
                last: None,
            },
        }
    }

    /// The seq after the last row accepted (where the next batch starts).
    pub fn next_seq(&self) -> i64 {
        self.next_seq
    }

    /// Checks the next row.
    pub fn push(&mut self, link: &Linked<'_>) -> Result<(), Break> {
        let seq = link.row.seq;
        let broken = |at: i64, id: Option<&str>, reason| Break {
            seq: at,
            event_id: id.map(str::to_owned),
            reason,
        };
        if seq > self.next_seq {
            return Err(broken(
                self.next_seq,
                None,
                BreakReason::Missing { found: seq },
            ));
        }
        if seq < self.next_seq {
            return Err(broken(
                seq,
                Some(link.row.id),
                BreakReason::OutOfOrder { found: seq },
            ));
        }
        let (Some(prev_hash), Some(hash)) = (link.prev_hash, link.hash) else {
            return Err(broken(seq, Some(link.row.id), BreakReason::Unhashed));
        };
        if prev_hash != self.prev {
            return Err(broken(seq, Some(link.row.id), BreakReason::PrevMismatch));
        }
        if self::link(&self.prev, &link.row) != hash {
            return Err(broken(seq, Some(link.row.id), BreakReason::Altered));
        }
        hash.clone_into(&mut self.prev);
        self.next_seq += 1;
        self.verified.rows += 1;
        self.verified.first.get_or_insert(seq);
        self.verified.last = Some(seq);
        Ok(())
    }

    /// Ends the check against the chain's head (its last seq and hash), if it has one: the head
    /// must be the last row, so rows deleted at the end are found too.
    pub fn finish(self, head: Option<(i64, &str)>) -> Result<Verified, Break> {
        let last = self.next_seq - 1;
        match head {
            None if last == 0 => Ok(self.verified),
            None => Err(Break {
                seq: last,
                event_id: None,
                reason: BreakReason::NoHead,
            }),
            Some((head, _)) if head > last => Err(Break {
                seq: last + 1,
                event_id: None,
                reason: BreakReason::TailMissing { head },
            }),
            Some((head, hash)) if head < last || hash != self.prev => Err(Break {
                seq: last,
                event_id: None,
                reason: BreakReason::HeadMismatch { head },
            }),
            Some(_) => Ok(self.verified),
        }
    }
}

/// How long a tenant keeps its audit events (`policy.audit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditPolicy {
    /// Days an audit event is kept; the purge then removes whole leading segments of the
    /// tenant's chain and records a checkpoint, so what is left still verifies.
    pub retention_days: u32,
}

impl Default for AuditPolicy {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

impl AuditPolicy {
    /// Checks every bound; returns the offending field's name and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(1..=3650).contains(&self.retention_days) {
            return Err(("retention_days".into(), "must be between 1 and 3650".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Stored {
        seq: i64,
        id: String,
        outcome: String,
        details: String,
        prev_hash: Option<String>,
        hash: Option<String>,
    }

    impl Stored {
        fn row(&self) -> ChainRow<'_> {
            ChainRow {
                seq: self.seq,
                id: &self.id,
                tenant_id: Some("t1"),
                occurred_at: 1_700_000_000 + self.seq,
                action: "sign_in",
                outcome: &self.outcome,
                actor: "anonymous",
                subject: None,
                ip: Some("192.0.2.1"),
                user_agent: None,
                request_id: None,
                details: &self.details,
                diff: None,
            }
        }

        fn linked(&self) -> Linked<'_> {
            Linked {
                row: self.row(),
                prev_hash: self.prev_hash.as_deref(),
                hash: self.hash.as_deref(),
            }
        }
    }

    /// A well-formed chain of `n` rows from seq `from`, after `prev`.
    fn chain(from: i64, n: i64, mut prev: String) -> Vec<Stored> {
        (from..from + n)
            .map(|seq| {
                let mut s = Stored {
                    seq,
                    id: format!("id-{seq}"),
                    outcome: "success".into(),
                    details: format!(r#"{{"n":{seq}}}"#),
                    prev_hash: Some(prev.clone()),
                    hash: None,
                };
                let h = link(&prev, &s.row());
                s.hash = Some(h.clone());
                prev = h;
                s
            })
            .collect()
    }

    fn verify(
        rows: &[Stored],
        mut v: Verifier,
        head: Option<(i64, &str)>,
    ) -> Result<Verified, Break> {
        for r in rows {
            v.push(&r.linked())?;
        }
        v.finish(head)
    }

    fn head(rows: &[Stored]) -> Option<(i64, &str)> {
        rows.last().map(|r| (r.seq, r.hash.as_deref().unwrap()))
    }

    #[test]
    fn the_canonical_form_has_a_fixed_key_order_and_escapes_the_stored_json() {
        let s = &chain(1, 1, GENESIS.into())[0];
        assert_eq!(
            s.row().canonical(),
            r#"{"seq":1,"id":"id-1","tenant_id":"t1","occurred_at":1700000001,"action":"sign_in","outcome":"success","actor":"anonymous","subject":null,"ip":"192.0.2.1","user_agent":null,"request_id":null,"details":"{\"n\":1}","diff":null}"#
        );
        // h_1 = SHA-256(64 zeros || canonical), hex.
        let expected = hex::encode(Sha256::digest(
            format!("{GENESIS}{}", s.row().canonical()).as_bytes(),
        ));
        assert_eq!(s.hash.as_deref(), Some(expected.as_str()));
        assert_eq!(expected.len(), 64);
    }

    #[test]
    fn an_intact_chain_verifies_from_the_start_and_from_a_checkpoint() {
        let rows = chain(1, 10, GENESIS.into());
        let v = verify(&rows, Verifier::default(), head(&rows)).unwrap();
        assert_eq!((v.rows, v.first, v.last), (10, Some(1), Some(10)));
        // Rows 1..=4 removed by retention, checkpoint at 4.
        let cp = rows[3].hash.clone().unwrap();
        let v = verify(&rows[4..], Verifier::from_checkpoint(4, &cp), head(&rows)).unwrap();
        assert_eq!((v.rows, v.first, v.last), (6, Some(5), Some(10)));
        // Everything removed: the head is the checkpoint.
        let last = rows[9].hash.clone().unwrap();
        let v = verify(&[], Verifier::from_checkpoint(10, &last), Some((10, &last))).unwrap();
        assert_eq!(v.rows, 0);
        // An empty chain with no head.
        assert_eq!(verify(&[], Verifier::default(), None).unwrap().rows, 0);
    }

    #[test]
    fn a_changed_row_is_found_at_its_seq() {
        let mut rows = chain(1, 6, GENESIS.into());
        rows[2].outcome = "failure".into();
        let b = verify(&rows, Verifier::default(), None).unwrap_err();
        assert_eq!((b.seq, b.reason.clone()), (3, BreakReason::Altered));
        assert_eq!(b.event_id.as_deref(), Some("id-3"));
        assert_eq!(
            b.to_string(),
            "broken at seq 3 (event id id-3): the row does not match its hash (changed)"
        );
        // Rehashing the changed row alone breaks the link to the next one.
        let prev = rows[1].hash.clone().unwrap();
        rows[2].hash = Some(link(&prev, &rows[2].row()));
        let b = verify(&rows, Verifier::default(), None).unwrap_err();
        assert_eq!((b.seq, b.reason), (4, BreakReason::PrevMismatch));
    }

    #[test]
    fn deleted_rows_are_found_in_the_middle_and_at_the_end() {
        let rows = chain(1, 6, GENESIS.into());
        let head_of_all = head(&rows);
        let mut middle: Vec<_> = chain(1, 6, GENESIS.into());
        middle.remove(3);
        let b = verify(&middle, Verifier::default(), head_of_all).unwrap_err();
        assert_eq!((b.seq, b.reason), (4, BreakReason::Missing { found: 5 }));
        // The first row deleted (no checkpoint).
        let b = verify(&rows[1..], Verifier::default(), head_of_all).unwrap_err();
        assert_eq!((b.seq, b.reason), (1, BreakReason::Missing { found: 2 }));
        // The last two deleted: the head is further.
        let b = verify(&rows[..4], Verifier::default(), head_of_all).unwrap_err();
        assert_eq!((b.seq, b.reason), (5, BreakReason::TailMissing { head: 6 }));
        // A head whose hash is not the last row's.
        let b = verify(&rows, Verifier::default(), Some((6, GENESIS))).unwrap_err();
        assert_eq!(
            (b.seq, b.reason),
            (6, BreakReason::HeadMismatch { head: 6 })
        );
        // Rows without a head.
        let b = verify(&rows, Verifier::default(), None).unwrap_err();
        assert_eq!(b.reason, BreakReason::NoHead);
    }

    #[test]
    fn a_row_without_hash_or_out_of_order_breaks_the_chain() {
        let mut rows = chain(1, 3, GENESIS.into());
        rows[1].hash = None;
        let b = verify(&rows, Verifier::default(), None).unwrap_err();
        assert_eq!((b.seq, b.reason), (2, BreakReason::Unhashed));
        let rows = chain(1, 3, GENESIS.into());
        let mut v = Verifier::default();
        v.push(&rows[0].linked()).unwrap();
        v.push(&rows[1].linked()).unwrap();
        let b = v.push(&rows[0].linked()).unwrap_err();
        assert_eq!(b.reason, BreakReason::OutOfOrder { found: 1 });
    }

    #[test]
    fn a_rewritten_chain_from_a_wrong_checkpoint_is_refused() {
        let rows = chain(1, 5, GENESIS.into());
        let b = verify(
            &rows[2..],
            Verifier::from_checkpoint(2, GENESIS),
            head(&rows),
        )
        .unwrap_err();
        assert_eq!((b.seq, b.reason), (3, BreakReason::PrevMismatch));
    }

    #[test]
    fn retention_is_bounded() {
        assert!(AuditPolicy::default().validate().is_ok());
        assert_eq!(AuditPolicy::default().retention_days, 365);
        for bad in [0, 3651] {
            let (field, _) = AuditPolicy {
                retention_days: bad,
            }
            .validate()
            .unwrap_err();
            assert_eq!(field, "retention_days");
        }
    }
}
