//! Risk scoring's foundations (`watchword::risk`, `watchword::risk::breach`): GeoIP lookups from tiny
//! `.mmdb` fixtures written by MaxMind's writer (`fixtures.rs`, documentation ranges only), the
//! built-in country data with no file, internal addresses, the network list, reloading a
//! replaced file (mtime set by the test, `Locator::reload_if_changed` called directly), a broken
//! replacement, the build-time metric, `[risk]` files refused at start; and breached passwords
//! (`breach.rs`: the shipped filter refusing them on the hosted pages, the range service against
//! a stub server, a bad filter stopping the start); and continuous evaluation (`continuous.rs`:
//! refresh tokens and browser sessions used from another network and another device).

mod breach;
mod continuous;
mod fixtures;
mod place;
mod reload;
