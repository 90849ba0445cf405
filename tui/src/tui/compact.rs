//! The TUI's trace, kept small: one fixed-size entry per record instead of a
//! [`TraceRecord`] with its shared names and its own string.
//!
//! A recorded run of a million events is held whole so that the cursor can
//! go anywhere in it, backwards as fast as forwards. A [`TraceRecord`] costs
//! 88 bytes plus a heap string for a message's contents; here a record is 48
//! bytes: node names and the kernel's static words (message kinds, reasons,
//! notes) become indexes into small tables, and the text of a record goes
//! into one string shared by all. The rare records with more to say
//! (faults, violations, triggers) are kept whole on the side. A record is
//! rebuilt, equal to the one the kernel made, when it is drawn.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sim::time::Nanos;
use sim::trace::{TraceEvent, TraceRecord, TraceSink};

/// What a compact entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Send,
    Deliver,
    Drop,
    Hold,
    Timer,
    Invoke,
    Complete,
    Role,
    Note,
    /// Kept whole in `rare`: a fault, a violation or a trigger.
    Rare,
}

/// One record. `a` is the message id, timer, operation or index into
/// `rare`; `n1`/`n2` index `names`; `s1`/`s2` index `words`; the text is
/// `text[text_at..text_at + text_len]`.
#[derive(Clone, Copy, Debug)]
struct Entry {
    t: Nanos,
    a: u64,
    text_at: u64,
    text_len: u32,
    n1: u32,
    n2: u32,
    s1: u32,
    s2: u32,
    kind: Kind,
    flag: bool,
}

/// A whole trace, compact; see the module's comment.
#[derive(Default)]
pub struct Trace {
    entries: Vec<Entry>,
    text: String,
    rare: Vec<TraceEvent>,
    names: Vec<Arc<str>>,
    name_ix: BTreeMap<Arc<str>, u32>,
    words: Vec<&'static str>,
    word_ix: BTreeMap<&'static str, u32>,
    /// Records rebuilt for `trace[i]`, made on first use (the UI itself
    /// uses [`Trace::get`], which keeps nothing).
    indexed: OnceCell<Vec<OnceCell<Box<TraceRecord>>>>,
}

impl Trace {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Virtual time of record `i`.
    pub fn t(&self, i: usize) -> Option<Nanos> {
        self.entries.get(i).map(|e| e.t)
    }

    /// The first record at or after virtual time `t`.
    pub fn partition_point_t(&self, t: Nanos) -> usize {
        self.entries.partition_point(|e| e.t < t)
    }

    /// Record `i` as the kernel made it, rebuilt.
    pub fn get(&self, i: usize) -> Option<TraceRecord> {
        let e = self.entries.get(i)?;
        Some(TraceRecord {
            t: e.t,
            event: self.event(e),
        })
    }

    /// For a message record: its kind, sender, receiver (as indexes into
    /// [`Trace::name`]) and message id.
    pub fn message(&self, i: usize) -> Option<(Kind, u32, u32, u64)> {
        let e = self.entries.get(i)?;
        matches!(e.kind, Kind::Send | Kind::Deliver | Kind::Drop | Kind::Hold)
            .then_some((e.kind, e.n1, e.n2, e.a))
    }

    /// Whether record `i` is a fault (`Some(true)`) or a violation
    /// (`Some(false)`).
    pub fn fault_or_violation(&self, i: usize) -> Option<bool> {
        let e = self.entries.get(i)?;
        if e.kind != Kind::Rare {
            return None;
        }
        match &self.rare[e.a as usize] {
            TraceEvent::Fault { .. } => Some(true),
            TraceEvent::Violation { .. } => Some(false),
            _ => None,
        }
    }

    /// A node name by its index in this trace's table.
    pub fn name(&self, ix: u32) -> &str {
        &self.names[ix as usize]
    }

