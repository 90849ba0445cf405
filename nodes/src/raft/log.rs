//! The replicated log: entries indexed from 1, each written to the node's disk
//! under `("log", index)` so a restarted server can rebuild it.

use std::sync::Arc;

use sim::client::RequestId;
use sim::history::OpFn;
use sim::node::Disk;

/// What an entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// The entry a new leader appends at the start of its term (§5.4.2, §8): once
    /// it is committed, every entry before it is committed too.
    Noop,
    /// A client's operation. `id` (the client's session and sequence number)
    /// identifies it so that a retried command is applied once (§8, the
    /// session table), and a restarted client's new commands are never taken
    /// for its old ones.
    Client { id: RequestId, key: String, f: OpFn },
}

/// One log entry: the term of the leader that created it, its index, and the
/// command. The command is shared, not copied: an entry travels to every
/// follower and sits in every log and on every disk, and cloning it must not
/// clone its key and value each time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub term: u64,
    pub index: u64,
    pub command: Arc<Command>,
}

/// A run of consecutive entries, as an AppendEntries carries it: shared, not
/// copied. A leader that sends the same run to several followers (every
/// follower that has caught up, when a new entry is broadcast) builds it once
/// and each message holds a reference; a heartbeat's empty run allocates
/// nothing, and neither does a run of one entry (most runs: one new command
/// on a cluster that keeps up), which holds the entry itself, its command
/// shared. It shows (`Debug`) and compares as the list of its entries, as
/// the `Vec<Entry>` it replaces did, so traces and explored states see no
/// difference.
#[derive(Clone)]
pub struct Entries(Run);

/// One entry inline, or a shared run that is never of one entry (`None`
/// for no entries). Two variants, so the entry's shared command (never
/// null) tells them apart: a run is no larger than an entry.
#[derive(Clone)]
enum Run {
    One(Entry),
    Shared(Option<Arc<[Entry]>>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries(Run::Shared(None))
    }
}

impl Entries {
    pub fn as_slice(&self) -> &[Entry] {
        match &self.0 {
            Run::One(e) => std::slice::from_ref(e),
            Run::Shared(run) => run.as_deref().unwrap_or(&[]),
        }
    }
}

impl std::ops::Deref for Entries {
    type Target = [Entry];
    fn deref(&self) -> &[Entry] {
        self.as_slice()
    }
}

impl From<&[Entry]> for Entries {
    fn from(run: &[Entry]) -> Self {
        Entries(match run {
            [] => Run::Shared(None),
            [e] => Run::One(e.clone()),
            _ => Run::Shared(Some(Arc::from(run))),
        })
    }
}

impl From<Vec<Entry>> for Entries {
    fn from(mut run: Vec<Entry>) -> Self {
        Entries(match run.len() {
            0 => Run::Shared(None),
            1 => Run::One(run.pop().expect("one entry")),
            _ => Run::Shared(Some(Arc::from(run))),
        })
    }
}

impl PartialEq for Entries {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Entries {}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The in-memory copy of a server's log. Every change is also written to the
/// disk; the caller syncs before it acts on the change (before replying, before
/// counting itself in a quorum).
#[derive(Clone, Debug, Default)]
pub struct Log {
    entries: Vec<Entry>,
    /// The first index removed by each truncation, in order: what the invariant
    /// checks read to tell an append from an overwrite.
    truncations: Vec<u64>,
}

impl Log {
    /// Rebuilds a log from the entries on disk: the longest run `1, 2, 3 ...`.
    pub fn from_disk(disk: &Disk) -> Self {
        let mut entries = Vec::new();
        for i in disk.indexes("log") {
            if i != entries.len() as u64 + 1 {
                break;
            }
            match disk.get::<Entry>(("log", i)) {
                Some(e) => entries.push(e.clone()),
                None => break,
            }
        }
        Log {
            entries,
            truncations: Vec::new(),
        }
    }

    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term of the entry at `index`: 0 for index 0 (the empty prefix), `None`
    /// past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            Some(0)
        } else {
            self.get(index).map(|e| e.term)
        }
    }

    pub fn get(&self, index: u64) -> Option<&Entry> {
        if index == 0 {
            None
        } else {
            self.entries.get(index as usize - 1)
        }
    }

    /// Appends an entry at the end (its index must be `last_index() + 1`).
    pub fn append(&mut self, disk: &mut Disk, entry: Entry) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "log entries are contiguous"
        );
        disk.put(("log", entry.index), entry.clone());
        self.entries.push(entry);
    }

    /// Removes the entries from `index` on (a follower repairing a conflict).
    pub fn truncate_from(&mut self, disk: &mut Disk, index: u64) {
        assert!(index >= 1);
        for i in index..=self.last_index() {
            disk.delete(("log", i));
        }
        self.entries.truncate(index as usize - 1);
        self.truncations.push(index);
    }

    /// Up to `max` entries from `from` on, as one shared run.
    pub fn slice(&self, from: u64, max: usize) -> Entries {
        let start = (from.max(1) - 1) as usize;
        let rest = self.entries.get(start..).unwrap_or(&[]);
        Entries::from(&rest[..rest.len().min(max)])
    }

    /// The first index of the run of entries with the same term as `index`
    /// (the conflict hint a follower returns, §5.3 "fast backtracking").
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut i = index;
        while i > 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index holding an entry of `term`, if any.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        self.entries
            .iter()
            .rev()
            .skip_while(|e| e.term > term)
            .find(|e| e.term == term)
            .map(|e| e.index)
    }

    /// Whether a log ending at (`last_term`, `last_index`) is at least as up to
    /// date as this one (§5.4.1, the election restriction).
    pub fn is_up_to_date(&self, last_term: u64, last_index: u64) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    pub fn truncations(&self) -> &[u64] {
        &self.truncations
    }
}
