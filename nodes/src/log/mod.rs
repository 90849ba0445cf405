//! # A partitioned, replicated log (Kafka's design, in small)
//!
//! A topic is split into partitions; each partition is an append-only log
//! kept on `replication_factor` brokers. One replica leads: producers send to
//! it, it appends, and the followers fetch from it. The *in-sync replicas*
//! (ISR) are the leader and the followers that have kept up within
//! `replica_lag_time`; the *high watermark* is the end of the prefix every
//! in-sync replica holds, and consumers read only below it. A controller
//! (`n1`) watches the brokers' heartbeats and, when a leader dies, makes an
//! in-sync replica the new leader, with a higher *leader epoch*.
//!
//! What a producer is told depends on `acks`: with `0` nothing, with `1` that
//! the leader appended the message, with `all` that every in-sync replica
//! did, and the leader refuses the send while fewer than
//! `min_insync_replicas` are in sync. So:
//!
//! - `acks = 1` gives up durability: a leader that dies before its followers
//!   fetched takes acknowledged messages with it; the new leader never had
//!   them and hands their offsets out again.
//! - `acks = "all"` with `min_insync_replicas = 2` keeps every acknowledged
//!   message through one broker's crash, because the new leader comes from
//!   the ISR and the ISR holds everything below the high watermark.
//! - `unclean_leader_election` trades that for availability: with no
//!   in-sync replica alive, an out-of-sync one leads, and the messages it
//!   lacks are gone.
//!
//! As Kafka does (since KIP-101 and KIP-497), the leader's ISR changes
//! through the controller: a shrink takes effect only once the controller
//! has recorded it, so the controller never elects a replica the leader had
//! already stopped waiting for; and a follower that finds its log diverged
//! from a new leader's truncates to where they agree, by leader epoch.
//!
//! Producers retry a send that timed out or was refused, with up to
//! `max_in_flight` requests open. A retry of a send whose first attempt was
//! written but whose answer was lost writes it twice, and a retry that
//! overtakes a later send reorders them. The *idempotent producer*
//! (`idempotent = true`, KIP-98) numbers its sends per partition; the
//! leader writes sequence `n` only right after `n - 1`, answers a repeat with
//! the offset it already has, and refuses a gap, so neither can happen
//! while its leader keeps its log. After a failover to a leader that lacks
//! sequence numbers it acknowledged, the producer's next sequence is a gap
//! that is refused for good: this producer then stalls (Kafka's KIP-360
//! answers with a new producer id; not modelled here).
//!
//! Without `group`, consumers are simple: each reads every partition from
//! its start, up to the high watermark. With `group`, the consumers are the
//! members of one consumer group ([`Member`]): the group coordinator on the
//! controller ([`Coordinator`]) assigns them the partitions round-robin,
//! rebalances when one joins or falls silent past `session_timeout`, keeps
//! the committed offsets, and fences a commit from an old generation. Each
//! member processes what it reads and writes the effect to a sink (on the
//! controller too), committing before, after, or in the same write
//! (`commit`); the sink may drop repeats by key (`dedup`). The history
//! records effects, not fetches, so the checker's delivery guarantee is the
//! processing's: at-most-once, at-least-once or an exactly-once effect. Not
//! modelled: a graceful leave (members leave by crashing or stalling),
//! cooperative rebalancing, a crash of the coordinator, and processing
//! failures other than poison messages.
//!
//! A *poison* message (`poison_every`) fails every time it is processed.
//! Without a dead letter queue its member retries it for ever and its
//! partitions are blocked; with `dlq`, after `max_attempts` failures the
//! member writes it to a dead letter partition (a partition after the
//! topic's, on the same brokers, always with `acks = "all"`, and refused
//! unless `min_insync_replicas` >= 2, so that an acknowledged dead letter
//! survives a broker crash) and commits past it. The history records that as a dead letter, so the checker counts the
//! message handled, neither delivered nor lost.
//!
//! Brokers keep their logs in memory: a restarted broker starts empty and
//! the controller takes it out of every ISR until it has caught up again.
//! The controller itself is never crashed by a scenario.
//!
//! What the run did with the messages is judged from the producers' sends
//! and the consumers' polls by the log checker ([`sim::check::log`]): lost,
//! duplicated and reordered messages, and the delivery guarantee the run
//! gave.

