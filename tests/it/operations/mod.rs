//! Running Watchword: start-up, the CLI, configuration, the seed file, web basics (errors,
//! limits, headers), the client address behind proxies, `/metrics`, and behaviour during storage
//! outages.

mod cli;
mod client_address;
mod config;
mod metrics;
mod outage;
mod seed;
mod startup;
mod web_basics;
