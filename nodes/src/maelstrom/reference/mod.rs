//! chaoslab's own Maelstrom nodes, one per workload, and the bug flags
//! that break them so the checkers have something real to catch.
//!
//! They implement [`MaelNode`] and nothing else, exactly as a learner's
//! node would, and speak only Maelstrom's bodies (plus their own
//! server-to-server types, as any node may).

mod broadcast;
mod counter;
mod counter_kv;
mod kafka;
mod leader;
mod linkv;
mod simple;
mod txn;

pub use broadcast::Broadcast;
pub use counter::{Counter, GSet};
pub use counter_kv::SeqKvCounter;
pub use kafka::Kafka;
pub use leader::Forwarder;
pub use linkv::LinKvProxy;
pub use simple::{Echo, UniqueIds};
pub use txn::TxnNode;

use sim::time::Nanos;

use super::node::MaelNode;
use super::ops::WorkloadKind;
use super::services::ServiceKind;

/// The reference nodes other than `reference` that protocol `maelstrom`
/// hosts for `kind` (`[system] node`): name and what it is.
pub fn variants(kind: WorkloadKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        WorkloadKind::GCounter => &[(
            "seq-kv",
            "the count kept in Maelstrom's seq-kv service (Gossip Glomers 4): adds by read and cas, reads made fresh by a write first",
        )],
        _ => &[],
    }
}

/// The bug flags of each workload's reference node (`variant` is
/// `[system] node` when it is not `reference`): name and what it does.
pub fn bugs(kind: WorkloadKind, variant: Option<&str>) -> &'static [(&'static str, &'static str)] {
    if kind == WorkloadKind::GCounter && variant == Some("seq-kv") {
        return &[(
            "stale-read",
            "a read asks seq-kv for the count without writing first: seq-kv may answer from an old version, below the acknowledged sum",
        )];
    }
    match kind {
        WorkloadKind::Echo | WorkloadKind::GSet => &[],
        WorkloadKind::UniqueIds => &[(
            "counter-only",
            "ids are a per-node counter without the node's name: two nodes hand out the same ids",
        )],
        WorkloadKind::Broadcast => &[(
            "no-retry",
            "a new message is sent to each neighbour once, never again: a partition loses it",
        )],
        WorkloadKind::GCounter | WorkloadKind::PnCounter => &[(
            "sum-merge",
            "a node adds the counts it hears instead of taking the maximum: every gossip round counts again",
        )],
        WorkloadKind::Kafka => &[(
            "local-offsets",
            "every node keeps logs of its own and hands out offsets itself: two nodes give one offset to different messages",
        )],
        WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => &[(
            "local-apply",
            "every node runs transactions on its own copy and sends their writes to the others afterwards: totally available and read committed, not serializable",
        )],
        WorkloadKind::LinKv => &[
            (
                "local-cache",
                "a node answers reads from a copy of what it wrote and read, never seeing the others' writes: stale reads",
            ),
            (
                "seq-kv",
                "a node proxies to the seq-kv service instead of lin-kv: sequentially consistent, so reads may be stale",
            ),
        ],
    }
}

/// The services the reference node for `kind` (with bug flag `bug`) calls:
/// a run of it starts them.
pub fn services(kind: WorkloadKind, variant: Option<&str>, bug: Option<&str>) -> Vec<ServiceKind> {
    if kind == WorkloadKind::GCounter && variant == Some("seq-kv") {
        return vec![ServiceKind::SeqKv];
    }
    match (kind, bug) {
        (WorkloadKind::LinKv, Some("seq-kv")) => vec![ServiceKind::SeqKv],
        (WorkloadKind::LinKv, _) => vec![ServiceKind::LinKv],
        _ => Vec::new(),
    }
}

/// The reference node for `kind` (its `variant`, when `[system] node` is
/// not `reference`), with bug flag `bug` (checked against [`bugs`] by the
/// caller). `gossip` is the period of the nodes that gossip.
pub fn build(
    kind: WorkloadKind,
    variant: Option<&str>,
    bug: Option<&str>,
    gossip: Nanos,
) -> Box<dyn MaelNode> {
    if kind == WorkloadKind::GCounter && variant == Some("seq-kv") {
        return Box::new(SeqKvCounter::new(bug == Some("stale-read")));
    }
    match kind {
        WorkloadKind::Echo => Box::new(Echo::default()),
        WorkloadKind::UniqueIds => Box::new(UniqueIds::new(bug == Some("counter-only"))),
        WorkloadKind::Broadcast => Box::new(Broadcast::new(gossip, bug == Some("no-retry"))),
        WorkloadKind::GCounter | WorkloadKind::PnCounter => {
            Box::new(Counter::new(gossip, bug == Some("sum-merge")))
        }
        WorkloadKind::GSet => Box::new(GSet::new(gossip)),
        WorkloadKind::Kafka => Box::new(Kafka::new(bug == Some("local-offsets"))),
        WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => Box::new(TxnNode::new(
            kind == WorkloadKind::TxnListAppend,
            bug == Some("local-apply"),
        )),
        WorkloadKind::LinKv => match bug {
            Some("seq-kv") => Box::new(LinKvProxy::new(ServiceKind::SeqKv.name(), false)),
            _ => Box::new(LinKvProxy::new(
                ServiceKind::LinKv.name(),
                bug == Some("local-cache"),
            )),
        },
    }
}
