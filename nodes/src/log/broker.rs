//! A broker: one replica of each partition it holds, leading some and
//! following the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::Acks;
use super::{Config, Entry, Msg, Refusal, CONTROLLER};

/// Send a heartbeat to the controller.
pub const HEARTBEAT: TimerId = TimerId(0);
/// Followers fetch; leaders look at their followers' lag.
pub const FETCH: TimerId = TimerId(1);

/// The most entries one fetch returns.
pub const MAX_BATCH: usize = 500;

/// What a leader knows of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Follower {
    /// Its log end, as its last fetch said.
    leo: u64,
    /// The last time a fetch showed it had everything the leader had.
    caught_up_at: Nanos,
}

/// This broker's replica of one partition.
#[derive(Clone, Debug, Default)]
pub struct Replica {
    pub log: Vec<Entry>,
    pub epoch: u64,
    pub leader: Option<NodeId>,
    /// The ISR as the controller recorded it.
    pub isr: Vec<NodeId>,
    pub hw: u64,
    followers: BTreeMap<NodeId, Follower>,
    /// `acks = all` sends waiting for the high watermark: (offset, producer, request).
    waiting: Vec<(u64, NodeId, u64)>,
    /// Per producer id, the last sequence number in the log.
    producers: BTreeMap<u64, u64>,
    /// A follower's fetch in flight, and when it was sent.
    fetching: Option<Nanos>,
}

#[derive(Clone, Debug)]
pub struct Broker {
    config: Arc<Config>,
    me: NodeId,
    life: u64,
    pub replicas: BTreeMap<u32, Replica>,
}

impl Broker {
    pub fn new(config: Arc<Config>) -> Broker {
        Broker {
            config,
            me: NodeId(0),
            life: 0,
            replicas: BTreeMap::new(),
        }
    }

    pub fn role_name(&self) -> &'static str {
        if self.replicas.values().any(|r| r.leader == Some(self.me)) {
            "leader"
        } else {
            "broker"
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.me = ctx.me();
        self.life = ctx.incarnation();
        for p in 0..self.config.log_partitions() {
            if self.config.replicas(p).contains(&self.me) {
                self.replicas.insert(p, Replica::default());
            }
        }
        ctx.send(CONTROLLER, Msg::Heartbeat { life: self.life });
        ctx.set_timer(HEARTBEAT, self.heartbeat_every());
        ctx.set_timer(FETCH, self.config.fetch_interval);
    }

