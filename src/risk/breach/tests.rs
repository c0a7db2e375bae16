//! Unit tests of the breached-password checks: the SHA-1 vector, the shipped filter's hits and
//! misses, and every way a filter file is refused.

use std::sync::Arc;

use super::filter::{self, BreachFilter, FilterError};
use super::*;
use crate::clock::ManualClock;
use crate::config::BreachConfig;

fn clock() -> SharedClock {
    Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH))
}

#[test]
fn breach_sha1_matches_the_pwned_passwords_vector() {
    assert_eq!(
        hex::encode_upper(filter::sha1("P@ssw0rd")),
        "21BD12DC183F740EE76F27B78EB39C8AD972A757"
    );
}

#[test]
fn breach_shipped_filter_verifies_and_knows_listed_passwords() {
    let f = shipped().expect("the shipped filter verifies");
    assert_eq!(f.manifest().entries, 30_000);
    assert!(f.manifest().data_timestamp().is_some());
    for listed in [
        "123456", "password", "qwerty", "p@ssw0rd", "letmein", "trustno1",
    ] {
        assert!(
            f.contains(&filter::sha1(listed)),
            "{listed} should be listed"
        );
    }
    for strong in [
        "k8#Vq!2mZr$wT9pL",
        "correct horse battery staple 7731",
        "Xq3-vNf8-Lp2w-Rt6z",
        "ziT4$ob@1Gw!Hn0e",
    ] {
        assert!(
            !f.contains(&filter::sha1(strong)),
            "{strong} should not be listed"
        );
    }
}

#[test]
fn breach_false_positives_are_rare() {
    let f = shipped().unwrap();
    let hits = (0..20_000u32)
        .filter(|i| f.contains(&filter::sha1(&format!("not-a-breached-password-{i}-x9"))))
        .count();
    assert!(hits <= 3, "{hits} false positives in 20,000");
}

fn written(dir: &std::path::Path, bytes: &[u8], manifest: &str) -> std::path::PathBuf {
    let path = dir.join("filter.bin");
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    path
}

fn built() -> (Vec<u8>, String) {
    let (bytes, n) = filter::build(["hunter2", "sunshine", "dragon"]).unwrap();
    let m = filter::manifest_for(&bytes, n, "test", "MIT", "2024-01-02");
    (bytes, serde_json::to_string(&m).unwrap())
}

#[test]
fn breach_a_configured_filter_replaces_the_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, manifest) = built();
    let path = written(dir.path(), &bytes, &manifest);
    let f = BreachFilter::read(&path).unwrap();
    assert!(f.contains(&filter::sha1("hunter2")));
    assert!(!f.contains(&filter::sha1("123456")));
    assert_eq!(f.manifest().data_timestamp(), Some(1_704_153_600));
}

#[test]
fn breach_checksum_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, manifest) = built();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let path = written(dir.path(), &bytes, &manifest);
    let err = BreachFilter::read(&path).unwrap_err();
    assert!(matches!(err, FilterError::Checksum { .. }), "{err}");
    let config = BreachConfig {
        filter: Some(path),
        ..BreachConfig::default()
    };
    let msg = Checker::new(&config, clock()).unwrap_err().to_string();
    assert!(
        msg.contains("`risk.breach.filter`") && msg.contains("SHA-256"),
        "{msg}"
    );
}

#[test]
fn breach_truncated_filter_is_refused_even_with_a_matching_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = built();
    for cut in [bytes.len() - 1, bytes.len() / 2, 20, 0] {
        let short = &bytes[..cut];
        let m = filter::manifest_for(short, 3, "test", "MIT", "2024-01-02");
        let path = written(dir.path(), short, &serde_json::to_string(&m).unwrap());
        let err = BreachFilter::read(&path).unwrap_err();
        assert!(matches!(err, FilterError::Corrupt(_)), "cut {cut}: {err}");
    }
    // A checksum-matching file whose header points past its fingerprints.
    let mut bad = bytes.clone();
    bad[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    let m = filter::manifest_for(&bad, 3, "test", "MIT", "2024-01-02");
    let path = written(dir.path(), &bad, &serde_json::to_string(&m).unwrap());
    assert!(matches!(
        BreachFilter::read(&path).unwrap_err(),
        FilterError::Corrupt(_)
    ));
}

#[test]
fn breach_missing_filter_or_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = BreachConfig {
        filter: Some(dir.path().join("nope.bin")),
        ..BreachConfig::default()
    };
    let msg = Checker::new(&config, clock()).unwrap_err().to_string();
    assert!(
        msg.contains("`risk.breach.filter`") && msg.contains("nope.bin"),
        "{msg}"
    );

    let (bytes, _) = built();
    std::fs::write(dir.path().join("filter.bin"), &bytes).unwrap();
    let err = BreachFilter::read(&dir.path().join("filter.bin")).unwrap_err();
    assert!(
        matches!(&err, FilterError::Read { path, .. } if path.ends_with("manifest.json")),
        "{err}"
    );
}

#[test]
fn breach_bad_manifest_is_refused() {
    let (bytes, manifest) = built();
    let other_version = manifest.replace("\"format_version\":1", "\"format_version\":2");
    assert_eq!(
        BreachFilter::verify(&bytes, &other_version).unwrap_err(),
        FilterError::Version(2)
    );
    assert!(matches!(
        BreachFilter::verify(&bytes, "not json").unwrap_err(),
        FilterError::Manifest(_)
    ));
    let bad_date = manifest.replace("2024-01-02", "yesterday");
    assert!(matches!(
        BreachFilter::verify(&bytes, &bad_date).unwrap_err(),
        FilterError::Manifest(_)
    ));
}

#[tokio::test]
async fn breach_check_uses_the_filter_as_typed_and_lowercased() {
    let checker = Checker::new(&BreachConfig::default(), clock()).unwrap();
    assert_eq!(
        check(&checker, "P@ssw0rd").await,
        Verdict::Breached {
            source: Source::Filter,
            count: None
        }
    );
    assert_eq!(
        check(&checker, "PASSWORD").await,
        check(&checker, "password").await
    );
    assert_eq!(check(&checker, "k8#Vq!2mZr$wT9pL").await, Verdict::NotFound);
    assert_eq!(refusal(&checker, "Dragon").await, Some(BREACHED));
    assert_eq!(refusal(&checker, "k8#Vq!2mZr$wT9pL").await, None);
}

#[test]
fn breach_range_replies_are_parsed_without_padding() {
    let reply = "2DC183F740EE76F27B78EB39C8AD972A757:52579\r\n\
                 0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n\
                 00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\n";
    let parsed = range::parse(reply).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed["2DC183F740EE76F27B78EB39C8AD972A757"], 52579);
    assert!(range::parse("nonsense").is_none());
    assert!(range::parse("2DC183F740EE76F27B78EB39C8AD972A757:many").is_none());
}
