//! ShiViz's log format, for its Lamport (space-time) diagram. Followed:
//! ShiViz's own parser (DistributedClocks/shiviz, js/model/parser.js,
//! vectorTimestamp.js, modelGraph.js) and the file layout ShiViz's "upload
//! a file" reads: the first line is the log-parsing regular expression, the
//! second the multiple-executions delimiter (empty: one execution), then the
//! log. Per event two lines, the host line first (GoVector writes the event
//! line first, with a regex to match; the regex decides):
//!
//! ```text
//! n5 {"n5":3,"n1":2}
//! [0.159796009s] send AppendEntries #5 to n1: AppendEntries { .. }
//! ```
//!
//! The regex names the groups ShiViz requires (`host`, `clock`, `event`).
//! The clock is a JSON object from host to count, with the rules ShiViz
//! checks: each host's own entry starts at 1 and grows by exactly 1 per
//! event of that host; every host in a clock has events of its own, at
//! least as many as its entry. A send ticks the sender; a delivery merges
//! the clock the message was sent with (entry-wise maximum), then ticks the
//! receiver, which is what draws the arrow, when the sender's entry goes
//! up (ShiViz links an event only to hosts whose entry rose; an arrival
//! without an arrow says so in its text, see [`Shiviz::arrival`]).
//!
//! Hosts are the nodes, plus three of the run's own: `network` (a dropped
//! or held message is an arrow into it, so that lost messages show as
//! such), `faults` (faults and triggers) and `invariants` (violations).
//! Memory: the clock of each message in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use sim::time::Nanos;
use sim::trace::{TraceEvent, TraceRecord, TraceSink};

use super::seconds;

/// The log-parsing regular expression, the file's first line: valid in
/// JavaScript (which ShiViz runs) and in Rust's `regex` (which the tests
/// parse the file with).
pub const SHIVIZ_REGEX: &str = r"(?<host>\S+) (?<clock>\{.*\})\n(?<event>.*)";

const NETWORK: &str = "network";
const FAULTS: &str = "faults";
const INVARIANTS: &str = "invariants";

/// Said after an arrival ShiViz draws no arrow into (see
/// [`Shiviz::arrival`]).
pub const ALREADY_KNOWN: &str = "(already known: no arrow)";
/// Said after an arrival whose send is not in the log: a second delivery of
/// one message (a duplicating network), or a send before `--export-window`.
pub const NOT_SENT: &str = "(delivered before, or sent before the log begins: no arrow)";

/// Writes a run as a ShiViz log as it goes (see the module doc).
pub struct Shiviz<W: Write + Send> {
    out: W,
    error: Option<io::Error>,
    hosts: Vec<Arc<str>>,
    /// (one of the run's own hosts, name) to host.
    index: BTreeMap<(bool, Arc<str>), usize>,
    /// The hosts' words, each once.
    taken: BTreeSet<Arc<str>>,
    /// Each host's vector clock, indexed like `hosts`.
    clocks: Vec<Vec<u64>>,
    /// The sender's clock of each message in flight.
    sent: BTreeMap<u64, Vec<u64>>,
}

impl<W: Write + Send> Shiviz<W> {
    /// ShiViz has no place for a title: `_title` is taken for the same
    /// signature as the other formats.
    pub fn new(out: W, _title: &str) -> Self {
        let mut s = Shiviz {
            out,
            error: None,
            hosts: Vec::new(),
            index: BTreeMap::new(),
            taken: BTreeSet::new(),
            clocks: Vec::new(),
            sent: BTreeMap::new(),
        };
        let header = format!("{SHIVIZ_REGEX}\n\n");
        s.raw(header.as_bytes());
        s
    }

    /// The writer, once the run is over (for a test that wrote to memory).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    /// A node's host. The regex takes a host as one word, so whitespace in
    /// a name (a converted trace from another tool) becomes `_`; a name
    /// that is then another host's, or one of the run's own hosts
    /// (`network`, `faults`, `invariants`), gets `_2`, `_3`, ... so that
    /// every host is one word of its own.
    fn node(&mut self, name: &str) -> usize {
        self.host(false, name)
    }

    /// One of the run's own hosts, named exactly.
    fn own(&mut self, name: &'static str) -> usize {
        self.host(true, name)
    }

    fn host(&mut self, own: bool, name: &str) -> usize {
        if let Some(&h) = self.index.get(&(own, Arc::from(name))) {
            return h;
        }
        let h = self.hosts.len();
        let word = if own {
            name.to_string()
        } else {
            let mut word: String = name
                .chars()
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .collect();
            if word.is_empty() {
                word.push('_');
            }
            let base = word.clone();
            let mut k = 1;
            while [NETWORK, FAULTS, INVARIANTS].contains(&word.as_str())
                || self.taken.contains(word.as_str())
            {
                k += 1;
                word = format!("{base}_{k}");
            }
            word
        };
        self.index.insert((own, Arc::from(name)), h);
        let word: Arc<str> = Arc::from(word.as_str());
        self.taken.insert(word.clone());
        self.hosts.push(word);
        self.clocks.push(Vec::new());
        h
    }

