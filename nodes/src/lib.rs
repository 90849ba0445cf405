//! chaoslab's protocols, each a sans-IO state machine driven by `sim`, and the
//! registry that runs a scenario with the protocol it names.

pub mod cache;
pub mod kv;
pub mod ping;
pub mod quorum;
pub mod raft;
pub mod replication;
pub mod ring;
pub mod single;
pub mod twopc;

use sim::kernel::{RunOutput, Running, Sim, TraceMode};
use sim::protocol::Protocol;
use sim::scenario::{ProtocolEvents, ProtocolInfo, Scenario, ScenarioError};

/// The one list of protocols: `name => (its module's ROLES, how it is built
/// from a scenario)`. Every entry point below goes through it, so adding a
/// protocol is one line here (other helpers and workers keep their own
/// branches of this list; when merging, keep both sides).
macro_rules! protocols {
    ($mac:ident ! ($($args:tt)*)) => {
        $mac!($($args)* ;
            "single" => (single::ROLES, single::Single::from_scenario),
            "raft" => (raft::ROLES, raft::from_scenario),
            "ping" => (ping::ROLES, ping::Ping::from_scenario),
            "twopc" => (twopc::ROLES, twopc::Twopc::from_scenario),
            "quorum" => (quorum::ROLES, quorum::from_scenario),
            "cache" => (cache::ROLES, cache::from_scenario),
            "replication" => (replication::ROLES, replication::from_scenario),
        )
    };
}

macro_rules! names {
    (; $($name:literal => ($roles:expr, $build:expr),)*) => { &[$($name),*] };
}

macro_rules! roles_of {
    ($protocol:expr ; $($name:literal => ($roles:expr, $build:expr),)*) => {
        match $protocol {
            $($name => $roles.to_vec(),)*
            _ => Vec::new(),
        }
    };
}

/// Builds the named protocol from the scenario and hands it to `$body`.
macro_rules! with_protocol {
    ($s:expr, |$p:ident| $body:expr ; $($name:literal => ($roles:expr, $build:expr),)*) => {
        match $s.protocol.as_str() {
            $($name => {
                let $p = $build($s)?;
                $body
            })*
            other => unreachable!("Scenario::parse accepted unknown protocol {other}"),
        }
    };
}

/// Every protocol a scenario can name in `[system] protocol`.
pub const PROTOCOLS: &[&str] = protocols!(names!());

/// The roles a protocol's nodes report (fault targets may name them); every
/// protocol has clients.
pub fn roles(protocol: &str) -> Vec<&'static str> {
    let mut r: Vec<&'static str> = protocols!(roles_of!(protocol));
    if !r.contains(&"client") {
        r.push("client");
    }
    r
}

/// The figures a protocol's report can print (its `summary`), by name: what
/// `[expect.measure."NAME"]` may bound. A figure that is printed once per
/// membership change comes numbered after the first (`keys moved by the ring #2`).
/// The test `every_figure_a_report_prints_is_a_known_measure` keeps this list
/// and the summaries in step.
pub fn measures(protocol: &str) -> &'static [&'static str] {
    match protocol {
        "single" => &["writes", "retries"],
        "raft" => &[
            "leaders elected",
            "highest term with a leader",
            "highest commit index",
            "applied, live servers",
        ],
        "twopc" => &[
            "bank",
            "transactions",
            "compensations",
            "dirty reads",
            "time in doubt",
            "in doubt at end",
            "locks held",
            "locks by second",
            "blocked reads",
            "cooperative",
            "decided alone",
            "balances off",
        ],
        "quorum" => &[
            "quorum",
            "ring",
            "keys moved by the ring",
            "keys moved by the ring #N",
            "keys moved by hash mod nodes",
            "keys moved by hash mod nodes #N",
            "key balance max/mean",
            "hottest key share",
            "requests per replica max/mean",
            "request balance max/mean",
            "keys held per replica",
            "coordinator",
            "repair",
            "reads with siblings",
            "replicas disagreeing at the end",
            "last disagreement seen",
        ],
        "cache" => &[
            "cache",
            "hit ratio",
            "cache hit ratio",
            "entries",
            "evictions",
            "stampede",
            "cache unavailable answers",
            "lease fills refused",
            "dirty entries",
            "dirty entries lost in crashes",
            "db requests/s peak",
            "db requests/s mean",
            "db requests per second over time",
            "db queue peak",
            "db latency max",
            "acked writes not in db",
            "acked writes overwritten",
            "read latency p99",
            "write latency p99",
            "L1 hit ratio",
        ],
        "replication" => &[
            "replication",
            "failovers",
            "false failovers",
            "failover time (RTO)",
            "acked writes dropped by failover",
            "data loss window (RPO)",
            "writes refused",
            "refused for want of a lease",
            "writes blocked",
            "reads",
            "replication lag max",
            "serving primaries at once",
            "served by a deposed primary",
            "divergent keys",
        ],
        _ => &[],
    }
}

