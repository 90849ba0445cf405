//! The end of a run: what it produced, and the helpers that describe it.

use super::Judged;
use super::{Counters, Sim};
use crate::check::RunHistory;
use crate::history::{OpFn, Outcome, Value};
use crate::metric::Metric;
use crate::network::{LatencyDist, Net};
use crate::node::{Clock, Cluster, Status};
use crate::protocol::{Protocol, Violation};
use crate::scenario::Fault;
use crate::time::{fmt_duration, Nanos};
use crate::trace::{TraceEvent, TraceRecord};

/// Everything a finished run produced.
pub struct RunOutput {
    pub seed: u64,
    pub end_ns: Nanos,
    pub fingerprint: String,
    pub counters: Counters,
    /// The clients' history and the facts about each operation
    /// ([`RunHistory::meta`]), with the checks the protocol chose for it.
    pub history: RunHistory,
    pub violations: Vec<(Nanos, Violation)>,
    /// When partitions were in force: [start, end) windows.
    pub partition_windows: Vec<(Nanos, Nanos)>,
    /// Every record, when the mode was [`super::TraceMode::Record`].
    pub trace: Option<Vec<TraceRecord>>,
    /// The first error the sink of [`super::TraceMode::Stream`] met while
    /// writing (or flushing at the end): the trace it wrote is incomplete.
    pub trace_error: Option<std::io::Error>,
    /// Each node's status at the end (`None` if crashed).
    pub statuses: Vec<Option<Status>>,
    pub cluster: Cluster,
    /// Set when `[meta] max_events` stopped the run before its duration: the
    /// virtual time it had reached.
    pub stopped_early: Option<Nanos>,
    /// Every fault the nemesis applied, as concrete schedule entries (for
    /// shrinking a failing run into a fixed schedule a person can read).
    pub nemesis_log: Vec<Fault>,
    /// The protocol's own figures (see [`Protocol::metrics`]).
    pub metrics: Vec<Metric>,
    /// Every property the protocol declares (and any always-property
    /// violated without being declared), with its verdict.
    pub properties: Vec<Judged>,
    /// Each client's mean round trip to its nearest server, from the network
    /// settings at the start (PACELC's "one client round trip").
    pub client_rtt_ns: Vec<Nanos>,
    /// `[[faults]]` entries whose trigger never fired in this run.
    pub unfired_triggers: Vec<UnfiredTrigger>,
    /// For an explored run replayed from its `[schedule]`: how the replay
    /// went, and the step that broke each property.
    pub schedule: Option<super::Replayed>,
}

impl<'s, P: Protocol> Sim<'s, P> {
    /// Ends the run where it stands and returns what happened.
    pub fn finish(mut self) -> RunOutput {
        // Triggers that never fired: not an error (the run may simply not
        // have produced the event), but the trace and the report say so.
        let mut unfired_triggers = Vec::new();
        for &(i, matched, fired) in &self.triggers {
            if !fired {
                let f = &self.scenario.faults[i];
                let when = f.when.as_ref().expect("a trigger entry has a trigger");
                unfired_triggers.push(UnfiredTrigger {
                    line: f.line,
                    when: when.when_toml(),
                    matched,
                });
            }
        }
        for u in &unfired_triggers {
            let (line, when, matched) = (u.line, u.when.clone(), u.matched);
            self.record(|_| TraceEvent::Trigger {
                line,
                when,
                event: "never fired".into(),
                matched,
                delay: 0,
            });
        }
        if let Some(start) = self.partition_since.take() {
            self.partition_windows.push((start, self.now));
        }
        self.check_at_end();
        let mut metrics = crate::metric::Metrics::new();
        self.protocol.metrics(&self.nodes, &mut metrics);
        let metrics = metrics.into_vec();
        let properties = self.judged();
        // Each client's round trip to its nearest server, from the network as
        // configured (before any fault): PACELC's "one client round trip".
        let servers = self.cluster.servers().to_vec();
        let client_rtt_ns: Vec<Nanos> = self
            .cluster
            .clients()
            .iter()
            .map(|c| {
                servers
                    .iter()
                    .map(|s| {
                        self.base_net.link(c.index(), s.index()).latency.mean()
                            + self.base_net.link(s.index(), c.index()).latency.mean()
                    })
                    .fold(f64::INFINITY, f64::min) as Nanos
            })
            .collect();
        let statuses = self.statuses();
        let schedule = self.replayed();
        // The last records are in: a streaming sink flushes now.
        let (trace, trace_error) = match self.trace.take() {
            None => (None, None),
            Some(mut sink) => {
                let error = sink.finish().err();
                (sink.take_kept(), error)
            }
        };
        RunOutput {
            seed: self.seed,
            end_ns: self.now,
            fingerprint: self.fp.hex(),
            counters: self.counters.into_inner(),
            history: RunHistory::new(self.history.into_inner(), self.protocol.model()),
            violations: self.violations.into_inner(),
            partition_windows: self.partition_windows.into_inner(),
            trace,
            trace_error,
            statuses,
            cluster: self.cluster,
            metrics,
            properties,
            client_rtt_ns,
            nemesis_log: self.nemesis_log.into_inner(),
            stopped_early: self.stopped_early,
            unfired_triggers,
            schedule,
        }
    }
}