    pub fn push(&mut self, r: TraceRecord) {
        let mut e = Entry {
            t: r.t,
            a: 0,
            text_at: 0,
            text_len: 0,
            n1: 0,
            n2: 0,
            s1: 0,
            s2: 0,
            kind: Kind::Rare,
            flag: false,
        };
        match r.event {
            TraceEvent::Send {
                from,
                to,
                id,
                msg,
                detail,
            } => {
                self.link(&mut e, Kind::Send, &from, &to, id, msg);
                self.put_text(&mut e, &detail);
            }
            TraceEvent::Deliver { from, to, id, msg } => {
                self.link(&mut e, Kind::Deliver, &from, &to, id, msg)
            }
            TraceEvent::Drop {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                self.link(&mut e, Kind::Drop, &from, &to, id, msg);
                e.s2 = self.word(reason);
            }
            TraceEvent::Hold {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                self.link(&mut e, Kind::Hold, &from, &to, id, msg);
                e.s2 = self.word(reason);
            }
            TraceEvent::Timer { node, timer } => {
                e.kind = Kind::Timer;
                e.n1 = self.name_of(&node);
                e.a = timer;
            }
            TraceEvent::Invoke {
                node,
                op,
                description,
            } => {
                e.kind = Kind::Invoke;
                e.n1 = self.name_of(&node);
                e.a = op;
                self.put_text(&mut e, &description);
            }
            TraceEvent::Complete {
                node,
                op,
                outcome,
                output,
                found_other,
            } => {
                e.kind = Kind::Complete;
                e.n1 = self.name_of(&node);
                e.a = op;
                e.s1 = self.word(outcome);
                e.flag = found_other;
                self.put_text(&mut e, &output);
            }
            TraceEvent::Role { node, from, to } => {
                e.kind = Kind::Role;
                e.n1 = self.name_of(&node);
                e.s1 = self.word(from);
                e.s2 = self.word(to);
            }
            TraceEvent::Note { node, note } => {
                e.kind = Kind::Note;
                e.n1 = self.name_of(&node);
                e.s1 = self.word(note);
            }
            rare @ (TraceEvent::Fault { .. }
            | TraceEvent::Violation { .. }
            | TraceEvent::Trigger { .. }) => {
                e.a = self.rare.len() as u64;
                self.rare.push(rare);
            }
        }
        self.entries.push(e);
    }

    fn link(
        &mut self,
        e: &mut Entry,
        kind: Kind,
        from: &Arc<str>,
        to: &Arc<str>,
        id: u64,
        msg: &'static str,
    ) {
        e.kind = kind;
        e.n1 = self.name_of(from);
        e.n2 = self.name_of(to);
        e.a = id;
        e.s1 = self.word(msg);
    }

    fn name_of(&mut self, name: &Arc<str>) -> u32 {
        if let Some(&i) = self.name_ix.get(&**name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.clone());
        self.name_ix.insert(name.clone(), i);
        i
    }

    fn word(&mut self, w: &'static str) -> u32 {
        if let Some(&i) = self.word_ix.get(w) {
            return i;
        }
        let i = self.words.len() as u32;
        self.words.push(w);
        self.word_ix.insert(w, i);
        i
    }

    fn put_text(&mut self, e: &mut Entry, s: &str) {
        // A single text longer than u32::MAX bytes is cut at a character
        // boundary rather than wrapped: the UI shows one line of it.
        let mut len = s.len().min(u32::MAX as usize);
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        e.text_at = self.text.len() as u64;
        e.text_len = len as u32;
        self.text.push_str(&s[..len]);
    }

    fn text_of(&self, e: &Entry) -> String {
        let at = e.text_at as usize;
        self.text[at..at + e.text_len as usize].to_string()
    }

    fn event(&self, e: &Entry) -> TraceEvent {
        let name = |i: u32| self.names[i as usize].clone();
        let word = |i: u32| self.words[i as usize];
        match e.kind {
            Kind::Send => TraceEvent::Send {
                from: name(e.n1),
                to: name(e.n2),
                id: e.a,
                msg: word(e.s1),
                detail: self.text_of(e),
            },
            Kind::Deliver => TraceEvent::Deliver {
                from: name(e.n1),
                to: name(e.n2),
                id: e.a,
                msg: word(e.s1),
            },
            Kind::Drop => TraceEvent::Drop {
                from: name(e.n1),
                to: name(e.n2),
                id: e.a,
                msg: word(e.s1),
                reason: word(e.s2),
            },
            Kind::Hold => TraceEvent::Hold {
                from: name(e.n1),
                to: name(e.n2),
                id: e.a,
                msg: word(e.s1),
                reason: word(e.s2),
            },
            Kind::Timer => TraceEvent::Timer {
                node: name(e.n1),
                timer: e.a,
            },
            Kind::Invoke => TraceEvent::Invoke {
                node: name(e.n1),
                op: e.a,
                description: self.text_of(e),
            },
            Kind::Complete => TraceEvent::Complete {
                node: name(e.n1),
                op: e.a,
                outcome: word(e.s1),
                output: self.text_of(e),
                found_other: e.flag,
            },
            Kind::Role => TraceEvent::Role {
                node: name(e.n1),
                from: word(e.s1),
                to: word(e.s2),
            },
            Kind::Note => TraceEvent::Note {
                node: name(e.n1),
                note: word(e.s1),
            },
            Kind::Rare => self.rare[e.a as usize].clone(),
        }
    }
}

