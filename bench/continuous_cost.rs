//! Issue 11's benchmark: the CPU of continuous evaluation's comparison per use of a session or
//! refresh token (single thread, release build), what `auth::continuous::evaluate` computes
//! besides its rare store and database writes: the device description of the user agent, the
//! cheap test, and on the slow path both places (city and ASN databases, written here with the
//! test suite's MaxMind writer, `tests/it/risk/write_mmdb.pl`), the network kind and the test.
//!
//! - fast path: the same device (most uses);
//! - slow path, no change: another device, another /24 of the same country and ASN;
//! - slow path, changed: another device in another country.
//!
//!     cargo run --release --example continuous_cost -- [SECONDS]

use std::hint::black_box;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use watchword::config::RiskConfig;
use watchword::domain::device::describe;
use watchword::risk::drift::{self, Context};
use watchword::risk::place::Locator;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn write_mmdb(path: &Path, spec: serde_json::Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/risk/write_mmdb.pl");
    let mut child = Command::new("perl")
        .arg(script)
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("perl (with Debian libmaxmind-db-writer-perl)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "writing {path:?}");
}

fn locator(dir: &Path) -> Locator {
    let (city, asn) = (dir.join("city.mmdb"), dir.join("asn.mmdb"));
    let place = |country: &str, name: &str| {
        serde_json::json!({"city": {"names": {"en": name}}, "country": {"iso_code": country},
            "location": {"latitude": 48.85, "longitude": 2.35, "accuracy_radius": 20}})
    };
    write_mmdb(
        &city,
        serde_json::json!({
            "database_type": "GeoLite2-City", "build_epoch": 1_700_000_000,
            "types": {"city": "map", "names": "map", "en": "utf8_string", "country": "map",
                      "iso_code": "utf8_string", "location": "map", "latitude": "double",
                      "longitude": "double", "accuracy_radius": "uint16"},
            "networks": [
                {"network": "192.0.2.0/24", "data": place("FR", "Paris")},
                {"network": "203.0.113.0/24", "data": place("FR", "Paris")},
                {"network": "198.51.100.0/24", "data": place("AU", "Sydney")},
            ],
        }),
    );
    let asn_of = |n: u32| serde_json::json!({"autonomous_system_number": n, "autonomous_system_organization": "Example"});
    write_mmdb(
        &asn,
        serde_json::json!({
            "database_type": "GeoLite2-ASN", "build_epoch": 1_700_000_000,
            "types": {"autonomous_system_number": "uint32",
                      "autonomous_system_organization": "utf8_string"},
            "networks": [
                {"network": "192.0.2.0/24", "data": asn_of(64496)},
                {"network": "203.0.113.0/24", "data": asn_of(64496)},
                {"network": "198.51.100.0/24", "data": asn_of(64500)},
            ],
        }),
    );
    Locator::from_config(&RiskConfig {
        geoip_database: Some(city),
        geoip_asn_database: Some(asn),
        ..RiskConfig::default()
    })
    .unwrap()
}

/// One evaluation of a use from `ip` with `user_agent` against the baseline (Paris, Firefox).
fn evaluate(l: &Locator, from: (IpAddr, &str), ip: IpAddr, user_agent: &str) -> bool {
    let agent = describe(user_agent);
    if !drift::may_have_changed(from, (ip, &agent)) {
        return false;
    }
    let (a, b) = (l.place(from.0), l.place(ip));
    black_box(l.network(ip));
    drift::changed(
        &Context {
            ip: from.0,
            place: a.as_ref(),
            device: from.1,
        },
        &Context {
            ip,
            place: b.as_ref(),
            device: &agent,
        },
    )
    .is_some()
}

fn measure(name: &str, seconds: f64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (started, mut n, mut changed) = (Instant::now(), 0u64, 0u64);
    while Instant::now() < deadline {
        for _ in 0..100 {
            changed += u64::from(black_box(f()));
        }
        n += 100;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: {n} in {secs:.1} s = {:.2} µs each (changed: {changed})",
        secs * 1e6 / n as f64
    );
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let l = locator(dir.path());
    let firefox = describe(FIREFOX);
    let from: (IpAddr, &str) = ("192.0.2.10".parse().unwrap(), &firefox);
    let (near, far): (IpAddr, IpAddr) = (
        "203.0.113.9".parse().unwrap(),
        "198.51.100.7".parse().unwrap(),
    );
    measure("fast path (same device)", seconds, || {
        evaluate(&l, from, far, black_box(FIREFOX))
    });
    measure(
        "slow path, no change (other device, same country and ASN)",
        seconds,
        || evaluate(&l, from, near, black_box(CHROME)),
    );
    measure(
        "slow path, changed (other device, other country)",
        seconds,
        || evaluate(&l, from, far, black_box(CHROME)),
    );
}
