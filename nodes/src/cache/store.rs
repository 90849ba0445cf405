//! A bounded key-value store with an eviction policy and expiry: the memory of
//! a cache node (and of a client's L1).
//!
//! Expiry is lazy, as in memcached and Redis: an expired entry stays until it
//! is looked up (and then counts as a miss) or evicted. An entry that is dirty
//! (written but not yet flushed to the database, in write-back) never expires:
//! dropping it would lose an acknowledged write.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim::history::Value;
use sim::time::Nanos;

/// Which entry makes room when the store is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eviction {
    /// Least recently used.
    Lru,
    /// Least frequently used (ties: least recently used).
    Lfu,
    /// First in, first out: the oldest insertion, however often it is read.
    Fifo,
    /// Any entry, drawn from the node's own random stream.
    Random,
}

impl Eviction {
    pub fn name(self) -> &'static str {
        match self {
            Eviction::Lru => "lru",
            Eviction::Lfu => "lfu",
            Eviction::Fifo => "fifo",
            Eviction::Random => "random",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// When it expires (`None`: never).
    pub expires: Option<Nanos>,
    /// Write-back: the sequence number of the unflushed write it holds.
    pub dirty: Option<u64>,
    /// Write-back: older unflushed write values this entry overwrote (the
    /// flush names them, so they count as having reached the database).
    pub absorbed: Vec<i64>,
    /// How long the database fetch that filled it took (probabilistic early
    /// expiration scales its head start by this).
    pub fetch_ns: Nanos,
    /// Read since it was filled (background refresh only refreshes these).
    pub read_since_fill: bool,
    freq: u64,
    rank: (u64, u64),
    slot: usize,
}

impl Entry {
    pub fn new(value: Value, expires: Option<Nanos>) -> Entry {
        Entry {
            value,
            expires,
            dirty: None,
            absorbed: Vec::new(),
            fetch_ns: 0,
            read_since_fill: false,
            freq: 0,
            rank: (0, 0),
            slot: 0,
        }
    }

    pub fn expired(&self, now: Nanos) -> bool {
        self.dirty.is_none() && self.expires.is_some_and(|e| now >= e)
    }
}

/// What a lookup found.
#[derive(Debug, PartialEq)]
pub enum Lookup<'a> {
    Hit(&'a mut Entry),
    /// There was an entry, but it had expired: it is gone now.
    Expired,
    Miss,
}

#[derive(Clone, Debug)]
pub struct Store {
    capacity: usize,
    eviction: Eviction,
    entries: BTreeMap<String, Entry>,
    /// Eviction order for lru, lfu and fifo: the smallest rank goes first.
    /// Every rank holds a tick of its own, so a rank names its key: a use
    /// moves the key's string to its new rank, and nothing is compared or
    /// copied by text.
    order: BTreeMap<(u64, u64), String>,
    /// Every key, for a uniform random pick (random eviction).
    keys: Vec<String>,
    /// Dirty keys by write sequence: the oldest unflushed write first.
    dirty: BTreeMap<u64, String>,
    tick: u64,
    pub evictions: u64,
    pub expirations: u64,
}

impl Store {
    pub fn new(capacity: usize, eviction: Eviction) -> Store {
        assert!(capacity >= 1, "a store holds at least one entry");
        Store {
            capacity,
            eviction,
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            keys: Vec::new(),
            dirty: BTreeMap::new(),
            tick: 0,
            evictions: 0,
            expirations: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }

    /// The entry for `key`, without touching its rank or expiring it.
    pub fn peek(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Looks `key` up at `now`: a hit counts as a use for lru and lfu.
    pub fn get(&mut self, key: &str, now: Nanos) -> Lookup<'_> {
        let expired = match self.entries.get(key) {
            None => return Lookup::Miss,
            Some(e) => e.expired(now),
        };
        if expired {
            self.remove(key);
            self.expirations += 1;
            return Lookup::Expired;
        }
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.get_mut(key).expect("present");
        e.freq += 1;
        let rank = match self.eviction {
            Eviction::Lru => Some((tick, 0)),
            Eviction::Lfu => Some((e.freq, tick)),
            Eviction::Fifo | Eviction::Random => None,
        };
        if let Some(rank) = rank {
            let k = self
                .order
                .remove(&e.rank)
                .expect("a ranked key is in the order");
            e.rank = rank;
            self.order.insert(rank, k);
        }
        Lookup::Hit(e)
    }

    /// Stores `entry` under `key`, replacing what was there (its frequency
    /// carries over). When a new key finds the store full, one entry is
    /// evicted first and returned, so a dirty victim can still be flushed.
    pub fn insert(
        &mut self,
        key: &str,
        mut entry: Entry,
        rng: &mut impl Rng,
    ) -> Option<(String, Entry)> {
        self.tick += 1;
        let mut victim = None;
        if let Some(old) = self.remove_entry(key) {
            entry.freq = old.freq;
        } else if self.entries.len() >= self.capacity {
            victim = self.evict(rng);
        }
        entry.freq += 1;
        entry.rank = match self.eviction {
            Eviction::Lru | Eviction::Fifo => (self.tick, 0),
            Eviction::Lfu => (entry.freq, self.tick),
            Eviction::Random => (0, 0),
        };
        entry.slot = self.keys.len();
        self.keys.push(key.to_string());
        if self.eviction != Eviction::Random {
            self.order.insert(entry.rank, key.to_string());
        }
        if let Some(seq) = entry.dirty {
            self.dirty.insert(seq, key.to_string());
        }
        self.entries.insert(key.to_string(), entry);
        debug_assert!(self.entries.len() <= self.capacity);
        victim
    }

    fn evict(&mut self, rng: &mut impl Rng) -> Option<(String, Entry)> {
        let key = match self.eviction {
            Eviction::Random => {
                if self.keys.is_empty() {
                    return None;
                }
                self.keys[rng.gen_range(0..self.keys.len())].clone()
            }
            _ => self.order.first_key_value()?.1.clone(),
        };
        self.evictions += 1;
        self.remove_entry(&key).map(|e| (key, e))
    }

    /// Drops `key` (an invalidation), returning what it held.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        self.remove_entry(key)
    }

    fn remove_entry(&mut self, key: &str) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        if self.eviction != Eviction::Random {
            self.order.remove(&e.rank);
        }
        let last = self.keys.len() - 1;
        self.keys.swap_remove(e.slot);
        if e.slot < last {
            let moved = self.keys[e.slot].clone();
            if let Some(m) = self.entries.get_mut(&moved) {
                m.slot = e.slot;
            }
        }
        if let Some(seq) = e.dirty {
            self.dirty.remove(&seq);
        }
        Some(e)
    }

    /// Up to `n` dirty entries, oldest write first: (key, value, absorbed
    /// values, sequence).
    pub fn oldest_dirty(&self, n: usize) -> Vec<(String, Value, Vec<i64>, u64)> {
        self.dirty
            .iter()
            .take(n)
            .map(|(seq, k)| {
                let e = &self.entries[k];
                (k.clone(), e.value.clone(), e.absorbed.clone(), *seq)
            })
            .collect()
    }

    /// The flush of write `seq` to `key` was acknowledged: the entry is clean
    /// unless a newer write made it dirty again.
    pub fn mark_clean(&mut self, key: &str, seq: u64) -> bool {
        match self.entries.get_mut(key) {
            Some(e) if e.dirty == Some(seq) => {
                e.dirty = None;
                e.absorbed.clear();
                self.dirty.remove(&seq);
                true
            }
            _ => false,
        }
    }

    /// Keys in order (for tests and the invariant check).
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }
}
