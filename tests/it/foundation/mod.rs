//! Tests of the foundation: start-up, CLI, configuration, seed file, hosted sign-in, browser
//! sessions, web basics and behaviour during storage outages.

mod cli;
mod client_address;
mod config;
mod hashing;
mod metrics;
mod outage;
mod seed;
mod sessions;
mod signin;
mod startup;
mod web_basics;
