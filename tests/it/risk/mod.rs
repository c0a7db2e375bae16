//! Risk scoring's foundations (`watchword::risk`, `watchword::risk::breach`): GeoIP lookups from tiny
//! `.mmdb` fixtures written by MaxMind's writer (`fixtures.rs`, documentation ranges only), the
//! built-in country data with no file, internal addresses, the network list, reloading a
//! replaced file (mtime set by the test, `Locator::reload_if_changed` called directly), a broken
//! replacement, the build-time metric, `[risk]` files refused at start; and breached passwords
//! (`breach.rs`: the shipped filter refusing them on the hosted pages, the range service against
//! a stub server, a bad filter stopping the start). Feedback and reading events: the link of a
//! sign-in notice (`feedback.rs`), the account page's recent activity (`activity.rs`), `watchword
//! risk` (`cli.rs`), the retention purge (`retention.rs`), with shared helpers in `notices.rs`.
//! Scored sign-ins: each level's action and what the user and applications see
//! (`decisions.rs`), before the password and breached passwords (`early.rs`), with the shared
//! GeoIP-backed setup in `scored.rs`; continuous evaluation (`continuous.rs`: refresh tokens
//! and browser sessions used from another network and another device).

mod activity;
mod breach;
mod cli;
mod continuous;
mod decisions;
mod early;
mod feedback;
mod fixtures;
pub mod notices;
mod place;
mod reload;
mod retention;
mod scored;
