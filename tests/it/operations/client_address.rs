//! Which address a request is attributed to behind a trusted proxy (`X-Forwarded-For` walked from
//! the right, an unparseable entry ending the walk, `ip:port` forms accepted), observed in the
//! audit trail of real sign-ins.

use reqwest::StatusCode;

use crate::common::{Browser, GOOD_PASSWORD, TestApp};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audited_address_is_the_first_untrusted_hop_from_the_right() {
    let app = TestApp::builder()
        .tweak(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
        .start()
        .await;
    app.create_user("default", "ada", GOOD_PASSWORD).await;
    let cases = [
        ("203.0.113.9", "203.0.113.9"),
        ("198.51.100.1, 203.0.113.9, 127.0.0.1", "203.0.113.9"),
        ("198.51.100.7:4711", "198.51.100.7"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        // A forged left part behind garbage is never believed: the walk ends at the last trusted
        // hop (here the proxy itself) instead of skipping the garbage.
        ("203.0.113.66, unknown", "127.0.0.1"),
        ("203.0.113.66, not-an-ip, 127.0.0.1", "127.0.0.1"),
    ];
    for (header, want) in cases {
        let b = Browser::at(&app.base, FIREFOX, header);
        assert_eq!(
            b.sign_in("default", "ada", GOOD_PASSWORD).await.status(),
            StatusCode::SEE_OTHER,
            "{header}"
        );
        let audit = app.audit("default").await;
        let newest = audit
            .iter()
            .find(|e| e.action == "sign_in" && e.outcome == "success")
            .expect("the sign-in is audited");
        assert_eq!(
            newest.ip.as_deref(),
            Some(want),
            "X-Forwarded-For: {header}"
        );
    }
}
