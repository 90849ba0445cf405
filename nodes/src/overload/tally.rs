//! The counters of lives that ended in a crash. A crashed node is gone from
//! the node table, and a restarted one starts from nothing, so the report
//! alone would only see each node's last life: a caller that crashed would
//! lose the operations it made, a service the attempts it served. The
//! protocol keeps each node's figures as of its last step
//! (`Protocol::observe`) and banks them when the node is found down or in a
//! new life; the report adds the banked lives to the living ones.

use sim::protocol::NodeTable;

use super::breaker::Breaker;
use super::stats::CallerStats;
use super::OverloadNode;

/// What the report needs of one life of one node.
#[derive(Clone, Debug)]
pub enum Life {
    Caller {
        life: Option<u64>,
        stats: Box<CallerStats>,
        breaker: Option<Breaker>,
    },
    /// The service, the front or a backend (`node` is its index).
    Service {
        node: usize,
        life: Option<u64>,
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
                life: c.life,
                stats: Box::new(c.stats.clone()),
                breaker: c.breaker.clone(),
            },
            OverloadNode::Server(s) => Life::Service {
                node,
                life: s.life,
                served: s.stats.served,
                queue_max: s.stats.queue_max,
                series_queue_max: s.stats.series_queue_max.clone(),
                expired: s.expired,
            },
            OverloadNode::Front(f) => Life::Service {
                node,
                life: f.life,
                served: f.stats.served,
                queue_max: f.stats.queue_max,
                series_queue_max: f.stats.series_queue_max.clone(),
                expired: f.expired,
            },
        }
    }

    fn life(&self) -> Option<u64> {
        match self {
            Life::Caller { life, .. } | Life::Service { life, .. } => *life,
        }
    }
}

fn life_of(n: &OverloadNode) -> Option<u64> {
    match n {
        OverloadNode::Caller(c) => c.life,
        OverloadNode::Server(s) => s.life,
        OverloadNode::Front(f) => f.life,
    }
}

/// Each node's last figures, and the lives that are over.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    last: Vec<Option<Life>>,
    /// Lives that ended in a crash, in the order they were found over.
    pub dead: Vec<Life>,
}

impl Tally {
    /// After `stepped` ran a handler: banks any life that is over (its node
    /// is down, or runs in another incarnation), then keeps the figures of
    /// the node that stepped.
    pub fn observe(&mut self, stepped: usize, nodes: &NodeTable<OverloadNode>) {
        if self.last.len() < nodes.len() {
            self.last.resize(nodes.len(), None);
        }
        for (i, slot) in self.last.iter_mut().enumerate() {
            let over = match (&*slot, &nodes[i]) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(l), Some(n)) => l.life() != life_of(n),
            };
            if over {
                self.dead.extend(slot.take());
            }
        }
        if let Some(Some(n)) = nodes.get(stepped) {
            self.last[stepped] = Some(Life::of(stepped, n));
        }
    }
}
