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
//! Reading is strict: a line that is not a JSON object, a record of an
//! unknown kind or one missing a field is refused with the file, the line
//! and what was wrong, never skipped (a trace of another chaoslab version
//! should say so, not show half a run). So is a node numbered above what a
//! scenario may have (n128, c256), or a message or operation id above the
//! number of records: the UI sizes its tables by them.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;

use serde_json::{Map, Value};
use sim::node::{Cluster, Status};
use sim::time::Nanos;
use sim::trace::{TraceEvent, TraceRecord};

use super::compact::Trace;
use super::model::{push_keyed, LinkState, NetSnap, NodeSnap, Parts, Run};
use super::series::Charts;
use super::states::States;

/// The role a node shows before its first `role` record says otherwise.
pub const UNKNOWN_ROLE: &str = "?";

/// The kinds of record this version reads.
const KINDS: &[&str] = &[
    "send",
    "deliver",
    "drop",
    "hold",
    "timer",
    "fault",
    "invoke",
    "complete",
    "role",
    "violation",
    "note",
    "trigger",
];

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

/// Words the trace's records hold as `&'static str` (message kinds, fault
/// actions, roles...): each distinct word is kept once for the program's
/// life (a trace has a few dozen).
#[derive(Default)]
struct Words(BTreeMap<String, &'static str>);

impl Words {
    fn get(&mut self, w: &str) -> &'static str {
        if let Some(&s) = self.0.get(w) {
            return s;
        }
        let s: &'static str = Box::leak(w.to_string().into_boxed_str());
        self.0.insert(w.to_string(), s);
        s
    }
}

/// Node names, each shared.
#[derive(Default)]
struct Names(BTreeMap<String, Arc<str>>);

impl Names {
    fn get(&mut self, n: &str) -> Arc<str> {
        if let Some(a) = self.0.get(n) {
            return a.clone();
        }
        let a: Arc<str> = n.into();
        self.0.insert(n.to_string(), a.clone());
        a
    }
}

/// Reads one line into a record; `Err` says what was wrong with it.
fn parse_record(line: &str, words: &mut Words, names: &mut Names) -> Result<TraceRecord, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| {
        format!("not JSON ({e}): a trace has one JSON object per line, as `--trace FILE` writes it")
    })?;
    let Value::Object(o) = v else {
        return Err("not a JSON object: a trace has one object per line".into());
    };
    let kind = o
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("no `kind` field: not a chaoslab trace record (docs/trace.md)")?;
    let t = u64_of(&o, "t", kind)?;
    let s = |f: &str| str_of(&o, f, kind);
    let event = match kind {
        "send" => TraceEvent::Send {
            from: names.get(s("from")?),
            to: names.get(s("to")?),
            id: u64_of(&o, "id", kind)?,
            msg: words.get(s("msg")?),
            detail: s("detail")?.to_string(),
        },
        "deliver" => TraceEvent::Deliver {
            from: names.get(s("from")?),
            to: names.get(s("to")?),
            id: u64_of(&o, "id", kind)?,
            msg: words.get(s("msg")?),
        },
        "drop" | "hold" => {
            let (from, to) = (names.get(s("from")?), names.get(s("to")?));
            let (id, msg) = (u64_of(&o, "id", kind)?, words.get(s("msg")?));
            let reason = words.get(s("reason")?);
            if kind == "drop" {
                TraceEvent::Drop {
                    from,
                    to,
                    id,
                    msg,
                    reason,
                }
            } else {
                TraceEvent::Hold {
                    from,
                    to,
                    id,
                    msg,
                    reason,
                }
            }
        }
        "timer" => TraceEvent::Timer {
            node: names.get(s("node")?),
            timer: u64_of(&o, "timer", kind)?,
        },
        "fault" => TraceEvent::Fault {
            action: words.get(s("action")?),
            description: s("description")?.to_string(),
            line: u64_of(&o, "line", kind)? as usize,
        },
        "invoke" => TraceEvent::Invoke {
            node: names.get(s("node")?),
            op: u64_of(&o, "op", kind)?,
            description: s("description")?.to_string(),
        },
        "complete" => TraceEvent::Complete {
            node: names.get(s("node")?),
            op: u64_of(&o, "op", kind)?,
            outcome: words.get(s("outcome")?),
            output: s("output")?.to_string(),
            found_other: o
                .get("found_other")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        "role" => TraceEvent::Role {
            node: names.get(s("node")?),
            from: words.get(s("from")?),
            to: words.get(s("to")?),
        },
        "violation" => TraceEvent::Violation {
            invariant: words.get(s("invariant")?),
            detail: s("detail")?.to_string(),
        },
        "note" => TraceEvent::Note {
            node: names.get(s("node")?),
            note: words.get(s("note")?),
        },
        "trigger" => TraceEvent::Trigger {
            line: u64_of(&o, "line", kind)? as usize,
            when: s("when")?.to_string(),
            event: s("event")?.to_string(),
            matched: u64_of(&o, "matched", kind)?,
            delay: u64_of(&o, "delay", kind)?,
        },
        other => {
            return Err(format!(
                "unknown record kind `{other}`: this chaoslab reads {} (a trace of another chaoslab version? docs/trace.md lists the kinds)",
                KINDS.join(", ")
            ))
        }
    };
    Ok(TraceRecord { t, event })
}

