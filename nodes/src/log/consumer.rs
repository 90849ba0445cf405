//! A consumer: reads every partition from its start, up to the high
//! watermark, one fetch per partition at a time, and records each poll
//! that returned messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::check::log::{LogFn, Message};
use sim::history::Outcome;
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::partition_name;
use super::{Config, Leaders, Msg, Record};

/// Poll the partitions.
pub const POLL: TimerId = TimerId(0);

#[derive(Clone, Debug)]
pub struct Consumer {
    config: Arc<Config>,
    pub life: u64,
    leaders: Leaders,
    /// Per partition, the next offset to read.
    pub position: BTreeMap<u32, u64>,
    /// Per partition, the leader epoch of the entry before `position`
    /// (0: not known), so the leader can tell whether it still has it.
    last_epoch: BTreeMap<u32, u64>,
    /// Per partition, the fetch in flight: when sent, and the record key.
    fetching: BTreeMap<u32, (Nanos, u64)>,
    next_key: u64,
    pub records: Vec<Record>,
    pub received: u64,
}

impl Consumer {
    pub fn new(config: Arc<Config>) -> Consumer {
        Consumer {
            config,
            life: 0,
            leaders: Leaders::default(),
            position: BTreeMap::new(),
            last_epoch: BTreeMap::new(),
            fetching: BTreeMap::new(),
            next_key: 0,
            records: Vec::new(),
            received: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.life = ctx.incarnation();
        // Say, in every life, which partitions this consumer reads: the
        // checker holds it to exactly those, and a new life's reads start
        // afresh (from offset 0) rather than going back on the last life's.
        self.next_key += 1;
        let f = LogFn::Assign {
            partitions: (0..self.config.partitions).map(partition_name).collect(),
        };
        let at = ctx.now();
        self.records.push(Record::Invoke {
            key: self.next_key,
            f: f.clone(),
            at,
        });
        self.records.push(Record::Done {
            key: self.next_key,
            f,
            outcome: Outcome::Ok,
            at,
        });
        ctx.set_timer(POLL, self.config.fetch_interval);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer != POLL {
            return;
        }
        for p in 0..self.config.partitions {
            self.poll(ctx, p);
        }
        ctx.set_timer(POLL, self.config.fetch_interval);
    }

    /// Fetches partition `p` from its leader, unless a fetch is on its way
    /// and not yet given up on.
    fn poll(&mut self, ctx: &mut Ctx<Msg>, p: u32) {
        let now = ctx.now();
        if self
            .fetching
            .get(&p)
            .is_some_and(|&(at, _)| now < at + self.config.request_timeout)
        {
            return;
        }
        let Some(leader) = self.leaders.get(p) else {
            return;
        };
        self.next_key += 1;
        self.fetching.insert(p, (now, self.next_key));
        ctx.send(
            leader,
            Msg::Fetch {
                partition: p,
                offset: self.position.get(&p).copied().unwrap_or(0),
                last_epoch: self.last_epoch.get(&p).copied().unwrap_or(0),
                replica: false,
            },
        );
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::LeaderAndIsr {
                partition,
                leader,
                epoch,
                ..
            } => {
                self.leaders.learn(partition, leader, epoch);
            }
            Msg::FetchReply {
                partition,
                offset,
                entries,
                diverged,
                ..
            } => {
                let position = self.position.get(&partition).copied().unwrap_or(0);
                if self.leaders.get(partition) != Some(from) || offset != position {
                    return;
                }
                let Some((at, key)) = self.fetching.remove(&partition) else {
                    return;
                };
                if let Some(reset) = diverged {
                    // The leader's log no longer holds what this consumer
                    // last read: it goes back to where the logs agree (never
                    // forward, so it skips nothing the new leader holds) and
                    // reads the replaced offsets again.
                    self.position.insert(partition, reset.min(position));
                    self.last_epoch.insert(partition, 0);
                    self.poll(ctx, partition);
                    return;
                }
                if entries.is_empty() {
                    return;
                }
                let name = partition_name(partition);
                let messages: Vec<Message> = entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| Message {
                        partition: name.clone(),
                        offset: offset + i as u64,
                        value: e.value,
                    })
                    .collect();
                self.received += messages.len() as u64;
                if let Some(e) = entries.last() {
                    self.last_epoch.insert(partition, e.epoch);
                }
                self.position
                    .insert(partition, offset + entries.len() as u64);
                self.records.push(Record::Invoke {
                    key,
                    f: LogFn::Poll {
                        group: None,
                        messages: Vec::new(),
                    },
                    at,
                });
                self.records.push(Record::Done {
                    key,
                    f: LogFn::Poll {
                        group: None,
                        messages,
                    },
                    outcome: Outcome::Ok,
                    at: ctx.now(),
                });
                // More may be waiting: ask again now.
                self.poll(ctx, partition);
            }
            _ => {}
        }
    }

    pub fn status(&self) -> Status {
        let pos: Vec<String> = self.position.values().map(|o| o.to_string()).collect();
        Status {
            role: "consumer",
            fields: vec![
                ("received", self.received.to_string()),
                ("positions", pos.join(",")),
            ],
        }
    }
}
