//! The figures the cache's report needs from the run's course, kept by
//! `Protocol::observe` after every step (apart from the invariants): the
//! database's load by window and by second, and what the caches held when
//! they crashed (a crashed node's counters are gone from the node table).

use sim::node::NodeId;
use sim::protocol::NodeTable;
use sim::time::{secs, Nanos};

use super::{Cache, CacheNode, CacheStats};

/// What the protocol follows as the run goes, for the report.
#[derive(Clone, Debug, Default)]
pub(super) struct Meter {
    /// Database requests received per `rate_window`, by window index.
    pub(super) windows: Vec<u64>,
    /// Database requests received per second of the run, by second.
    pub(super) seconds: Vec<u64>,
    /// The database's `received` counter at its last step (0 after a restart).
    pub(super) db_seen: u64,
    pub(super) now: Nanos,
    /// Each cache's figures at its last step; banked when it crashes.
    pub(super) last: Vec<Option<CacheStats>>,
    pub(super) banked: CacheStats,
    /// Dirty entries (acknowledged writes only in memory) lost in crashes.
    pub(super) dirty_lost: u64,
    pub(super) crashes: u64,
    pub(super) dirty_peak: usize,
}

impl Cache {
    /// Updates the meter after `stepped` stepped.
    pub(super) fn meter(&mut self, now: Nanos, stepped: NodeId, nodes: &NodeTable<CacheNode>) {
        let m = &mut self.meter;
        m.now = now;
        // A cache that is gone since its last step, or back in a new life,
        // crashed: what it held dirty is lost, and its counters are banked so
        // the report still sees them.
        for c in 0..self.caches {
            let boot = match &nodes[c + 1] {
                Some(CacheNode::Cache(s)) => Some(s.stats().boot),
                _ => None,
            };
            if m.last[c].as_ref().is_some_and(|l| Some(l.boot) != boot) {
                let last = m.last[c].take().expect("checked");
                m.dirty_lost += last.dirty as u64;
                m.crashes += 1;
                m.banked.add(&last);
            }
        }
        match nodes.get(stepped.index()).and_then(Option::as_ref) {
            Some(CacheNode::Database(d)) => {
                let got = d.stats.received;
                if got < m.db_seen {
                    m.db_seen = 0;
                }
                let w = (now / self.params.rate_window) as usize;
                if m.windows.len() <= w {
                    m.windows.resize(w + 1, 0);
                }
                m.windows[w] += got - m.db_seen;
                let s = (now / secs(1)) as usize;
                if m.seconds.len() <= s {
                    m.seconds.resize(s + 1, 0);
                }
                m.seconds[s] += got - m.db_seen;
                m.db_seen = got;
            }
            Some(CacheNode::Cache(c)) => {
                let stats = c.stats();
                m.dirty_peak = m.dirty_peak.max(stats.dirty);
                m.last[stepped.index() - 1] = Some(stats);
            }
            _ => {}
        }
    }
}
