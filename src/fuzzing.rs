//! Entry points of the fuzz targets in `fuzz/` (docs/fuzzing.md): each feeds arbitrary bytes to
//! one parser of untrusted input that runs before authentication, and asserts what must hold of
//! the result (nothing forged verifies, limits hold). Not an API; the unit tests below replay the
//! checked-in corpus on every test run.

use std::net::IpAddr;
use std::sync::OnceLock;

use webauthn_rs::prelude::{
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use crate::domain::keys::SigningAlg;
use crate::oauth::params::Params;
use crate::signing::TenantKeys;
use crate::urlencoded::{self, MAX_PARAMS};

/// Form bodies and query strings (every protocol endpoint and hosted form).
pub fn form(data: &[u8]) {
    let all = urlencoded::decode_all(data);
    if let Ok(pairs) = &all {
        assert!(pairs.len() <= MAX_PARAMS);
    }
    match urlencoded::decode_pairs(data) {
        Ok(pairs) => {
            assert!(pairs.len() <= MAX_PARAMS);
            let mut names: Vec<&String> = pairs.iter().map(|(n, _)| n).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), pairs.len(), "no repeated name gets through");
            assert_eq!(all.as_ref().ok(), Some(&pairs));
        }
        Err(urlencoded::Problem::Duplicate(name)) => assert!(name.chars().count() <= 40),
        Err(_) => {}
    }
    let _ = Params::parse(data);
    if let (Ok((_, repeated)), Ok(pairs)) = (Params::parse_noting_repeats(data), &all) {
        for name in repeated {
            let times = pairs.iter().filter(|(n, _)| *n == name).count();
            assert!(
                times >= 2,
                "{name:?} reported repeated but given {times} time(s)"
            );
        }
    }
}

/// `Authorization: Basic …` at the token, introspection and revocation endpoints.
pub fn basic_credentials(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((id, _secret)) = crate::oauth::clients::decode_basic(header) {
        assert!(id.len() <= header.len());
    }
}

/// JWTs presented by strangers: `id_token_hint` at the authorization and end-session endpoints,
/// access tokens at userinfo and introspection. Nothing a fuzzer makes may verify.
pub fn jwt(data: &[u8]) {
    static KEYS: OnceLock<TenantKeys> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        TenantKeys::generated(&[
            (SigningAlg::RS256, "rs"),
            (SigningAlg::ES256, "es"),
            (SigningAlg::EdDSA, "ed"),
        ])
        .expect("keys generate")
    });
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let issuer = "https://id.example.com/t/default";
    let id: Result<serde_json::Value, _> = crate::oauth::tokens::verify(
        keys,
        issuer,
        token,
        &["jwt", "at+jwt", "logout+jwt"],
        0,
        true,
    );
    assert!(id.is_err(), "a token nobody signed verified: {token}");
    assert!(crate::oauth::tokens::verify_access_token(keys, issuer, token, 0).is_err());
}

/// The `Cookie` header, the session cookie and the signed known-device cookie.
pub fn cookies(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    // As actix-web reads the header (`HttpRequest::cookies`).
    let parsed = header
        .split(';')
        .filter_map(|s| actix_web::cookie::Cookie::parse_encoded(s.trim()).ok());
    for cookie in parsed {
        let value = cookie.value();
        if let Some((sid, hash)) = crate::auth::sessions::parse_cookie(value) {
            assert!((20..=64).contains(&sid.len()) && !hash.is_empty());
        }
        let key = [7u8; 32];
        assert!(
            crate::auth::throttle::device_id(&key, 0, "account", value).is_none(),
            "a device cookie nobody signed was accepted"
        );
    }
}

/// `X-Forwarded-For` behind a trusted proxy: the first line is the headers' count, the rest the
/// header values. The answer is always the peer or one of the entries.
pub fn forwarded(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let headers: Vec<&str> = text.split('\n').take(16).collect();
    let peer: IpAddr = [10, 0, 0, 1].into();
    let trusted = ["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
    let ip = crate::web::caller::forwarded_address(peer, &headers, &trusted);
    // IPv4 addresses render as written (no leading zeros parse); IPv6 has many spellings.
    assert!(
        ip == peer || ip.is_ipv6() || text.contains(&ip.to_string()),
        "{ip} came from nowhere in {text:?}"
    );
}

struct Ceremony {
    webauthn: Webauthn,
    registration: PasskeyRegistration,
}

/// The WebAuthn JSON of sign-in and enrolment (`credential`), parsed and checked against a real
/// ceremony: a fuzzed attestation or assertion must never be accepted.
pub fn webauthn(data: &[u8]) {
    static CEREMONY: OnceLock<Ceremony> = OnceLock::new();
    let c = CEREMONY.get_or_init(|| {
        let origin = Url::parse("https://id.example.com").unwrap();
        let webauthn = WebauthnBuilder::new("id.example.com", &origin)
            .unwrap()
            .build()
            .unwrap();
        let (_, registration) = webauthn
            .start_passkey_registration(Uuid::nil(), "ada", "Ada", None)
            .unwrap();
        Ceremony {
            webauthn,
            registration,
        }
    });
    if let Ok(cred) = serde_json::from_slice::<RegisterPublicKeyCredential>(data) {
        assert!(
            c.webauthn
                .finish_passkey_registration(&cred, &c.registration)
                .is_err()
        );
    }
    let _ = serde_json::from_slice::<PublicKeyCredential>(data);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays `fuzz/corpus/<target>/*` (the seeds and every input a fuzzing run found worth
    /// keeping) through the entry point, so a regression shows in the ordinary test run.
    fn replay(target: &str, run: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n > 0, "{} has no inputs", dir.display());
    }

    #[test]
    fn form_corpus() {
        replay("form", super::form);
    }

    #[test]
    fn basic_credentials_corpus() {
        replay("basic_credentials", super::basic_credentials);
    }

    #[test]
    fn jwt_corpus() {
        replay("jwt", super::jwt);
    }

    #[test]
    fn cookies_corpus() {
        replay("cookies", super::cookies);
    }

    #[test]
    fn forwarded_corpus() {
        replay("forwarded", super::forwarded);
    }

    #[test]
    fn webauthn_corpus() {
        replay("webauthn", super::webauthn);
    }
}
