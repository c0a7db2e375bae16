//! Unit tests of browser session records, `acr` and `amr`.

use super::*;
use crate::clock::from_unix;

fn session(created: i64, last_seen: i64) -> BrowserSession {
    BrowserSession {
        sid: "s".into(),
        secret_hash: "h".into(),
        tenant_id: TenantId::generate(),
        user_id: UserId::generate(),
        auth_time: created,
        auth_id: "a".into(),
        amr: vec![Amr::Pwd],
        mfa_at: None,
        ip: "127.0.0.1".into(),
        device: "Firefox on Linux".into(),
        created_at: created,
        last_seen,
        risk: None,
        via: None,
    }
}

#[test]
fn idle_and_absolute_timeouts() {
    let p = SessionPolicy::default();
    let s = session(0, 0);
    assert_eq!(s.state(from_unix(1799), &p), SessionState::Active);
    assert_eq!(s.state(from_unix(1800), &p), SessionState::IdleExpired);
    let s = session(0, 43_000);
    assert_eq!(s.state(from_unix(43_199), &p), SessionState::Active);
    assert_eq!(
        s.state(from_unix(43_200), &p),
        SessionState::AbsoluteExpired
    );
}

#[test]
fn an_upstream_cap_ends_a_federated_session_before_the_tenants_timeouts() {
    let p = SessionPolicy::default();
    let mut s = session(0, 0);
    s.via = Some(Federated {
        idp: "shib".into(),
        sid: Some("_s-77".into()),
        until: Some(600),
        groups: Vec::new(),
    });
    assert_eq!(s.state(from_unix(599), &p), SessionState::Active);
    assert_eq!(s.state(from_unix(600), &p), SessionState::AbsoluteExpired);
    assert!(
        s.store_ttl(from_unix(0), &p) <= chrono::Duration::seconds(600 + EXPIRED_GRACE_SECS),
        "the store keeps it no longer than the cap allows"
    );
    // Federated `amr`: one factor, a new authentication; with the provider's counted MFA, `mfa`.
    assert_eq!(Acr::of(&[Amr::Fed]), Acr::Pwd);
    assert_eq!(Acr::of(&[Amr::Fed, Amr::Otp]), Acr::Mfa);
    assert_eq!(Acr::of(&[Amr::Fed, Amr::Xmfa]), Acr::Mfa);
    assert_eq!(amr_claim(&[Amr::Fed, Amr::Xmfa]), vec!["fed", "mfa"]);
    assert!(is_new_authentication(&[Amr::Fed]));
}

#[test]
fn ttl_is_the_nearer_deadline() {
    let p = SessionPolicy::default();
    let g = EXPIRED_GRACE_SECS;
    assert_eq!(
        session(0, 0).store_ttl(from_unix(100), &p).num_seconds(),
        1700 + g
    );
    assert_eq!(
        session(0, 43_000)
            .store_ttl(from_unix(43_100), &p)
            .num_seconds(),
        100 + g
    );
}

#[test]
fn acr_and_amr_reflect_what_happened() {
    use Amr::*;
    assert_eq!(Acr::of(&[Pwd]), Acr::Pwd);
    assert_eq!(Acr::of(&[Pwd, Otp]), Acr::Mfa);
    assert_eq!(Acr::of(&[Pwd, Rec]), Acr::Mfa);
    assert_eq!(Acr::of(&[Pwd, Hwk, User]), Acr::Phr);
    assert_eq!(
        Acr::of(&[Swk, User]),
        Acr::Phr,
        "a passkey with user verification"
    );
    assert_eq!(Acr::of(&[Otp]), Acr::Pwd, "one factor");
    assert_eq!(amr_claim(&[Pwd, Otp]), ["pwd", "otp", "mfa"]);
    assert_eq!(amr_claim(&[Pwd, Rec]), ["pwd", "otp", "mfa"]);
    assert_eq!(amr_claim(&[Swk, User]), ["swk", "user", "mfa"]);
    assert_eq!(amr_claim(&[Pwd]), ["pwd"]);
    assert_eq!(acr_for(&amr_claim(&[Hwk, User])), "phr");
    assert_eq!(acr_for(&amr_claim(&[Pwd, Otp])), "mfa");
    assert_eq!(acr_for(&amr_claim(&[Pwd])), "pwd");
    assert_eq!(Acr::weakest_requested("phr mfa"), Some(Acr::Mfa));
    assert_eq!(Acr::weakest_requested("urn:unknown phr"), Some(Acr::Phr));
    assert_eq!(Acr::weakest_requested("urn:unknown"), None);
}

#[test]
fn session_limits_parse_numbers_and_unlimited() {
    let p: SessionPolicy =
        serde_json::from_str(r#"{"max_sessions_per_user":3,"on_limit":"deny_new"}"#).unwrap();
    assert_eq!(p.max_sessions_per_user, SessionLimit::Max(3));
    assert_eq!(p.on_limit, OnLimit::DenyNew);
    let p: SessionPolicy =
        serde_json::from_str(r#"{"max_sessions_per_user":"unlimited"}"#).unwrap();
    assert_eq!(p.max_sessions_per_user.max(), None);
    assert_eq!(
        serde_json::to_string(&p.max_sessions_per_user).unwrap(),
        r#""unlimited""#
    );
    let d = SessionPolicy::default();
    assert_eq!(
        (d.max_sessions_per_user.max(), d.on_limit),
        (Some(1), OnLimit::EndOldest)
    );
    for bad in [r#"0"#, r#"-1"#, r#"1001"#, r#""many""#, r#"1.5"#] {
        let json = format!(r#"{{"max_sessions_per_user":{bad}}}"#);
        assert!(
            serde_json::from_str::<SessionPolicy>(&json).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn policy_bounds() {
    let mut p = SessionPolicy::default();
    assert!(p.validate().is_ok());
    p.absolute_timeout_secs = 10;
    assert_eq!(p.validate().unwrap_err().0, "absolute_timeout_secs");
}
