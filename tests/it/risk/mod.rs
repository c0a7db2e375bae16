//! Risk signals of issue 11. `breach.rs`: breached passwords (the shipped filter refusing them
//! on the hosted pages, the range service against a stub server, a bad filter stopping the start).

mod breach;
