//! What the cache protocol checks as the run goes: the capacity invariant.
//! (The figures the report needs across crashes are kept by `meter.rs`.)

use sim::node::NodeId;
use sim::protocol::{NodeTable, Property, Violation};
use sim::time::Nanos;

use super::{Cache, CacheNode};

/// A read was answered from a cache's memory.
pub const CACHE_HIT: &str = "cache-hit";

/// The properties checked as the run goes.
pub const PROPERTIES: &[Property] = &[
    Property::always("capacity", "no cache holds more entries than its capacity"),
    Property::sometimes(CACHE_HIT, "a read is answered from a cache's memory"),
];

impl Cache {
    /// Checks the invariants after `stepped` stepped.
    pub(super) fn watch(
        &mut self,
        _now: Nanos,
        stepped: NodeId,
        nodes: &NodeTable<CacheNode>,
        out: &mut Vec<Violation>,
    ) {
        if let Some(CacheNode::Cache(c)) = nodes.get(stepped.index()).and_then(Option::as_ref) {
            if c.store().len() > c.store().capacity() {
                out.push(Violation {
                    invariant: "capacity",
                    detail: format!(
                        "n{} holds {} entries, capacity {}",
                        stepped.0 + 1,
                        c.store().len(),
                        c.store().capacity()
                    ),
                });
            }
        }
    }
}
