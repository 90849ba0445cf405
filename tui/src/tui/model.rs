//! A recorded run and the indexes the UI needs to show any moment of it fast.
//!
//! The whole run is simulated once, event by event, with the trace recorded.
//! After each event the driver keeps what changed: a node's status, its
//! paused/clock/fsync state, the network's cuts, clogs and slow links. The
//! cursor is an index into the trace; the state at the cursor is a binary
//! search in those change lists, so stepping back is as exact and as cheap as
//! stepping forward, whatever the length of the run.

use std::sync::Arc;

use super::series::Charts;
use sim::kernel::TraceMode;
use sim::network::Net;
use sim::node::{Clock, Cluster, NodeId, Status};
use sim::report::Report;
use sim::scenario::{Scenario, ScenarioError};
use sim::time::Nanos;

use super::compact::{Kind, Recorder, Trace};
use super::states::States;
use crate::Registry;

/// What a node looks like at one moment, apart from the network.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeSnap {
    /// `None` while the node is crashed.
    pub status: Option<Status>,
    pub paused: bool,
    pub clock: Clock,
    pub fsync_lies: bool,
}

/// The state of one directed link, as the topology colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkState {
    Healthy,
    /// Latency or loss changed from the scenario's base network.
    Slow,
    Clogged,
    Partitioned,
}

/// Every directed link's state, `from * n + to`, two bits a link (a table
/// of a scenario's most nodes, 384, is 36 KiB).
#[derive(Clone, Debug, PartialEq)]
pub struct NetSnap {
    pub n: usize,
    /// Some link is partitioned.
    pub any_cut: bool,
    links: Vec<u8>,
}

impl NetSnap {
    /// `n` nodes, every link healthy.
    pub fn healthy(n: usize) -> NetSnap {
        NetSnap {
            n,
            any_cut: false,
            links: vec![0; (n * n).div_ceil(4)],
        }
    }

    /// Sets link `from -> to` (a partitioned link sets `any_cut`).
    pub fn set(&mut self, from: usize, to: usize, state: LinkState) {
        let k = from * self.n + to;
        let shift = (k % 4) * 2;
        let byte = &mut self.links[k / 4];
        *byte = (*byte & !(3 << shift)) | ((state as u8) << shift);
        self.any_cut |= state == LinkState::Partitioned;
    }

    fn of(net: &Net, base: &Net) -> NetSnap {
        let n = net.size();
        let mut snap = NetSnap::healthy(n);
        for from in 0..n {
            for to in 0..n {
                snap.set(from, to, link_state(net, base, from, to));
            }
        }
        snap
    }

    /// Whether `net` still looks like this snapshot (no allocation: this runs
    /// after every event).
    fn matches(&self, net: &Net, base: &Net) -> bool {
        let n = self.n;
        (0..n).all(|from| (0..n).all(|to| self.link(from, to) == link_state(net, base, from, to)))
    }

    pub fn link(&self, from: usize, to: usize) -> LinkState {
        let k = from * self.n + to;
        match (self.links[k / 4] >> ((k % 4) * 2)) & 3 {
            0 => LinkState::Healthy,
            1 => LinkState::Slow,
            2 => LinkState::Clogged,
            _ => LinkState::Partitioned,
        }
    }

    /// Can `a` and `b` talk both ways?
    pub fn connected(&self, a: usize, b: usize) -> bool {
        a == b
            || (self.link(a, b) != LinkState::Partitioned
                && self.link(b, a) != LinkState::Partitioned)
    }
}

fn link_state(net: &Net, base: &Net, from: usize, to: usize) -> LinkState {
    let l = net.link(from, to);
    let b = base.link(from, to);
    if net.is_cut(from, to) {
        LinkState::Partitioned
    } else if l.clogged {
        LinkState::Clogged
    } else if l.latency != b.latency || l.loss != b.loss {
        LinkState::Slow
    } else {
        LinkState::Healthy
    }
}