    /// One event of `host`: merges `merge` (the clock a message was sent
    /// with) if given, ticks the host's own entry, writes the two lines, and
    /// returns the clock after it.
    fn event(&mut self, h: usize, t: Nanos, text: &str, merge: Option<&[u64]>) -> Vec<u64> {
        let n = self.hosts.len();
        let clock = &mut self.clocks[h];
        clock.resize(n, 0);
        if let Some(other) = merge {
            for (mine, theirs) in clock.iter_mut().zip(other) {
                *mine = (*mine).max(*theirs);
            }
        }
        self.write(h, t, text)
    }

    /// The arrival of a message sent by `from` with the clock `sent` (none
    /// when its send is not in the log) at `host`. ShiViz draws an arrow
    /// into an event only from a host whose entry went up, so an arrival
    /// whose sender's entry `host` already knew (a message overtaken by a
    /// later one of the same sender, or news of the sender that came by
    /// another way) has no arrow: its text says so.
    fn arrival(&mut self, h: usize, from: &str, t: Nanos, text: &str, sent: Option<&[u64]>) {
        let f = self.node(from);
        let known = self.clocks[h].get(f).copied().unwrap_or(0);
        let text = match sent.map(|c| c.get(f).copied().unwrap_or(0)) {
            Some(at_send) if at_send > known => text.to_string(),
            Some(_) => format!("{text} {ALREADY_KNOWN}"),
            None => format!("{text} {NOT_SENT}"),
        };
        self.event(h, t, &text, sent);
    }

    /// Writes host `h`'s event with its clock ticked; returns the clock.
    fn write(&mut self, h: usize, t: Nanos, text: &str) -> Vec<u64> {
        let clock = &mut self.clocks[h];
        clock[h] += 1;
        let clock = clock.clone();
        let mut line = String::with_capacity(64 + text.len());
        line.push_str(&self.hosts[h]);
        line.push_str(" {");
        let mut first = true;
        for (i, &count) in clock.iter().enumerate() {
            if count == 0 {
                continue;
            }
            if !first {
                line.push(',');
            }
            first = false;
            line.push_str(&serde_json::to_string(&*self.hosts[i]).expect("a name serializes"));
            line.push(':');
            line.push_str(&count.to_string());
        }
        line.push_str("}\n[");
        line.push_str(&seconds(t));
        line.push_str("] ");
        // One event is one line: a newline in a message's text would end it.
        line.extend(
            text.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
        line.push('\n');
        self.raw(line.as_bytes());
        clock
    }
}

impl<W: Write + Send> TraceSink for Shiviz<W> {
    fn record(&mut self, record: TraceRecord) {
        if self.error.is_some() {
            return;
        }
        let t = record.t;
        match record.event {
            TraceEvent::Send {
                from,
                to,
                id,
                msg,
                detail,
            } => {
                let text = format!("send {msg} #{id} to {to}: {detail}");
                let h = self.node(&from);
                let clock = self.event(h, t, &text, None);
                self.sent.insert(id, clock);
            }
            TraceEvent::Deliver { from, to, id, msg } => {
                let sent = self.sent.remove(&id);
                let text = format!("receive {msg} #{id} from {from}");
                let h = self.node(&to);
                self.arrival(h, &from, t, &text, sent.as_deref());
            }
            TraceEvent::Drop {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let sent = self.sent.remove(&id);
                let text = format!("drop {msg} #{id} {from} → {to} ({reason})");
                let h = self.own(NETWORK);
                self.arrival(h, &from, t, &text, sent.as_deref());
            }
            TraceEvent::Hold {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let sent = self.sent.get(&id).cloned();
                let text = format!("hold {msg} #{id} {from} → {to} ({reason})");
                let h = self.own(NETWORK);
                self.arrival(h, &from, t, &text, sent.as_deref());
            }
            TraceEvent::Timer { node, timer } => {
                let text = match timer {
                    u64::MAX => "timer: attempt timed out".to_string(),
                    x if x == u64::MAX - 1 => "timer: backoff over".to_string(),
                    x => format!("timer {x}"),
                };
                let h = self.node(&node);
                self.event(h, t, &text, None);
            }
            TraceEvent::Invoke {
                node,
                op,
                description,
            } => {
                let h = self.node(&node);
                self.event(h, t, &format!("invoke op {op}: {description}"), None);
            }
            TraceEvent::Complete {
                node,
                op,
                outcome,
                output,
                found_other,
            } => {
                let mut text = format!("complete op {op}: {outcome}");
                if !output.is_empty() {
                    text.push_str(&format!(" → {output}"));
                }
                if found_other {
                    text.push_str(", found another value");
                }
                let h = self.node(&node);
                self.event(h, t, &text, None);
            }
            TraceEvent::Role { node, from, to } => {
                let h = self.node(&node);
                self.event(h, t, &format!("role {from} → {to}"), None);
            }
            TraceEvent::Note { node, note } => {
                let h = self.node(&node);
                self.event(h, t, &format!("note {note}"), None);
            }
            TraceEvent::Fault {
                action,
                description,
                line,
            } => {
                let text = format!("{action} {description} (scenario line {line})");
                let h = self.own(FAULTS);
                self.event(h, t, &text, None);
            }
            TraceEvent::Trigger {
                line, when, event, ..
            } => {
                let text = format!("trigger (scenario line {line}) {when} fired by {event}");
                let h = self.own(FAULTS);
                self.event(h, t, &text, None);
            }
            TraceEvent::Violation { invariant, detail } => {
                let text = format!("VIOLATION {invariant}: {detail}");
                let h = self.own(INVARIANTS);
                self.event(h, t, &text, None);
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}
