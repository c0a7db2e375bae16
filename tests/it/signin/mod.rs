//! Signing in with a password: the hosted form, identifiers, CSRF, password hashing (the pool,
//! upgrades, the busy answer) and brute-force protection.

mod bruteforce;
mod hashing;
mod password;
