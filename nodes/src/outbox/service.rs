//! The order service: a database on its disk, one transaction at a time,
//! and (with the outbox) the relay that publishes the outbox table.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::{Config, Publish};
use super::{Event, Msg, BROKER};

/// The transaction's work is done: decide it (timer).
const TXN: TimerId = TimerId(0);
/// The second write of a dual write is due (timer).
const SECOND: TimerId = TimerId(1);
/// The relay polls the outbox table (timer).
const POLL: TimerId = TimerId(2);
/// The relay marks what the broker acknowledged as sent (timer).
const MARK: TimerId = TimerId(3);

/// Where the open transaction is. `Between` is the window the lesson is
/// about: one of the two writes is done and the other is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No order open (the run's orders are over, or the service just started).
    Idle,
    /// Order `id` is being worked on; nothing written yet (but with
    /// publish-then-commit, its event is already out).
    Working { id: u64, amount: i64 },
    /// Commit-then-publish: order `id` committed, its event not yet sent.
    Between { id: u64, amount: i64 },
}

/// The service's database. Every write is synced before the service goes
/// on, so the durable state after a crash is exactly what was committed:
/// the orders table, the outbox table, and the next order id (so an id is
/// never handed out twice). The in-memory copies are rebuilt from the disk.
#[derive(Clone, Debug)]
pub struct Service {
    config: Arc<Config>,
    /// Committed orders: id -> amount.
    pub orders: BTreeMap<u64, i64>,
    /// The outbox table: unsent events by id.
    pub outbox: BTreeMap<u64, Event>,
    next_id: u64,
    pub phase: Phase,
    /// The relay's batch published and not yet marked sent (the window
    /// between the relay's two writes), and which of them the broker
    /// acknowledged meanwhile.
    pub in_flight: Vec<u64>,
    acked: Vec<u64>,
    /// Rows published and not yet acknowledged, with when they were last
    /// published: the relay does not publish them again before
    /// `relay_retry` has passed, and takes their acknowledgement whenever it
    /// comes, so a round trip longer than `publish_delay` costs nothing.
    /// In memory: a restarted relay publishes every row again.
    pub awaiting: BTreeMap<u64, Nanos>,
    /// Counters of this life (the protocol banks them across crashes).
    pub rolled_back: u64,
    pub sent: u64,
}

const ORDERS: &str = "orders";
const OUTBOX: &str = "outbox";
const META: &str = "next_id";

impl Service {
    /// The service as its disk holds it: empty at the first start.
    pub fn from_disk(config: Arc<Config>, disk: &Disk) -> Service {
        let read = |ns: &'static str| -> BTreeMap<u64, i64> {
            disk.indexes(ns)
                .into_iter()
                .filter_map(|i| Some((i, *disk.get::<i64>((ns, i))?)))
                .collect()
        };
        let orders = read(ORDERS);
        let outbox = disk
            .indexes(OUTBOX)
            .into_iter()
            .filter_map(|i| Some((i, disk.get::<Event>((OUTBOX, i))?.clone())))
            .collect();
        Service {
            config,
            orders,
            outbox,
            next_id: disk.get::<u64>((META, 0)).copied().unwrap_or(1),
            phase: Phase::Idle,
            in_flight: Vec::new(),
            acked: Vec::new(),
            awaiting: BTreeMap::new(),
            rolled_back: 0,
            sent: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.begin(ctx);
        if self.config.publish == Publish::Outbox {
            ctx.set_timer(POLL, self.config.relay_interval);
        }
    }

