//! A producer: sends unique integers round-robin over the partitions at
//! `send_rate`, keeps up to `max_in_flight` requests open, and sends again
//! what timed out or was refused.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::check::log::LogFn;
use sim::history::Outcome;
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::{partition_name, Acks, MAX_BUFFERED};
use super::{Config, Entry, Msg, Record, Refusal};

/// The next send is due.
pub const SEND: TimerId = TimerId(0);
/// Look for requests that timed out, and sends waiting for a leader.
pub const RETRY: TimerId = TimerId(1);

/// One send, from the first attempt to the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    partition: u32,
    value: i64,
    seq: Option<u64>,
    /// Attempts so far that counted against `retries`.
    attempts: u32,
    /// The request in flight (id, when sent), if any.
    request: Option<(u64, Nanos)>,
    /// Not before this time may it be sent again (after a refusal).
    not_before: Nanos,
}

#[derive(Clone, Debug)]
pub struct Producer {
    config: Arc<Config>,
    /// Producer number (0-based), which makes its values and its id.
    index: u32,
    pub life: u64,
    leaders: BTreeMap<u32, NodeId>,
    epochs: BTreeMap<u32, u64>,
    next: u64,
    next_req: u64,
    /// Per partition, the next sequence number (idempotent only).
    seqs: BTreeMap<u32, u64>,
    /// Sends not yet answered, in the order they were made, by value.
    pending: BTreeMap<i64, Pending>,
    order: VecDeque<i64>,
    /// Requests in flight: id -> value.
    in_flight: BTreeMap<u64, i64>,
    /// The history this producer records ([`super::Record`]).
    pub records: Vec<Record>,
    pub acknowledged: u64,
}

impl Producer {
    pub fn new(config: Arc<Config>, index: u32) -> Producer {
        Producer {
            config,
            index,
            life: 0,
            leaders: BTreeMap::new(),
            epochs: BTreeMap::new(),
            next: 0,
            next_req: 0,
            seqs: BTreeMap::new(),
            pending: BTreeMap::new(),
            order: VecDeque::new(),
            in_flight: BTreeMap::new(),
            records: Vec::new(),
            acknowledged: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.life = ctx.incarnation();
        if ctx.now() < self.config.stop {
            ctx.set_timer(SEND, self.config.send_every);
        }
        ctx.set_timer(RETRY, self.retry_every());
    }

    fn retry_every(&self) -> Nanos {
        (self.config.request_timeout / 4).max(sim::time::NANOS_PER_MILLI)
    }

    /// The producer's id on the brokers: unique per producer and life.
    fn id(&self) -> u64 {
        (self.index as u64 + 1) << 32 | self.life
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            SEND => {
                self.new_send(ctx);
                if ctx.now() + self.config.send_every < self.config.stop {
                    ctx.set_timer(SEND, self.config.send_every);
                }
            }
            RETRY => {
                let now = ctx.now();
                let timeout = self.config.request_timeout;
                let timed_out: Vec<(u64, i64)> = self
                    .in_flight
                    .iter()
                    .filter(|(_, v)| {
                        self.pending[*v]
                            .request
                            .is_some_and(|(_, at)| now >= at + timeout)
                    })
                    .map(|(r, v)| (*r, *v))
                    .collect();
                for (req, value) in timed_out {
                    self.in_flight.remove(&req);
                    let p = self.pending.get_mut(&value).expect("in flight is pending");
                    p.request = None;
                    p.attempts += 1;
                }
                self.pump(ctx);
                ctx.set_timer(RETRY, self.retry_every());
            }
            _ => {}
        }
    }