/// A `[[faults]]` entry whose trigger never fired: its line, its trigger as
/// written, and how many events matched it (fewer than its `count`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnfiredTrigger {
    pub line: usize,
    pub when: String,
    pub matched: u64,
}

pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

pub fn show_value(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(l) => format!("{l:?}"),
    }
}

pub fn describe_op(key: &str, f: &OpFn) -> String {
    match f {
        OpFn::Read => format!("get {key}"),
        OpFn::Write(v) => format!("put {key} {}", show_value(v)),
        OpFn::Cas { expected, new } => {
            format!("cas {key} {}->{}", show_value(expected), show_value(new))
        }
        OpFn::Append(v) => format!("append {key} {}", show_value(v)),
        OpFn::Delete => format!("delete {key}"),
    }
}

pub(super) fn describe_latency(l: &LatencyDist) -> String {
    match l {
        LatencyDist::Constant { value } => format!("latency {}", fmt_duration(*value)),
        LatencyDist::Uniform { min, max } => {
            format!("latency {}..{}", fmt_duration(*min), fmt_duration(*max))
        }
        LatencyDist::Normal { mean, stddev, .. } => format!(
            "latency normal {}±{}",
            fmt_duration(*mean),
            fmt_duration(*stddev)
        ),
        LatencyDist::Exponential { mean, .. } => {
            format!("latency exponential mean {}", fmt_duration(*mean))
        }
        LatencyDist::Lognormal { median, sigma } => format!(
            "latency lognormal median {} sigma {sigma}",
            fmt_duration(*median)
        ),
        LatencyDist::Pareto { scale, alpha } => format!(
            "latency pareto scale {} alpha {alpha}",
            fmt_duration(*scale)
        ),
    }
}

/// A run in progress, whatever its protocol: what a driver such as the TUI
/// needs to step a run and look at it.
pub trait Running {
    /// Processes one event; false once the run is over.
    fn advance(&mut self) -> bool;
    fn now(&self) -> Nanos;
    fn statuses(&self) -> Vec<Option<Status>>;
    /// (paused, clock, fsync lies) of node `i`.
    fn node_state(&self, i: usize) -> (bool, Clock, bool);
    fn net(&self) -> &Net;
    fn trace(&self) -> &[TraceRecord];
    fn cluster(&self) -> &Cluster;
    fn counters(&self) -> &Counters;
    fn finish(self: Box<Self>) -> RunOutput;
}

impl<P: Protocol> Running for Sim<'_, P> {
    fn advance(&mut self) -> bool {
        Sim::advance(self)
    }
    fn now(&self) -> Nanos {
        Sim::now(self)
    }
    fn statuses(&self) -> Vec<Option<Status>> {
        Sim::statuses(self)
    }
    fn node_state(&self, i: usize) -> (bool, Clock, bool) {
        Sim::node_state(self, i)
    }
    fn net(&self) -> &Net {
        Sim::net(self)
    }
    fn trace(&self) -> &[TraceRecord] {
        Sim::trace(self)
    }
    fn cluster(&self) -> &Cluster {
        Sim::cluster(self)
    }
    fn counters(&self) -> &Counters {
        Sim::counters(self)
    }
    fn finish(self: Box<Self>) -> RunOutput {
        Sim::finish(*self)
    }
}