    /// Opens the next order, unless the run's orders are over.
    fn begin(&mut self, ctx: &mut Ctx<Msg>) {
        if ctx.now() >= self.config.stop {
            self.phase = Phase::Idle;
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        ctx.disk().put((META, 0), self.next_id);
        ctx.disk().sync();
        let amount = ctx.rng().gen_range(1..=100);
        self.phase = Phase::Working { id, amount };
        let took = self.config.txn_time.sample(ctx.rng()).max(1);
        if self.config.publish == Publish::PublishThenCommit {
            // The event goes out first; the transaction's work and the
            // time before its commit follow.
            self.send(
                ctx,
                Event {
                    id,
                    order: id,
                    amount,
                },
            );
            ctx.set_timer(TXN, took + self.config.publish_delay);
        } else {
            ctx.set_timer(TXN, took);
        }
    }

    fn send(&mut self, ctx: &mut Ctx<Msg>, event: Event) {
        self.sent += 1;
        ctx.send(BROKER, Msg::Publish { event });
    }

    /// The transaction's work is done: the validation rule (a draw from
    /// the node's stream) rolls it back, or it commits.
    fn decide(&mut self, ctx: &mut Ctx<Msg>) {
        let Phase::Working { id, amount } = self.phase else {
            return;
        };
        if ctx.rng().gen_bool(self.config.abort_probability) {
            self.rolled_back += 1;
            self.begin(ctx);
            return;
        }
        self.orders.insert(id, amount);
        ctx.disk().put((ORDERS, id), amount);
        match self.config.publish {
            Publish::CommitThenPublish => {
                ctx.disk().sync();
                self.phase = Phase::Between { id, amount };
                ctx.set_timer(SECOND, self.config.publish_delay);
            }
            Publish::PublishThenCommit => {
                ctx.disk().sync();
                self.begin(ctx);
            }
            Publish::Outbox => {
                // The event row is written in the same local transaction:
                // one sync makes both durable, or neither.
                let event = Event {
                    id,
                    order: id,
                    amount,
                };
                ctx.disk().put((OUTBOX, id), event.clone());
                ctx.disk().sync();
                self.outbox.insert(id, event);
                self.begin(ctx);
            }
        }
    }

    /// The relay's poll: publish the oldest unsent rows, leaving out those
    /// published less than `relay_retry` ago and still waiting for their
    /// acknowledgement.
    fn poll(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        let retry = self.config.relay_retry;
        let awaiting = &self.awaiting;
        let batch: Vec<Event> = self
            .outbox
            .values()
            .filter(|e| awaiting.get(&e.id).is_none_or(|&at| now >= at + retry))
            .take(self.config.relay_batch as usize)
            .cloned()
            .collect();
        if batch.is_empty() {
            ctx.set_timer(POLL, self.config.relay_interval);
            return;
        }
        self.in_flight = batch.iter().map(|e| e.id).collect();
        self.acked.clear();
        for event in batch {
            self.awaiting.insert(event.id, now);
            self.send(ctx, event);
        }
        ctx.set_timer(MARK, self.config.publish_delay);
    }

    /// The relay's second write: the rows the broker acknowledged leave the
    /// outbox table. A row whose acknowledgement was lost stays and is
    /// published again once `relay_retry` has passed: at least once. An
    /// acknowledgement that comes after this is taken when it comes.
    fn mark(&mut self, ctx: &mut Ctx<Msg>) {
        for id in std::mem::take(&mut self.acked) {
            self.remove_row(ctx, id);
        }
        ctx.disk().sync();
        self.in_flight.clear();
        ctx.set_timer(POLL, self.config.relay_interval);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            TXN => self.decide(ctx),
            SECOND => {
                if let Phase::Between { id, amount } = self.phase {
                    self.send(
                        ctx,
                        Event {
                            id,
                            order: id,
                            amount,
                        },
                    );
                    self.begin(ctx);
                }
            }
            POLL => self.poll(ctx),
            MARK => self.mark(ctx),
            _ => {}
        }
    }

    /// Deletes acknowledged row `id` from the outbox table (the caller syncs).
    fn remove_row(&mut self, ctx: &mut Ctx<Msg>, id: u64) {
        self.awaiting.remove(&id);
        if self.outbox.remove(&id).is_some() {
            ctx.disk().delete((OUTBOX, id));
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        let Msg::Ack { id } = msg else {
            return;
        };
        if self.in_flight.contains(&id) {
            // Inside the window: the relay marks its batch at MARK.
            if !self.acked.contains(&id) {
                self.acked.push(id);
            }
        } else if self.outbox.contains_key(&id) {
            // A late acknowledgement (the round trip outlasted the window,
            // or the row was published again): the row is in the log, so
            // it leaves the outbox now rather than be published forever.
            self.remove_row(ctx, id);
            ctx.disk().sync();
        }
    }

    /// What is still under way, for the checker at the end of the run.
    pub fn unfinished(&self) -> super::Unfinished {
        super::Unfinished {
            outbox_rows: self.outbox.keys().copied().collect(),
            between: match self.phase {
                Phase::Between { id, .. } => Some(id),
                _ => None,
            },
            open: match (self.config.publish, self.phase) {
                (Publish::PublishThenCommit, Phase::Working { id, .. }) => Some(id),
                _ => None,
            },
        }
    }

    /// Whether a crash now falls between the two writes of an event.
    pub fn between_writes(&self) -> bool {
        match self.config.publish {
            Publish::CommitThenPublish => matches!(self.phase, Phase::Between { .. }),
            Publish::PublishThenCommit => matches!(self.phase, Phase::Working { .. }),
            Publish::Outbox => !self.in_flight.is_empty(),
        }
    }

    pub fn status(&self) -> Status {
        let phase = match self.phase {
            Phase::Idle => "idle".to_string(),
            Phase::Working { id, .. } => format!("order {id} open"),
            Phase::Between { id, .. } => format!("order {id} committed, not published"),
        };
        Status {
            role: "service",
            fields: vec![
                ("phase", phase),
                ("orders", self.orders.len().to_string()),
                ("outbox", self.outbox.len().to_string()),
                ("relay in flight", self.in_flight.len().to_string()),
            ],
        }
    }
}