/// A protocol's figures that were renamed, `(old, new)`: its scenarios may
/// still bound them by their old name. Both write-loss figures were renamed
/// so that they no longer read like the history checker's `lost writes`,
/// which counts something else (acknowledged writes that later reads missed).
pub fn renamed_measures(protocol: &str) -> &'static [(&'static str, &'static str)] {
    match protocol {
        "cache" => &[("acked writes lost", "acked writes not in db")],
        "replication" => &[(
            "acknowledged writes lost",
            "acked writes dropped by failover",
        )],
        _ => &[],
    }
}

/// The `[system]` fields each protocol declares as times of the run
/// (`Scenario::check_run_times` reads the path syntax).
pub fn run_times(protocol: &str) -> &'static [&'static str] {
    match protocol {
        "quorum" => quorum::RUN_TIMES,
        "cache" => cache::RUN_TIMES,
        _ => &[],
    }
}

/// The message kinds and notes a protocol's nodes produce, where listed, so
/// that a fault trigger naming one that cannot happen is refused.
pub fn events(protocol: &str) -> ProtocolEvents {
    let (messages, notes): (&[&str], &[&str]) = match protocol {
        "raft" => (raft::MESSAGES, raft::NOTES),
        "twopc" => (twopc::MESSAGES, twopc::NOTES),
        "replication" => (replication::MESSAGES, replication::NOTES),
        _ => return ProtocolEvents::default(),
    };
    ProtocolEvents {
        messages: Some(messages.to_vec()),
        notes: Some(notes.to_vec()),
    }
}

/// Parses a scenario file's text: every section, the protocol's own
/// parameters included, so a bad file is refused before anything runs.
pub fn parse(file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    let info = ProtocolInfo {
        protocols: PROTOCOLS,
        roles: &roles,
        events: &events,
    };
    let mut scenario = Scenario::parse(file, src, &info)?;
    protocols!(with_protocol!(&scenario, |_p| ()));
    scenario.check_run_times(run_times(&scenario.protocol))?;
    scenario.resolve_measures(
        measures(&scenario.protocol),
        renamed_measures(&scenario.protocol),
    )?;
    Ok(scenario)
}

/// Runs a parsed scenario with `seed`.
pub fn run(s: &Scenario, seed: u64, trace: TraceMode) -> Result<RunOutput, ScenarioError> {
    Ok(protocols!(with_protocol!(s, |p| go(s, p, seed, trace))))
}

fn go<P: Protocol>(s: &Scenario, p: P, seed: u64, trace: TraceMode) -> RunOutput {
    Sim::new(s, p, seed, trace).run()
}

/// A driver other than the kernel (madsim, real sockets): it is handed the
/// protocol a scenario names, already built, and runs it its own way.
pub trait Driver {
    type Out;
    fn drive<P>(self, s: &Scenario, p: P) -> Self::Out
    where
        P: Protocol + Send + 'static,
        P::Node: Send,
        <P::Node as sim::node::Node>::Msg: Send;
}

/// Builds the protocol `s` names and hands it to `driver`.
pub fn drive<D: Driver>(s: &Scenario, driver: D) -> Result<D::Out, ScenarioError> {
    Ok(protocols!(with_protocol!(s, |p| driver.drive(s, p))))
}

/// Starts a run that the caller steps with [`Running::advance`] (the TUI).
pub fn start<'s>(
    s: &'s Scenario,
    seed: u64,
    trace: TraceMode,
) -> Result<Box<dyn Running + 's>, ScenarioError> {
    Ok(protocols!(with_protocol!(
        s,
        |p| Box::new(Sim::new(s, p, seed, trace)) as Box<dyn Running + 's>
    )))
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