mod broker;
mod consumer;
mod controller;
mod dead_letter;
mod group;
#[cfg(test)]
mod group_tests;
mod member;
#[cfg(test)]
mod member_tests;
mod params;
mod producer;
#[cfg(test)]
mod tests;

pub use broker::Broker;
pub use consumer::Consumer;
pub use controller::Controller;
pub use group::{Coordinator, GroupRecord};
pub use member::Member;
pub use params::{Acks, AcksSpec, CommitPoint, Config, Params};
pub use producer::Producer;

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::check::log::{check_log, validate, LogFn, LogHistory, LogOp};
use sim::history::Outcome;
use sim::metric::{Figure, Metrics};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol, Step};
use sim::time::Nanos;

pub const ROLES: &[&str] = &["controller", "leader", "broker", "producer", "consumer"];

/// The controller is always `n1`.
pub const CONTROLLER: NodeId = NodeId(0);

/// What a client (a consumer or a group member) knows of each partition's
/// leader: the newest `LeaderAndIsr` it heard. The controller's messages
/// can arrive out of order, so an older epoch's news is ignored.
#[derive(Clone, Debug, Default)]
pub struct Leaders {
    leader: BTreeMap<u32, NodeId>,
    epoch: BTreeMap<u32, u64>,
}

impl Leaders {
    /// Takes the controller's word that `partition`'s leader in `epoch` is
    /// `leader` (none: offline), unless it already heard of a later epoch.
    pub fn learn(&mut self, partition: u32, leader: Option<NodeId>, epoch: u64) {
        if self.epoch.get(&partition).is_some_and(|&e| e > epoch) {
            return;
        }
        self.epoch.insert(partition, epoch);
        match leader {
            Some(l) => self.leader.insert(partition, l),
            None => self.leader.remove(&partition),
        };
    }

    pub fn get(&self, partition: u32) -> Option<NodeId> {
        self.leader.get(&partition).copied()
    }
}

/// One message in a partition's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: i64,
    /// The leader epoch it was appended in: replicas compare these to find
    /// where their logs diverge.
    pub epoch: u64,
    /// The producer and its sequence number, for an idempotent producer.
    pub producer: u64,
    pub seq: Option<u64>,
}

/// Why a leader refused a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotLeader,
    NotEnoughReplicas,
    OutOfOrderSequence,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Broker -> controller: alive, in its `life`-th life.
        Heartbeat { life: u64 },
        /// Controller -> everyone: partition's leader (none: offline), epoch and ISR.
        LeaderAndIsr { partition: u32, leader: Option<NodeId>, epoch: u64, isr: Vec<NodeId> },
        /// Leader -> controller: please record this ISR.
        AlterIsr { partition: u32, epoch: u64, isr: Vec<NodeId> },
        /// Producer -> leader.
        Produce { partition: u32, req: u64, entry: Entry },
        ProduceReply { req: u64, result: Result<u64, Refusal> },
        /// Follower or consumer -> leader: entries from `offset`; a follower
        /// says the epoch of its entry before `offset`.
        Fetch { partition: u32, offset: u64, last_epoch: u64, replica: bool },
        /// `diverged`: the follower's log disagrees with the leader's; truncate
        /// to this offset and fetch again.
        FetchReply { partition: u32, offset: u64, entries: Vec<Entry>, hw: u64, diverged: Option<u64> },
        /// Member -> coordinator: add me (in my `life`-th life) to the group.
        JoinGroup { life: u64 },
        /// Member -> coordinator: alive, at this generation.
        GroupHeartbeat { life: u64, generation: u64 },
        /// Coordinator -> member: the group is rebalancing away from
        /// `generation`; finish and commit what you hold, then join again
        /// (Kafka's REBALANCE_IN_PROGRESS answer to a heartbeat).
        RebalancePending { generation: u64 },
        /// Coordinator -> member: your partitions in this generation, each
        /// with the group's committed offset to start from.
        Assignment { generation: u64, partitions: Vec<(u32, u64)> },
        /// Member -> coordinator: commit `offset` on `partition`.
        CommitOffset { life: u64, req: u64, generation: u64, partition: u32, offset: u64, sent_at: Nanos },
        /// Member -> sink: apply these processed messages (offset, value);
        /// with `commit`, commit that offset in the same step.
        Apply { life: u64, req: u64, generation: u64, partition: u32, messages: Vec<(u64, i64)>, commit: Option<u64>, sent_at: Nanos },
        /// Coordinator or sink -> member: done (false: fenced).
        GroupReply { req: u64, ok: bool },
    }
}

