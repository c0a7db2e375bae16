//! Types and rules of the identity domain. Imports no framework: no actix, diesel, redis or askama.

pub mod admin;
pub mod audit;
pub mod audit_chain;
pub mod audit_diff;
pub mod claims;
pub mod client;
pub mod device;
pub mod idp;
pub mod ids;
pub mod keys;
pub mod mfa;
pub mod password_policy;
pub mod place;
pub mod registration;
pub mod risk;
pub mod secret;
pub mod session;
pub mod tenant;
pub mod throttle;
pub mod user;
