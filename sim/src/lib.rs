//! chaoslab's simulator: a seeded discrete-event kernel that runs sans-IO protocol
//! nodes under injected faults, records a trace and a client history, and judges
//! them.

pub mod check;
pub mod history;
