//! The one integration-test binary. Every test drives a real Watchword (in-process server on an
//! ephemeral port, or the real binary for CLI tests) with real storage.
//!
//! Backends are chosen by environment variables (see README):
//! - default: a fresh SQLite file and the in-process session store per test;
//! - `WATCHWORD_TEST_DATABASE_URL=postgres://…`: a fresh PostgreSQL schema per test;
//! - `WATCHWORD_TEST_REDIS_URL=redis://…`: Redis with a fresh key prefix per test.
//!
//! # Tests
//!
//! One integration-test binary (`tests/it/main.rs`). `common::TestApp` starts the real server in-process
//! on `127.0.0.1:0` with a `ManualClock`, a fresh SQLite file or PostgreSQL schema, and a fresh Redis key
//! prefix, chosen by `WATCHWORD_TEST_DATABASE_URL` / `WATCHWORD_TEST_REDIS_URL`. CLI, configuration and
//! first-start tests run the real binary. `common::proxy` sits between Watchword and PostgreSQL/Redis to
//! cut and restore them. The session-store contract (`tests/it/store_contract.rs`) runs against both
//! implementations. `scripts/test` runs the suite on both backends; `.ci/run` adds formatting and lints.
//! Tests that need PostgreSQL, Redis or the browser sit in `needs_pg`, `needs_redis`,
//! `needs_pg_and_redis` and `needs_browser` modules and are `#[ignore]`d; `scripts/test` selects
//! them (`--run-ignored all`, filtersets on those names) only where their backend is, and reports
//! the others as skipped. Without their backend they panic (`common::required_database_url`,
//! `required_redis_url`), never return early.
//!
//! Tests are grouped by area: `signin/` (the password step, hashing, brute-force protection),
//! `sessions/`, `mfa/`, `oidc/` (by endpoint), `operations/` (start-up, CLI, configuration, seed,
//! web basics, the client address, `/metrics`, outages, and `audit.rs`: the audit log's hash
//! chains, tampering found by `watchword audit verify`, bursts from two pools, retention
//! checkpoints on the `ManualClock`, diffs without secrets), `risk/` (places of addresses from tiny
//! `.mmdb` fixtures written by MaxMind's Perl writer, reloads, the network list; `breach.rs`:
//! breached passwords, with a stub range server; `feedback.rs`: the sign-in notice's link, read
//! from the SMTP sink; `activity.rs`: the account page's recent sign-ins; `cli.rs`: `watchword
//! risk`; `retention.rs`: the purge of old sign-in events; `continuous.rs`: sessions and refresh tokens
//! used from another network and device; `decisions.rs`, `early.rs`: scored sign-ins),
//! `federation/` (signing in through upstream providers against real counterparties: a second
//! Watchword, panva's certified `oidc-provider` run with Node, an Entra-shaped stub, Debian's
//! pysaml2 as a SAML IdP, and the SAML attack corpus re-signed for the test server by
//! `tests/fixtures/saml/make.py`) and the store contract.
//!
//! The provider tests (`tests/it/oidc/`) act as an application would: the `openidconnect` crate as the
//! relying party (`common::oidc`), a cookie-carrying browser that posts the hosted forms
//! (`common::browser`), and a listener that receives back-channel logout tokens. The discovery
//! document is an `insta` snapshot (`tests/it/oidc/snapshots/`). Time-dependent cases (code and token
//! expiry, session timeouts, key activation) move the `ManualClock` and call the sweep directly
//! (`Watchword::sweep_sessions`).
//!
//! The session tests (`tests/it/sessions/`) cover the session limit (`limit.rs`: eviction everywhere,
//! `deny_new`, limits 1 and 2, concurrent sign-ins, the status endpoint, offline grants after an
//! eviction and after a sign-out), the account page and the `watchword session` commands
//! (`account.rs`: the real binary against the in-process server's control socket, or directly
//! against Redis; `watchword user disable` ending the server's sessions), `watchword user
//! set-password` and `reset-mfa` ending sessions and grants unless `--keep-sessions` (`resets.rs`),
//! the cookie and its record (`browser.rs`), and the grants of
//! evicted sessions (`evicted_grants.rs`: revoked before the sign-in answers; with PostgreSQL cut,
//! retried by the sweep). Work that `lifecycle::end_evicted` leaves to the background is awaited with
//! `sessions::eventually_audited`. `common::logs` captures the server's log (one JSON subscriber per
//! test process) for tests that check what is logged. Brute-force protection and network lists
//! are in `tests/it/signin/bruteforce.rs` (clients at chosen addresses through `X-Forwarded-For`
//! and a trusted proxy, time moved on the `ManualClock`).
//! `replicas.rs` starts two and three real `watchword serve` processes sharing PostgreSQL and Redis
//! (`needs_pg_and_redis`) and runs only in that pass.
//! `operations/replicas.rs` puts three of them behind a readiness-polling load balancer
//! (`common::cluster`) under a mixed load and SIGKILLs one or restarts them one by one with SIGTERM;
//! it also restarts a `redis-server` and a PostgreSQL cluster of its own under one in-process
//! server. `operations/upgrade.rs` migrates a database left at an earlier schema with `watchword
//! migrate` and signs in with the rows written for it. The store contract also checks `set_existing` and `admit_session`
//! (liveness from the records), and 60 concurrent admissions, on both stores.
//! `tests/it/oidc/lifecycle.rs` covers what happens to tokens when their client, user or key goes
//! away, CORS, and per-client response modes; `tests/it/oidc/access.rs` the account's applications
//! page and "remove access".
//!
//! The multi-factor tests (`tests/it/mfa/`) drive the hosted pages with the same cookie-carrying
//! browser: `totp.rs` (set-up, sign-in, skew, replay, throttled guessing, recovery codes, the policy
//! modes, fresh checks before changing factors, `watchword user reset-mfa`; codes come from
//! `auth::mfa::totp::code_at` on the `ManualClock`), `webauthn.rs` (webauthn-authenticator-rs's
//! `SoftPasskey` as a software authenticator, wrapped to play a discoverable one: security key, passkey
//! sign-in, another origin, an unknown credential, a cloned counter, `acr_values=phr`; the app runs
//! with a `localhost` public URL, `TestApp::builder().localhost()`, because WebAuthn needs a domain
//! name), and `stepup.rs` (step-up through the `openidconnect` relying party, asserting `acr`, `amr`
//! and `auth_time`). `browser.rs` runs `tests/e2e/passkey.mjs` with Node: headless Chromium from the
//! system (`/usr/bin/chromium`, or `WATCHWORD_CHROMIUM`), driven by `playwright-core` (pinned in
//! `tests/e2e/package.json` and `package-lock.json`, installed with `npm ci --prefix tests/e2e`) with a
//! Chrome DevTools Protocol virtual authenticator, creates a passkey on the account page and signs in
//! with it (autofill, else the button). It is a `needs_browser` test: without Chromium, Node or
//! `playwright-core` `scripts/test` leaves it out, unless `WATCHWORD_TEST_REQUIRE_BROWSER=1`, which
//! `.ci/run` sets after installing them.
//!
//! The management UI's tests (`tests/it/admin/ui/`) sign in as administrators of each role and
//! post its forms (`pages.rs`). `browser.rs` (a `needs_browser` test) runs `tests/e2e/admin.mjs`:
//! axe-core (pinned in `tests/e2e/package.json`) on the main screens in headless Chromium, with
//! screenshots under `target/admin-ui/`, and a form submitted with JavaScript off.

mod admin;
mod common;
mod federation;
mod mail;
mod mfa;
pub mod oidc;
mod operations;
pub mod risk;
pub mod sessions;
mod signin;
mod store_contract;
