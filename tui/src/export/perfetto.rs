//! Chrome's Trace Event Format (the JSON object form), which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open. The format is Google's
//! "Trace Event Format" document; how Perfetto reads it (flow binding, `bp`,
//! sort indexes) follows its JSON importer. See docs/export.md for what a
//! user sees.
//!
//! The picture (processes and tracks in this order: chrome://tracing sorts
//! them by the `process_sort_index` / `thread_sort_index` metadata, which
//! Perfetto's JSON importer does not read; Perfetto orders by pid and tid,
//! so pids and tids are chosen in the same order, and both viewers agree):
//! - process "run": a `faults` track (every fault and
//!   trigger, an instant), a `partitions` track (a slice per partition, from
//!   the partition to the next partition or heal) and an `invariants` track
//!   (every violation, an instant named `VIOLATION ...`);
//! - process "servers": a track per server, `n1..nN`;
//! - process "clients": per client a track of its messages (`c1`) and one of
//!   its operations (`c1 ops`), each operation a slice from invoke to
//!   complete with its outcome and value;
//! - on a node's track, everything the node did at one virtual instant (a
//!   delivery, the timer that fired, the messages it sent) is one slice
//!   (`step`), named by its first event and listing them all in its args;
//!   virtual time has no width, so the slice is drawn 100 us wide, or half
//!   the gap to the node's next step when that is shorter (slices of a
//!   track never overlap);
//! - every message is a flow (an arrow) from the sender's step to the
//!   receiver's: flow start `s` bound to the sender's slice, a step `t` on
//!   the receiver's slice where it was held (clogged link, paused node),
//!   and finish `f` with binding point `e` on the receiver's slice where it
//!   was delivered, or on a slice named `✗ ... dropped (reason)` where it
//!   was lost. A message still in flight when the export ends (the run's
//!   end, or the end of `--export-window`) finishes on a
//!   slice saying so;
//! - role changes and protocol notes are instants on the node's track,
//!   written before the step's slice (see [`Perfetto::flush`]).
//!
//! Events are written as the run goes. A node's slice is written at the
//! node's next step (its width needs that step's time), followed by the
//! flow events bound to it. Perfetto binds a flow event to the slice open on
//! its track when it reads it, so at one instant the slice must come first
//! in the file, and a flow's start before its step or finish: a flow event
//! whose start is not written yet waits for it (memory: the messages in
//! flight).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use sim::time::Nanos;
use sim::trace::{TraceEvent, TraceRecord, TraceSink};

use super::{micros, node_kind, NodeKind};

/// The width of a step's slice when the node's next step is far away.
pub const STEP_WIDTH_NS: Nanos = 100_000;

const PID_RUN: u32 = 1;
const PID_SERVERS: u32 = 2;
const PID_CLIENTS: u32 = 3;
const PID_OTHER: u32 = 4;
const TID_FAULTS: u32 = 1;
const TID_PARTITIONS: u32 = 2;
const TID_INVARIANTS: u32 = 3;
/// How many nodes of "other nodes" get a track each.
const OTHERS: u32 = 500_000;

/// One event as the Trace Event Format writes it; fields a phase does not
/// use are left out.
#[derive(Serialize)]
struct Event<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cat: &'a str,
    ph: char,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    pid: u32,
    tid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cname: Option<&'a str>,
    #[serde(skip_serializing_if = "Value::is_null")]
    args: Value,
}

impl<'a> Event<'a> {
    fn new(ph: char, name: &'a str, (pid, tid): (u32, u32)) -> Self {
        Event {
            name,
            cat: "",
            ph,
            ts: None,
            dur: None,
            pid,
            tid,
            id: None,
            bp: None,
            s: None,
            cname: None,
            args: Value::Null,
        }
    }

    fn at(mut self, t: Nanos) -> Self {
        self.ts = Some(micros(t));
        self
    }

    fn line(&self) -> String {
        serde_json::to_string(self).expect("an event serializes")
    }
}

/// What a node did at one instant: one slice, and the events bound to it.
struct Step {
    t: Nanos,
    /// (short label, detail) of each event, in order.
    labels: Vec<(String, String)>,
    after: Vec<After>,
}