/// `trace[i]`: record `i`, rebuilt once and kept while the trace lives. For
/// tests and tools that look at a few records; the UI uses [`Trace::get`].
impl std::ops::Index<usize> for Trace {
    type Output = TraceRecord;

    fn index(&self, i: usize) -> &TraceRecord {
        let cells = self
            .indexed
            .get_or_init(|| (0..self.entries.len()).map(|_| OnceCell::new()).collect());
        cells[i].get_or_init(|| Box::new(self.get(i).expect("index in range")))
    }
}

/// The sink the TUI records a run into: compacts each record as the kernel
/// makes it, so the full records never pile up. The recorder keeps a handle
/// to read the length while the run goes.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Trace>>);

impl Recorder {
    /// How many records so far.
    pub fn records(&self) -> usize {
        self.0.lock().expect("not poisoned").len()
    }

    /// The trace recorded, once the run is over.
    pub fn take(&self) -> Trace {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

impl TraceSink for Recorder {
    fn record(&mut self, record: TraceRecord) {
        self.0.lock().expect("not poisoned").push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_record_comes_back_equal_and_an_entry_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
        let n1: Arc<str> = "n1".into();
        let c1: Arc<str> = "c1".into();
        let events = vec![
            TraceEvent::Send {
                from: c1.clone(),
                to: n1.clone(),
                id: 7,
                msg: "Put",
                detail: "Put { key: \"k1\", value: 3 } é".into(),
            },
            TraceEvent::Deliver {
                from: c1.clone(),
                to: n1.clone(),
                id: 7,
                msg: "Put",
            },
            TraceEvent::Drop {
                from: n1.clone(),
                to: c1.clone(),
                id: 8,
                msg: "PutOk",
                reason: "partition",
            },
            TraceEvent::Hold {
                from: n1.clone(),
                to: c1.clone(),
                id: 9,
                msg: "PutOk",
                reason: "clogged",
            },
            TraceEvent::Timer {
                node: n1.clone(),
                timer: 3,
            },
            TraceEvent::Fault {
                action: "crash",
                description: "crash n1".into(),
                line: 12,
            },
            TraceEvent::Invoke {
                node: c1.clone(),
                op: 4,
                description: String::new(),
            },
            TraceEvent::Complete {
                node: c1.clone(),
                op: 4,
                outcome: "fail",
                output: "3".into(),
                found_other: true,
            },
            TraceEvent::Role {
                node: n1.clone(),
                from: "follower",
                to: "leader",
            },
            TraceEvent::Violation {
                invariant: "election safety",
                detail: "two leaders".into(),
            },
            TraceEvent::Note {
                node: n1.clone(),
                note: "elected",
            },
            TraceEvent::Trigger {
                line: 3,
                when: "w".into(),
                event: "never fired".into(),
                matched: 1,
                delay: 2,
            },
        ];
        let records: Vec<TraceRecord> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| TraceRecord {
                t: i as Nanos * 10,
                event,
            })
            .collect();
        let mut trace = Trace::default();
        for r in &records {
            trace.push(r.clone());
        }
        assert_eq!(trace.len(), records.len());
        for (i, r) in records.iter().enumerate() {
            assert_eq!(trace.get(i).as_ref(), Some(r), "record {i}");
            assert_eq!(&trace[i], r, "record {i} by index");
        }
        assert_eq!(trace.get(records.len()), None);
        assert_eq!(trace.partition_point_t(25), 3);
        assert_eq!(trace.fault_or_violation(5), Some(true));
        assert_eq!(trace.fault_or_violation(9), Some(false));
        let (kind, from, to, id) = trace.message(2).unwrap();
        assert_eq!(
            (kind, trace.name(from), trace.name(to), id),
            (Kind::Drop, "n1", "c1", 8)
        );
        assert_eq!(trace.message(4), None);
    }
}
