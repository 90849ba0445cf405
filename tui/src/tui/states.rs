//! Each node's state after every event that changed it, kept compact.
//!
//! A node's [`Status`] is a role and a few named fields, each field a fresh
//! string: kept as they are, the states of a run where a counter moves at
//! every message cost about 170 bytes each (the snapshot, its field vector,
//! its strings). Here a change is a 24-byte entry: the role and the field
//! names become indexes into a table of the nodes' static words, the field
//! values go into one string shared by all, and the clock into a table kept
//! only when it changes. A [`NodeSnap`] is rebuilt when it is drawn.

use std::collections::BTreeMap;

use sim::node::{Clock, Status};

use super::model::NodeSnap;

/// One node's state from trace index `key` on.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u32,
    /// `u32::MAX` while the node is crashed (no status).
    role: u32,
    /// Its fields: `fields[fields_at..fields_at + n_fields]`.
    fields_at: u32,
    n_fields: u32,
    /// Index into `clocks`.
    clock: u32,
    paused: bool,
    fsync_lies: bool,
}

/// One field: its name (a word) and its value, `text[at..at + len]`.
#[derive(Clone, Copy, Debug)]
struct Field {
    name: u32,
    len: u32,
    at: u64,
}

const CRASHED: u32 = u32::MAX;

/// Every node's states, in trace-index order per node.
pub struct States {
    per_node: Vec<Vec<Entry>>,
    fields: Vec<Field>,
    text: String,
    clocks: Vec<Clock>,
    words: Vec<&'static str>,
    word_ix: BTreeMap<&'static str, u32>,
}

impl States {
    pub fn new(nodes: usize) -> States {
        States {
            per_node: vec![Vec::new(); nodes],
            fields: Vec::new(),
            text: String::new(),
            clocks: Vec::new(),
            words: Vec::new(),
            word_ix: BTreeMap::new(),
        }
    }

    /// How many states are kept, over all nodes.
    pub fn len(&self) -> usize {
        self.per_node.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether node `i`'s last state differs from this one (no allocation:
    /// this runs for every node after every event).
    pub fn changed(
        &self,
        i: usize,
        status: &Option<Status>,
        paused: bool,
        clock: &Clock,
        fsync_lies: bool,
    ) -> bool {
        let Some(e) = self.per_node[i].last() else {
            return true;
        };
        if e.paused != paused
            || e.fsync_lies != fsync_lies
            || self.clocks[e.clock as usize] != *clock
        {
            return true;
        }
        match status {
            None => e.role != CRASHED,
            Some(s) => {
                e.role == CRASHED
                    || self.words[e.role as usize] != s.role
                    || e.n_fields as usize != s.fields.len()
                    || self.fields[e.fields_at as usize..][..e.n_fields as usize]
                        .iter()
                        .zip(&s.fields)
                        .any(|(f, (name, value))| {
                            self.words[f.name as usize] != *name || self.value(f) != value
                        })
            }
        }
    }

    /// Keeps node `i`'s state from trace index `key` on, replacing a state
    /// with the same key (an event that left no trace record shares its key
    /// with the next one).
    pub fn push(&mut self, i: usize, key: u32, snap: NodeSnap) {
        let clock = match self.per_node[i].last() {
            Some(e) if self.clocks[e.clock as usize] == snap.clock => e.clock,
            _ => {
                self.clocks.push(snap.clock);
                (self.clocks.len() - 1) as u32
            }
        };
        let fields_at = self.fields.len() as u32;
        let (role, n_fields) = match &snap.status {
            None => (CRASHED, 0),
            Some(s) => {
                for (name, value) in &s.fields {
                    let name = self.word(name);
                    let len = value.len().min(u32::MAX as usize) as u32;
                    let at = self.text.len() as u64;
                    self.text.push_str(&value[..len as usize]);
                    self.fields.push(Field { name, len, at });
                }
                (self.word(s.role), s.fields.len() as u32)
            }
        };
        let e = Entry {
            key,
            role,
            fields_at,
            n_fields,
            clock,
            paused: snap.paused,
            fsync_lies: snap.fsync_lies,
        };
        let hist = &mut self.per_node[i];
        match hist.last_mut() {
            Some(last) if last.key == key => *last = e,
            _ => hist.push(e),
        }
    }

    /// Node `i` as it stands once record `cursor` has happened (its first
    /// state before its first change).
    pub fn at(&self, i: usize, cursor: usize) -> Option<NodeSnap> {
        let hist = &self.per_node[i];
        let k = hist.partition_point(|e| (e.key as usize) <= cursor);
        let e = if k == 0 { hist.first()? } else { &hist[k - 1] };
        let status = (e.role != CRASHED).then(|| Status {
            role: self.words[e.role as usize],
            fields: self.fields[e.fields_at as usize..][..e.n_fields as usize]
                .iter()
                .map(|f| (self.words[f.name as usize], self.value(f).to_string()))
                .collect(),
        });
        Some(NodeSnap {
            status,
            paused: e.paused,
            clock: self.clocks[e.clock as usize],
            fsync_lies: e.fsync_lies,
        })
    }

    fn value(&self, f: &Field) -> &str {
        let at = f.at as usize;
        &self.text[at..at + f.len as usize]
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(role: &'static str, pongs: u32, paused: bool) -> NodeSnap {
        NodeSnap {
            status: Some(Status {
                role,
                fields: vec![("pongs", pongs.to_string()), ("term", "2".into())],
            }),
            paused,
            clock: Clock::default(),
            fsync_lies: false,
        }
    }

    #[test]
    fn a_state_applies_from_its_key_until_the_next_change_and_comes_back_equal() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        let mut s = States::new(2);
        assert!(s.changed(0, &None, false, &Clock::default(), false));
        s.push(0, 0, snap("leader", 1, false));
        let crashed = NodeSnap {
            status: None,
            paused: false,
            clock: Clock {
                offset_ns: -5,
                ..Clock::default()
            },
            fsync_lies: true,
        };
        s.push(0, 5, crashed.clone());
        s.push(0, 9, snap("follower", 3, true));
        assert_eq!(s.at(0, 0), Some(snap("leader", 1, false)));
        assert_eq!(s.at(0, 4), Some(snap("leader", 1, false)));
        assert_eq!(s.at(0, 5), Some(crashed.clone()));
        assert_eq!(s.at(0, 8), Some(crashed));
        assert_eq!(s.at(0, 1_000), Some(snap("follower", 3, true)));
        assert_eq!(s.at(1, 0), None, "node 1 has no state yet");
        let last = snap("follower", 3, true);
        assert!(!s.changed(0, &last.status, true, &last.clock, false));
        assert!(s.changed(0, &last.status, false, &last.clock, false));
        assert!(s.changed(
            0,
            &snap("follower", 4, true).status,
            true,
            &last.clock,
            false
        ));
        assert!(s.changed(0, &None, true, &last.clock, false));
    }

    #[test]
    fn a_state_with_the_key_of_the_last_replaces_it() {
        let mut s = States::new(1);
        s.push(0, 0, snap("a", 1, false));
        s.push(0, 3, snap("a", 2, false));
        s.push(0, 3, snap("a", 3, false));
        assert_eq!(s.len(), 2);
        assert_eq!(s.at(0, 3), Some(snap("a", 3, false)));
        assert_eq!(s.at(0, 2), Some(snap("a", 1, false)));
    }
}
