//! The integration tests of `chaoslab-sim`, as one test binary: each file of
//! this folder is a module. One binary links the crate once instead of once
//! per file, which is most of what a fresh `cargo test` spends its time on.
//!
//! Run one group with a filter: `cargo test -p chaoslab-sim --test it kernel::`.

mod external_histories;
mod kernel;
mod linearizability;
mod parse_robustness;
mod reference_histories;
mod scenario_toml;
mod shared_corpus;
mod simulated_histories;
