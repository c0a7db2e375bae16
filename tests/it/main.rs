//! The one integration-test binary. Every test drives a real Watchword (in-process server on an
//! ephemeral port, or the real binary for CLI tests) with real storage.
//!
//! Backends are chosen by environment variables (see README):
//! - default: a fresh SQLite file and the in-process session store per test;
//! - `WATCHWORD_TEST_DATABASE_URL=postgres://…`: a fresh PostgreSQL schema per test;
//! - `WATCHWORD_TEST_REDIS_URL=redis://…`: Redis with a fresh key prefix per test.

mod common;
mod foundation;
mod mfa;
pub mod oidc;
pub mod sessions;
mod store_contract;
