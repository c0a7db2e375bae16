//! Administrative use cases shared by the command line, the seed file and (later) the admin UI
//! and REST API. Every write emits an audit event.

pub mod access;
pub mod audit;
pub mod clients;
pub mod error;
pub mod idps;
pub mod keys;
pub mod seed;
pub mod sessions;
pub mod setup;
pub mod tenants;
pub mod users;

pub use error::AdminError;