/// An event written after its step's slice.
enum After {
    /// An instant on the node's track.
    Line(String),
    /// A message's flow start.
    Start(u64, String),
    /// A message's flow step or finish (`finish` is true for `f`).
    Next(u64, String, bool),
}

/// A message whose flow is not closed in the file yet.
struct Flow {
    msg: &'static str,
    from: Arc<str>,
    to: Arc<str>,
    /// Its delivery or drop has been recorded.
    ended: bool,
    /// Its `s` event is in the file.
    started: bool,
    /// Its `t`/`f` events waiting for the `s`.
    waiting: Vec<(String, bool)>,
}

/// A client operation between invoke and complete.
struct Op {
    t: Nanos,
    lane: usize,
    description: String,
}

/// Writes a run as Trace Event Format JSON as it goes (see the module doc).
pub struct Perfetto<W: Write + Send> {
    out: W,
    error: Option<io::Error>,
    written: u64,
    title: String,
    named_pids: BTreeSet<u32>,
    named_tids: BTreeSet<u32>,
    others: BTreeMap<Arc<str>, u32>,
    steps: BTreeMap<Arc<str>, Step>,
    flows: BTreeMap<u64, Flow>,
    ops: BTreeMap<(Arc<str>, u64), Op>,
    /// Per client, which operation lanes are in use.
    lanes: BTreeMap<Arc<str>, Vec<bool>>,
    partition: Option<(Nanos, String)>,
    last_t: Nanos,
    /// The file is closed: `finish` wrote its end.
    closed: bool,
}

/// The end of the file: the `traceEvents` array and the object closed.
const END: &[u8] = b"\n],\n\"displayTimeUnit\":\"ms\"}\n";

/// A run stopped by a panic drops its sinks as it unwinds: the file gets
/// its end then, so that it stays one JSON object the viewers open, holding
/// every event written before the panic (the steps and flows still open
/// are left out). A run killed outright (Ctrl-C, SIGKILL) runs no code, and
/// leaves a file without its end (docs/export.md).
impl<W: Write + Send> Drop for Perfetto<W> {
    fn drop(&mut self) {
        if !self.closed {
            self.closed = true;
            self.raw(END);
            if self.error.is_none() {
                let _ = self.out.flush();
            }
        }
    }
}