sim::node_enum! {
    /// A node of the log: the controller, a broker, a producer or a consumer.
    pub enum LogNode: Msg {
        Controller(Controller) { role: |_| "controller", start, get as_controller },
        Broker(Broker) { role: |b| b.role_name(), start, get as_broker },
        Producer(Producer) { role: |_| "producer", start, get as_producer },
        Consumer(Consumer) { role: |_| "consumer", start, get as_consumer },
        Member(Member) { role: |_| "consumer", start, get as_member },
    }
}

/// What a producer or consumer records for the history: an operation begun
/// (`key` unique within the node's life) or ended, with its results.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Invoke {
        key: u64,
        f: LogFn,
        at: Nanos,
    },
    Done {
        key: u64,
        f: LogFn,
        outcome: Outcome,
        at: Nanos,
    },
}

/// The figures of the report: the setting and the elections, then the log
/// checker's ([`sim::check::log::FIGURES`]).
pub const METRICS: &[Figure] = &[
    Figure::text("log"),
    Figure::count("leader elections"),
    Figure::count("unclean elections"),
    Figure::count("rebalances"),
    Figure::count("fenced commits"),
    Figure::count("repeats dropped"),
    Figure::count("buffer peak"),
    Figure::count("poison attempts"),
    Figure::count("blocked partitions"),
    Figure::count("dlq size"),
    Figure::count("dlq mismatch"),
    Figure::text("dlq"),
    Figure::count("lost"),
    Figure::count("unseen"),
    Figure::count("duplicate"),
    Figure::count("duplicate-delivery"),
    Figure::count("poll-skip"),
    Figure::count("nonmonotonic-poll"),
    Figure::count("nonmonotonic-send"),
    Figure::count("internal"),
    Figure::count("reorder"),
    Figure::count("commit-backwards"),
    Figure::count("inconsistent-offset"),
    Figure::count("aborted-read"),
    Figure::text("delivery guarantee"),
    Figure::count("acknowledged sends"),
    Figure::count("never delivered"),
    Figure::count("delivered twice"),
    Figure::count("dead-lettered"),
    Figure::count("consumer lag max"),
    Figure::series("consumer lag"),
];

/// The log protocol, and the history it collects from its producers and
/// consumers as the run goes (so a crash cannot take it away).
#[derive(Clone, Debug)]
pub struct Log {
    pub config: Arc<Config>,
    history: Collector,
    /// The most messages any group member held fetched but unprocessed.
    buffer_peak: usize,
    /// Per member life, its failed processing attempts (poison messages).
    attempts: BTreeMap<(NodeId, u64), u64>,
}

impl Log {
    pub fn new(config: Config) -> Log {
        Log {
            config: Arc::new(config),
            history: Collector::default(),
            buffer_peak: 0,
            attempts: BTreeMap::new(),
        }
    }
}

/// Gathers the records of every producer and consumer into one history.
#[derive(Clone, Debug, Default)]
struct Collector {
    ops: Vec<LogOp>,
    /// Per node: the life its records come from, and how many were read.
    cursor: BTreeMap<NodeId, (u64, usize)>,
    /// Open operations: (node, life, key) -> index in `ops`.
    open: BTreeMap<(NodeId, u64, u64), usize>,
    /// How many of the coordinator's records were read.
    group_read: usize,
}

impl Collector {
    /// Takes the coordinator's and the sink's new records: each is an
    /// operation of the member it names, complete when recorded. The
    /// controller is never crashed, so its records only grow.
    fn read_group(&mut self, records: &[GroupRecord]) {
        for r in &records[self.group_read.min(records.len())..] {
            self.ops.push(LogOp {
                process: r.member.0 as u64 + 1,
                f: r.f.clone(),
                outcome: r.outcome,
                call_ns: r.call,
                return_ns: (r.outcome != Outcome::Info).then_some(r.ret),
            });
        }
        self.group_read = records.len();
    }

