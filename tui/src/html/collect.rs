//! What the HTML report draws, collected from the trace as the run goes.
//!
//! The collector is a [`TraceSink`] that keeps a bounded picture of the run:
//! at most [`MAX_MESSAGES`] messages and [`MAX_OPS`] operations, and at
//! most [`MAX_MARKS`] each of faults, role changes and violations (the first
//! ones in the window; the page says how many were left out), and the
//! figures over time in [`BUCKETS`] buckets whose width doubles when the run
//! outgrows them. Memory stays bounded whatever the run's length, and the
//! same records give the same picture, byte for byte.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sim::time::Nanos;
use sim::trace::{TraceEvent, TraceRecord, TraceSink};

/// Messages the diagram holds at most.
pub const MAX_MESSAGES: usize = 20_000;
/// Client operations the history timeline holds at most.
pub const MAX_OPS: usize = 20_000;
/// Faults, role changes, and invariant violations the page holds at most,
/// each.
pub const MAX_MARKS: usize = 5_000;
/// Buckets of the figures over time.
pub const BUCKETS: usize = 500;
/// A description or output longer than this is cut, with an ellipsis.
const MAX_TEXT: usize = 120;
/// The first bucket width: it doubles as the run grows.
const FIRST_WIDTH_NS: Nanos = 1_000_000;

/// The part of the run the page shows, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: Nanos,
    pub to: Option<Nanos>,
}

impl Window {
    pub const ALL: Window = Window { from: 0, to: None };

    /// `--html-window FROM..TO` (`4s..6s`, `4s..`, `..500ms`).
    pub fn parse(text: &str) -> Result<Window, String> {
        let usage = "write FROM..TO with durations of virtual time, e.g. 4s..6s, 4s.. or ..500ms";
        let (from, to) = text
            .split_once("..")
            .ok_or_else(|| format!("error: --html-window `{text}`: {usage}"))?;
        let bound = |s: &str| -> Result<Option<Nanos>, String> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            sim::time::parse_duration(s.trim())
                .map(Some)
                .map_err(|e| format!("error: --html-window `{text}`: {e}"))
        };
        let window = Window {
            from: bound(from)?.unwrap_or(0),
            to: bound(to)?,
        };
        if window.to.is_some_and(|to| to < window.from) {
            return Err(format!(
                "error: --html-window `{text}` ends before it starts: {usage}"
            ));
        }
        Ok(window)
    }

    fn holds(&self, t: Nanos) -> bool {
        t >= self.from && self.to.is_none_or(|to| t <= to)
    }
}

/// One message: `[sent, ended, from, to, kind, fate, id]`, `ended` the
/// delivery or drop time (`null` while in flight), `fate` 0 delivered,
/// 1 dropped, 2 never delivered by the end of the run.
pub type Message = (Nanos, Option<Nanos>, usize, usize, usize, u8, u64);

/// One client operation: `[client, invoked, completed, outcome, what,
/// output, id]`, `id` its index in the run's history.
pub type Operation = (usize, Nanos, Option<Nanos>, String, String, String, u64);

/// Counts and sums per bucket of `width_ns`, from the window's start.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Buckets {
    pub width_ns: Nanos,
    pub ok: Vec<u64>,
    pub failed: Vec<u64>,
    /// Sum of completed operations' latencies (ns) and their number.
    pub latency_sum_ns: Vec<u64>,
    pub latency_n: Vec<u64>,
    pub sent: Vec<u64>,
    pub dropped: Vec<u64>,
    /// The most messages in flight at once in the bucket (sent in the
    /// window, not yet delivered or dropped): the network's queue.
    pub in_flight_max: Vec<u64>,
}

impl Buckets {
    fn new() -> Buckets {
        Buckets {
            width_ns: FIRST_WIDTH_NS,
            ok: vec![0; BUCKETS],
            failed: vec![0; BUCKETS],
            latency_sum_ns: vec![0; BUCKETS],
            latency_n: vec![0; BUCKETS],
            sent: vec![0; BUCKETS],
            in_flight_max: vec![0; BUCKETS],
            dropped: vec![0; BUCKETS],
        }
    }