/// A run recorded for the UI: simulated here ([`Run::record`]), or read
/// from a trace file ([`super::recorded::load`]).
pub struct Run {
    /// The scenario run here; `None` for a run read from a trace file (the
    /// trace does not carry its scenario).
    pub scenario: Option<Scenario>,
    pub seed: u64,
    /// Set for a run read from a trace file: the UI then only shows it (it
    /// cannot re-run it to inject a fault).
    pub recorded: Option<super::recorded::Recorded>,
    /// Every record of the run, compact (see [`super::compact`]).
    pub trace: Trace,
    pub cluster: Cluster,
    /// The run's report; `None` for a trace file (see [`Run::recorded`]).
    pub report: Option<Report>,
    pub fingerprint: String,
    pub end_ns: Nanos,
    /// Per node: each state, from the first trace index it applies from,
    /// in index order (compact: see [`super::states`]).
    pub states: States,
    pub net_hist: Vec<(u32, Arc<NetSnap>)>,
    /// Trace indexes of fault records, and of violation records.
    pub faults: Vec<u32>,
    pub violations: Vec<u32>,
    /// Per message id: the trace index of its send (u32::MAX if unknown).
    pub send_of: Vec<u32>,
    /// Per message id: the index of its delivery or drop (u32::MAX if none).
    pub fate_of: Vec<u32>,
    /// Per node: the trace indexes of the messages it sent or received.
    pub messages_of: Vec<Vec<u32>>,
    /// Per event the report counts (its `events`: deliveries, live timers,
    /// faults, client requests), the trace index its records end before.
    /// The header numbers events with it, as the report does, while the
    /// cursor steps through records.
    pub event_ends: Vec<u32>,
    /// Figures over time for the chart panel.
    pub charts: Charts,
}

impl Run {
    /// Simulates `scenario` with `seed` to its end, keeping the trace and the
    /// state changes after each event.
    pub fn record(
        registry: &Registry,
        scenario: Scenario,
        seed: u64,
    ) -> Result<Run, ScenarioError> {
        let (trace, cluster, states, net_hist, event_ends, out) = {
            // Each record is compacted as the kernel makes it.
            let recorder = Recorder::default();
            let mode = TraceMode::Stream(Box::new(recorder.clone()));
            let mut sim = registry.start(&scenario, seed, mode)?;
            let n = sim.cluster().len();
            // The network before the first event is the scenario's base network:
            // "slow" is measured against it.
            let base = sim.net().clone();
            let mut states = States::new(n);
            let mut net_hist: Vec<(u32, Arc<NetSnap>)> =
                vec![(0, Arc::new(NetSnap::of(&base, &base)))];
            let mut before = 0usize;
            let mut event_ends: Vec<u32> = Vec::new();
            let mut counted = sim.counters().events;
            loop {
                let more = sim.advance();
                let now_counted = sim.counters().events;
                for _ in counted..now_counted {
                    event_ends.push(recorder.records() as u32);
                }
                counted = now_counted;
                let key = before as u32;
                let statuses = sim.statuses();
                for (i, status) in statuses.into_iter().enumerate() {
                    let (paused, clock, fsync_lies) = sim.node_state(i);
                    if states.changed(i, &status, paused, &clock, fsync_lies) {
                        let snap = NodeSnap {
                            status,
                            paused,
                            clock,
                            fsync_lies,
                        };
                        states.push(i, key, snap);
                    }
                }
                let last = &net_hist.last().expect("seeded with the base").1;
                if !last.matches(sim.net(), &base) {
                    push_keyed(&mut net_hist, key, Arc::new(NetSnap::of(sim.net(), &base)));
                }
                before = recorder.records();
                if !more {
                    break;
                }
            }
            let cluster = sim.cluster().clone();
            let out = sim.finish();
            (recorder.take(), cluster, states, net_hist, event_ends, out)
        };
        let report = Report::build(&scenario, &out);
        let charts = Charts::of(&trace, out.end_ns, &out.metrics);
        Ok(Run::assemble(
            Parts {
                scenario: Some(scenario),
                seed,
                recorded: None,
                report: Some(report),
                fingerprint: out.fingerprint.clone(),
                end_ns: out.end_ns,
                cluster,
                states,
                net_hist,
                event_ends,
            },
            trace,
            charts,
        ))
    }

