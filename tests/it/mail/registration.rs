//! Self-registration and invitations end to end through the hosted pages, with the mail read
//! from a real SMTP server: off by default (no page, no link); an open sign-up creates nothing
//! until the mailed link is used; taken usernames and addresses get the same answer (the owner of
//! the address gets the mail that says so); the password policy applies; sign-ups are throttled
//! per client address; invitation mode needs a valid invitation, which works once (also under a
//! burst), expires, and stays in its tenant; concurrent sign-ups of one username create one user;
//! and `watchword invite create --send` mails a link that creates the account at once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use watchword::admin::authz::Admin;
use watchword::domain::audit::Actor;
use watchword::domain::registration::RegistrationMode;
use watchword::mail::worker;
use watchword::registration::{LINK_HOURS, REQUESTS_PER_HOUR_PER_ADDRESS, invites};

use super::{mail_to, smtp_to};
use crate::common::browser::location;
use crate::common::smtp::{SmtpSink, link};
use crate::common::{Browser, GOOD_PASSWORD, TestApp, hidden_field};

const PASSWORD: &str = "a long new passphrase";

async fn start(sink: &SmtpSink, mode: RegistrationMode) -> TestApp {
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    set_mode(&app, "default", mode).await;
    app
}

async fn set_mode(app: &TestApp, slug: &str, mode: RegistrationMode) {
    let tenant = app.tenant(slug).await;
    let mut policy = tenant.policy.clone();
    policy.registration.mode = mode;
    watchword::admin::tenants::update(
        &app.app.ctx,
        tenant,
        None,
        Some(policy),
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
}

async fn other_tenant(app: &TestApp, mode: RegistrationMode) {
    watchword::admin::tenants::create(
        &app.app.ctx,
        "other",
        None,
        None,
        &watchword::admin::authz::Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    set_mode(app, "other", mode).await;
}

/// Fills in and posts the sign-up form of `tenant` (loaded with `invite`, if any).
async fn sign_up(
    b: &Browser,
    tenant: &str,
    username: &str,
    email: &str,
    password: &str,
    invite: &str,
) -> reqwest::Response {
    let page = if invite.is_empty() {
        format!("/t/{tenant}/register")
    } else {
        format!("/t/{tenant}/register?invite={invite}")
    };
    let csrf = b.csrf(&page).await;
    b.post_form(
        &format!("/t/{tenant}/register"),
        &[
            ("csrf_token", &csrf),
            ("username", username),
            ("email", email),
            ("password", password),
            ("confirm", password),
            ("invite", invite),
        ],
    )
    .await
}

/// Opens a sign-up link in `browser` and presses its button; the response.
async fn use_link(browser: &Browser, url: &str) -> reqwest::Response {
    let path = &url[url.find("/t/").unwrap()..];
    let page = browser.get(path).await;
    assert_eq!(page.status(), StatusCode::OK, "the link shows a button");
    let html = page.text().await.unwrap();
    let token = hidden_field(&html, "token").expect("a button");
    let csrf = hidden_field(&html, "csrf_token").unwrap();
    let action = path.split('?').next().unwrap();
    browser
        .post_form(action, &[("csrf_token", &csrf), ("token", &token)])
        .await
}

/// Posts a token to `tenant`'s confirmation directly (another tenant's path).
async fn post_token(b: &Browser, tenant: &str, token: &str) -> reqwest::Response {
    let csrf = b.csrf(&format!("/t/{tenant}/password/forgot")).await;
    b.post_form(
        &format!("/t/{tenant}/register/confirm"),
        &[("csrf_token", &csrf), ("token", token)],
    )
    .await
}

async fn usernames(app: &TestApp, slug: &str) -> Vec<String> {
    let tenant = app.tenant(slug).await;
    watchword::admin::users::list(&app.app.ctx, &tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect()
}

/// Moves the clock to the start of the next hour (the per-address counters are per clock hour).
fn next_hour(app: &TestApp) {
    let now = app.app.ctx.clock.unix();
    app.clock
        .advance(chrono::Duration::seconds(3600 - now.rem_euclid(3600) + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_off_by_default() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().tweak(smtp_to(sink.port)).start().await;
    assert_eq!(
        app.tenant("default").await.policy.registration.mode,
        RegistrationMode::Off
    );
    let b = app.browser();
    assert_eq!(
        b.get("/t/default/register").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/t/default/register/confirm?token=x").await.status(),
        StatusCode::NOT_FOUND
    );
    let csrf = b.csrf("/t/default/login").await;
    let res = b
        .post_form(
            "/t/default/register",
            &[
                ("csrf_token", &csrf),
                ("username", "mallory"),
                ("email", "mallory@example.test"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let login = b.get("/t/default/login").await.text().await.unwrap();
    assert!(!login.contains("Create an account"), "{login}");
    assert!(!login.contains("/register"));
    // Even an operator's invitation does not open it.
    let tenant = app.tenant("default").await;
    let invite = invites::create(
        &app.app.ctx,
        &tenant,
        None,
        24,
        false,
        &Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let path = &invite.link[invite.link.find("/t/").unwrap()..];
    assert_eq!(b.get(path).await.status(), StatusCode::NOT_FOUND);
    assert!(usernames(&app, "default").await.is_empty());

    // Open: the sign-in page links to the form.
    set_mode(&app, "default", RegistrationMode::Open).await;
    let login = b.get("/t/default/login").await.text().await.unwrap();
    assert!(login.contains("href=\"/t/default/register\""), "{login}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_sign_up_creates_the_account_only_when_the_link_is_used() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    let b = app.browser();
    let form = b.get("/t/default/register").await;
    assert_eq!(form.status(), StatusCode::OK);
    let res = sign_up(&b, "default", "Nina", "Nina@Example.test", PASSWORD, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Check your mail"));

    // Nothing exists before the link is used: signing in fails like a wrong password.
    let got = mail_to(&app, &sink, "Nina@Example.test", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].subject,
        "Default: confirm your e-mail address to create your account"
    );
    let url = link(&got[0].text).unwrap();
    assert!(url.contains("/t/default/register/confirm?token="), "{url}");
    assert!(usernames(&app, "default").await.is_empty());
    let before = app.browser().sign_in("default", "nina", PASSWORD).await;
    let wrong = app.browser().sign_in("default", "nobody", PASSWORD).await;
    assert_eq!(before.status(), wrong.status());
    assert_ne!(before.status(), StatusCode::SEE_OTHER);
    let (before, wrong) = (before.text().await.unwrap(), wrong.text().await.unwrap());
    assert!(before.contains("The username or password is incorrect."));
    assert_eq!(
        before.replace("nina", "X"),
        wrong.replace("nobody", "X").replace(
            &hidden_field(&wrong, "csrf_token").unwrap(),
            &hidden_field(&before, "csrf_token").unwrap()
        ),
        "an unconfirmed sign-up answers like an unknown user"
    );

    // Opening the link only shows a button (mail scanners); pressing it creates the account.
    let res = use_link(&app.browser(), &url).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/login?reason=registered");
    assert_eq!(usernames(&app, "default").await, ["Nina"]);
    let user = watchword::admin::users::find(&app.app.ctx, &app.tenant("default").await, "nina")
        .await
        .unwrap()
        .unwrap()
        .user;
    assert!(user.email_verified, "the link proved the address");
    assert_eq!(user.email.as_deref(), Some("Nina@Example.test"));
    let res = app.browser().sign_in("default", "nina", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the account signs in");

    // The link works once.
    let res = use_link(&app.browser(), &url).await;
    assert_eq!(res.status(), StatusCode::GONE);
    let audit = app.audit("default").await;
    for (action, outcome) in [
        ("registration_requested", "sent"),
        ("registration_completed", "success"),
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.outcome == outcome),
            "{action}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_usernames_and_addresses_get_the_same_answer_and_the_owner_gets_the_mail() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    app.create_user("default", "ann", GOOD_PASSWORD).await; // ann@example.test
    let b = app.browser();
    let mut answers = Vec::new();
    for (username, email) in [
        ("Ann", "someone-new@example.test"), // taken username, new address
        ("brand-new", "ANN@example.test"),   // new username, taken address
        ("ann", "ann@example.test"),         // both taken
        ("fresh", "fresh@example.test"),     // nothing taken
    ] {
        let res = sign_up(&b, "default", username, email, PASSWORD, "").await;
        answers.push((res.status(), res.text().await.unwrap()));
    }
    for a in &answers[1..] {
        assert_eq!(a, &answers[0], "every sign-up gets the same page");
    }
    assert_eq!(answers[0].0, StatusCode::OK);

    let new = mail_to(&app, &sink, "someone-new@", 1).await;
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].subject, "Default: choose another username");
    assert!(new[0].text.contains("Ann"), "{}", new[0].text);
    assert!(
        !new[0].text.contains("token="),
        "no link that creates anything"
    );
    let owner = mail_to(&app, &sink, "ann@example.test", 2).await;
    assert_eq!(owner.len(), 2, "both sign-ups with Ann's address told her");
    for m in &owner {
        assert_eq!(m.subject, "Default: you already have an account");
        assert!(m.text.contains("/t/default/login"));
        assert!(m.text.contains("Forgot your password?"));
    }
    let fresh = mail_to(&app, &sink, "fresh@", 1).await;
    assert_eq!(
        fresh[0].subject,
        "Default: confirm your e-mail address to create your account"
    );
    assert_eq!(usernames(&app, "default").await, ["ann"], "nothing created");
    let audit = app.audit("default").await;
    for outcome in ["username_taken", "address_taken", "sent"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == "registration_requested" && e.outcome == outcome),
            "{outcome}"
        );
    }
    // Ann's password is untouched.
    let res = app.browser().sign_in("default", "ann", GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_takes_as_long_whatever_is_taken() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    app.create_user("default", "ann", GOOD_PASSWORD).await; // ann@example.test
    let b = app.browser();
    let mut timings: Vec<Vec<f64>> = vec![Vec::new(); 4];
    for round in 0..7 {
        let fresh = format!("fresh{round}@example.test");
        let other = format!("other{round}@example.test");
        let cases = [
            ("ann", other.as_str()),                       // taken username
            (&*format!("new{round}"), "ann@example.test"), // taken address
            ("ann", "ann@example.test"),                   // both
            (&*format!("fresh{round}"), fresh.as_str()),   // nothing taken
        ];
        for (i, (username, email)) in cases.iter().enumerate() {
            let started = Instant::now();
            let res = sign_up(&b, "default", username, email, PASSWORD, "").await;
            timings[i].push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(res.status(), StatusCode::OK);
        }
        // The next hour: the per-address limit on sign-ups is not what is measured here.
        app.clock.advance(chrono::Duration::hours(1));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m: Vec<f64> = timings.iter_mut().map(median).collect();
    let spread =
        m.iter().cloned().fold(f64::MIN, f64::max) - m.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread < 25.0,
        "median answer times (ms) differ too much: {m:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_form_error_and_sends_nothing() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    let b = app.browser();
    for (username, email, password, says) in [
        (
            "gus",
            "gus@example.test",
            "short",
            "Use at least 8 characters.",
        ),
        (
            "gus",
            "gus@example.test",
            "gus@example.test",
            "may not be your username or e-mail address",
        ),
        (
            "g u s",
            "gus@example.test",
            PASSWORD,
            "The username may not contain",
        ),
        (
            "gus",
            "not an address",
            PASSWORD,
            "Enter a valid e-mail address.",
        ),
        (
            "gus",
            "gus@example.test\r\nBcc: victim@example.test",
            PASSWORD,
            "Enter a valid e-mail address.",
        ),
    ] {
        let res = sign_up(&b, "default", username, email, password, "").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("role=\"alert\""));
    }
    let csrf = b.csrf("/t/default/register").await;
    let res = b
        .post_form(
            "/t/default/register",
            &[
                ("csrf_token", &csrf),
                ("username", "gus"),
                ("email", "gus@example.test"),
                ("password", PASSWORD),
                ("confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // No CSRF token: refused.
    let res = b
        .post_form(
            "/t/default/register",
            &[
                ("username", "gus"),
                ("email", "gus@example.test"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker::deliver_due(&app.app.ctx).await;
    assert!(sink.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_throttled_per_client_address() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    next_hour(&app);
    let b = app.browser();
    let mut statuses = Vec::new();
    for i in 0..REQUESTS_PER_HOUR_PER_ADDRESS + 3 {
        let email = format!("person{i}@example.test");
        statuses.push(sign_up(&b, "default", &format!("person{i}"), &email, PASSWORD, "").await);
    }
    let refused: Vec<_> = statuses
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(refused.len(), 3);
    assert!(refused[0].headers().contains_key("retry-after"));
    let sent = mail_to(
        &app,
        &sink,
        "@example.test",
        REQUESTS_PER_HOUR_PER_ADDRESS as usize,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker::deliver_due(&app.app.ctx).await;
    assert_eq!(sent.len(), REQUESTS_PER_HOUR_PER_ADDRESS as usize);
    assert_eq!(
        sink.received().len(),
        REQUESTS_PER_HOUR_PER_ADDRESS as usize
    );
    // The next hour, the address may sign up again.
    next_hour(&app);
    let res = sign_up(&b, "default", "later", "later@example.test", PASSWORD, "").await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_expire_stay_in_their_tenant_and_only_the_newest_works() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    other_tenant(&app, RegistrationMode::Open).await;
    let b = app.browser();
    sign_up(&b, "default", "olga", "olga@example.test", PASSWORD, "").await;
    let first = link(&mail_to(&app, &sink, "olga@", 1).await[0].text).unwrap();
    sign_up(&b, "default", "olga", "olga@example.test", PASSWORD, "").await;
    let got = mail_to(&app, &sink, "olga@", 2).await;
    let newest = got
        .iter()
        .filter_map(|m| link(&m.text))
        .find(|l| *l != first)
        .expect("a second link");

    // Another tenant's path, a tampered token, the replaced link: not valid, nothing consumed.
    let token = newest.split("token=").nth(1).unwrap();
    let res = post_token(&app.browser(), "other", token).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = use_link(&app.browser(), &format!("{newest}x")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = use_link(&app.browser(), &first).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "replaced by the newer sign-up"
    );
    // Registration closed to invitations meanwhile: a sign-up without one no longer works.
    set_mode(&app, "default", RegistrationMode::Invite).await;
    let res = use_link(&app.browser(), &newest).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    set_mode(&app, "default", RegistrationMode::Open).await;
    assert!(usernames(&app, "default").await.is_empty());
    assert!(usernames(&app, "other").await.is_empty());

    // Expired after LINK_HOURS (the injected clock).
    app.clock
        .advance(chrono::Duration::hours(LINK_HOURS) + chrono::Duration::seconds(1));
    let res = use_link(&app.browser(), &newest).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("no longer works"));
    assert!(usernames(&app, "default").await.is_empty());
    // The jobs purge it (and its password hash).
    watchword::jobs::purge(&app.app.ctx).await;
    let res = use_link(&app.browser(), &newest).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Two people sign up with the same username at once and confirm at once: one account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_of_one_username_create_one_user() {
    const N: usize = 8;
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Open).await;
    next_hour(&app);
    let b = app.browser();
    let csrf = b.csrf("/t/default/register").await;
    let emails: Vec<String> = (0..N).map(|i| format!("zed{i}@example.test")).collect();
    let (b, csrf) = (&b, &csrf);
    let posts = emails.iter().map(|email| async move {
        b.post_form(
            "/t/default/register",
            &[
                ("csrf_token", csrf.as_str()),
                ("username", "zed"),
                ("email", email.as_str()),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await
    });
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let got = mail_to(&app, &sink, "@example.test", N).await;
    assert_eq!(got.len(), N, "each address got its link");
    let urls: Vec<String> = got.iter().map(|m| link(&m.text).unwrap()).collect();
    // Every link's page first, then every button at once.
    let stranger = app.browser();
    let mut forms = Vec::new();
    for url in &urls {
        let path = &url[url.find("/t/").unwrap()..];
        let html = stranger.get(path).await.text().await.unwrap();
        forms.push((
            hidden_field(&html, "csrf_token").unwrap(),
            hidden_field(&html, "token").unwrap(),
        ));
    }
    let stranger = &stranger;
    let uses = forms.iter().map(|(csrf, token)| async move {
        stranger
            .post_form(
                "/t/default/register/confirm",
                &[("csrf_token", csrf.as_str()), ("token", token.as_str())],
            )
            .await
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(uses)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let taken = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, taken), (1, N - 1), "{statuses:?}");
    assert_eq!(usernames(&app, "default").await, ["zed"]);

    // One link used ten times at once: one account, the rest are told it is spent.
    sign_up(b, "default", "yan", "yan@example.test", PASSWORD, "").await;
    let url = link(&mail_to(&app, &sink, "yan@", 1).await[0].text).unwrap();
    let path = &url[url.find("/t/").unwrap()..];
    let html = stranger.get(path).await.text().await.unwrap();
    let (csrf, token) = (
        hidden_field(&html, "csrf_token").unwrap(),
        hidden_field(&html, "token").unwrap(),
    );
    let (csrf, token) = (&csrf, &token);
    let uses = (0..10).map(|_| async move {
        stranger
            .post_form(
                "/t/default/register/confirm",
                &[("csrf_token", csrf.as_str()), ("token", token.as_str())],
            )
            .await
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(uses)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::GONE),
        "{statuses:?}"
    );
    assert_eq!(usernames(&app, "default").await, ["yan", "zed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_mode_needs_a_valid_invitation_used_once_in_its_tenant() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Invite).await;
    other_tenant(&app, RegistrationMode::Invite).await;
    let b = app.browser();
    // No invitation: a clear page, and no link on the sign-in page.
    let res = b.get("/t/default/register").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("By invitation only"));
    let login = b.get("/t/default/login").await.text().await.unwrap();
    assert!(!login.contains("Create an account"));
    let csrf = b.csrf("/t/default/login").await;
    let res = b
        .post_form(
            "/t/default/register",
            &[
                ("csrf_token", &csrf),
                ("username", "ivo"),
                ("email", "ivo@example.test"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        b.get("/t/default/register?invite=made-up").await.status(),
        StatusCode::NOT_FOUND
    );

    // A printed invitation bound to an address: the form fixes it; the address is still proven
    // by a link, and the invitation is used up when the account is created.
    let tenant = app.tenant("default").await;
    let invite = invites::create(
        &app.app.ctx,
        &tenant,
        Some("ivo@example.test"),
        48,
        false,
        &Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let token = invite.link.split("invite=").nth(1).unwrap().to_owned();
    assert!(invite.link.contains("/t/default/register?invite="));
    // Another tenant: not valid there, nothing consumed.
    let res = b.get(&format!("/t/other/register?invite={token}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This invitation is not valid")
    );
    let form = b
        .get(&format!("/t/default/register?invite={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("value=\"ivo@example.test\" readonly"),
        "{form}"
    );
    // Two sign-ups with it (the typed address is ignored for the invitation's).
    let res = sign_up(
        &b,
        "default",
        "ivo",
        "elsewhere@example.test",
        PASSWORD,
        &token,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let first = link(&mail_to(&app, &sink, "ivo@example.test", 1).await[0].text).unwrap();
    let res = sign_up(&b, "default", "ivo2", "", PASSWORD, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = mail_to(&app, &sink, "ivo@example.test", 2).await;
    assert_eq!(got.len(), 2);
    assert!(sink.received().iter().all(|m| !m.to.contains("elsewhere")));
    let url = got
        .iter()
        .filter_map(|m| link(&m.text))
        .find(|l| *l != first)
        .unwrap();
    let res = use_link(&app.browser(), &url).await;
    assert_eq!(location(&res), "/t/default/login?reason=registered");
    assert_eq!(usernames(&app, "default").await, ["ivo2"]);
    // Used: the invitation page says so, and a second account cannot be made with it.
    let res = b.get(&format!("/t/default/register?invite={token}")).await;
    assert_eq!(res.status(), StatusCode::GONE);
    let listed = invites::list(&app.app.ctx, &tenant, &Admin::operator(Actor::Cli))
        .await
        .unwrap();
    assert_eq!(listed[0].state, "used");
    let audit = app.audit("default").await;
    for action in ["invite_created", "invite_used", "registration_completed"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }

    // An unbound invitation, two sign-ups, both links used: the invitation makes one account.
    let invite = invites::create(
        &app.app.ctx,
        &tenant,
        None,
        48,
        false,
        &Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let token = invite.link.split("invite=").nth(1).unwrap().to_owned();
    sign_up(&b, "default", "kai", "kai@example.test", PASSWORD, &token).await;
    sign_up(&b, "default", "lea", "lea@example.test", PASSWORD, &token).await;
    let kai = link(&mail_to(&app, &sink, "kai@", 1).await[0].text).unwrap();
    let lea = link(&mail_to(&app, &sink, "lea@", 1).await[0].text).unwrap();
    assert_eq!(
        use_link(&app.browser(), &kai).await.status(),
        StatusCode::SEE_OTHER
    );
    let res = use_link(&app.browser(), &lea).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("invitation"));
    assert_eq!(usernames(&app, "default").await, ["ivo2", "kai"]);

    // Expiry (the injected clock) and revocation.
    let short = invites::create(
        &app.app.ctx,
        &tenant,
        None,
        1,
        false,
        &Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let revoked = invites::create(
        &app.app.ctx,
        &tenant,
        None,
        48,
        false,
        &Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    assert!(
        invites::revoke(
            &app.app.ctx,
            &tenant,
            &revoked.id,
            &Admin::operator(Actor::Cli)
        )
        .await
        .unwrap()
    );
    let path = |l: &str| l[l.find("/t/").unwrap()..].to_owned();
    assert_eq!(b.get(&path(&short.link)).await.status(), StatusCode::OK);
    assert_eq!(b.get(&path(&revoked.link)).await.status(), StatusCode::GONE);
    app.clock
        .advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    assert_eq!(b.get(&path(&short.link)).await.status(), StatusCode::GONE);
    assert_eq!(
        b.get(&format!("{}x", path(&short.link))).await.status(),
        StatusCode::NOT_FOUND,
        "tampered"
    );
}

/// Ten sign-ups with one mailed invitation at once: it creates exactly one account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_invitation_creates_the_account_at_once_and_only_once() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Invite).await;
    next_hour(&app);
    let tenant = app.tenant("default").await;
    let created = invites::create(
        &app.app.ctx,
        &tenant,
        Some("mia@example.test"),
        24,
        true,
        &Admin::operator(Actor::Cli),
    )
    .await
    .unwrap();
    let got = mail_to(&app, &sink, "mia@", 1).await;
    assert_eq!(
        got[0].subject,
        "Default: you are invited to create an account"
    );
    let url = link(&got[0].text).unwrap();
    assert_eq!(url, created.link);
    let token = url.split("invite=").nth(1).unwrap().to_owned();

    let b = app.browser();
    let csrf = b.csrf(&format!("/t/default/register?invite={token}")).await;
    let names: Vec<String> = (0..10).map(|i| format!("mia{i}")).collect();
    let (b, csrf, token) = (&b, &csrf, &token);
    let posts = names.iter().map(|name| async move {
        b.post_form(
            "/t/default/register",
            &[
                ("csrf_token", csrf.as_str()),
                ("username", name.as_str()),
                ("email", "ignored@example.test"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("invite", token.as_str()),
            ],
        )
        .await
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(posts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::GONE),
        "{statuses:?}"
    );
    let users = usernames(&app, "default").await;
    assert_eq!(users.len(), 1, "{users:?}");
    let user = watchword::admin::users::find(&app.app.ctx, &tenant, &users[0])
        .await
        .unwrap()
        .unwrap()
        .user;
    assert_eq!(user.email.as_deref(), Some("mia@example.test"));
    assert!(
        user.email_verified,
        "the mailed invitation proved the address"
    );
    let res = app.browser().sign_in("default", &users[0], PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_create_prints_and_mails_a_single_use_link() {
    let sink = SmtpSink::start();
    let app = start(&sink, RegistrationMode::Invite).await;
    let out = app
        .cli()
        .args([
            "invite",
            "create",
            "--tenant",
            "default",
            "--email",
            "noa@example.test",
            "--expires-hours",
            "12",
            "--send",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        printed.starts_with(&format!("{}/t/default/register?invite=", app.base)),
        "{printed}"
    );
    // The command queued it by the real clock, which is ahead of the test's frozen one.
    app.clock.advance(chrono::Duration::seconds(60));
    let got = mail_to(&app, &sink, "noa@", 1).await;
    assert_eq!(link(&got[0].text).unwrap(), printed);
    // Only the digest is stored, and the list shows it as open.
    let out = app
        .cli()
        .args(["invite", "list", "--tenant", "default"])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("noa@example.test") && listed.contains("open"),
        "{listed}"
    );
    let token = printed.split("invite=").nth(1).unwrap();
    assert!(!listed.contains(token));

    let b = app.browser();
    let res = sign_up(&b, "default", "noa", "", PASSWORD, token).await;
    assert_eq!(location(&res), "/t/default/login?reason=registered");
    let res = sign_up_again(&b, token).await;
    assert_eq!(res, StatusCode::GONE);

    // Bad usage: --send without --email, hours out of range.
    let out = app
        .cli()
        .args(["invite", "create", "--send"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = app
        .cli()
        .args(["invite", "create", "--expires-hours", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The status of opening a used invitation's page.
async fn sign_up_again(b: &Browser, token: &str) -> StatusCode {
    b.get(&format!("/t/default/register?invite={token}"))
        .await
        .status()
}
