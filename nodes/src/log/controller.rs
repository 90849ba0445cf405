//! The controller: it knows which brokers are alive, and for every partition
//! its leader, leader epoch and in-sync replicas; it elects a new leader when
//! one dies, and records the ISR changes leaders ask for.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{Config, Coordinator, Msg};

/// The controller's one timer: look for dead brokers, resend the metadata.
pub const TICK: TimerId = TimerId(0);

/// A partition as the controller records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub replicas: Vec<NodeId>,
    pub leader: Option<NodeId>,
    pub epoch: u64,
    pub isr: Vec<NodeId>,
}

#[derive(Clone, Debug)]
pub struct Controller {
    config: Arc<Config>,
    /// Per broker: the last heartbeat's time and life, and whether it is
    /// counted alive.
    brokers: BTreeMap<NodeId, (Nanos, Option<u64>, bool)>,
    pub partitions: Vec<PartitionState>,
    pub elections: u64,
    pub unclean_elections: u64,
    /// The consumer group's coordinator and its sink.
    pub group: Coordinator,
}

impl Controller {
    pub fn new(config: Arc<Config>) -> Controller {
        let partitions = (0..config.log_partitions())
            .map(|p| {
                let replicas = config.replicas(p);
                PartitionState {
                    leader: Some(replicas[0]),
                    epoch: 1,
                    isr: replicas.clone(),
                    replicas,
                }
            })
            .collect();
        Controller {
            group: Coordinator::new(config.clone()),
            config,
            brokers: BTreeMap::new(),
            partitions,
            elections: 0,
            unclean_elections: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        for b in 0..self.config.brokers {
            self.brokers
                .insert(super::params::broker_id(b), (now, None, true));
        }
        self.broadcast_all(ctx);
        ctx.set_timer(TICK, self.tick_every());
    }

    fn tick_every(&self) -> Nanos {
        (self.config.session_timeout / 3).max(sim::time::NANOS_PER_MILLI)
    }

    /// Every node learns partition `p`'s state: the replicas act on it,
    /// producers and consumers find the leader.
    fn broadcast(&self, ctx: &mut Ctx<Msg>, p: u32) {
        let s = &self.partitions[p as usize];
        let n = ctx.cluster().len();
        for i in 1..n {
            ctx.send(
                NodeId(i as u32),
                Msg::LeaderAndIsr {
                    partition: p,
                    leader: s.leader,
                    epoch: s.epoch,
                    isr: s.isr.clone(),
                },
            );
        }
    }

    fn broadcast_all(&self, ctx: &mut Ctx<Msg>) {
        for p in 0..self.config.log_partitions() {
            self.broadcast(ctx, p);
        }
    }

    fn alive(&self, b: NodeId) -> bool {
        self.brokers.get(&b).is_some_and(|s| s.2)
    }

    /// Elects a leader for partition `p` among the live replicas: an
    /// in-sync one, or with `unclean_leader_election` any one.
    fn elect(&mut self, ctx: &mut Ctx<Msg>, p: u32) {
        let s = &self.partitions[p as usize];
        let live_isr: Vec<NodeId> = s.isr.iter().copied().filter(|&b| self.alive(b)).collect();
        let (leader, isr, unclean) = if let Some(&l) = live_isr.first() {
            (Some(l), live_isr, false)
        } else if self.config.unclean_leader_election {
            match s.replicas.iter().copied().find(|&b| self.alive(b)) {
                Some(l) => (Some(l), vec![l], true),
                None => (None, s.isr.clone(), false),
            }
        } else {
            // No in-sync replica is alive: the partition stays offline (and
            // keeps its ISR, so a returning member can lead it again).
            (None, s.isr.clone(), false)
        };
        let s = &mut self.partitions[p as usize];
        if leader == s.leader && isr == s.isr {
            return;
        }
        if leader.is_some() {
            self.elections += 1;
            if unclean {
                self.unclean_elections += 1;
                ctx.note("unclean election");
            }
        }
        s.leader = leader;
        s.isr = isr;
        s.epoch += 1;
        self.broadcast(ctx, p);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer != TICK {
            return;
        }
        let now = ctx.now();
        let timeout = self.config.session_timeout;
        let mut died = Vec::new();
        for (b, s) in self.brokers.iter_mut() {
            if s.2 && now.saturating_sub(s.0) > timeout {
                s.2 = false;
                died.push(*b);
            }
        }
        for p in 0..self.config.log_partitions() {
            let s = &self.partitions[p as usize];
            let leader_dead = s.leader.is_some_and(|l| died.contains(&l));
            if leader_dead || s.leader.is_none() {
                self.elect(ctx, p);
            }
        }
        self.group.tick(ctx);
        // Metadata may be lost on the way: send it again now and then.
        self.broadcast_all(ctx);
        ctx.set_timer(TICK, self.tick_every());
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        if self.group.on_message(ctx, from, &msg) {
            return;
        }
        match msg {
            Msg::Heartbeat { life } => {
                let now = ctx.now();
                let before = self.brokers.get(&from).copied();
                self.brokers.insert(from, (now, Some(life), true));
                let new_life = before.is_some_and(|b| b.1.is_some_and(|l| l != life));
                if new_life {
                    // A restarted broker lost its log (brokers keep it in
                    // memory): it is in sync with nothing.
                    self.forget(ctx, from);
                }
                if before.is_some_and(|b| !b.2) || new_life {
                    for p in 0..self.config.log_partitions() {
                        if self.partitions[p as usize].leader.is_none() {
                            self.elect(ctx, p);
                        }
                    }
                }
            }
            Msg::AlterIsr {
                partition,
                epoch,
                isr,
            } => {
                let Some(s) = self.partitions.get_mut(partition as usize) else {
                    return;
                };
                if s.epoch == epoch && s.leader == Some(from) && s.isr != isr {
                    s.isr = isr;
                    self.broadcast(ctx, partition);
                } else {
                    // Stale or already recorded: tell the sender how things are.
                    let s = &self.partitions[partition as usize];
                    ctx.send(
                        from,
                        Msg::LeaderAndIsr {
                            partition,
                            leader: s.leader,
                            epoch: s.epoch,
                            isr: s.isr.clone(),
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// Takes broker `b` out of every ISR it is in (and, if it led, elects
    /// anew).
    fn forget(&mut self, ctx: &mut Ctx<Msg>, b: NodeId) {
        for p in 0..self.config.log_partitions() {
            let s = &mut self.partitions[p as usize];
            if s.leader == Some(b) {
                s.isr.retain(|&x| x != b);
                self.elect(ctx, p);
            } else if s.isr.contains(&b) {
                s.isr.retain(|&x| x != b);
                s.epoch += 1;
                self.broadcast(ctx, p);
            }
        }
    }

    pub fn status(&self) -> Status {
        let leaders: Vec<String> = self
            .partitions
            .iter()
            .map(|s| match s.leader {
                Some(l) => format!("n{}", l.0 + 1),
                None => "-".into(),
            })
            .collect();
        Status {
            role: "controller",
            fields: vec![
                ("leaders", leaders.join(",")),
                ("elections", self.elections.to_string()),
            ],
        }
    }
}