    /// The run from its trace and what was kept of it: builds the indexes
    /// the UI jumps with (faults, violations, each message's send and fate,
    /// each node's messages).
    pub(super) fn assemble(p: Parts, trace: Trace, charts: Charts) -> Run {
        let cluster = p.cluster;
        let n = cluster.len();
        let mut faults = Vec::new();
        let mut violations = Vec::new();
        let mut send_of = Vec::new();
        let mut fate_of = Vec::new();
        let mut messages_of: Vec<Vec<u32>> = vec![Vec::new(); n];
        let index: std::collections::BTreeMap<&str, usize> = (0..n)
            .map(|i| (cluster.name(NodeId(i as u32)), i))
            .collect();
        for i in 0..trace.len() {
            let at = i as u32;
            match trace.fault_or_violation(i) {
                Some(true) => faults.push(at),
                Some(false) => violations.push(at),
                None => {}
            }
            let Some((kind, from, to, id)) = trace.message(i) else {
                continue;
            };
            let ends = [index.get(from).copied(), index.get(to).copied()];
            let id = id as usize;
            match kind {
                Kind::Send => {
                    if send_of.len() <= id {
                        send_of.resize(id + 1, u32::MAX);
                        fate_of.resize(id + 1, u32::MAX);
                    }
                    send_of[id] = at;
                    for x in ends.into_iter().flatten() {
                        messages_of[x].push(at);
                    }
                }
                Kind::Deliver | Kind::Drop => {
                    if id < fate_of.len() && fate_of[id] == u32::MAX {
                        fate_of[id] = at;
                    }
                    for x in ends.into_iter().flatten() {
                        if messages_of[x].last() != Some(&at) {
                            messages_of[x].push(at);
                        }
                    }
                }
                _ => {}
            }
        }
        Run {
            seed: p.seed,
            recorded: p.recorded,
            fingerprint: p.fingerprint,
            end_ns: p.end_ns,
            scenario: p.scenario,
            trace,
            cluster,
            report: p.report,
            states: p.states,
            net_hist: p.net_hist,
            faults,
            violations,
            send_of,
            fate_of,
            messages_of,
            event_ends: p.event_ends,
            charts,
        }
    }

    /// The event (numbered from 1, as the report counts them) whose records
    /// include trace index `i`; records the report does not count (those
    /// before the first event, after the last) take the nearest event's. At
    /// the last record every event has happened, including the last few if
    /// they left no record (a held request, a fault that changed nothing).
    pub fn event_at(&self, i: usize) -> usize {
        if i + 1 >= self.len() {
            return self.events();
        }
        let done = self.event_ends.partition_point(|&end| end as usize <= i);
        (done + 1).min(self.events())
    }

    /// The events the report counts.
    pub fn events(&self) -> usize {
        self.event_ends.len()
    }

    pub fn len(&self) -> usize {
        self.trace.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trace.is_empty()
    }

    /// Node `i` as it stands once record `cursor` has happened.
    pub fn node_at(&self, i: usize, cursor: usize) -> Option<NodeSnap> {
        self.states.at(i, cursor)
    }

    pub fn net_at(&self, cursor: usize) -> &NetSnap {
        at(&self.net_hist, cursor).expect("the base network is kept at index 0")
    }

    /// Virtual time of record `cursor` (the end of the run past the last one).
    pub fn time_at(&self, cursor: usize) -> Nanos {
        self.trace.t(cursor).unwrap_or(self.end_ns)
    }

