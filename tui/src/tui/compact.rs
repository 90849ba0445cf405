//! The TUI's trace, kept small: one fixed-size entry per record instead of a
//! [`TraceRecord`] with its shared names and its own string.
//!
//! A recorded run of a million events is held whole so that the cursor can
//! go anywhere in it, backwards as fast as forwards. A [`TraceRecord`] costs
//! 88 bytes plus a heap string for a message's contents; here a record is 32
//! bytes: node names and the kernel's static words (message kinds, reasons,
//! notes) become 16-bit indexes into small tables, and the text of a record
//! goes into one string shared by all. The rare records with more to say
//! (faults, violations, triggers), and any record too big for an entry, are
//! kept whole on the side. A record is rebuilt, equal to the one the kernel
//! made, when it is drawn.

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
    /// A completion whose `found_other` is true.
    CompleteFoundOther,
    Role,
    Note,
    /// Kept whole in `rare`: a fault, a violation or a trigger, or a record
    /// that does not fit an entry (a text over 64 KiB, a name or word past
    /// the 65,536th, texts past 4 GiB).
    Rare,
}

/// One record. `a` is the message id, timer, operation or index into
/// `rare`; `n1`/`n2` index `names`; `s1`/`s2` index `words`; the text is
/// `text[text_at..text_at + text_len]`.
#[derive(Clone, Copy, Debug)]
struct Entry {
    t: Nanos,
    a: u64,
    text_at: u32,
    text_len: u16,
    n1: u16,
    n2: u16,
    s1: u16,
    s2: u16,
    kind: Kind,
}

impl Entry {
    /// An entry at `t` with every field zero, of kind [`Kind::Rare`] until
    /// filled in.
    fn rare(t: Nanos) -> Entry {
        Entry {
            t,
            a: 0,
            text_at: 0,
            text_len: 0,
            n1: 0,
            n2: 0,
            s1: 0,
            s2: 0,
            kind: Kind::Rare,
        }
    }
}

/// A whole trace, compact; see the module's comment.
#[derive(Default)]
pub struct Trace {
    entries: Vec<Entry>,
    text: String,
    rare: Vec<TraceEvent>,
    names: Vec<Arc<str>>,
    name_ix: BTreeMap<Arc<str>, u16>,
    words: Vec<&'static str>,
    word_ix: BTreeMap<&'static str, u16>,
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

    /// Record `i` without its texts: a send's detail, an invocation's
    /// description and a completion's output are empty, so that a search
    /// over every record (the log's filter) allocates nothing for them.
    pub fn get_without_texts(&self, i: usize) -> Option<TraceRecord> {
        let e = self.entries.get(i)?;
        Some(TraceRecord {
            t: e.t,
            event: self.event_with(e, false),
        })
    }

