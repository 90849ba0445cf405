//! chaoslab's protocols, each a sans-IO state machine driven by `sim`, and
//! their registration (`register_builtin`, see `builtin.rs`).

pub mod balancer;
pub mod cache;
pub mod cqrs;
pub mod kv;
pub mod limiter;
pub mod log;
pub mod maelstrom;
pub mod outbox;
pub mod overload;
pub mod ping;
pub mod quorum;
pub mod raft;
pub mod replication;
pub mod resilience;
pub mod ring;
pub mod single;
pub mod twopc;

mod builtin;

pub use builtin::register_builtin;

use sim::kernel::{RunOutput, Running, TraceMode};
use sim::registry::Catalog;
use sim::scenario::{Scenario, ScenarioError};

/// The built-in protocols, as a bare table (the CLI's `chaoslab::Registry`
/// holds the same ones, with its scenario folders).
pub fn builtin() -> Catalog {
    let mut c = Catalog::new();
    register_builtin(&mut c);
    c
}

/// Parses a scenario naming a built-in protocol (see [`Catalog::parse`]).
pub fn parse(file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    builtin().parse(file, src)
}

/// Runs a parsed scenario with `seed` (see [`Catalog::run`]).
pub fn run(s: &Scenario, seed: u64, trace: TraceMode) -> Result<RunOutput, ScenarioError> {
    builtin().run(s, seed, trace)
}

/// Starts a run that the caller steps with [`Running::advance`].
pub fn start<'s>(
    s: &'s Scenario,
    seed: u64,
    trace: TraceMode,
) -> Result<Box<dyn Running + 's>, ScenarioError> {
    builtin().start(s, seed, trace)
}

/// The figures a built-in protocol's report can print, by name and unit
/// (its `Spec::METRICS`). The test `every_figure_a_report_prints_is_a_known_measure`
/// keeps these lists and the protocols' `metrics` in step.
pub fn metrics(protocol: &str) -> &'static [sim::metric::Figure] {
    builtin().metrics(protocol)
}

/// The shortest period any protocol timer may have in a scenario
/// (heartbeats, flushes, anti-entropy and handoff rounds, resends), and the
/// shortest timeout a protocol waits before it acts again. A timer that
/// fires every nanosecond makes a run do a round of work per nanosecond of
/// virtual time: minutes of wall time and gigabytes before `max_events`
/// stops it. Real systems use milliseconds or more; Raft's `MIN_HEARTBEAT`
/// is the same floor.
pub const MIN_PERIOD: sim::time::Nanos = sim::time::NANOS_PER_MILLI;

/// Refuses a `[system]` duration below `MIN_PERIOD`, with the message every
/// protocol uses: `field = "value": must be at least 1ms, e.g. "50ms"`
/// (plus `also`, what else the field must satisfy, when there is more).
pub fn check_period(
    field: &'static str,
    value: sim::time::Nanos,
    also: &str,
    example: &str,
) -> Result<(), (&'static str, String)> {
    if value >= MIN_PERIOD {
        return Ok(());
    }
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" {also}")
    };
    Err((
        field,
        format!(
            "{field} = \"{}\": must be at least {}{also}, e.g. \"{example}\"",
            sim::time::fmt_duration(value),
            sim::time::fmt_duration(MIN_PERIOD)
        ),
    ))
}

/// Refuses crash and restart faults that can hit a node the protocol's
/// model never crashes (its state is in memory and its checker assumes it
/// is up throughout): `[[faults]]` crash/restart entries whose target is not
/// one of `crashable` (node names such as `n1`, or role names), or may be
/// another node (`random`, `all`, a region, a trigger's node), and a
/// `[nemesis]` drawing `crash` (it picks any server). `what` says in words
/// which nodes may be crashed and why the others may not.
pub fn refuse_crashes(
    s: &sim::scenario::Scenario,
    protocol: &str,
    crashable: &[&str],
    what: &str,
) -> Result<(), sim::registry::ParamError> {
    use sim::scenario::{FaultKind, Target};
    for f in &s.faults {
        let (FaultKind::Crash(t) | FaultKind::Restart(t)) = &f.kind else {
            continue;
        };
        let ok = match t {
            Target::Node(n) | Target::Role(n) => crashable.contains(&n.as_str()),
            // Restarts only what crashed, which the entries above allow.
            Target::Downed => matches!(f.kind, FaultKind::Restart(_)),
            _ => false,
        };
        if !ok {
            let span = line_span(&s.source, f.line);
            return Err(sim::registry::ParamError::at(
                span,
                format!(
                    "[[faults]] target = \"{t}\": protocol \"{protocol}\" can crash only {}: {what}",
                    crashable.join(", ")
                ),
            ));
        }
    }
    if let Some(n) = &s.nemesis {
        if let Some(k) = n.kinds.iter().find(|k| k.get_ref() == "crash") {
            return Err(sim::registry::ParamError::at(
                k.span(),
                format!(
                    "[nemesis] kinds = \"crash\": protocol \"{protocol}\" can crash only {} and the nemesis picks any server: {what}; crash with [[faults]] entries instead",
                    crashable.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The bytes of 1-based line `line` of `src`.
fn line_span(src: &str, line: usize) -> std::ops::Range<usize> {
    let start: usize = src
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let len = src[start..].find('\n').unwrap_or(src.len() - start);
    start..start + len
}