impl<W: Write + Send> Perfetto<W> {
    /// `title` names the run ("raft/leader-minority seed 1") in the name of
    /// the `run` process.
    pub fn new(out: W, title: &str) -> Self {
        let mut p = Perfetto {
            out,
            error: None,
            written: 0,
            title: title.to_string(),
            named_pids: BTreeSet::new(),
            named_tids: BTreeSet::new(),
            others: BTreeMap::new(),
            steps: BTreeMap::new(),
            flows: BTreeMap::new(),
            ops: BTreeMap::new(),
            lanes: BTreeMap::new(),
            partition: None,
            last_t: 0,
            closed: false,
        };
        p.raw(b"{\"traceEvents\":[\n");
        p
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn write(&mut self, line: &str) {
        if self.written > 0 {
            self.raw(b",\n");
        }
        self.raw(line.as_bytes());
        self.written += 1;
    }

    fn metadata(&mut self, name: &str, (pid, tid): (u32, u32), args: Value) {
        let mut e = Event::new('M', name, (pid, tid));
        e.args = args;
        let line = e.line();
        self.write(&line);
    }

    /// Names the track (and its process) the first time it is used.
    fn track(&mut self, pid: u32, tid: u32, name: &str, sort: u32) -> (u32, u32) {
        if self.named_pids.insert(pid) {
            let (process, order) = match pid {
                PID_RUN => (format!("run: {}", self.title), 0),
                PID_SERVERS => ("servers".to_string(), 1),
                PID_CLIENTS => ("clients".to_string(), 2),
                _ => ("other nodes".to_string(), 3),
            };
            self.metadata("process_name", (pid, 0), json!({ "name": process }));
            self.metadata(
                "process_sort_index",
                (pid, 0),
                json!({ "sort_index": order }),
            );
        }
        if self.named_tids.insert(tid) {
            self.metadata("thread_name", (pid, tid), json!({ "name": name }));
            self.metadata(
                "thread_sort_index",
                (pid, tid),
                json!({ "sort_index": sort }),
            );
        }
        (pid, tid)
    }

    /// A node's own track: servers `n1..`, clients `c1..` (their messages),
    /// anything else in "other nodes". Thread ids are unique across
    /// processes, as an operating system's are, in disjoint ranges
    /// (`node_kind` takes numbers up to `MAX_NODE_NUMBER` only):
    /// servers 10_000 + n, other nodes 500_000 + k, clients 1_000_000 +
    /// 100 c (+ 1 + lane for their operations), the operations of other
    /// nodes 200_000_000 + 100 k + lane; each track's sort index is its tid.
    fn node_track(&mut self, node: &Arc<str>) -> (u32, u32) {
        match node_kind(node) {
            NodeKind::Server(n) => self.track(PID_SERVERS, 10_000 + n, node, 10_000 + n),
            NodeKind::Client(c) => {
                let tid = 1_000_000 + c * 100;
                self.track(PID_CLIENTS, tid, node, tid)
            }
            NodeKind::Other => {
                let k = self.other(node);
                self.track(PID_OTHER, 500_000 + k, node, 500_000 + k)
            }
        }
    }

    /// The number of a node of "other nodes", in order of appearance (the
    /// last number shared by all past it, a trace no viewer could show).
    fn other(&mut self, node: &Arc<str>) -> u32 {
        let next = (self.others.len() as u32).min(OTHERS - 1);
        *self.others.entry(node.clone()).or_insert(next)
    }

    /// Lane `lane` of a client's operations (`c1 ops`, `c1 ops 2`, ...).
    fn ops_track(&mut self, client: &Arc<str>, lane: usize) -> (u32, u32) {
        let lane = lane.min(98) as u32;
        let name = match lane {
            0 => format!("{client} ops"),
            k => format!("{client} ops {}", k + 1),
        };
        match node_kind(client) {
            NodeKind::Client(c) => {
                let tid = 1_000_000 + c * 100 + 1 + lane;
                self.track(PID_CLIENTS, tid, &name, tid)
            }
            _ => {
                self.node_track(client);
                let tid = 200_000_000 + self.other(client) * 100 + lane;
                self.track(PID_OTHER, tid, &name, tid)
            }
        }
    }

    fn run_track(&mut self, tid: u32) -> (u32, u32) {
        let name = match tid {
            TID_FAULTS => "faults",
            TID_PARTITIONS => "partitions",
            _ => "invariants",
        };
        self.track(PID_RUN, tid, name, tid)
    }

    /// The node's step at `t`, after writing its step before `t`.
    fn step(&mut self, node: &Arc<str>, t: Nanos) -> &mut Step {
        if self.steps.get(node).is_some_and(|s| s.t != t) {
            let old = self.steps.remove(node).expect("checked");
            self.flush(node, old, Some(t));
        }
        self.steps.entry(node.clone()).or_insert_with(|| Step {
            t,
            labels: Vec::new(),
            after: Vec::new(),
        })
    }

    fn label(&mut self, node: &Arc<str>, t: Nanos, short: String, detail: String) -> &mut Step {
        let step = self.step(node, t);
        step.labels.push((short, detail));
        step
    }

    /// Writes a step: its instants (role changes, notes), its slice, then
    /// the flow events bound to it. Perfetto takes an instant on a track for
    /// a slice of no width on top of the track's stack, which only a slice
    /// starting at or after its end takes off: written after the step's
    /// slice, it would be the slice the step's flow events bind to.
    fn flush(&mut self, node: &Arc<str>, step: Step, next: Option<Nanos>) {
        let track = self.node_track(node);
        let (instants, after): (Vec<After>, Vec<After>) = step
            .after
            .into_iter()
            .partition(|a| matches!(a, After::Line(_)));
        for instant in instants {
            if let After::Line(line) = instant {
                self.write(&line);
            }
        }
        if let Some((first, _)) = step.labels.first() {
            let width = match next {
                Some(n) => (n.saturating_sub(step.t) / 2).clamp(1, STEP_WIDTH_NS),
                None => STEP_WIDTH_NS,
            };
            let name = match step.labels.len() {
                1 => first.clone(),
                n => format!("{first} +{}", n - 1),
            };
            let events: Vec<String> = step
                .labels
                .iter()
                .map(|(short, detail)| {
                    if detail.is_empty() {
                        short.clone()
                    } else {
                        format!("{short}: {detail}")
                    }
                })
                .collect();
            let mut e = Event::new('X', &name, track).at(step.t);
            e.cat = "step";
            e.dur = Some(micros(width));
            e.args = json!({ "events": events, "t_ns": step.t });
            let line = e.line();
            self.write(&line);
        }
        for after in after {
            match after {
                After::Line(line) => self.write(&line),
                After::Start(id, line) => {
                    self.write(&line);
                    let Some(flow) = self.flows.get_mut(&id) else {
                        continue;
                    };
                    flow.started = true;
                    let waiting = std::mem::take(&mut flow.waiting);
                    let mut closed = false;
                    for (line, finish) in waiting {
                        self.write(&line);
                        closed |= finish;
                    }
                    if closed {
                        self.flows.remove(&id);
                    }
                }
                After::Next(id, line, finish) => match self.flows.get_mut(&id) {
                    Some(flow) if !flow.started => flow.waiting.push((line, finish)),
                    _ => {
                        self.write(&line);
                        if finish {
                            self.flows.remove(&id);
                        }
                    }
                },
            }
        }
    }

    /// A flow event of message `id` on `node`'s track at `t`.
    fn flow_line(&mut self, ph: char, id: u64, msg: &str, node: &Arc<str>, t: Nanos) -> String {
        let track = self.node_track(node);
        let mut e = Event::new(ph, msg, track).at(t);
        e.cat = "msg";
        e.id = Some(id);
        if ph != 's' {
            e.bp = Some("e");
        }
        e.line()
    }

    /// Message `id` arrived at `to` (delivered, dropped or held) at `t`:
    /// its flow's step or finish, bound to `to`'s step.
    fn arrive(
        &mut self,
        id: u64,
        msg: &'static str,
        to: &Arc<str>,
        t: Nanos,
        short: String,
        finish: bool,
    ) {
        let ph = if finish { 'f' } else { 't' };
        // A message the trace never saw sent (a trace cut at its start) has
        // no flow: its arrival is a slice alone.
        // A second delivery of one message (a duplicating network) is a
        // slice alone too: a flow has exactly one finish.
        let known = self.flows.get(&id).is_some_and(|f| !f.ended);
        let line = known.then(|| self.flow_line(ph, id, msg, to, t));
        if finish {
            if let Some(flow) = self.flows.get_mut(&id) {
                flow.ended = true;
            }
        }
        let step = self.label(to, t, short, format!("#{id}"));
        if let Some(line) = line {
            step.after.push(After::Next(id, line, finish));
        }
    }

    fn instant(
        &mut self,
        track: (u32, u32),
        t: Nanos,
        name: &str,
        cat: &str,
        args: Value,
    ) -> String {
        let mut e = Event::new('i', name, track).at(t);
        e.cat = cat;
        e.s = Some("t");
        e.args = args;
        if cat == "violation" {
            e.cname = Some("terrible");
        }
        e.line()
    }

    fn close_partition(&mut self, t: Nanos) {
        if let Some((start, description)) = self.partition.take() {
            let track = self.run_track(TID_PARTITIONS);
            let name = format!("partition {description}");
            let mut e = Event::new('X', &name, track).at(start);
            e.cat = "fault";
            e.dur = Some(micros(t.saturating_sub(start)));
            e.cname = Some("bad");
            let line = e.line();
            self.write(&line);
        }
    }

    fn complete_op(&mut self, node: &Arc<str>, op: Op, t: Nanos, outcome: &str, args: Value) {
        let track = self.ops_track(node, op.lane);
        if let Some(lanes) = self.lanes.get_mut(node) {
            lanes[op.lane] = false;
        }
        let name = format!("{} ({outcome})", op.description);
        let mut e = Event::new('X', &name, track).at(op.t);
        e.cat = "op";
        e.dur = Some(micros(t.saturating_sub(op.t)));
        e.cname = Some(match outcome {
            "ok" => "good",
            "fail" => "bad",
            _ => "yellow",
        });
        e.args = args;
        let line = e.line();
        self.write(&line);
    }
}

/// A client's timer as its retry logic names it (docs/trace.md).
fn timer_label(timer: u64) -> String {
    match timer {
        u64::MAX => "timer: attempt timed out".to_string(),
        t if t == u64::MAX - 1 => "timer: backoff over".to_string(),
        t => format!("timer {t}"),
    }
}

impl<W: Write + Send> TraceSink for Perfetto<W> {
    fn record(&mut self, record: TraceRecord) {
        if self.error.is_some() {
            return;
        }
        let t = record.t;
        self.last_t = self.last_t.max(t);
        match record.event {
            TraceEvent::Send {
                from,
                to,
                id,
                msg,
                detail,
            } => {
                let line = self.flow_line('s', id, msg, &from, t);
                self.flows.insert(
                    id,
                    Flow {
                        msg,
                        from: from.clone(),
                        to: to.clone(),
                        ended: false,
                        started: false,
                        waiting: Vec::new(),
                    },
                );
                let step = self.label(
                    &from,
                    t,
                    format!("→ {msg} to {to}"),
                    format!("#{id} {detail}"),
                );
                step.after.push(After::Start(id, line));
            }
            TraceEvent::Deliver { from, to, id, msg } => {
                self.arrive(id, msg, &to, t, format!("← {msg} from {from}"), true);
            }
            TraceEvent::Drop {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let short = format!("✗ {msg} from {from} dropped ({reason})");
                self.arrive(id, msg, &to, t, short, true);
            }
            TraceEvent::Hold {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let short = format!("⏸ {msg} from {from} held ({reason})");
                self.arrive(id, msg, &to, t, short, false);
            }
            TraceEvent::Timer { node, timer } => {
                self.label(&node, t, timer_label(timer), String::new());
            }
            TraceEvent::Invoke {
                node,
                op,
                description,
            } => {
                self.label(
                    &node,
                    t,
                    format!("invoke {description}"),
                    format!("op {op}"),
                );
                let lanes = self.lanes.entry(node.clone()).or_default();
                let lane = match lanes.iter().position(|busy| !busy) {
                    Some(free) => free,
                    None => {
                        lanes.push(false);
                        lanes.len() - 1
                    }
                };
                lanes[lane] = true;
                self.ops.insert(
                    (node, op),
                    Op {
                        t,
                        lane,
                        description,
                    },
                );
            }
            TraceEvent::Complete {
                node,
                op,
                outcome,
                output,
                found_other,
            } => {
                let Some(open) = self.ops.remove(&(node.clone(), op)) else {
                    self.label(&node, t, format!("complete op {op} ({outcome})"), output);
                    return;
                };
                let shown = if output.is_empty() {
                    String::new()
                } else {
                    format!(" → {output}")
                };
                let short = format!("complete {}{shown} ({outcome})", open.description);
                self.label(&node, t, short, format!("op {op}"));
                let outcome_shown = if found_other {
                    format!("{outcome}, found another value")
                } else {
                    outcome.to_string()
                };
                let args = json!({
                    "op": op,
                    "operation": open.description,
                    "outcome": outcome,
                    "output": output,
                    "found_other": found_other,
                    "invoke_ns": open.t,
                    "complete_ns": t,
                });
                let open = Op {
                    description: format!("{}{shown}", open.description),
                    ..open
                };
                self.complete_op(&node, open, t, &outcome_shown, args);
            }
            TraceEvent::Role { node, from, to } => {
                let track = self.node_track(&node);
                let name = format!("{from} → {to}");
                let line = self.instant(track, t, &name, "role", json!({ "from": from, "to": to }));
                self.step(&node, t).after.push(After::Line(line));
            }
            TraceEvent::Note { node, note } => {
                let track = self.node_track(&node);
                let line = self.instant(track, t, &format!("note {note}"), "note", Value::Null);
                self.step(&node, t).after.push(After::Line(line));
            }
            TraceEvent::Fault {
                action,
                description,
                line,
            } => {
                let track = self.run_track(TID_FAULTS);
                let name = format!("{action} {description}");
                let args =
                    json!({ "action": action, "description": description, "scenario_line": line });
                let event = self.instant(track, t, &name, "fault", args);
                self.write(&event);
                match action {
                    "partition" => {
                        self.close_partition(t);
                        self.partition = Some((t, description));
                    }
                    "heal" => self.close_partition(t),
                    _ => {}
                }
            }
            TraceEvent::Trigger {
                line,
                when,
                event,
                matched,
                delay,
            } => {
                let track = self.run_track(TID_FAULTS);
                let name = format!("trigger (line {line}): {event}");
                let args = json!({ "when": when, "matched": matched, "delay_ns": delay });
                let instant = self.instant(track, t, &name, "trigger", args);
                self.write(&instant);
            }
            TraceEvent::Violation { invariant, detail } => {
                let track = self.run_track(TID_INVARIANTS);
                let name = format!("VIOLATION {invariant}");
                let line = self.instant(track, t, &name, "violation", json!({ "detail": detail }));
                self.write(&line);
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        let end = self.last_t;
        // Messages still in flight end on their receiver, at the end.
        let open: Vec<(u64, &'static str, Arc<str>, Arc<str>)> = self
            .flows
            .iter()
            .filter(|(_, f)| !f.ended)
            .map(|(id, f)| (*id, f.msg, f.from.clone(), f.to.clone()))
            .collect();
        for (id, msg, from, to) in open {
            let short = format!("{msg} from {from} still in flight when the export ends");
            self.arrive(id, msg, &to, end, short, true);
        }
        let ops: Vec<((Arc<str>, u64), Op)> = std::mem::take(&mut self.ops).into_iter().collect();
        for ((node, op), open) in ops {
            let args = json!({
                "op": op,
                "operation": open.description,
                "outcome": "open when the export ended",
                "invoke_ns": open.t,
            });
            self.complete_op(&node, open, end, "open at the end", args);
        }
        self.close_partition(end);
        for (node, step) in std::mem::take(&mut self.steps) {
            self.flush(&node, step, None);
        }
        self.raw(END);
        self.closed = true;
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::Shared;

    fn send(t: Nanos, id: u64) -> TraceRecord {
        TraceRecord {
            t,
            event: TraceEvent::Send {
                from: "n1".into(),
                to: "n2".into(),
                id,
                msg: "Ping",
                detail: "Ping".into(),
            },
        }
    }

    fn events(out: &Shared) -> Vec<Value> {
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let json: Value = serde_json::from_str(&text).expect("one JSON object");
        json["traceEvents"].as_array().unwrap().clone()
    }

    #[test]
    fn a_run_that_panics_leaves_a_file_the_viewers_open_with_what_was_written() {
        let out = Shared::default();
        let sink = Perfetto::new(out.clone(), "x");
        let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let mut sink = sink;
            for i in 0..5 {
                sink.record(send(i * 1_000_000, i));
            }
            panic!("a node panicked");
        }));
        assert!(stopped.is_err());
        let written = events(&out);
        // The first four steps were written (each at the next one), with
        // their names; the fifth was still open.
        assert_eq!(written.iter().filter(|e| e["ph"] == "X").count(), 4);
        assert!(written.iter().any(|e| e["ph"] == "M"));

        // Finished, it is closed once.
        let out = Shared::default();
        let mut sink = Perfetto::new(out.clone(), "x");
        sink.record(send(0, 1));
        sink.finish().unwrap();
        drop(sink);
        assert_eq!(events(&out).iter().filter(|e| e["ph"] == "X").count(), 2);
    }
}