    /// The first record at or after virtual time `t`.
    pub fn index_at_time(&self, t: Nanos) -> usize {
        self.trace.partition_point_t(t)
    }

    pub fn node_name(&self, i: usize) -> &str {
        self.cluster.name(NodeId(i as u32))
    }

    /// The send record of the message at `cursor` (itself if it is a send).
    pub fn message_id_at(&self, cursor: usize) -> Option<u64> {
        self.trace.message(cursor).map(|(_, _, _, id)| id)
    }

    pub fn send_index(&self, id: u64) -> Option<usize> {
        self.send_of
            .get(id as usize)
            .filter(|&&i| i != u32::MAX)
            .map(|&i| i as usize)
    }

    pub fn fate_index(&self, id: u64) -> Option<usize> {
        self.fate_of
            .get(id as usize)
            .filter(|&&i| i != u32::MAX)
            .map(|&i| i as usize)
    }
}

/// What [`Run::assemble`] builds a run from, besides its trace.
pub(super) struct Parts {
    pub scenario: Option<Scenario>,
    pub seed: u64,
    pub recorded: Option<super::recorded::Recorded>,
    pub report: Option<Report>,
    pub fingerprint: String,
    pub end_ns: Nanos,
    pub cluster: Cluster,
    pub states: States,
    pub net_hist: Vec<(u32, Arc<NetSnap>)>,
    pub event_ends: Vec<u32>,
}

/// Pushes `(key, v)`, replacing an entry with the same key (an event that
/// left no trace record shares its key with the next one).
pub(super) fn push_keyed<T>(v: &mut Vec<(u32, T)>, key: u32, value: T) {
    match v.last_mut() {
        Some(last) if last.0 == key => last.1 = value,
        _ => v.push((key, value)),
    }
}

fn at<T>(hist: &[(u32, T)], cursor: usize) -> Option<&T> {
    let k = hist.partition_point(|(i, _)| (*i as usize) <= cursor);
    if k == 0 {
        hist.first().map(|(_, v)| v)
    } else {
        Some(&hist[k - 1].1)
    }
}

/// The next (or previous) entry of a sorted index list strictly after (before) `cursor`.
pub fn next_in(list: &[u32], cursor: usize, forward: bool) -> Option<usize> {
    if forward {
        let k = list.partition_point(|&i| (i as usize) <= cursor);
        list.get(k).map(|&i| i as usize)
    } else {
        let k = list.partition_point(|&i| (i as usize) < cursor);
        k.checked_sub(1).map(|k| list[k] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_applies_from_its_index_until_the_next_change() {
        let hist = vec![(0u32, 'a'), (5, 'b'), (9, 'c')];
        assert_eq!(at(&hist, 0), Some(&'a'));
        assert_eq!(at(&hist, 4), Some(&'a'));
        assert_eq!(at(&hist, 5), Some(&'b'));
        assert_eq!(at(&hist, 8), Some(&'b'));
        assert_eq!(at(&hist, 1_000), Some(&'c'));
    }

    #[test]
    fn an_event_without_records_shares_its_key_with_the_next_one() {
        let mut hist = vec![(0u32, 1)];
        push_keyed(&mut hist, 3, 2);
        push_keyed(&mut hist, 3, 3);
        assert_eq!(hist, vec![(0, 1), (3, 3)]);
    }

    #[test]
    fn jumps_find_the_next_and_previous_entries_strictly_past_the_cursor() {
        let list = [2u32, 7, 7, 12];
        assert_eq!(next_in(&list, 0, true), Some(2));
        assert_eq!(next_in(&list, 2, true), Some(7));
        assert_eq!(next_in(&list, 12, true), None);
        assert_eq!(next_in(&list, 7, false), Some(2));
        assert_eq!(next_in(&list, 2, false), None);
        assert_eq!(next_in(&list, 100, false), Some(12));
    }
}
