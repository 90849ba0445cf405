//! chaoslab's protocols, each a sans-IO state machine driven by `sim`.

pub mod raft;
