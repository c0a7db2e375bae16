//! Issue 5's benchmark: the server CPU a second factor adds to a sign-in, per core (single
//! thread, release build).
//!
//! - TOTP: what `auth::mfa::totp::verify` computes besides its database calls: opening the
//!   AES-256-GCM sealed seed and checking a code over three time steps (HMAC-SHA-1 each).
//! - WebAuthn: `Webauthn::finish_passkey_authentication` on assertions from a software
//!   authenticator (ES256 signature verification, client data and authenticator data checks).
//!
//!     cargo run --release --example mfa_cost -- [SECONDS]

use std::time::{Duration, Instant};

use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{Url, Uuid, WebauthnBuilder};

fn per_second(name: &str, seconds: f64, mut f: impl FnMut()) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (started, mut n) = (Instant::now(), 0u64);
    while Instant::now() < deadline {
        f();
        n += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: {n} in {secs:.1} s = {:.0}/s per core ({:.1} µs each)",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);

    // TOTP: open the sealed seed, check a code (±1 step).
    let key = watchword::crypto::random::bytes::<32>();
    let seed = watchword::crypto::random::bytes::<20>().to_vec();
    let aad = b"watchword/totp/bench";
    let sealed = watchword::crypto::aead::seal(&key, aad, &seed);
    let base32 = totp_rs::Secret::from(seed.clone()).to_base32();
    let now = 1_800_000_000i64;
    let code = watchword::auth::mfa::totp::code_at(&base32, now).unwrap();
    per_second("TOTP verify (unseal + check ±1 step)", seconds, || {
        let seed = watchword::crypto::aead::open(&key, aad, &sealed).unwrap();
        let totp = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::from(seed))
            .with_account_name("bench")
            .build()
            .unwrap();
        assert!(totp.check(&code, now as u64).is_some());
    });

    // WebAuthn: verify assertions (prepared outside the timed loop).
    let origin = Url::parse("https://id.example.com").unwrap();
    let webauthn = WebauthnBuilder::new("id.example.com", &origin)
        .unwrap()
        .build()
        .unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let (ccr, reg) = webauthn
        .start_passkey_registration(Uuid::new_v4(), "bench", "Bench", None)
        .unwrap();
    let cred = authenticator.do_registration(origin.clone(), ccr).unwrap();
    let passkey = webauthn.finish_passkey_registration(&cred, &reg).unwrap();
    let prepared: Vec<_> = (0..2000)
        .map(|_| {
            let (rcr, state) = webauthn
                .start_passkey_authentication(std::slice::from_ref(&passkey))
                .unwrap();
            let assertion = authenticator
                .do_authentication(origin.clone(), rcr)
                .unwrap();
            (assertion, state)
        })
        .collect();
    let (a, st) = &prepared[0];
    let result = webauthn
        .finish_passkey_authentication(a, st)
        .expect("the assertion verifies");
    assert!(result.user_verified());
    let mut i = 0;
    per_second("WebAuthn assertion verify (ES256)", seconds, || {
        let (assertion, state) = &prepared[i % prepared.len()];
        i += 1;
        // Counters only matter against stored state, which this loop does not update.
        let _ = webauthn.finish_passkey_authentication(assertion, state);
    });
}
