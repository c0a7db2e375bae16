//! Unit tests of client registrations.

use super::*;

fn client(uris: &[&str]) -> Client {
    Client {
        pk: "x".into(),
        tenant_id: TenantId::generate(),
        client_id: "app".into(),
        name: "App".into(),
        kind: ClientKind::Confidential,
        auth_method: ClientAuthMethod::ClientSecretBasic,
        settings: ClientSettings {
            redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        },
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        version: 1,
    }
}

#[test]
fn redirect_uris_match_exactly() {
    let c = client(&[
        "https://app.example/cb",
        "http://127.0.0.1:8000/cb",
        "http://[::1]/cb",
    ]);
    assert!(c.redirect_uri_registered("https://app.example/cb"));
    for bad in [
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://APP.example/cb",
        "https://app.example/CB",
        "https://app.example/cb#f",
        "https://app.example.evil/cb",
        "http://app.example/cb",
        "https://app.example:443/cb",
    ] {
        assert!(!c.redirect_uri_registered(bad), "{bad}");
    }
    assert!(
        c.redirect_uri_registered("http://127.0.0.1:51234/cb"),
        "loopback port varies"
    );
    assert!(c.redirect_uri_registered("http://[::1]:4000/cb"));
    assert!(!c.redirect_uri_registered("http://127.0.0.1:51234/other"));
    assert!(!c.redirect_uri_registered("http://127.0.0.2:8000/cb"));
    for normalized_elsewhere in [
        "http://127.1:9000/cb",
        "http://2130706433:9000/cb",
        "http://0x7f.0.0.1:9000/cb",
        "http://127.0.0.1:9000/x/../cb",
        "http://127.0.0.1:9000/./cb",
        "HTTP://127.0.0.1:9000/cb",
        "http://127.0.0.1:9000/cb#f",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:9000@evil.example/cb",
    ] {
        assert!(
            !c.redirect_uri_registered(normalized_elsewhere),
            "{normalized_elsewhere}"
        );
    }
}

#[test]
fn redirect_uris_are_validated_at_registration() {
    for ok in [
        "https://app.example/cb",
        "http://127.0.0.1:8000/cb",
        "http://localhost/cb",
        "com.example.app:/cb",
    ] {
        assert!(validate_redirect_uri("redirect_uris", ok).is_ok(), "{ok}");
    }
    for bad in [
        "/relative",
        "http://app.example/cb",
        "https://app.example/cb#x",
        "javascript:alert(1)",
        "myapp:/cb",
        "HTTPS://APP.example/cb",
    ] {
        assert!(
            validate_redirect_uri("redirect_uris", bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn who_may_introspect() {
    let mut c = client(&[]);
    assert!(c.may_introspect("app", "app"), "its own tokens");
    assert!(!c.may_introspect("other", "other"), "not another client's");
    c.settings.resource_server = true;
    c.settings.audiences = vec!["web".into()];
    assert!(c.may_introspect("web", "web"), "tokens meant for it");
    assert!(!c.may_introspect("other", "other"), "not other tokens");
    c.settings.audiences.clear();
    assert!(!c.may_introspect("web", "web"));
    c.settings.resource_server = false;
    c.settings.audiences = vec!["web".into()];
    assert!(
        !c.may_introspect("web", "web"),
        "audiences need resource_server"
    );
    assert!(validate(&c).is_err());
}

#[test]
fn client_ids() {
    assert!(validate_client_id("my-app_1.0~x").is_ok());
    assert!(validate_client_id("").is_err());
    assert!(validate_client_id("a b").is_err());
    assert!(validate_client_id("ä").is_err());
}
