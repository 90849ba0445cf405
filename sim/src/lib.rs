//! chaoslab's simulator: a seeded discrete-event kernel that runs sans-IO protocol
//! nodes under injected faults, records a trace and a client history, and judges
//! them.

pub mod arrivals;
pub mod check;
pub mod client;
pub mod disk;
pub mod dispatch;
pub mod dist;
pub mod explore;
pub mod histogram;
pub mod history;
pub mod kernel;
pub mod metric;
pub mod network;
pub mod node;
pub mod protocol;
pub mod registry;
pub mod report;
pub mod scenario;
pub mod testing;
pub mod time;
pub mod trace;
pub mod workload;

// The crates in the Node API's signatures (`Ctx::rng` is a ChaCha8Rng; its
// draws use rand's traits), so a protocol in an outside crate uses the same
// versions without pinning them.
pub use rand;
pub use rand_chacha;