fn missing(field: &str, kind: &str, what: &str) -> String {
    format!("a `{kind}` record needs `{field}`, {what} (a trace of an older format? docs/trace.md lists each kind's fields)")
}

fn u64_of(o: &Map<String, Value>, field: &str, kind: &str) -> Result<u64, String> {
    o.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| missing(field, kind, "a whole number"))
}

fn str_of<'a>(o: &'a Map<String, Value>, field: &str, kind: &str) -> Result<&'a str, String> {
    o.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(field, kind, "a string"))
}

/// Reads trace file `path` (JSON Lines, docs/trace.md) into a run the UI
/// shows. `Err` is the message to print: the file, the line, what was
/// wrong.
pub fn load(path: &str) -> Result<Run, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("error: {path}: cannot open the trace: {e}"))?;
    let mut words = Words::default();
    let mut names = Names::default();
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut last_t = 0;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let at = n + 1;
        let line = line.map_err(|e| format!("error: {path}:{at}: cannot read: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let r = parse_record(&line, &mut words, &mut names)
            .map_err(|e| format!("error: {path}:{at}: {e}"))?;
        if r.t < last_t {
            return Err(format!(
                "error: {path}:{at}: the record at t={} comes after one at t={last_t}: a trace's records are in time order",
                r.t
            ));
        }
        last_t = r.t;
        records.push(r);
        lines.push(at);
    }
    if records.is_empty() {
        return Err(format!(
            "error: {path}: the trace is empty: no records (write one with `chaoslab run SCENARIO --trace {path}`)"
        ));
    }
    for (r, &at) in records.iter().zip(&lines) {
        check_sizes(&r.event, records.len()).map_err(|e| format!("error: {path}:{at}: {e}"))?;
    }
    Ok(build(path, records))
}

/// The most servers (`n1..n128`) and clients (`c1..c256`) a trace may name:
/// as many as a scenario may have (sim's scenario parser refuses more).
const MAX_SERVERS: usize = 128;
const MAX_CLIENTS: usize = 256;

/// The node names a record holds (none, one or two).
fn names_in(e: &TraceEvent) -> [Option<&str>; 2] {
    match e {
        TraceEvent::Send { from, to, .. }
        | TraceEvent::Deliver { from, to, .. }
        | TraceEvent::Drop { from, to, .. }
        | TraceEvent::Hold { from, to, .. } => [Some(from), Some(to)],
        TraceEvent::Timer { node, .. }
        | TraceEvent::Invoke { node, .. }
        | TraceEvent::Complete { node, .. }
        | TraceEvent::Role { node, .. }
        | TraceEvent::Note { node, .. } => [Some(node), None],
        TraceEvent::Fault { .. } | TraceEvent::Violation { .. } | TraceEvent::Trigger { .. } => {
            [None, None]
        }
    }
}

/// A server `nK` or client `cK`'s number `K`, for a name of that form.
fn numbered(name: &str) -> Option<(u8, usize)> {
    let (&first, digits) = name.as_bytes().split_first()?;
    if !matches!(first, b'n' | b'c') || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    // All digits: `None` only if too large for a usize, which is too many.
    Some((first, name[1..].parse().unwrap_or(usize::MAX)))
}

/// Refuses a record whose node number or message or operation id is too
/// large to be a real run's: the UI sizes its tables by them (a node
/// `n1000000` would be a million-by-a-million link table). A run numbers
/// its messages 1, 2, ... and its operations 0, 1, ... as it sends and
/// invokes them, each with a record, so a trace of N records has ids up
/// to N.
fn check_sizes(e: &TraceEvent, records: usize) -> Result<(), String> {
    for name in names_in(e).into_iter().flatten() {
        match numbered(name) {
            Some((b'n', k)) if k > MAX_SERVERS => {
                return Err(format!(
                    "node `{name}`: a trace names servers n1 to n{MAX_SERVERS} at most (as many as a scenario may have)"
                ))
            }
            Some((b'c', k)) if k > MAX_CLIENTS => {
                return Err(format!(
                    "node `{name}`: a trace names clients c1 to c{MAX_CLIENTS} at most (as many as a scenario may have)"
                ))
            }
            _ => {}
        }
    }
    let (what, id) = match e {
        TraceEvent::Send { id, .. }
        | TraceEvent::Deliver { id, .. }
        | TraceEvent::Drop { id, .. }
        | TraceEvent::Hold { id, .. } => ("message `id`", *id),
        TraceEvent::Invoke { op, .. } | TraceEvent::Complete { op, .. } => ("operation `op`", *op),
        _ => return Ok(()),
    };
    if id > records as u64 {
        return Err(format!(
            "{what} {id} is larger than the trace's {records} records: a run numbers its messages from 1 and its operations from 0, each with a record, so a trace of {records} records has ids up to {records}"
        ));
    }
    Ok(())
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
