//! Protocols' properties and refusals judged on whole runs of small
//! scenarios written inline. They were unit tests beside each protocol in
//! `nodes`; they live here because a run goes through `nodes::builtin()`,
//! which brings every protocol's simulation into the test binary: in
//! nodes' own unit-test binary that compiled every protocol's kernel a
//! second time (the largest unit of `cargo test --workspace`), while this
//! binary links the ones the `nodes` library already compiled.

use sim::kernel::TraceMode;
use sim::report::Report;
use sim::scenario::ScenarioError;

mod cache_hits;
mod cqrs;
mod outbox;
mod raft_liveness;

/// Parses `src` as scenario file `file`, runs it on `seed` with tracing
/// off and builds its report; a file the parser refuses is the error.
fn report(file: &str, src: &str, seed: u64) -> Result<Report, ScenarioError> {
    let s = nodes::parse(file, src)?;
    Ok(Report::build(
        &s,
        &nodes::run(&s, seed, TraceMode::Off).unwrap(),
    ))
}