    fn new_send(&mut self, ctx: &mut Ctx<Msg>) {
        let n = self.next;
        self.next += 1;
        let value =
            (self.index as i64 + 1) * 1_000_000_000 + (self.life as i64) * 10_000_000 + n as i64;
        let partition = (n % self.config.partitions as u64) as u32;
        let f = LogFn::Send {
            partition: partition_name(partition),
            value,
            offset: None,
        };
        let now = ctx.now();
        self.records.push(Record::Invoke {
            key: value as u64,
            f: f.clone(),
            at: now,
        });
        if self.pending.len() >= MAX_BUFFERED {
            // The buffer is full: the send never leaves.
            self.records.push(Record::Done {
                key: value as u64,
                f,
                outcome: Outcome::Fail,
                at: now,
            });
            return;
        }
        let seq = self.config.idempotent.then(|| {
            let s = self.seqs.entry(partition).or_insert(0);
            *s += 1;
            *s - 1
        });
        self.pending.insert(
            value,
            Pending {
                partition,
                value,
                seq,
                attempts: 0,
                request: None,
                not_before: 0,
            },
        );
        self.order.push_back(value);
        self.pump(ctx);
    }

    /// Sends what may go now, oldest first, while request slots are free;
    /// gives up on sends out of retries.
    fn pump(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        let mut i = 0;
        while i < self.order.len() {
            if self.in_flight.len() >= self.config.max_in_flight as usize {
                break;
            }
            let value = self.order[i];
            let p = self.pending[&value].clone();
            if p.request.is_some() || p.not_before > now {
                i += 1;
                continue;
            }
            if p.attempts > self.config.retries {
                // Some attempt may have been written: nobody knows.
                self.finish(value, Outcome::Info, None, now);
                continue;
            }
            let Some(&leader) = self.leaders.get(&p.partition) else {
                i += 1;
                continue;
            };
            self.next_req += 1;
            let req = self.next_req;
            ctx.send(
                leader,
                Msg::Produce {
                    partition: p.partition,
                    req,
                    entry: Entry {
                        value,
                        epoch: 0,
                        producer: self.id(),
                        seq: p.seq,
                    },
                },
            );
            if self.config.acks == Acks::None {
                // Nothing comes back: sent is done.
                self.finish(value, Outcome::Ok, None, now);
                continue;
            }
            self.in_flight.insert(req, value);
            self.pending.get_mut(&value).expect("pending").request = Some((req, now));
            i += 1;
        }
    }

    fn finish(&mut self, value: i64, outcome: Outcome, offset: Option<u64>, at: Nanos) {
        let Some(p) = self.pending.remove(&value) else {
            return;
        };
        self.order.retain(|v| *v != value);
        if outcome == Outcome::Ok {
            self.acknowledged += 1;
        }
        self.records.push(Record::Done {
            key: value as u64,
            f: LogFn::Send {
                partition: partition_name(p.partition),
                value,
                offset,
            },
            outcome,
            at,
        });
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        let now = ctx.now();
        match msg {
            Msg::LeaderAndIsr {
                partition,
                leader,
                epoch,
                ..
            } => {
                if self.epochs.get(&partition).is_some_and(|&e| e > epoch) {
                    return;
                }
                self.epochs.insert(partition, epoch);
                match leader {
                    Some(l) => self.leaders.insert(partition, l),
                    None => self.leaders.remove(&partition),
                };
                self.pump(ctx);
            }
            Msg::ProduceReply { req, result } => {
                let Some(value) = self.in_flight.remove(&req) else {
                    return;
                };
                match result {
                    Ok(offset) => self.finish(value, Outcome::Ok, Some(offset), now),
                    Err(why) => {
                        let backoff = self.config.request_timeout / 5;
                        let p = self.pending.get_mut(&value).expect("in flight is pending");
                        p.request = None;
                        p.not_before = now + backoff;
                        // An idempotent producer's send refused only because
                        // an earlier one is not written yet waits its turn;
                        // that costs it no retry.
                        if why != Refusal::OutOfOrderSequence {
                            p.attempts += 1;
                        }
                    }
                }
                self.pump(ctx);
            }
            _ => {}
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "producer",
            fields: vec![
                ("sent", self.next.to_string()),
                ("acked", self.acknowledged.to_string()),
                ("in flight", self.in_flight.len().to_string()),
            ],
        }
    }
}
