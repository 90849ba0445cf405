//! `chaoslab tui --trace FILE`: the UI on a trace written by `--trace`
//! (docs/trace.md) instead of a run simulated here.
//!
//! A run of the process driver (`chaoslab run SCENARIO --bin PROGRAM`) runs
//! real processes in real time and cannot be re-run; its trace file is all
//! there is. Any trace opens this way, a kernel run's too (and then shows
//! the same timeline, messages and node list as re-running it: a test
//! checks that).
//!
//! What a trace does not carry, the UI cannot show: a node's own fields
//! (its term, log, store: they live in the node, and a trace has its
//! messages, not its memory), the scenario and its report (the run printed
//! that), the fingerprint, and the clogs and slow links between nodes. What
//! it carries is rebuilt: each node's role from the `role` records (a node
//! with none shows `?`), crashed from the role `crashed` and the `crash` and
//! `restart` faults, paused from `pause` and `resume`, the partitions from
//! the `partition` faults' groups until a `heal`, and the operations,
//! violations and faults as they happened. Every record counts as one event
//! (a run's report counts a delivery and the sends it causes as one).
//!
//! The file is read by the one reader of the trace format,
//! [`crate::export::read`] (`chaoslab export` reads with it too), which is
//! strict: a line that is not a JSON object, a record of an unknown kind or
//! one missing a field, records out of time order, an empty file and a
//! trace naming more than 512 nodes are refused with the file, the line and
//! what was wrong, never skipped (a trace of another chaoslab version
//! should say so, not show half a run). The UI refuses besides a node
//! numbered above what a scenario may have (n128, c256), a message or
//! operation id above the number of records (it sizes its tables by them),
//! and partitions changing more often than its link tables hold (512 MiB).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use sim::node::{Cluster, Status};
use sim::time::Nanos;
use sim::trace::{TraceEvent, TraceRecord};

use super::compact::Trace;
use super::model::{push_keyed, LinkState, NetSnap, NodeSnap, Parts, Run};
use super::series::Charts;
use super::states::States;
use crate::export::read::{self, names_in, numbered, TraceFile, MAX_CLIENTS, MAX_SERVERS};

/// The role a node shows before its first `role` record says otherwise.
pub const UNKNOWN_ROLE: &str = "?";

/// What the UI says of a run read from a trace file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The file, as the user named it.
    pub path: String,
    /// Client operations by outcome, counted from the trace's `invoke` and
    /// `complete` records.
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

impl Recorded {
    /// What a recorded trace cannot do, for the status bar.
    pub fn cannot(&self, what: &str) -> String {
        format!(
            "{what}: not on a recorded trace ({}): it cannot be re-run; open its scenario with `chaoslab tui SCENARIO` to inject faults",
            self.path
        )
    }
}

/// Reads trace file `path` (JSON Lines, docs/trace.md) into a run the UI
/// shows. `Err` is the message to print: the file, the line, what was
/// wrong.
pub fn load(path: &str) -> Result<Run, String> {
    let mut records = Vec::new();
    let mut lines = Vec::new();
    for item in TraceFile::open(Path::new(path))? {
        let (at, r) = item?;
        records.push(r);
        lines.push(at);
    }
    for (r, &at) in records.iter().zip(&lines) {
        read::within_scenario_limits(&r.event, records.len())
            .map_err(|e| TraceFile::error_at(path, at, &e))?;
    }
    build(path, records, &lines)
}

/// The cluster a trace names: servers `n1..nN` and clients `c1..cK` (up to
/// the highest number named), then every other name (Maelstrom's services)
/// in the order the trace first names them.
fn cluster_of(records: &[TraceRecord]) -> Cluster {
    let (mut servers, mut clients) = (0usize, 0usize);
    let mut others: Vec<String> = Vec::new();
    for r in records {
        for name in names_in(&r.event).into_iter().flatten() {
            // `load` refused numbers above MAX_SERVERS and MAX_CLIENTS.
            match numbered(name) {
                Some((b'n', k)) if k >= 1 => servers = servers.max(k.min(MAX_SERVERS)),
                Some((b'c', k)) if k >= 1 => clients = clients.max(k.min(MAX_CLIENTS)),
                _ => {
                    if !others.iter().any(|o| o == name) {
                        others.push(name.to_string());
                    }
                }
            }
        }
    }
    Cluster::with_services(servers, clients, &others)
}