    fn heartbeat_every(&self) -> Nanos {
        (self.config.session_timeout / 4).max(sim::time::NANOS_PER_MILLI)
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            HEARTBEAT => {
                ctx.send(CONTROLLER, Msg::Heartbeat { life: self.life });
                ctx.set_timer(HEARTBEAT, self.heartbeat_every());
            }
            FETCH => {
                let parts: Vec<u32> = self.replicas.keys().copied().collect();
                for p in parts {
                    let leader = self.replicas[&p].leader;
                    if leader == Some(self.me) {
                        self.check_isr(ctx, p);
                    } else if leader.is_some() {
                        self.fetch(ctx, p, false);
                    }
                }
                ctx.set_timer(FETCH, self.config.fetch_interval);
            }
            _ => {}
        }
    }

    /// A follower asks its leader for what follows its log, unless a fetch
    /// is already on its way (and not yet given up on).
    fn fetch(&mut self, ctx: &mut Ctx<Msg>, p: u32, now_please: bool) {
        let now = ctx.now();
        let patience = self.config.fetch_interval * 5;
        let r = self.replicas.get_mut(&p).expect("a held partition");
        let Some(leader) = r.leader else {
            return;
        };
        if !now_please && r.fetching.is_some_and(|t| now < t + patience) {
            return;
        }
        r.fetching = Some(now);
        ctx.send(
            leader,
            Msg::Fetch {
                partition: p,
                offset: r.log.len() as u64,
                last_epoch: r.log.last().map_or(0, |e| e.epoch),
                replica: true,
            },
        );
    }

    /// The ISR this leader would have: the followers that caught up within
    /// `replica_lag_time`, and those out of it whose log reached the high
    /// watermark. A change goes to the controller, and takes effect once it
    /// is recorded there.
    fn check_isr(&mut self, ctx: &mut Ctx<Msg>, p: u32) {
        let now = ctx.now();
        let lag = self.config.replica_lag_time;
        let me = self.me;
        let r = &self.replicas[&p];
        let mut want: Vec<NodeId> = self
            .config
            .replicas(p)
            .into_iter()
            .filter(|&b| {
                if b == me {
                    return true;
                }
                match r.followers.get(&b) {
                    Some(f) if r.isr.contains(&b) => now.saturating_sub(f.caught_up_at) <= lag,
                    Some(f) => f.leo >= r.hw && now.saturating_sub(f.caught_up_at) <= lag,
                    None => false,
                }
            })
            .collect();
        want.sort();
        let mut have = r.isr.clone();
        have.sort();
        if want != have {
            ctx.send(
                CONTROLLER,
                Msg::AlterIsr {
                    partition: p,
                    epoch: r.epoch,
                    isr: want,
                },
            );
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::LeaderAndIsr {
                partition,
                leader,
                epoch,
                isr,
            } => self.on_leader_and_isr(ctx, partition, leader, epoch, isr),
            Msg::Produce {
                partition,
                req,
                entry,
            } => self.on_produce(ctx, from, partition, req, entry),
            Msg::Fetch {
                partition,
                offset,
                last_epoch,
                replica,
            } => self.on_fetch(ctx, from, partition, offset, last_epoch, replica),
            Msg::FetchReply {
                partition,
                offset,
                entries,
                hw,
                diverged,
            } => self.on_fetch_reply(ctx, from, partition, offset, entries, hw, diverged),
            _ => {}
        }
    }

    fn on_leader_and_isr(
        &mut self,
        ctx: &mut Ctx<Msg>,
        p: u32,
        leader: Option<NodeId>,
        epoch: u64,
        isr: Vec<NodeId>,
    ) {
        let me = self.me;
        let now = ctx.now();
        let Some(r) = self.replicas.get_mut(&p) else {
            return;
        };
        if epoch < r.epoch || (epoch == r.epoch && leader == r.leader && isr == r.isr) {
            return;
        }
        let was_leader = r.leader == Some(me);
        r.epoch = epoch;
        r.leader = leader;
        r.isr = isr;
        if leader == Some(me) {
            if !was_leader {
                // A new leader gives every follower the benefit of the doubt
                // for one lag time, and learns the producers' sequence
                // numbers from its own log.
                r.followers = r
                    .isr
                    .iter()
                    .filter(|&&b| b != me)
                    .map(|&b| {
                        (
                            b,
                            Follower {
                                leo: 0,
                                caught_up_at: now,
                            },
                        )
                    })
                    .collect();
                r.waiting.clear();
                r.producers.clear();
                for e in &r.log {
                    if let Some(s) = e.seq {
                        r.producers.insert(e.producer, s);
                    }
                }
                ctx.note("became leader");
            }
            self.advance_hw(ctx, p);
        } else {
            // Sends waiting here will never be acknowledged by this broker:
            // their producers time out and retry with the new leader.
            r.waiting.clear();
            r.followers.clear();
            r.fetching = None;
        }
    }

    fn on_produce(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, p: u32, req: u64, mut entry: Entry) {
        let me = self.me;
        // The dead letter partition always takes writes with acks = "all":
        // a member commits past a poison message once its dead letter is
        // acknowledged, so an acknowledged dead letter must survive the
        // leader's crash. Kafka's producers default to acks = all since 3.0
        // (KIP-679), and the dead letter publishers of Kafka Connect and of
        // Spring Kafka (DeadLetterPublishingRecoverer) are such producers.
        let acks = if self.config.dlq_partition() == Some(p) {
            Acks::All
        } else {
            self.config.acks
        };
        let min_isr = self.config.min_insync_replicas as usize;
        let reply = |ctx: &mut Ctx<Msg>, result| {
            if acks != Acks::None {
                ctx.send(from, Msg::ProduceReply { req, result });
            }
        };
        let Some(r) = self.replicas.get_mut(&p).filter(|r| r.leader == Some(me)) else {
            reply(ctx, Err(Refusal::NotLeader));
            return;
        };
        if acks == Acks::All && r.isr.len() < min_isr {
            reply(ctx, Err(Refusal::NotEnoughReplicas));
            return;
        }
        if let Some(seq) = entry.seq {
            let last = r.producers.get(&entry.producer).copied();
            if last.is_some_and(|l| seq <= l) {
                // A retry of a send already written: answer with its offset.
                let at = r
                    .log
                    .iter()
                    .rposition(|e| e.producer == entry.producer && e.seq == Some(seq));
                match at {
                    Some(o) if acks == Acks::All && o as u64 >= r.hw => {
                        r.waiting.push((o as u64, from, req))
                    }
                    Some(o) => reply(ctx, Ok(o as u64)),
                    None => reply(ctx, Err(Refusal::OutOfOrderSequence)),
                }
                return;
            }
            let expected = last.map_or(0, |l| l + 1);
            if seq != expected {
                reply(ctx, Err(Refusal::OutOfOrderSequence));
                return;
            }
            r.producers.insert(entry.producer, seq);
        }
        entry.epoch = r.epoch;
        r.log.push(entry);
        let offset = r.log.len() as u64 - 1;
        match acks {
            Acks::All => {
                r.waiting.push((offset, from, req));
                self.advance_hw(ctx, p);
            }
            _ => {
                reply(ctx, Ok(offset));
                self.advance_hw(ctx, p);
            }
        }
    }

    /// Moves the leader's high watermark to the end of what every in-sync
    /// replica holds, and acknowledges the sends it now covers.
    fn advance_hw(&mut self, ctx: &mut Ctx<Msg>, p: u32) {
        let me = self.me;
        let min_isr = self.config.min_insync_replicas as usize;
        let r = self.replicas.get_mut(&p).expect("a held partition");
        let end = r.log.len() as u64;
        let hw = r
            .isr
            .iter()
            .map(|b| {
                if *b == me {
                    end
                } else {
                    r.followers.get(b).map_or(0, |f| f.leo.min(end))
                }
            })
            .min()
            .unwrap_or(end);
        if hw > r.hw {
            r.hw = hw;
        }
        let hw = r.hw;
        let enough = r.isr.len() >= min_isr;
        let mut still = Vec::new();
        for (offset, producer, req) in std::mem::take(&mut r.waiting) {
            if offset < hw {
                let result = if enough {
                    Ok(offset)
                } else {
                    Err(Refusal::NotEnoughReplicas)
                };
                ctx.send(producer, Msg::ProduceReply { req, result });
            } else {
                still.push((offset, producer, req));
            }
        }
        r.waiting = still;
    }

    fn on_fetch(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        p: u32,
        offset: u64,
        last_epoch: u64,
        replica: bool,
    ) {
        let me = self.me;
        let now = ctx.now();
        let Some(r) = self.replicas.get_mut(&p).filter(|r| r.leader == Some(me)) else {
            return;
        };
        let end = r.log.len() as u64;
        let reply = |ctx: &mut Ctx<Msg>, entries: Vec<Entry>, hw, diverged| {
            ctx.send(
                from,
                Msg::FetchReply {
                    partition: p,
                    offset,
                    entries,
                    hw,
                    diverged,
                },
            );
        };
        if !replica {
            // A consumer reads below the high watermark only. A consumer
            // whose last read entry is not in this log (a log replaced by an
            // election) goes back to where the two logs diverge, found by
            // leader epoch as a follower's is (Kafka's KIP-320), or, not
            // knowing the epoch, to the end of this log if it asked past it.
            // It never jumps forward: the offsets it has not read, replaced or
            // not, it still reads. One between the high watermark and the end
            // (a new leader's watermark catching up) waits.
            let known = last_epoch > 0 && offset > 0;
            if known && (offset > end || r.log[offset as usize - 1].epoch != last_epoch) {
                let upto = r.log.iter().take_while(|e| e.epoch <= last_epoch).count() as u64;
                reply(ctx, Vec::new(), r.hw, Some(upto.min(offset).min(end)));
                return;
            }
            if offset > end {
                reply(ctx, Vec::new(), r.hw, Some(end));
                return;
            }
            let to = (r.hw as usize).min(offset as usize + MAX_BATCH);
            if to <= offset as usize {
                reply(ctx, Vec::new(), r.hw, None);
                return;
            }
            reply(ctx, r.log[offset as usize..to].to_vec(), r.hw, None);
            return;
        }
        let agrees =
            offset <= end && (offset == 0 || r.log[offset as usize - 1].epoch == last_epoch);
        if !agrees {
            // Where the follower's epoch ends in this log: it keeps at most that.
            let upto = r.log.iter().take_while(|e| e.epoch <= last_epoch).count() as u64;
            reply(ctx, Vec::new(), r.hw, Some(upto.min(offset)));
            return;
        }
        let f = r.followers.entry(from).or_insert(Follower {
            leo: 0,
            caught_up_at: 0,
        });
        f.leo = offset;
        if offset >= end {
            f.caught_up_at = now;
        }
        let to = (end as usize).min(offset as usize + MAX_BATCH);
        let entries = r.log[offset as usize..to].to_vec();
        let hw = r.hw;
        reply(ctx, entries, hw, None);
        self.advance_hw(ctx, p);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_fetch_reply(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        p: u32,
        offset: u64,
        entries: Vec<Entry>,
        hw: u64,
        diverged: Option<u64>,
    ) {
        let Some(r) = self.replicas.get_mut(&p) else {
            return;
        };
        if r.leader != Some(from) || r.leader == Some(self.me) {
            return;
        }
        r.fetching = None;
        if let Some(t) = diverged {
            r.log.truncate(t as usize);
            r.hw = r.hw.min(t);
            ctx.note("truncated");
            self.fetch(ctx, p, true);
            return;
        }
        if offset != r.log.len() as u64 {
            return;
        }
        let got = !entries.is_empty();
        r.log.extend(entries);
        r.hw = hw.min(r.log.len() as u64);
        if got {
            self.fetch(ctx, p, true);
        }
    }

    pub fn status(&self) -> Status {
        let parts: Vec<String> = self
            .replicas
            .iter()
            .map(|(p, r)| {
                let l = if r.leader == Some(self.me) { "L" } else { "F" };
                format!("p{p}{l} {}/{}", r.log.len(), r.hw)
            })
            .collect();
        Status {
            role: self.role_name(),
            fields: vec![("logs", parts.join(" "))],
        }
    }
}