    /// For a message record: its kind, sender, receiver (as indexes into
    /// [`Trace::name`]) and message id.
    /// A record kept whole is rebuilt: this is for the indexes the UI
    /// builds once.
    pub fn message(&self, i: usize) -> Option<(Kind, &str, &str, u64)> {
        let e = self.entries.get(i)?;
        match e.kind {
            Kind::Send | Kind::Deliver | Kind::Drop | Kind::Hold => Some((
                e.kind,
                &self.names[e.n1 as usize],
                &self.names[e.n2 as usize],
                e.a,
            )),
            Kind::Rare => match &self.rare[e.a as usize] {
                TraceEvent::Send { from, to, id, .. } => Some((Kind::Send, from, to, *id)),
                TraceEvent::Deliver { from, to, id, .. } => Some((Kind::Deliver, from, to, *id)),
                TraceEvent::Drop { from, to, id, .. } => Some((Kind::Drop, from, to, *id)),
                TraceEvent::Hold { from, to, id, .. } => Some((Kind::Hold, from, to, *id)),
                _ => None,
            },
            _ => None,
        }
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

    pub fn push(&mut self, r: TraceRecord) {
        let e = match self.compact(r.t, &r.event) {
            Some(e) => e,
            None => {
                self.rare.push(r.event);
                Entry {
                    a: (self.rare.len() - 1) as u64,
                    ..Entry::rare(r.t)
                }
            }
        };
        self.entries.push(e);
    }

    /// The entry for `event`, or `None` when it is kept whole.
    fn compact(&mut self, t: Nanos, event: &TraceEvent) -> Option<Entry> {
        let mut e = Entry::rare(t);
        let mut text: &str = "";
        match event {
            TraceEvent::Send {
                from,
                to,
                id,
                msg,
                detail,
            } => {
                self.link(&mut e, Kind::Send, from, to, *id, msg)?;
                text = detail;
            }
            TraceEvent::Deliver { from, to, id, msg } => {
                self.link(&mut e, Kind::Deliver, from, to, *id, msg)?
            }
            TraceEvent::Drop {
                from,
                to,
                id,
                msg,
                reason,
            }
            | TraceEvent::Hold {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let kind = if matches!(event, TraceEvent::Drop { .. }) {
                    Kind::Drop
                } else {
                    Kind::Hold
                };
                self.link(&mut e, kind, from, to, *id, msg)?;
                e.s2 = self.word(reason)?;
            }
            TraceEvent::Timer { node, timer } => {
                e.kind = Kind::Timer;
                e.n1 = self.name_of(node)?;
                e.a = *timer;
            }
            TraceEvent::Invoke {
                node,
                op,
                description,
            } => {
                e.kind = Kind::Invoke;
                e.n1 = self.name_of(node)?;
                e.a = *op;
                text = description;
            }
            TraceEvent::Complete {
                node,
                op,
                outcome,
                output,
                found_other,
            } => {
                e.kind = if *found_other {
                    Kind::CompleteFoundOther
                } else {
                    Kind::Complete
                };
                e.n1 = self.name_of(node)?;
                e.a = *op;
                e.s1 = self.word(outcome)?;
                text = output;
            }
            TraceEvent::Role { node, from, to } => {
                e.kind = Kind::Role;
                e.n1 = self.name_of(node)?;
                e.s1 = self.word(from)?;
                e.s2 = self.word(to)?;
            }
            TraceEvent::Note { node, note } => {
                e.kind = Kind::Note;
                e.n1 = self.name_of(node)?;
                e.s1 = self.word(note)?;
            }
            TraceEvent::Fault { .. }
            | TraceEvent::Violation { .. }
            | TraceEvent::Trigger { .. } => return None,
        }
        if !text.is_empty() {
            e.text_at = u32::try_from(self.text.len()).ok()?;
            e.text_len = u16::try_from(text.len()).ok()?;
            if u32::try_from(self.text.len() + text.len()).is_err() {
                return None;
            }
            self.text.push_str(text);
        }
        Some(e)
    }

    fn link(
        &mut self,
        e: &mut Entry,
        kind: Kind,
        from: &Arc<str>,
        to: &Arc<str>,
        id: u64,
        msg: &'static str,
    ) -> Option<()> {
        e.kind = kind;
        e.n1 = self.name_of(from)?;
        e.n2 = self.name_of(to)?;
        e.a = id;
        e.s1 = self.word(msg)?;
        Some(())
    }

    /// The index of a node name (`None` past the 65,536th).
    fn name_of(&mut self, name: &Arc<str>) -> Option<u16> {
        if let Some(&i) = self.name_ix.get(&**name) {
            return Some(i);
        }
        let i = u16::try_from(self.names.len()).ok()?;
        self.names.push(name.clone());
        self.name_ix.insert(name.clone(), i);
        Some(i)
    }

    /// The index of a kernel word (`None` past the 65,536th).
    fn word(&mut self, w: &'static str) -> Option<u16> {
        if let Some(&i) = self.word_ix.get(w) {
            return Some(i);
        }
        let i = u16::try_from(self.words.len()).ok()?;
        self.words.push(w);
        self.word_ix.insert(w, i);
        Some(i)
    }

    fn text_of(&self, e: &Entry) -> String {
        let at = e.text_at as usize;
        self.text[at..at + e.text_len as usize].to_string()
    }

    fn event(&self, e: &Entry) -> TraceEvent {
        self.event_with(e, true)
    }

    /// [`Trace::event`]; with `texts` false, a send's detail, an
    /// invocation's description and a completion's output are left empty
    /// (nothing is allocated for them).
    fn event_with(&self, e: &Entry, texts: bool) -> TraceEvent {
        let name = |i: u16| self.names[i as usize].clone();
        let text_of = |e: &Entry| {
            if texts {
                self.text_of(e)
            } else {
                String::new()
            }
        };
        let word = |i: u16| self.words[i as usize];
        match e.kind {
            Kind::Send => TraceEvent::Send {
                from: name(e.n1),
                to: name(e.n2),
                id: e.a,
                msg: word(e.s1),
                detail: text_of(e),
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
                description: text_of(e),
            },
            Kind::Complete | Kind::CompleteFoundOther => TraceEvent::Complete {
                node: name(e.n1),
                op: e.a,
                outcome: word(e.s1),
                output: text_of(e),
                found_other: e.kind == Kind::CompleteFoundOther,
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
    fn every_kind_of_record_comes_back_equal_and_an_entry_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
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
            TraceEvent::Complete {
                node: c1.clone(),
                op: 5,
                outcome: "ok",
                output: "4".into(),
                found_other: false,
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
        assert_eq!(trace.fault_or_violation(10), Some(false));
        assert_eq!(trace.fault_or_violation(9), None);
        assert_eq!(trace.message(2), Some((Kind::Drop, "n1", "c1", 8)));
        assert_eq!(trace.message(4), None);
    }

    #[test]
    fn a_record_without_texts_is_the_record_with_its_texts_emptied() {
        let mut trace = Trace::default();
        let c1: Arc<str> = "c1".into();
        let n1: Arc<str> = "n1".into();
        let events = [
            TraceEvent::Send {
                from: c1.clone(),
                to: n1.clone(),
                id: 1,
                msg: "Put",
                detail: "put k1 = 3".into(),
            },
            TraceEvent::Invoke {
                node: c1.clone(),
                op: 2,
                description: "read k1".into(),
            },
            TraceEvent::Complete {
                node: c1.clone(),
                op: 2,
                outcome: "ok",
                output: "3".into(),
                found_other: false,
            },
            TraceEvent::Fault {
                action: "crash",
                description: "crash n1".into(),
                line: 4,
            },
        ];
        for (i, event) in events.iter().enumerate() {
            trace.push(TraceRecord {
                t: i as Nanos,
                event: event.clone(),
            });
        }
        let emptied = |e: &TraceEvent| {
            let mut e = e.clone();
            match &mut e {
                TraceEvent::Send { detail: text, .. }
                | TraceEvent::Invoke {
                    description: text, ..
                }
                | TraceEvent::Complete { output: text, .. } => text.clear(),
                _ => {}
            }
            e
        };
        for (i, event) in events.iter().enumerate() {
            let light = trace.get_without_texts(i).unwrap();
            assert_eq!(light.event, emptied(event), "record {i}");
            assert_eq!(trace.get(i).unwrap().event, *event, "record {i}");
        }
    }

    #[test]
    fn a_record_that_does_not_fit_an_entry_is_kept_whole_and_comes_back_equal() {
        let mut trace = Trace::default();
        let send = |from: String, detail: String| TraceRecord {
            t: 1,
            event: TraceEvent::Send {
                from: from.into(),
                to: "n1".into(),
                id: 3,
                msg: "Put",
                detail,
            },
        };
        // A text over 64 KiB.
        let long = send("c1".into(), "x".repeat(70_000));
        trace.push(long.clone());
        assert_eq!(trace.entries[0].kind, Kind::Rare);
        assert_eq!(trace.get(0), Some(long));
        assert_eq!(trace.message(0), Some((Kind::Send, "c1", "n1", 3)));
        // More node names than an entry can index.
        let records: Vec<TraceRecord> = (0..70_000)
            .map(|i| send(format!("c{i}"), format!("{i}")))
            .collect();
        for r in &records {
            trace.push(r.clone());
        }
        assert_eq!(trace.entries.last().unwrap().kind, Kind::Rare);
        assert_eq!(trace.entries[1].kind, Kind::Send);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(trace.get(i + 1).as_ref(), Some(r), "record {}", i + 1);
        }
        assert_eq!(trace.message(70_000), Some((Kind::Send, "c69999", "n1", 3)));
    }
}