    fn columns(&mut self) -> [&mut Vec<u64>; 6] {
        [
            &mut self.ok,
            &mut self.failed,
            &mut self.latency_sum_ns,
            &mut self.latency_n,
            &mut self.sent,
            &mut self.dropped,
        ]
    }

    /// The bucket of `offset` (time since the window's start), doubling the
    /// width (merging neighbours) until it fits.
    fn at(&mut self, offset: Nanos) -> usize {
        while offset / self.width_ns >= BUCKETS as u64 {
            for column in self.columns() {
                for i in 0..BUCKETS / 2 {
                    column[i] = column[2 * i] + column[2 * i + 1];
                }
                column[BUCKETS / 2..].fill(0);
            }
            let most = &mut self.in_flight_max;
            for i in 0..BUCKETS / 2 {
                most[i] = most[2 * i].max(most[2 * i + 1]);
            }
            most[BUCKETS / 2..].fill(0);
            self.width_ns *= 2;
        }
        (offset / self.width_ns) as usize
    }
}

/// The collected picture.
#[derive(Debug, Default)]
pub struct Collected {
    pub window: Option<Window>,
    /// Node names in order of appearance (the page sorts them).
    pub nodes: Vec<String>,
    node_index: BTreeMap<String, usize>,
    pub kinds: Vec<String>,
    kind_index: BTreeMap<&'static str, usize>,
    pub messages: Vec<Message>,
    pub messages_total: u64,
    /// Kept messages in flight: id to index in `messages`.
    open_messages: BTreeMap<u64, usize>,
    /// Every message sent in the window and still in flight.
    in_flight: std::collections::BTreeSet<u64>,
    pub operations: Vec<Operation>,
    pub operations_total: u64,
    /// Operations in flight: id to (invocation time, index if kept).
    open_ops: BTreeMap<u64, (Nanos, Option<usize>)>,
    pub faults: Vec<(Nanos, String, String)>,
    pub faults_total: u64,
    pub roles: Vec<(Nanos, usize, String, String)>,
    pub roles_total: u64,
    pub violations: Vec<(Nanos, String, String)>,
    pub violations_total: u64,
    pub buckets: Buckets,
    /// The last time seen in the window.
    pub last_t: Nanos,
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl Collected {
    fn new(window: Window) -> Collected {
        Collected {
            window: Some(window),
            buckets: Buckets::new(),
            ..Collected::default()
        }
    }

    fn node(&mut self, name: &str) -> usize {
        if let Some(&i) = self.node_index.get(name) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(name.to_string());
        self.node_index.insert(name.to_string(), i);
        i
    }

    fn kind(&mut self, kind: &'static str) -> usize {
        let next = self.kinds.len();
        let i = *self.kind_index.entry(kind).or_insert(next);
        if i == next {
            self.kinds.push(kind.to_string());
        }
        i
    }

    fn end_message(&mut self, id: u64, t: Nanos, fate: u8) {
        self.in_flight.remove(&id);
        if let Some(i) = self.open_messages.remove(&id) {
            self.messages[i].1 = Some(t);
            self.messages[i].5 = fate;
        }
    }

    fn record(&mut self, r: &TraceRecord) {
        let window = self.window.unwrap_or(Window::ALL);
        let inside = window.holds(r.t);
        // A message or operation begun in the window is followed to its end,
        // even past the window.
        match &r.event {
            TraceEvent::Deliver { id, .. } => self.end_message(*id, r.t, 0),
            TraceEvent::Drop { id, .. } => self.end_message(*id, r.t, 1),
            _ => {}
        }
        if !inside {
            if let TraceEvent::Complete {
                op,
                outcome,
                output,
                ..
            } = &r.event
            {
                if let Some((_, Some(i))) = self.open_ops.remove(op) {
                    self.operations[i].2 = Some(r.t);
                    self.operations[i].3 = outcome.to_string();
                    self.operations[i].5 = cut(output);
                }
            }
            return;
        }
        self.last_t = self.last_t.max(r.t);
        let b = self.buckets.at(r.t - window.from);
        match &r.event {
            TraceEvent::Send {
                from, to, id, msg, ..
            } => {
                self.buckets.sent[b] += 1;
                self.messages_total += 1;
                self.in_flight.insert(*id);
                let (from, to) = (self.node(from), self.node(to));
                if self.messages.len() < MAX_MESSAGES {
                    let kind = self.kind(msg);
                    self.open_messages.insert(*id, self.messages.len());
                    self.messages.push((r.t, None, from, to, kind, 2, *id));
                }
            }
            TraceEvent::Drop { .. } => self.buckets.dropped[b] += 1,
            TraceEvent::Invoke {
                node,
                op,
                description,
            } => {
                self.operations_total += 1;
                let client = self.node(node);
                let kept = (self.operations.len() < MAX_OPS).then(|| {
                    self.operations.push((
                        client,
                        r.t,
                        None,
                        String::new(),
                        cut(description),
                        String::new(),
                        *op,
                    ));
                    self.operations.len() - 1
                });
                self.open_ops.insert(*op, (r.t, kept));
            }
            TraceEvent::Complete {
                op,
                outcome,
                output,
                ..
            } => {
                if *outcome == "ok" {
                    self.buckets.ok[b] += 1;
                } else {
                    self.buckets.failed[b] += 1;
                }
                if let Some((t0, kept)) = self.open_ops.remove(op) {
                    self.buckets.latency_sum_ns[b] += r.t.saturating_sub(t0);
                    self.buckets.latency_n[b] += 1;
                    if let Some(i) = kept {
                        self.operations[i].2 = Some(r.t);
                        self.operations[i].3 = outcome.to_string();
                        self.operations[i].5 = cut(output);
                    }
                }
            }
            TraceEvent::Fault {
                action,
                description,
                ..
            } => {
                self.faults_total += 1;
                if self.faults.len() < MAX_MARKS {
                    self.faults
                        .push((r.t, action.to_string(), cut(description)));
                }
            }
            TraceEvent::Role { node, from, to } => {
                let node = self.node(node);
                self.roles_total += 1;
                if self.roles.len() < MAX_MARKS {
                    self.roles
                        .push((r.t, node, from.to_string(), to.to_string()));
                }
            }
            TraceEvent::Violation { invariant, detail } => {
                self.violations_total += 1;
                if self.violations.len() < MAX_MARKS {
                    self.violations
                        .push((r.t, invariant.to_string(), cut(detail)));
                }
            }
            TraceEvent::Timer { node, .. } | TraceEvent::Note { node, .. } => {
                self.node(node);
            }
            _ => {}
        }
        let most = &mut self.buckets.in_flight_max[b];
        *most = (*most).max(self.in_flight.len() as u64);
    }
}

/// The sink the kernel feeds: it shares the picture with the command, which
/// reads it once the run is over.
pub struct Collector {
    shared: Arc<Mutex<Collected>>,
}

impl Collector {
    /// A collector and the handle to read its picture after the run.
    pub fn new(window: Window) -> (Collector, Arc<Mutex<Collected>>) {
        let shared = Arc::new(Mutex::new(Collected::new(window)));
        (
            Collector {
                shared: shared.clone(),
            },
            shared,
        )
    }
}

impl Collector {
    fn see(&self, record: &TraceRecord) {
        self.shared
            .lock()
            .expect("only the run holds the picture while it goes")
            .record(record);
    }
}

impl TraceSink for Collector {
    fn record(&mut self, record: TraceRecord) {
        self.see(&record);
    }
}

/// Hands every record to another sink (`--trace`, `--export`) and then to
/// the collector; the other sink's error is the one reported.
pub struct Tee {
    pub first: Box<dyn TraceSink>,
    pub collector: Collector,
}

impl TraceSink for Tee {
    fn record(&mut self, record: TraceRecord) {
        self.collector.see(&record);
        self.first.record(record);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.first.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_double_their_width_and_keep_every_count() {
        let mut b = Buckets::new();
        for t in 0..2000u64 {
            let i = b.at(t * FIRST_WIDTH_NS);
            b.sent[i] += 1;
        }
        assert_eq!(b.width_ns, 4 * FIRST_WIDTH_NS);
        assert_eq!(b.sent.iter().sum::<u64>(), 2000);
        assert_eq!(b.sent[0], 4);
    }

    fn send(t: Nanos, id: u64) -> TraceRecord {
        TraceRecord {
            t,
            event: TraceEvent::Send {
                from: "n1".into(),
                to: "n2".into(),
                id,
                msg: "Ping",
                detail: String::new(),
            },
        }
    }

    #[test]
    fn the_picture_keeps_the_first_messages_counts_them_all_and_follows_each_to_its_end() {
        let (mut sink, picture) = Collector::new(Window::ALL);
        let n = MAX_MESSAGES as u64 + 5;
        for id in 0..n {
            sink.record(send(id * 1000, id));
        }
        sink.record(TraceRecord {
            t: n * 1000,
            event: TraceEvent::Deliver {
                from: "n1".into(),
                to: "n2".into(),
                id: 0,
                msg: "Ping",
            },
        });
        sink.record(TraceRecord {
            t: n * 1000 + 1,
            event: TraceEvent::Drop {
                from: "n1".into(),
                to: "n2".into(),
                id: 1,
                msg: "Ping",
                reason: "partition",
            },
        });
        let p = picture.lock().unwrap();
        assert_eq!(p.messages.len(), MAX_MESSAGES);
        assert_eq!(p.messages_total, n);
        assert_eq!(p.messages[0].1, Some(n * 1000));
        assert_eq!(
            (p.messages[0].5, p.messages[1].5, p.messages[2].5),
            (0, 1, 2)
        );
        assert_eq!(p.buckets.sent.iter().sum::<u64>(), n);
        assert_eq!(p.buckets.dropped.iter().sum::<u64>(), 1);
        assert_eq!(p.in_flight.len() as u64, n - 2);
    }

    #[test]
    fn faults_roles_and_violations_keep_the_first_ones_and_count_them_all() {
        let (mut sink, picture) = Collector::new(Window::ALL);
        let n = MAX_MARKS as u64 + 3;
        for i in 0..n {
            for event in [
                TraceEvent::Fault {
                    action: "crash",
                    description: "n1".into(),
                    line: 1,
                },
                TraceEvent::Role {
                    node: "n1".into(),
                    from: "follower",
                    to: "leader",
                },
                TraceEvent::Violation {
                    invariant: "election-safety",
                    detail: "two leaders".into(),
                },
            ] {
                sink.record(TraceRecord { t: i, event });
            }
        }
        let p = picture.lock().unwrap();
        assert_eq!(
            (p.faults.len(), p.roles.len(), p.violations.len()),
            (MAX_MARKS, MAX_MARKS, MAX_MARKS)
        );
        assert_eq!(
            (p.faults_total, p.roles_total, p.violations_total),
            (n, n, n)
        );
        assert_eq!(p.faults[MAX_MARKS - 1].0, MAX_MARKS as u64 - 1);
    }

    #[test]
    fn a_window_keeps_what_begins_in_it_and_follows_it_past_its_end() {
        let (mut sink, picture) = Collector::new(Window {
            from: 10,
            to: Some(20),
        });
        sink.record(send(5, 1));
        sink.record(send(15, 2));
        sink.record(send(25, 3));
        sink.record(TraceRecord {
            t: 30,
            event: TraceEvent::Deliver {
                from: "n1".into(),
                to: "n2".into(),
                id: 2,
                msg: "Ping",
            },
        });
        let p = picture.lock().unwrap();
        assert_eq!(p.messages, vec![(15, Some(30), 0, 1, 0, 0, 2)]);
        assert_eq!(p.messages_total, 1);
    }

    #[test]
    fn a_window_is_from_to_with_either_end_open_and_bad_ones_say_the_flag() {
        let w = Window::parse("4s..6s").unwrap();
        assert_eq!((w.from, w.to), (4_000_000_000, Some(6_000_000_000)));
        assert_eq!(Window::parse("..1s").unwrap().from, 0);
        assert_eq!(Window::parse("2s..").unwrap().to, None);
        for bad in ["5s", "2s..1s", "x..1s"] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.starts_with("error: --html-window"), "{e}");
        }
    }
}
