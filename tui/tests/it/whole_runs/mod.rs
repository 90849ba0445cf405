//! Protocols' properties and refusals judged on whole runs of small
//! scenarios written inline. They were unit tests beside each protocol in
//! `nodes`; they live here because a run goes through `nodes::builtin()`,
//! which brings every protocol's simulation into the test binary: in
//! nodes' own unit-test binary that compiled every protocol's kernel a
//! second time (the largest unit of `cargo test --workspace`), while this
//! binary links the ones the `nodes` library already compiled.

mod cache_hits;
mod cqrs;
mod outbox;
mod raft_liveness;

/// The count after `name` on the report's line that starts with it.
fn figure(report: &str, name: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in\n{report}"));
    line[name.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}