/// The groups of a `partition` fault's description: `{n1,c2} | {n3}` (both
/// ways) or `{n1} -/-> {n2,n3}` (one way).
fn partition_groups(desc: &str) -> Option<(Vec<Vec<&str>>, bool)> {
    fn group(g: &str) -> Option<Vec<&str>> {
        let inner = g.trim().strip_prefix('{')?.strip_suffix('}')?;
        Some(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }
    if let Some((a, b)) = desc.split_once(" -/-> ") {
        return Some((vec![group(a)?, group(b)?], true));
    }
    let groups: Option<Vec<Vec<&str>>> = desc.split(" | ").map(group).collect();
    groups.map(|g| (g, false))
}

/// Whether a partition's description is the shape of the kernel's re-cut
/// after a heal: one way, from a single node.
fn is_recut(desc: &str) -> bool {
    partition_groups(desc).is_some_and(|(groups, one_way)| one_way && groups[0].len() == 1)
}

/// The links a `partition` fault's description cuts, as the kernel cuts
/// them (sim/src/kernel/faults.rs): both ways between nodes of different
/// groups, a node named in two groups being in the first; one way, every
/// node of the first side to every other node of the second, a node named
/// on both sides keeping its link to itself only. `ix` is a name's node
/// index among `n`. `None` if the description is not a partition's.
fn partition_cuts(
    desc: &str,
    n: usize,
    ix: &dyn Fn(&str) -> Option<usize>,
) -> Option<Vec<(usize, usize)>> {
    let (groups, one_way) = partition_groups(desc)?;
    // Each side's nodes, each once however often the text names it: the
    // cost is (nodes named)^2 however many groups the text has.
    let mut group: Vec<Option<usize>> = vec![None; n];
    let mut cuts = Vec::new();
    if one_way {
        let side = |members: &Vec<&str>| {
            let mut seen = vec![false; n];
            members
                .iter()
                .filter_map(|m| ix(m))
                .filter(|&i| !std::mem::replace(&mut seen[i], true))
                .collect::<Vec<usize>>()
        };
        let (from, to) = (side(&groups[0]), side(&groups[1]));
        for &x in &from {
            cuts.extend(to.iter().filter(|&&y| y != x).map(|&y| (x, y)));
        }
        return Some(cuts);
    }
    let mut named = Vec::new();
    for (g, members) in groups.iter().enumerate() {
        for i in members.iter().filter_map(|m| ix(m)) {
            if group[i].is_none() {
                group[i] = Some(g);
                named.push((i, g));
            }
        }
    }
    for &(x, a) in &named {
        cuts.extend(named.iter().filter(|&&(_, b)| a != b).map(|&(y, _)| (x, y)));
    }
    Some(cuts)
}

/// The most bytes the UI keeps of link tables for a trace's partitions: a
/// table of every two nodes' link (two bits each, 36 KiB among a
/// scenario's most nodes, 384) for each change of the links (a heal and
/// its re-cuts being one), heals to no cut sharing one. 512 MiB is 14,563 changes among 384 nodes:
/// among them a partition-only nemesis every 20ms for 60s makes 4,131
/// (an ignored test opens it), raft/nemesis.toml's for 120s 99; a file of
/// a partition and a heal a line would take memory by the gigabyte.
const MAX_NET_BYTES: usize = 512 << 20;

/// The run the UI shows for `records` read from `path`, record `k` from
/// line `lines[k]`. `Err` for a trace changing its partitions more often
/// than the UI keeps ([`MAX_NET_BYTES`]).
fn build(path: &str, records: Vec<TraceRecord>, lines: &[usize]) -> Result<Run, String> {
    let cluster = cluster_of(&records);
    let n = cluster.len();
    let ix = |name: &str| cluster.by_name(name).map(|id| id.index());
    // Each node's first role: the `from` of its first role record.
    let mut role: Vec<&'static str> = vec![UNKNOWN_ROLE; n];
    let mut seen_role = vec![false; n];
    for r in &records {
        if let TraceEvent::Role { node, from, .. } = &r.event {
            if let Some(i) = ix(node) {
                if !seen_role[i] {
                    seen_role[i] = true;
                    role[i] = if *from == "crashed" {
                        UNKNOWN_ROLE
                    } else {
                        from
                    };
                }
            }
        }
    }
    let mut up = vec![true; n];
    let mut paused = vec![false; n];
    let mut states = States::new(n);
    let snap = |role: &'static str, up: bool, paused: bool| NodeSnap {
        status: up.then(|| Status {
            role,
            fields: Vec::new(),
        }),
        paused,
        ..NodeSnap::default()
    };
    for (i, &r) in role.iter().enumerate() {
        states.push(i, 0, snap(r, true, false));
    }
    let base = Arc::new(NetSnap::healthy(n));
    let table_bytes = (n * n).div_ceil(4).max(1);
    let mut net = base.clone();
    let mut net_hist = vec![(0u32, base.clone())];
    // The partition descriptions applied since the last heal: the same
    // again cuts nothing more.
    let mut applied: BTreeSet<&str> = BTreeSet::new();
    // The first record of the change the links are going through, and
    // whether it is a heal. A heal's records are one change: the kernel
    // heals and re-cuts at once what stays cut, a one-way partition from
    // each server (`{nK} -/-> {..}`), all in one event, so one table for
    // them all, as a re-run keeps one per event (and a trigger matching
    // the heal may write its record between them). Any other partition
    // or heal is a change of its own: two `[[faults]]` entries at one
    // instant are two events, each shown with its own links.
    let mut instant: Option<(Nanos, u32, bool)> = None;
    // The tables kept apart from the base (which heals share).
    let mut tables = 0usize;
    let mut keep = |net_hist: &mut Vec<(u32, Arc<NetSnap>)>,
                    first: u32,
                    net: &Arc<NetSnap>,
                    line: usize|
     -> Result<(), String> {
        // Kept when it differs from the one before, as a re-run keeps it.
        if net_hist.last().is_some_and(|(_, t)| **t == **net) {
            return Ok(());
        }
        push_keyed(net_hist, first, net.clone());
        if !Arc::ptr_eq(net, &base) {
            tables += 1;
        }
        if tables.saturating_mul(table_bytes) > MAX_NET_BYTES {
            return Err(TraceFile::error_at(
                path,
                line,
                &format!(
                    "the trace's partitions change {tables} times by this line: the UI keeps a \
                     table of the links between every two of the trace's {n} nodes for each \
                     change, and that many would take more than {} MiB",
                    MAX_NET_BYTES >> 20
                ),
            ));
        }
        Ok(())
    };
    // The instant whose change is not kept yet: its first record.
    let mut pending: Option<u32> = None;
    let mut recorded = Recorded {
        path: path.to_string(),
        invoked: 0,
        ok: 0,
        fail: 0,
        info: 0,
    };
    let mut trace = Trace::default();
    let mut end_ns: Nanos = 0;
    for (k, r) in records.iter().enumerate() {
        let key = k as u32;
        end_ns = end_ns.max(r.t);
        let links_fault = matches!(&r.event,
            TraceEvent::Fault { action, .. } if *action == "partition" || *action == "heal");
        // What may follow a heal in its event: a re-cut, or a trigger's
        // record.
        let heal_goes_on = match &r.event {
            TraceEvent::Fault {
                action,
                description,
                ..
            } => *action == "partition" && is_recut(description),
            TraceEvent::Trigger { .. } => true,
            _ => false,
        };
        instant = match instant {
            Some((t, first, true)) if heal_goes_on && t == r.t => Some((t, first, true)),
            _ => {
                // The change before is over.
                if let Some(first) = pending.take() {
                    keep(&mut net_hist, first, &net, lines[k - 1])?;
                }
                links_fault.then(|| {
                    let heal = matches!(&r.event,
                        TraceEvent::Fault { action, .. } if *action == "heal");
                    (r.t, key, heal)
                })
            }
        };
        let mut changed: Option<usize> = None;
        let mut net_changed = false;
        match &r.event {
            TraceEvent::Role { node, to, .. } => {
                if let Some(i) = ix(node) {
                    if *to == "crashed" {
                        up[i] = false;
                    } else {
                        up[i] = true;
                        role[i] = to;
                    }
                    changed = Some(i);
                }
            }
            TraceEvent::Fault {
                action,
                description,
                ..
            } => match *action {
                "crash" | "restart" | "pause" | "resume" => {
                    if let Some(i) = ix(description) {
                        match *action {
                            "crash" => up[i] = false,
                            "restart" => {
                                up[i] = true;
                                paused[i] = false;
                            }
                            "pause" => paused[i] = true,
                            _ => paused[i] = false,
                        }
                        changed = Some(i);
                    }
                }
                "partition" if applied.insert(description) => {
                    if let Some(cuts) = partition_cuts(description, n, &ix) {
                        for (x, y) in cuts {
                            if net.link(x, y) != LinkState::Partitioned {
                                Arc::make_mut(&mut net).set(x, y, LinkState::Partitioned);
                                net_changed = true;
                            }
                        }
                    }
                }
                "heal" => {
                    applied.clear();
                    // A heal of no cut changes nothing.
                    if net.any_cut {
                        net = base.clone();
                        net_changed = true;
                    }
                }
                _ => {}
            },
            TraceEvent::Invoke { .. } => recorded.invoked += 1,
            TraceEvent::Complete { outcome, .. } => match *outcome {
                "ok" => recorded.ok += 1,
                "fail" => recorded.fail += 1,
                _ => recorded.info += 1,
            },
            _ => {}
        }
        if let Some(i) = changed {
            states.push(i, key, snap(role[i], up[i], paused[i]));
        }
        // One table for the instant's records, from its first record.
        if let (true, Some((_, first, _))) = (net_changed, instant) {
            pending = Some(first);
        }
    }
    if let Some(first) = pending {
        keep(&mut net_hist, first, &net, lines[lines.len() - 1])?;
    }
    for r in records {
        trace.push(r);
    }
    let len = trace.len() as u32;
    let charts = Charts::of(&trace, end_ns, &[]);
    Ok(Run::assemble(
        Parts {
            scenario: None,
            seed: 0,
            recorded: Some(recorded),
            report: None,
            fingerprint: String::new(),
            end_ns,
            cluster,
            states,
            net_hist,
            event_ends: (1..=len).collect(),
        },
        trace,
        charts,
    ))
}
