//! The integration tests of `chaoslab` (the command line and the TUI), as one
//! test binary: each file of this folder is a module. One binary links the
//! crate and its dependencies once instead of once per file, which was most
//! of what a fresh `cargo test` spent its time on.
//!
//! Run one group with a filter: `cargo test -p chaoslab --test it glue:: -- --nocapture`.

mod balancer_lesson;
mod caching_lesson;
mod check_cli;
mod cli;
mod driver_cli;
mod explore_bench;
mod explore_copy;
mod explore_lesson;
mod export;
mod figure8_lesson;
mod file_sizes;
mod glue;
mod html;
mod invalid_scenarios;
mod lab_new;
mod labs;
mod lesson_quotes;
mod limiter_lesson;
mod madsim_driver;
mod messaging_lesson;
mod outbox_lesson;
mod overload_lesson;
mod pipes;
mod process_driver;
mod raft_sweep;
mod registry;
mod replication_lesson;
mod resilience_lesson;
mod scenarios;
mod shrink;
mod sweep_shards;
mod tmux;
mod trace_stream;
mod transactions_lesson;
mod tui_recorded;
mod tui_views;
mod txn_check;
mod whole_runs;

mod common;
#[path = "../../../sim/tests/it/shared_corpus/mod.rs"]
mod shared_corpus;
mod support;
