//! Risk scoring's place foundation (`watchword::risk`): GeoIP lookups from tiny `.mmdb`
//! fixtures written by MaxMind's writer (`fixtures.rs`, documentation ranges only), the
//! built-in country data with no file, internal addresses, the network list, reloading a
//! replaced file (mtime set by the test, `Locator::reload_if_changed` called directly), a
//! broken replacement, the build-time metric, and `[risk]` files refused at start.

mod fixtures;
mod place;
mod reload;
