//! Administrative use cases shared by the command line, the seed file, the management UI and
//! the admin REST API. Every write emits an audit event; who may do what is `authz`.

pub mod access;
pub mod api_keys;
pub mod audit;
pub mod authz;
pub mod clients;
pub mod error;
pub mod idp_metadata;
pub mod idps;
pub mod instance;
pub mod keys;
pub mod policies;
pub mod reads;
pub mod roles;
pub mod seed;
pub mod sessions;
pub mod setup;
pub mod tenants;
pub mod user_access;
pub mod users;

pub use error::AdminError;
