//! The HTTP interface (actix only): routes, extractors, middleware, error mapping and pages.
//! Handlers call `auth` and `admin`; they never run a query themselves.

pub mod client;
pub mod control;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod form;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod return_to;
pub mod routes;
pub mod state;
pub mod templates;
