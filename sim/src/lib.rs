//! chaoslab's simulator: a seeded discrete-event kernel that runs sans-IO protocol
//! nodes under injected faults, records a trace and a client history, and judges
//! them.

pub mod check;
pub mod client;
pub mod history;
pub mod kernel;
pub mod network;
pub mod node;
pub mod protocol;
pub mod registry;
pub mod report;
pub mod scenario;
pub mod time;
pub mod trace;
