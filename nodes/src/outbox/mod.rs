//! # Dual writes and the transactional outbox
//!
//! An order service keeps its orders in its own database and must tell the
//! rest of the system about each one by publishing an event to a broker,
//! where a consumer keeps a downstream view (a revenue total per order,
//! say). Two systems, two writes, no transaction spanning them: that is a
//! *dual write*, and a crash between the two writes breaks it one way or
//! the other.
//!
//! - `publish = "commit-then-publish"`: the service commits, then
//!   publishes. A crash after the commit and before the publish loses the
//!   event for good: the order exists, the view never hears of it.
//! - `publish = "publish-then-commit"`: the service publishes, then
//!   commits. A transaction that then rolls back (the validation rule,
//!   `abort_probability`) or never commits (a crash) leaves a *phantom*
//!   event: the view holds an order the database does not.
//! - `publish = "outbox"`: the transactional outbox (Richardson,
//!   *Microservices Patterns*, "Transactional outbox"). The event is a row
//!   of an outbox table written in the same local transaction as the order,
//!   so both are committed or neither. A relay polls the table every
//!   `relay_interval`, publishes the unsent rows, and, once the broker has
//!   acknowledged them, deletes them in a second transaction. A crash (or a
//!   lost acknowledgement) between the relay's publish and that delete
//!   publishes the same rows again after the restart: nothing is lost, no
//!   phantom is possible, and the cost is *at least once*. The consumer
//!   then has to be idempotent: with `dedup = true` it keeps the ids of
//!   the events it applied and drops a repeat, and the effect is exactly
//!   once.
//!
//! The broker's offsets do not help: the consumer here reads every offset
//! exactly once, yet a republished event is a second entry at another
//! offset, and applying it counts the order twice. Exactly-once effect
//! comes from de-duplication (or from committing the output with the
//! input position atomically), not from offsets.
//!
//! The service runs one transaction at a time, back to back from the start
//! of the run to `[workload] stop`: its work takes `txn_time`, and the two
//! writes are `publish_delay` apart (with the outbox, the relay's publish
//! and its delete), so that a crash at a time of the scenario's choosing
//! lands between them on most seeds; the report counts how many did. What
//! is durable: the orders table, the outbox table and the next order id,
//! each synced before the service goes on; a restarted service is rebuilt
//! from them, and an order open at the crash is gone (it never committed).
//! The broker (`n2`) and the consumer (`n3`) keep their state in memory and
//! are never crashed: a scenario whose `[[faults]]` or nemesis could crash
//! them is refused (the TUI's own fault keys can still crash any node; the
//! tally does not hold after a crash of `n2` or `n3`). The checker ([`check::Tally`]) compares,
//! at the end, the committed orders with the broker's log and the
//! consumer's view: lost events, phantom events, duplicates published,
//! events applied twice, and the orders on which the view and the database
//! disagree.

mod broker;
pub mod check;
mod params;
mod service;
#[cfg(test)]
mod tests;

pub use broker::{Broker, Consumer};
pub use check::{Tally, Unfinished};
pub use params::{Config, Params, Publish, MAX_RELAY_BATCH};
pub use service::{Phase, Service};

use std::sync::Arc;

use sim::metric::{Figure, Metrics};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol};

pub const ROLES: &[&str] = &["service", "broker", "consumer"];

/// The order service is `n1`, the broker `n2`, the consumer `n3`.
pub const SERVICE: NodeId = NodeId(0);
pub const BROKER: NodeId = NodeId(1);
pub const CONSUMER: NodeId = NodeId(2);

/// One event: its own id (the relay republishes the same id), the order it
/// tells of, and the order's amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: u64,
    pub order: u64,
    pub amount: i64,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Service (or its relay) -> broker.
        Publish { event: Event },
        /// Broker -> service: event `id` is in the log.
        Ack { id: u64 },
        /// Broker -> consumer: the entry at `offset`.
        Deliver { offset: u64, event: Event },
    }
}

sim::node_enum! {
    /// A node of the outbox system.
    pub enum OutboxNode: Msg {
        Service(Service) { role: |_| "service", start, get as_service },
        Broker(Broker) { role: |_| "broker", get as_broker },
        Consumer(Consumer) { role: |_| "consumer", get as_consumer },
    }
}

/// The figures of the report, in the order it prints them.
pub const METRICS: &[Figure] = &[
    Figure::text("outbox"),
    Figure::count("orders committed"),
    Figure::count("orders rolled back"),
    Figure::count("events published"),
    Figure::count("lost events"),
    Figure::count("phantom events"),
    Figure::count("duplicates published"),
    Figure::count("applied twice"),
    Figure::count("repeats dropped"),
    Figure::count("view divergence"),
    Figure::count("pending outbox rows"),
    Figure::count("between the writes at the end"),
    Figure::count("open published orders"),
    Figure::count("unconsumed events"),
    Figure::count("service crashes"),
    Figure::count("crashes between the writes"),
    Figure::text("effect"),
];

