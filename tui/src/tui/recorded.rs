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
//! should say so, not show half a run). The UI refuses besides a node numbered above what
//! a scenario may have (n128, c256), or a message or operation id above the
//! number of records: it sizes its tables by them.

use std::path::Path;

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
    Ok(build(path, records))
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

/// The run the UI shows for `records` read from `path`.
fn build(path: &str, records: Vec<TraceRecord>) -> Run {
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
    let base = NetSnap {
        n,
        any_cut: false,
        links: vec![LinkState::Healthy; n * n],
    };
    let mut net = base.clone();
    let mut net_hist = vec![(0u32, base.clone())];
    let mut recorded = Recorded {
        path: path.to_string(),
        invoked: 0,
        ok: 0,
        fail: 0,
        info: 0,
    };
    let mut trace = Trace::default();
    let mut end_ns: Nanos = 0;
    for (k, r) in records.into_iter().enumerate() {
        let key = k as u32;
        end_ns = end_ns.max(r.t);
        let mut changed: Option<usize> = None;
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
                "partition" => {
                    if let Some((groups, one_way)) = partition_groups(description) {
                        let ids: Vec<Vec<usize>> = groups
                            .iter()
                            .map(|g| g.iter().filter_map(|m| ix(m)).collect())
                            .collect();
                        for (ga, a) in ids.iter().enumerate() {
                            for (gb, b) in ids.iter().enumerate() {
                                if ga == gb || (one_way && ga != 0) {
                                    continue;
                                }
                                for &x in a {
                                    for &y in b {
                                        if x != y {
                                            net.links[x * n + y] = LinkState::Partitioned;
                                        }
                                    }
                                }
                            }
                        }
                        net.any_cut = net.links.contains(&LinkState::Partitioned);
                        push_keyed(&mut net_hist, key, net.clone());
                    }
                }
                "heal" => {
                    net = base.clone();
                    push_keyed(&mut net_hist, key, net.clone());
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
        trace.push(r);
    }
    let len = trace.len() as u32;
    let charts = Charts::of(&trace, end_ns, &[]);
    Run::assemble(
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
    )
}