    fn read(&mut self, id: NodeId, life: u64, records: &[Record]) {
        let cursor = self.cursor.entry(id).or_insert((life, 0));
        if cursor.0 != life {
            *cursor = (life, 0);
        }
        for r in &records[cursor.1..] {
            match r {
                Record::Invoke { key, f, at } => {
                    self.open.insert((id, life, *key), self.ops.len());
                    self.ops.push(LogOp {
                        process: id.0 as u64 + 1,
                        f: f.clone(),
                        outcome: Outcome::Info,
                        call_ns: *at,
                        return_ns: None,
                    });
                }
                Record::Done {
                    key,
                    f,
                    outcome,
                    at,
                } => {
                    if let Some(i) = self.open.remove(&(id, life, *key)) {
                        let op = &mut self.ops[i];
                        op.f = f.clone();
                        op.outcome = *outcome;
                        op.return_ns = (*outcome != Outcome::Info).then_some(*at);
                    }
                }
            }
        }
        cursor.1 = records.len();
    }
}

impl Protocol for Log {
    type Node = LogNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, _disk: &Disk) -> LogNode {
        let c = &self.config;
        let i = id.0;
        if id == CONTROLLER {
            LogNode::Controller(Controller::new(c.clone()))
        } else if i <= c.brokers {
            LogNode::Broker(Broker::new(c.clone()))
        } else if i <= c.brokers + c.producers {
            LogNode::Producer(Producer::new(c.clone(), i - c.brokers - 1))
        } else if c.group.is_some() {
            LogNode::Member(Member::new(c.clone()))
        } else {
            LogNode::Consumer(Consumer::new(c.clone()))
        }
    }

    fn observe(&mut self, step: Step<'_, LogNode>) {
        match step.node() {
            Some(LogNode::Producer(p)) => self.history.read(step.stepped, p.life, &p.records),
            Some(LogNode::Consumer(c)) => self.history.read(step.stepped, c.life, &c.records),
            Some(LogNode::Member(m)) => {
                self.buffer_peak = self.buffer_peak.max(m.buffer_peak);
                if m.poison_attempts > 0 {
                    self.attempts
                        .insert((step.stepped, m.life), m.poison_attempts);
                }
                self.history.read(step.stepped, m.life, &m.records)
            }
            Some(LogNode::Controller(c)) => self.history.read_group(&c.group.records),
            _ => {}
        }
    }

    fn metrics(&self, nodes: &NodeTable<LogNode>, out: &mut Metrics) {
        out.text("log", self.config.describe());
        let controller = nodes
            .first()
            .and_then(Option::as_ref)
            .and_then(LogNode::as_controller);
        match controller {
            Some(c) => {
                out.count("leader elections", c.elections);
                out.count("unclean elections", c.unclean_elections)
                    .note("leaders elected from outside the ISR");
            }
            None => {
                out.none("leader elections", "the controller is down at the end");
                out.none("unclean elections", "the controller is down at the end");
            }
        }
        if let (Some(c), Some(_)) = (controller, &self.config.group) {
            let g = &c.group;
            out.count("rebalances", g.rebalances)
                .note(format!("generation {} at the end", g.generation));
            out.count("fenced commits", g.fenced)
                .note("commits refused for an old generation or a partition moved away");
            out.count("repeats dropped", g.dropped_repeats)
                .note("messages the sink had applied already (dedup)");
            out.count("buffer peak", self.buffer_peak as u64)
                .note(format!(
                    "most messages a member held fetched but unprocessed (max_buffered {})",
                    self.config.max_buffered
                ));
        }
        dead_letter::metrics(&self.config, nodes, &self.history.ops, &self.attempts, out);
        // In order of invocation: a consumer records a poll when it ends.
        let mut ops = self.history.ops.clone();
        ops.sort_by_key(|op| op.call_ns);
        let history = LogHistory { ops };
        if let Err(e) = validate(&history) {
            // The nodes write the history: an invalid one is a bug here.
            panic!("the log protocol recorded an invalid history: {e}");
        }
        check_log(&history).metrics(out);
    }
}