/// The outbox protocol: the order service, the broker, the consumer.
#[derive(Clone, Debug)]
pub struct Outbox {
    pub config: Arc<Config>,
    /// The service's crashes, and those that fell between its two writes.
    crashes: u64,
    crashes_between: u64,
    /// Rollbacks of the service's earlier lives.
    rolled_back: u64,
    /// Crashes of the broker or the consumer: a scenario cannot ask for
    /// one, but the TUI can inject it, and the tally does not hold after.
    others_crashed: u64,
}

impl Outbox {
    pub fn new(config: Config) -> Outbox {
        Outbox {
            config: Arc::new(config),
            crashes: 0,
            crashes_between: 0,
            rolled_back: 0,
            others_crashed: 0,
        }
    }
}

impl Protocol for Outbox {
    type Node = OutboxNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, disk: &Disk) -> OutboxNode {
        match id {
            SERVICE => OutboxNode::Service(Service::from_disk(self.config.clone(), disk)),
            BROKER => OutboxNode::Broker(Broker::default()),
            _ => OutboxNode::Consumer(Consumer::new(self.config.dedup)),
        }
    }

    fn crashed(&mut self, id: NodeId, last: &OutboxNode) {
        if let (SERVICE, Some(s)) = (id, last.as_service()) {
            self.crashes += 1;
            self.crashes_between += u64::from(s.between_writes());
            self.rolled_back += s.rolled_back;
        } else {
            self.others_crashed += 1;
        }
    }

    fn metrics(&self, nodes: &NodeTable<OutboxNode>, out: &mut Metrics) {
        out.text("outbox", self.config.describe());
        let get = |i: NodeId| nodes.get(i.index()).and_then(Option::as_ref);
        let (Some(s), Some(b), Some(c)) = (
            get(SERVICE).and_then(OutboxNode::as_service),
            get(BROKER).and_then(OutboxNode::as_broker),
            get(CONSUMER).and_then(OutboxNode::as_consumer),
        ) else {
            out.none(
                "orders committed",
                "none: a node is down at the end of the run (restart the service to compare its database)",
            );
            return;
        };
        let t = Tally::of_run(&s.orders, &b.log, &c.applied, &c.view, &s.unfinished());
        out.count("orders committed", t.committed)
            .note("in the service's database at the end");
        out.count("orders rolled back", self.rolled_back + s.rolled_back)
            .note("by the validation rule");
        out.count("events published", t.published)
            .note("entries in the broker's log, copies included");
        out.count("lost events", t.lost)
            .note("committed orders with no event in the log");
        out.count("phantom events", t.phantom)
            .note("events whose order the database does not hold");
        out.count("duplicates published", t.duplicates_published)
            .note("copies of an event beyond its first");
        out.count("applied twice", t.applied_twice)
            .note("applications by the consumer beyond an event's first");
        out.count("repeats dropped", c.repeats_dropped)
            .note("by the consumer's de-duplication");
        out.count("view divergence", t.divergent)
            .note("orders on which the view and the database disagree");
        out.count("pending outbox rows", t.pending_rows)
            .note("committed, not yet in the log at the end: not lost, undrained");
        out.count("between the writes at the end", t.between_at_end)
            .note("committed, not yet published at the end: not lost, undrained");
        out.count("open published orders", t.open_published)
            .note("published, transaction still open at the end: not phantom, undecided");
        out.count("unconsumed events", t.unconsumed)
            .note("in the log, never applied: in transit at the end or a delivery lost");
        out.count("service crashes", self.crashes);
        out.count("crashes between the writes", self.crashes_between)
            .note(format!(
                "of {} ({})",
                self.crashes,
                window(self.config.publish)
            ));
        if self.others_crashed > 0 {
            out.text(
                "effect",
                format!(
                    "not judged: the broker or the consumer crashed {} time(s) (injected); their state is in memory and the tally assumes they stay up",
                    self.others_crashed
                ),
            );
        } else {
            out.text("effect", t.verdict());
        }
    }
}

/// The window a crash must hit, in words.
fn window(p: Publish) -> &'static str {
    match p {
        Publish::CommitThenPublish => "order committed, event not yet published",
        Publish::PublishThenCommit => "event published, order not yet committed",
        Publish::Outbox => "relay published, rows not yet marked sent",
    }
}
