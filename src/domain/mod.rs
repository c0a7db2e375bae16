//! Types and rules of the identity domain. Imports no framework: no actix, diesel, redis or askama.

pub mod audit;
pub mod ids;
pub mod password_policy;
pub mod secret;
pub mod session;
pub mod tenant;
pub mod user;
