//! The counters of lives that ended in a crash. A crashed node is gone from
//! the node table, and a restarted one starts from nothing, so the report
//! alone would only see each node's last life: a caller that crashed would
//! lose the operations it made, a service the attempts it served. The
//! kernel shows the protocol each node as a crash drops it
//! (`Protocol::crashed`); its figures are banked then, and the report adds
//! the banked lives to the living ones.

use super::breaker::Breaker;
use super::stats::CallerStats;
use super::OverloadNode;

/// What the report needs of one life of one node.
#[derive(Clone, Debug)]
pub enum Life {
    Caller {
        stats: Box<CallerStats>,
        breaker: Option<Breaker>,
    },
    /// The service, the front or a backend (`node` is its index).
    Service {
        node: usize,
        served: u64,
        queue_max: usize,
        series_queue_max: Vec<u64>,
        expired: u64,
    },
}

impl Life {
    fn of(node: usize, n: &OverloadNode) -> Life {
        match n {
            OverloadNode::Caller(c) => Life::Caller {
                stats: Box::new(c.stats.clone()),
                breaker: c.breaker.clone(),
            },
            OverloadNode::Server(s) => Life::Service {
                node,
                served: s.stats.served,
                queue_max: s.stats.queue_max,
                series_queue_max: s.stats.series_queue_max.clone(),
                expired: s.expired,
            },
            OverloadNode::Front(f) => Life::Service {
                node,
                served: f.stats.served,
                queue_max: f.stats.queue_max,
                series_queue_max: f.stats.series_queue_max.clone(),
                expired: f.expired,
            },
        }
    }
}

/// The lives that are over.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Lives that ended in a crash, in the order they ended.
    pub dead: Vec<Life>,
}

impl Tally {
    /// Node `node` crashed; `last` is its state as the crash found it.
    pub fn crashed(&mut self, node: usize, last: &OverloadNode) {
        self.dead.push(Life::of(node, last));
    }
}
