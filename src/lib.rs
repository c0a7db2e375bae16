//! Watchword: an OpenID Connect identity and session server.
//!
//! Layers point one way (see docs/ARCHITECTURE.md):
//!
//! ```text
//!   cli ─┐                 ┌─► auth  ─┐
//!        ├─► app ─► web ───┤          ├─► domain, storage, session_store, crypto, clock
//!        │                 └─► admin ─┘         (context bundles their handles)
//!        └──────────────────► admin
//! ```
pub mod admin;
pub mod app;
pub mod auth;
pub mod backchannel;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod crypto;
pub mod domain;
pub mod federation;
#[doc(hidden)]
pub mod fuzzing;
pub mod jobs;
pub mod lifecycle;
pub mod mail;
pub mod oauth;
pub mod observability;
pub mod password_change;
pub mod recovery;
pub mod registration;
pub mod risk;
pub mod risk_feedback;
pub mod session_store;
pub mod signing;
pub mod storage;
pub mod urlencoded;
pub mod web;
