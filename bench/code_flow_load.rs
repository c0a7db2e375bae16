//! Full authorization code flows per second: each flow is a new browser (its own cookies;
//! connections are reused, as by many browsers behind one proxy): authorize, sign-in
//! page, sign-in POST with a password, resume, code, token exchange), `C` flows at a time for
//! `S` seconds. Compare with the Argon2 bound (`hash_rate`): every flow verifies one password.
//! Besides whole flows it reports the password step (the sign-in POST, which waits for the
//! Argon2 pool) and the rest of the flow (authorize, page, resume, token) apart, so latency
//! beyond Argon2 queueing is visible. With `FLOW_USERS=N`, flow task `i` signs in as
//! `bench{i % N}` (seed those users) instead of everyone as `bench`. Each task's first flow (new
//! connections, every task starting in the same instant) is reported apart from the rest.
//!
//!     cargo run --release --example code_flow_load -- BASE_URL [CONCURRENCY] [SECONDS]

use std::time::{Duration, Instant};

const CLIENT: &str = "bench-web";
const SECRET: &str = "bench-web-secret-0123456789abcdefghijkl";
const REDIRECT: &str = "https://bench.example/cb";

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&")
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// The cookies of one browser (a flow), kept by hand so one HTTP client serves many flows.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            let Some((pair, _)) = v.to_str().unwrap().split_once(';') else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.0.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The steps of a flow, in order; `password` is the one that waits for the Argon2 pool.
const STEPS: [&str; 5] = ["authorize", "login page", "password", "resume", "token"];
const PASSWORD: usize = 2;

/// How long each step of a flow took.
struct Timing([Duration; 5]);

impl Timing {
    fn password(&self) -> Duration {
        self.0[PASSWORD]
    }

    /// Everything but the password step.
    fn rest(&self) -> Duration {
        self.0.iter().sum::<Duration>() - self.password()
    }
}

async fn flow(http: &reqwest::Client, base: &str, user: &str) -> Result<Timing, String> {
    let mut steps = [Duration::ZERO; 5];
    let mut t = Instant::now();
    let mut lap = |i: usize| {
        steps[i] = t.elapsed();
        t = Instant::now();
    };
    let mut jar = Jar::default();
    let err = |e: reqwest::Error| e.to_string();
    let res = http
        .get(format!("{base}/t/default/authorize"))
        .query(&[
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .map_err(err)?;
    lap(0);
    jar.take(&res);
    let login = location(&res);
    let res = http
        .get(format!("{base}{login}"))
        .header("cookie", jar.header())
        .send()
        .await
        .map_err(err)?;
    jar.take(&res);
    let page = res.text().await.map_err(err)?;
    lap(1);
    let res = http
        .post(format!("{base}/t/default/login"))
        .header("cookie", jar.header())
        .form(&[
            ("csrf_token", field(&page, "csrf_token")),
            ("return_to", field(&page, "return_to")),
            ("identifier", user.to_owned()),
            ("password", "correct horse battery staple".into()),
        ])
        .send()
        .await
        .map_err(err)?;
    if res.status() != 303 {
        return Err(format!("sign-in answered {}", res.status()));
    }
    lap(PASSWORD);
    jar.take(&res);
    let resume = location(&res);
    let res = http
        .get(format!("{base}{resume}"))
        .header("cookie", jar.header())
        .send()
        .await
        .map_err(err)?;
    lap(3);
    let back = url::Url::parse(&location(&res)).map_err(|e| e.to_string())?;
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .ok_or("no code")?
        .1
        .into_owned();
    let res = http
        .post(format!("{base}/t/default/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .map_err(err)?;
    if res.status() != 200 {
        return Err(format!("token answered {}", res.status()));
    }
    lap(4);
    Ok(Timing(steps))
}

/// The `q` quantile of sorted `values`, in milliseconds.
fn quantile(values: &[Duration], q: f64) -> f64 {
    values
        .get(((values.len() as f64 * q) as usize).min(values.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: code_flow_load BASE_URL [CONCURRENCY] [SECONDS]");
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let users: Option<usize> = std::env::var("FLOW_USERS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let base = base.clone();
        let user = users.map_or("bench".to_owned(), |n| format!("bench{}", i % n.max(1)));
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let (mut failed, mut timings) = (0u64, Vec::new());
            while Instant::now() < deadline {
                match flow(&http, &base, &user).await {
                    Ok(t) => timings.push(t),
                    Err(e) => {
                        failed += 1;
                        eprintln!("flow failed: {e}");
                    }
                }
            }
            (failed, timings)
        }));
    }
    let (mut failed, mut timings, mut firsts) = (0, Vec::new(), Vec::new());
    for t in tasks {
        let (f, mut l) = t.await.unwrap();
        failed += f;
        // Each task's first flow connects, and all of them start in the same instant: reported
        // apart, as the cost of that herd, not mixed into the steady state.
        if !l.is_empty() {
            firsts.push(l.remove(0));
        }
        timings.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = timings.len() + firsts.len();
    let mut first_rest: Vec<Duration> = firsts.iter().map(Timing::rest).collect();
    first_rest.sort();
    let sorted = |f: &dyn Fn(&Timing) -> Duration| {
        let mut v: Vec<Duration> = timings.iter().map(f).collect();
        v.sort();
        v
    };
    let whole = sorted(&|t| t.0.iter().sum());
    let password = sorted(&|t| t.password());
    let rest = sorted(&|t| t.rest());
    println!(
        "code flows: {ok} in {elapsed:.1} s = {:.1}/s ({failed} failed) with {concurrency} concurrent; \
         p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms; password step p50 {:.0} ms, p95 {:.0} ms; \
         rest of the flow p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms",
        ok as f64 / elapsed,
        quantile(&whole, 0.5),
        quantile(&whole, 0.95),
        quantile(&whole, 0.99),
        quantile(&password, 0.5),
        quantile(&password, 0.95),
        quantile(&rest, 0.5),
        quantile(&rest, 0.95),
        quantile(&rest, 0.99),
    );
    let per_step: Vec<String> = STEPS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let v = sorted(&|t| t.0[i]);
            format!(
                "{name} p50 {:.0} / p95 {:.0} ms",
                quantile(&v, 0.5),
                quantile(&v, 0.95)
            )
        })
        .collect();
    println!("   steps: {}", per_step.join(", "));
    println!(
        "   (statistics without each task's first flow; those {} flows, started at once with new \
         connections: rest of the flow p50 {:.0} ms, p95 {:.0} ms)",
        firsts.len(),
        quantile(&first_rest, 0.5),
        quantile(&first_rest, 0.95)
    );
}
