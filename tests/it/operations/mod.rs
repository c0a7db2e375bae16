//! Running Watchword: start-up, the CLI, configuration, the seed file, web basics (errors,
//! limits, headers), the client address behind proxies, `/metrics`, behaviour during storage
//! outages and PostgreSQL statement timeouts (`statement_timeout.rs`), and the tamper-evident
//! audit log (`audit.rs`: chains, `watchword audit verify`, retention checkpoints, diffs).

mod audit;
mod cli;
mod client_address;
mod config;
mod deploy_artifacts;
mod metrics;
mod outage;
mod replicas;
mod seed;
mod sentinel;
mod startup;
mod statement_timeout;
mod upgrade;
mod web_basics;
