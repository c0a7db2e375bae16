//! The shared setup of the risk-scored sign-in tests: a server behind a trusted loopback proxy
//! (client addresses through `X-Forwarded-For`), with GeoIP city and ASN fixtures (Paris
//! 192.0.2.0/24 AS64501, Sydney 198.51.100.0/24 AS64502, Berlin 203.0.113.0/24 AS64503), an SMTP
//! sink, a network list naming 2001:db8::/32 (New York) an anonymiser, and the tenant's risk
//! policy set by the test.

use reqwest::StatusCode;
use serde_json::Value;
use watchword::domain::tenant::TenantPolicy;
use watchword::storage::risk::{Filter, SignInEvent};

use super::fixtures;
use crate::common::browser::location;
use crate::common::smtp::SmtpSink;
use crate::common::{Browser, GOOD_PASSWORD, TestApp};
use crate::mail::{mail_to, smtp_to, verify_address};

pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
pub const PARIS: &str = "192.0.2.10";
pub const PARIS_2: &str = "192.0.2.77";
pub const SYDNEY: &str = "198.51.100.7";
pub const BERLIN: &str = "203.0.113.9";
/// Listed as an anonymiser.
pub const VPN: &str = "2001:db8::5";

pub struct Scored {
    pub app: TestApp,
    pub sink: SmtpSink,
    _dir: tempfile::TempDir,
}

/// A server whose tenant `default` has the risk policy `risk` (JSON, defaults for the rest) and
/// whatever `policy` changes besides.
pub async fn start(risk: Value, policy: impl FnOnce(&mut TenantPolicy)) -> Scored {
    start_with(risk, policy, true).await
}

pub async fn start_with(
    risk: Value,
    policy: impl FnOnce(&mut TenantPolicy),
    trusted_proxy: bool,
) -> Scored {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("city.mmdb");
    let asn = dir.path().join("asn.mmdb");
    fixtures::write_city(&city, 1_700_000_000, &fixtures::usual());
    fixtures::write_asn(
        &asn,
        1_700_000_000,
        &[
            ("192.0.2.0/24", 64501, "Paris Net"),
            ("198.51.100.0/24", 64502, "Sydney Net"),
            ("203.0.113.0/24", 64503, "Berlin Net"),
        ],
    );
    let list = dir.path().join("networks.txt");
    std::fs::write(&list, "2001:db8::/32 anonymizer\n").unwrap();
    let sink = SmtpSink::start();
    let app = TestApp::builder()
        .tweak(smtp_to(sink.port))
        .tweak(move |c| {
            c.risk.geoip_database = Some(city);
            c.risk.geoip_asn_database = Some(asn);
            c.risk.network_list = Some(list);
            if trusted_proxy {
                c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            }
        })
        .start()
        .await;
    let tenant = app.tenant("default").await;
    let mut p = tenant.policy.clone();
    p.risk = serde_json::from_value(risk).expect("a valid risk policy");
    policy(&mut p);
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(p),
        &watchword::admin::authz::Admin::operator(watchword::domain::audit::Actor::Cli),
    )
    .await
    .unwrap();
    Scored {
        app,
        sink,
        _dir: dir,
    }
}

impl Scored {
    pub fn browser(&self, user_agent: &str, ip: &str) -> Browser {
        Browser::at(&self.app.base, user_agent, ip)
    }

    /// A user with a verified address.
    pub async fn user(&self, name: &str) -> watchword::domain::user::User {
        let u = self.app.create_user("default", name, GOOD_PASSWORD).await;
        verify_address(&self.app, name).await;
        u
    }

    /// Signs `user` in three times from Paris with one Firefox (the learning period), a minute
    /// apart; that browser, signed in.
    pub async fn at_home(&self, user: &str) -> Browser {
        let b = self.browser(FIREFOX, PARIS);
        for _ in 0..3 {
            let res = b.sign_in("default", user, GOOD_PASSWORD).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(location(&res), "/t/default/", "signed in at home");
            self.app.clock.advance(chrono::Duration::minutes(1));
        }
        b
    }

    /// The user's sign-in events, newest first.
    pub async fn events(&self, user: &watchword::domain::user::User) -> Vec<SignInEvent> {
        let tenant = self.app.tenant("default").await;
        let filter = Filter {
            user: Some(user.id),
            limit: 100,
            ..Filter::default()
        };
        self.app
            .app
            .ctx
            .db
            .run(move |c| watchword::storage::risk::list(c, tenant.id, &filter))
            .await
            .unwrap()
    }

    /// The reason codes of an event.
    pub fn reasons(event: &SignInEvent) -> Vec<String> {
        let signals: Vec<Value> = serde_json::from_str(&event.reasons).unwrap();
        signals
            .iter()
            .map(|s| s["code"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Messages to `user` (at least `n`).
    pub async fn mail(&self, user: &str, n: usize) -> Vec<crate::common::smtp::Received> {
        mail_to(&self.app, &self.sink, &format!("{user}@"), n).await
    }

    pub fn hashes(&self) -> u64 {
        self.app.app.ctx.hasher.verifications()
    }
}

/// The error message of a sign-in page answer.
pub async fn page_error(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let body = res.text().await.unwrap();
    let message = body
        .split("role=\"alert\"")
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("")
        .trim()
        .to_owned();
    (status, if message.is_empty() { body } else { message })
}
