//! Issue 9's form-parsing benchmark: the CPU one hostile 64 KiB body costs before any
//! authentication (token, introspection, revocation and sign-in all parse their body first).
//!
//! The body holds 9,362 distinct five-digit names. It is refused by count after
//! `urlencoded::MAX_PARAMS` names; for comparison the run also times the pre-issue-9 parser (every
//! name compared with every earlier one) on the same body, and a legitimate token request.
//!
//!     cargo run --release --example form_parse -- [ITERATIONS]

use std::time::Instant;

use watchword::oauth::params::Params;
use watchword::urlencoded;

fn time(name: &str, iterations: u32, mut f: impl FnMut()) {
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let each = started.elapsed().as_secs_f64() / f64::from(iterations);
    println!("{name}: {:.2} µs per body ({iterations} runs)", each * 1e6);
}

/// The parser as it was before issue 9: a linear scan of the earlier names for every name.
fn quadratic(body: &[u8]) -> usize {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        if out.iter().any(|(n, _)| *n == name) {
            break;
        }
        out.push((name, value));
    }
    out.len()
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let hostile = (0..9362)
        .map(|i| format!("{i:05}"))
        .collect::<Vec<_>>()
        .join("&");
    assert!(hostile.len() <= 64 * 1024);
    println!("hostile body: {} bytes, 9362 names", hostile.len());
    let ordinary = b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=app";

    time("hostile body, urlencoded::decode_pairs", iterations, || {
        assert!(urlencoded::decode_pairs(hostile.as_bytes()).is_err());
    });
    time(
        "hostile body, Params::parse (token endpoint)",
        iterations,
        || {
            assert!(Params::parse(hostile.as_bytes()).is_err());
        },
    );
    time("ordinary token request, Params::parse", iterations, || {
        assert!(Params::parse(ordinary).is_ok());
    });
    time(
        "hostile body, the pre-issue-9 parser (for comparison)",
        (iterations / 1000).max(5),
        || {
            assert_eq!(quadratic(hostile.as_bytes()), 9362);
        },
    );
}
