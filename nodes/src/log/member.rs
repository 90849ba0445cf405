//! A member of a consumer group: it joins the group at the coordinator
//! (`n1`), heartbeats, reads the partitions it is assigned from the offsets
//! the group committed, processes each batch (taking `processing_time` per
//! message), writes the effect to the sink and commits the offset, in the
//! order `commit` says.
//!
//! Fetching runs ahead of processing into a bounded buffer
//! (`max_buffered`): a slow member stops fetching when it is full, so its
//! memory stays bounded while the group's lag (messages written but not
//! committed) grows. That is backpressure at the consumer.
//!
//! A rebalance comes in two steps, as in Kafka. When the coordinator says
//! one is pending (Kafka's `REBALANCE_IN_PROGRESS`), the member takes no
//! new batch, finishes the one in hand, commits what it processed (with
//! `commit_interval`, at once rather than when the interval is up, as
//! Kafka's auto-commit does on revocation) and joins again; its commits
//! are accepted, since the generation has not moved yet. So a rebalance
//! alone loses and repeats nothing; a crash does: with `commit = "before"`
//! the crashed member's batch was committed and its effect never happens
//! (lost), with `"after"` its effect happened and its offset was not
//! committed (it happens again). On the new generation the member drops
//! its buffer (fetched again by the new owner) and starts each assigned
//! partition at its committed offset. A member that missed the revoke (a
//! zombie, stalled past its session) still holds its batch when the new
//! generation reaches it: the batch's write or commit goes out with its old
//! generation and is fenced.
//!
//! A *poison* message (`poison_every`) fails every time it is processed. A
//! member takes it alone, as a batch of one, and tries again after each
//! failure, each attempt taking the processing time. Without a dead letter
//! queue it never stops: its partition (and every other partition this
//! member owns, since one member processes one batch at a time, as one
//! Kafka consumer thread does) is blocked while the log grows. With `dlq`,
//! after `max_attempts` failures the member writes the message to the dead
//! letter partition through its leader, as any producer would (Kafka
//! Connect's and Spring Kafka's dead letter publishers use an ordinary
//! producer too, with acks = all, Kafka's default since 3.0; the broker
//! takes dead letters with acks = all whatever the run's `acks`), and once
//! the leader acknowledges it,
//! commits past it (at once, whatever `commit_interval` says) and goes on.
//! The dead letter is recorded in the history as such: handled, never
//! processed. A write whose answer is lost is sent again (with the same
//! request number, but the broker does not know it: the dead letter queue
//! may hold a message twice, as a non-idempotent producer's topic may).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::check::log::LogFn;
use sim::history::Outcome;
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::{partition_name, CommitPoint};
use super::{Config, Leaders, Msg, Record, CONTROLLER};

/// Fetch, heartbeat and resend what went unanswered.
pub const POLL: TimerId = TimerId(0);
/// The batch being processed is done.
pub const PROCESS: TimerId = TimerId(1);

/// Where a batch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for the commit of its end (before processing).
    CommitFirst,
    Processing,
    /// Waiting for the sink to apply it.
    Writing,
    /// Waiting for the commit of its end (after writing).
    CommitLast,
    /// A poison message given up: waiting for the dead letter partition's
    /// leader to acknowledge it.
    DeadLettering,
}

#[derive(Clone, Debug)]
struct Batch {
    /// The generation it was taken in: its requests carry it.
    generation: u64,
    partition: u32,
    /// (offset, value), consecutive; none for a commit of what earlier
    /// batches processed.
    messages: Vec<(u64, i64)>,
    /// The offset after the batch: what its commit says.
    end: u64,
    stage: Stage,
    /// The request waiting for an answer, when it was sent, and when the
    /// stage began (the history's call time of the write).
    req: u64,
    sent: Nanos,
    began: Nanos,
    /// Processing attempts that failed (a poison message's).
    failures: u32,
}

#[derive(Clone, Debug)]
pub struct Member {
    config: Arc<Config>,
    pub life: u64,
    leaders: Leaders,
    generation: u64,
    /// Assigned partitions: the next offset to fetch, and the leader epoch
    /// of the entry before it.
    fetch_pos: BTreeMap<u32, (u64, u64)>,
    /// Per partition, the fetch in flight (when sent).
    fetching: BTreeMap<u32, Nanos>,
    /// Fetched, not yet processed.
    buffer: BTreeMap<u32, VecDeque<(u64, i64)>>,
    buffered: usize,
    pub buffer_peak: usize,
    batch: Option<Batch>,
    /// Per partition, when this member last committed it (this generation).
    committed_at: BTreeMap<u32, Nanos>,
    /// Per partition, the end of what was processed but not yet committed
    /// (with `commit_interval`): committed when the interval is up, even if
    /// no batch comes to carry it, as Kafka's auto-commit does.
    uncommitted: BTreeMap<u32, u64>,
    next_req: u64,
    /// The coordinator said a rebalance is pending: take no new batch,
    /// finish and commit the one in hand, then join again.
    rejoining: bool,
    /// The partition the last batch came from (round-robin between them).
    last_partition: u32,
    pub records: Vec<Record>,
    pub processed: u64,
    /// Processing attempts of poison messages, all failed (this life).
    pub poison_attempts: u64,
    /// Messages this life gave up to the dead letter queue (acknowledged).
    pub dead_lettered: u64,
}

impl Member {
    pub fn new(config: Arc<Config>) -> Member {
        Member {
            config,
            life: 0,
            leaders: Leaders::default(),
            generation: 0,
            fetch_pos: BTreeMap::new(),
            fetching: BTreeMap::new(),
            buffer: BTreeMap::new(),
            buffered: 0,
            buffer_peak: 0,
            batch: None,
            committed_at: BTreeMap::new(),
            uncommitted: BTreeMap::new(),
            next_req: 0,
            rejoining: false,
            last_partition: 0,
            records: Vec::new(),
            processed: 0,
            poison_attempts: 0,
            dead_lettered: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.life = ctx.incarnation();
        ctx.send(CONTROLLER, Msg::JoinGroup { life: self.life });
        ctx.set_timer(POLL, self.config.fetch_interval);
    }

    fn heartbeat_every(&self) -> Nanos {
        (self.config.session_timeout / 3).max(sim::time::NANOS_PER_MILLI)
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            POLL => {
                ctx.send(
                    CONTROLLER,
                    Msg::GroupHeartbeat {
                        life: self.life,
                        generation: self.generation,
                    },
                );
                let ps: Vec<u32> = self.fetch_pos.keys().copied().collect();
                for p in ps {
                    self.fetch(ctx, p);
                }
                self.resend(ctx);
                self.commit_pending(ctx);
                self.next_batch(ctx);
                self.rejoin(ctx);
                ctx.set_timer(POLL, self.config.fetch_interval.min(self.heartbeat_every()));
            }
            PROCESS
                if self
                    .batch
                    .as_ref()
                    .is_some_and(|b| b.stage == Stage::Processing) =>
            {
                if self.poisoned() {
                    self.failed(ctx);
                } else {
                    self.write(ctx);
                }
            }
            _ => {}
        }
    }

    /// Fetches partition `p` if the buffer has room and no fetch is open.
    fn fetch(&mut self, ctx: &mut Ctx<Msg>, p: u32) {
        let now = ctx.now();
        if self.buffered >= self.config.max_buffered as usize
            || self
                .fetching
                .get(&p)
                .is_some_and(|&at| now < at + self.config.request_timeout)
        {
            return;
        }
        let (Some(leader), Some(&(offset, last_epoch))) =
            (self.leaders.get(p), self.fetch_pos.get(&p))
        else {
            return;
        };
        self.fetching.insert(p, now);
        ctx.send(
            leader,
            Msg::Fetch {
                partition: p,
                offset,
                last_epoch,
                replica: false,
            },
        );
    }

    /// Takes the next batch from the buffer, round-robin over partitions,
    /// and starts it: commit first, or process first.
    fn next_batch(&mut self, ctx: &mut Ctx<Msg>) {
        if self.batch.is_some() || self.buffered == 0 || self.rejoining {
            return;
        }
        let n = self.config.partitions;
        let Some(p) = (1..=n)
            .map(|i| (self.last_partition + i) % n)
            .find(|p| self.buffer.get(p).is_some_and(|b| !b.is_empty()))
        else {
            return;
        };
        self.last_partition = p;
        let buf = self.buffer.get_mut(&p).expect("found above");
        let mut k = buf.len().min(self.config.max_poll_records as usize);
        // A poison message is taken alone, so the messages before it are
        // processed and the failure is its own (unless it is to be
        // skipped: then it goes with its batch and drops out of it).
        let skip = self.config.skip_poison;
        if let Some(i) = buf
            .iter()
            .take(k)
            .position(|m| !skip && self.config.is_poison(m.1))
        {
            k = i.max(1);
        }
        let messages: Vec<(u64, i64)> = buf.drain(..k).collect();
        self.buffered -= k;
        let now = ctx.now();
        let end = messages.last().map_or(0, |m| m.0 + 1);
        self.batch = Some(Batch {
            generation: self.generation,
            partition: p,
            end,
            messages,
            stage: Stage::Processing,
            req: 0,
            sent: now,
            began: now,
            failures: 0,
        });
        if self.config.commit == CommitPoint::Before {
            self.commit(ctx, Stage::CommitFirst);
        } else {
            self.process(ctx);
        }
    }

    fn process(&mut self, ctx: &mut Ctx<Msg>) {
        let poisoned = self.poisoned();
        let Some(b) = self.batch.as_mut() else { return };
        b.stage = Stage::Processing;
        let mut took = self.config.processing_time * b.messages.len() as u64;
        if poisoned {
            // A failing attempt takes time too (at least a millisecond, so
            // that retrying for ever is not an endless loop at one instant).
            took = took.max(sim::time::NANOS_PER_MILLI);
        }
        if took == 0 {
            self.write(ctx);
        } else {
            ctx.set_timer(PROCESS, took);
        }
    }

    /// Whether the batch in hand is a poison message (taken alone).
    fn poisoned(&self) -> bool {
        !self.config.skip_poison
            && self
                .batch
                .as_ref()
                .is_some_and(|b| b.messages.len() == 1 && self.config.is_poison(b.messages[0].1))
    }

    /// Processing the poison message in hand failed: try again, or after
    /// `max_attempts` with a dead letter queue, give it up to the queue.
    fn failed(&mut self, ctx: &mut Ctx<Msg>) {
        self.poison_attempts += 1;
        let dlq = self.config.dlq;
        let max = self.config.max_attempts;
        let Some(b) = self.batch.as_mut() else { return };
        b.failures += 1;
        ctx.note("processing failed");
        if dlq && b.failures >= max {
            self.next_req += 1;
            let now = ctx.now();
            b.stage = Stage::DeadLettering;
            b.req = self.next_req;
            b.began = now;
            let f = LogFn::DeadLetter {
                group: self.config.group.clone().unwrap_or_default(),
                messages: Vec::new(),
            };
            self.records.push(Record::Invoke {
                key: b.req,
                f,
                at: now,
            });
            self.send_dead_letter(ctx);
        } else {
            self.process(ctx);
        }
    }

    /// Sends the poison message in hand to the dead letter partition's
    /// leader, if one is known (else the next poll tries again).
    fn send_dead_letter(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        let leader = self
            .config
            .dlq_partition()
            .and_then(|d| self.leaders.get(d));
        let Some(b) = self.batch.as_mut() else { return };
        b.sent = now;
        let (Some(d), Some(leader)) = (self.config.dlq_partition(), leader) else {
            return;
        };
        let entry = super::Entry {
            value: b.messages[0].1,
            epoch: 0,
            producer: 0,
            seq: None,
        };
        ctx.send(
            leader,
            Msg::Produce {
                partition: d,
                req: b.req,
                entry,
            },
        );
    }

    /// The dead letter partition answered: once it holds the message,
    /// record the dead letter and commit past it.
    fn on_dead_letter_reply(&mut self, ctx: &mut Ctx<Msg>, req: u64, ok: bool) {
        let Some(b) = self.batch.as_ref() else { return };
        if b.stage != Stage::DeadLettering || b.req != req || !ok {
            // A refusal (no leader, too few in sync) is sent again when
            // the request is overdue.
            return;
        }
        let (p, (offset, value)) = (b.partition, b.messages[0]);
        let f = LogFn::DeadLetter {
            group: self.config.group.clone().unwrap_or_default(),
            messages: vec![sim::check::log::Message {
                partition: partition_name(p),
                offset,
                value,
            }],
        };
        self.records.push(Record::Done {
            key: req,
            f,
            outcome: Outcome::Ok,
            at: ctx.now(),
        });
        self.dead_lettered += 1;
        if self.config.commit == CommitPoint::Before {
            // Committed before the first attempt already.
            self.batch = None;
            self.next_batch(ctx);
        } else {
            self.committed_at.insert(p, ctx.now());
            self.uncommitted.remove(&p);
            self.commit(ctx, Stage::CommitLast);
        }
    }

    /// Sends the batch's effect to the sink (with the offset, if atomic).
    /// With `skip_poison` (a bug flag), a poison message failed once and
    /// drops out of the effect: it is gone, though its offset is committed.
    fn write(&mut self, ctx: &mut Ctx<Msg>) {
        self.next_req += 1;
        let now = ctx.now();
        let atomic = self.config.commit == CommitPoint::Atomic;
        let config = self.config.clone();
        let Some(b) = self.batch.as_mut() else { return };
        if config.skip_poison {
            let before = b.messages.len();
            b.messages.retain(|m| !config.is_poison(m.1));
            self.poison_attempts += (before - b.messages.len()) as u64;
        }
        b.stage = Stage::Writing;
        b.req = self.next_req;
        b.sent = now;
        b.began = now;
        let msg = Msg::Apply {
            life: self.life,
            req: b.req,
            generation: b.generation,
            partition: b.partition,
            messages: b.messages.clone(),
            commit: atomic.then_some(b.end),
            sent_at: now,
        };
        ctx.send(CONTROLLER, msg);
    }

    fn commit(&mut self, ctx: &mut Ctx<Msg>, stage: Stage) {
        self.next_req += 1;
        let now = ctx.now();
        let Some(b) = self.batch.as_mut() else { return };
        b.stage = stage;
        b.req = self.next_req;
        b.sent = now;
        b.began = now;
        let msg = Msg::CommitOffset {
            life: self.life,
            req: b.req,
            generation: b.generation,
            partition: b.partition,
            offset: b.end,
            sent_at: now,
        };
        ctx.send(CONTROLLER, msg);
    }

    /// Sends again the request of a batch whose answer is overdue (same
    /// request number: the coordinator answers a repeat without doing it
    /// twice). The call time stays the first attempt's.
    fn resend(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        let atomic = self.config.commit == CommitPoint::Atomic;
        let Some(b) = self.batch.as_mut() else { return };
        if b.stage == Stage::Processing || now < b.sent + self.config.request_timeout {
            return;
        }
        if b.stage == Stage::DeadLettering {
            self.send_dead_letter(ctx);
            return;
        }
        b.sent = now;
        let msg = if b.stage == Stage::Writing {
            Msg::Apply {
                life: self.life,
                req: b.req,
                generation: b.generation,
                partition: b.partition,
                messages: b.messages.clone(),
                commit: atomic.then_some(b.end),
                sent_at: b.began,
            }
        } else {
            Msg::CommitOffset {
                life: self.life,
                req: b.req,
                generation: b.generation,
                partition: b.partition,
                offset: b.end,
                sent_at: b.began,
            }
        };
        ctx.send(CONTROLLER, msg);
    }

    /// With a rebalance pending, once the batch in hand is done: commits
    /// what waits for the commit interval, then joins again (repeated each
    /// poll until the assignment comes, in case a message is lost).
    fn rejoin(&mut self, ctx: &mut Ctx<Msg>) {
        if !self.rejoining || self.batch.is_some() {
            return;
        }
        self.commit_pending(ctx);
        if self.batch.is_none() {
            ctx.send(CONTROLLER, Msg::JoinGroup { life: self.life });
        }
    }

    /// A new generation: record the assignment, drop what is in flight and
    /// start every assigned partition at its committed offset.
    fn assigned(&mut self, ctx: &mut Ctx<Msg>, generation: u64, partitions: Vec<(u32, u64)>) {
        self.generation = generation;
        self.rejoining = false;
        // Normally the revoke step left no batch. One that is still here
        // (this member missed the revoke: it stalled past its session, or
        // the rebalance timed out on it) belongs to a generation that is
        // over. If its effect is written (or on its way) it still commits
        // with that generation, and the coordinator fences the commit; any
        // other is dropped.
        if self.batch.as_ref().is_some_and(|b| {
            !matches!(
                b.stage,
                Stage::Writing | Stage::CommitLast | Stage::DeadLettering
            )
        }) {
            self.batch = None;
            ctx.cancel_timer(PROCESS);
        }
        self.committed_at.clear();
        self.uncommitted.clear();
        self.buffer.clear();
        self.buffered = 0;
        self.fetching.clear();
        self.fetch_pos = partitions.iter().map(|&(p, o)| (p, (o, 0))).collect();
        self.next_req += 1;
        let key = self.next_req;
        let f = LogFn::Assign {
            partitions: partitions.iter().map(|&(p, _)| partition_name(p)).collect(),
        };
        let at = ctx.now();
        self.records.push(Record::Invoke {
            key,
            f: f.clone(),
            at,
        });
        self.records.push(Record::Done {
            key,
            f,
            outcome: Outcome::Ok,
            at,
        });
        for (p, _) in partitions {
            self.fetch(ctx, p);
        }
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
            Msg::Assignment {
                generation,
                partitions,
            } if generation > self.generation => {
                self.assigned(ctx, generation, partitions);
            }
            // A notice older than this member's generation is one it has
            // already answered; a repeat while rejoining changes nothing.
            Msg::RebalancePending { generation }
                if generation >= self.generation && !self.rejoining =>
            {
                self.rejoining = true;
                self.rejoin(ctx);
            }
            Msg::GroupReply { req, ok } => {
                self.on_reply(ctx, req, ok);
                self.rejoin(ctx);
            }
            Msg::ProduceReply { req, result } => {
                self.on_dead_letter_reply(ctx, req, result.is_ok());
                self.rejoin(ctx);
            }
            Msg::FetchReply {
                partition,
                offset,
                entries,
                diverged,
                ..
            } => self.on_fetched(ctx, from, partition, offset, entries, diverged),
            _ => {}
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx<Msg>, req: u64, ok: bool) {
        let Some(b) = self.batch.as_ref() else { return };
        if b.req != req || matches!(b.stage, Stage::Processing | Stage::DeadLettering) {
            return;
        }
        if !ok {
            // Fenced: this batch's generation is over. The new assignment
            // is on its way (or the next heartbeat asks for it).
            self.batch = None;
            self.next_batch(ctx);
            return;
        }
        match b.stage {
            Stage::CommitFirst => self.process(ctx),
            Stage::Writing
                if self.config.commit == CommitPoint::After
                    && self.commit_due(b.partition, ctx.now()) =>
            {
                self.processed += b.messages.len() as u64;
                self.committed_at.insert(b.partition, ctx.now());
                self.uncommitted.remove(&b.partition);
                self.commit(ctx, Stage::CommitLast);
            }
            Stage::Writing | Stage::CommitLast => {
                if b.stage == Stage::Writing {
                    self.processed += b.messages.len() as u64;
                    if self.config.commit == CommitPoint::After {
                        self.uncommitted.insert(b.partition, b.end);
                    }
                }
                self.batch = None;
                self.next_batch(ctx);
                let ps: Vec<u32> = self.fetch_pos.keys().copied().collect();
                for p in ps {
                    self.fetch(ctx, p);
                }
            }
            Stage::Processing | Stage::DeadLettering => {}
        }
    }

    /// When no batch is in hand, commits a partition whose processed end
    /// waits for the commit interval and is now due.
    fn commit_pending(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        if self.batch.is_some() {
            return;
        }
        let Some((p, end)) = self
            .uncommitted
            .iter()
            .map(|(&p, &e)| (p, e))
            .find(|&(p, _)| self.rejoining || self.commit_due(p, now))
        else {
            return;
        };
        self.uncommitted.remove(&p);
        self.committed_at.insert(p, now);
        self.batch = Some(Batch {
            generation: self.generation,
            partition: p,
            messages: Vec::new(),
            end,
            stage: Stage::CommitLast,
            req: 0,
            sent: now,
            began: now,
            failures: 0,
        });
        self.commit(ctx, Stage::CommitLast);
    }

    /// Whether partition `p` is due a commit (after processing): the first
    /// batch of a generation always is, later ones once `commit_interval`
    /// has passed since the last.
    fn commit_due(&self, p: u32, now: Nanos) -> bool {
        self.committed_at
            .get(&p)
            .is_none_or(|&at| now >= at + self.config.commit_interval)
    }

    fn on_fetched(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        p: u32,
        offset: u64,
        entries: Vec<super::Entry>,
        diverged: Option<u64>,
    ) {
        let Some(&(pos, _)) = self.fetch_pos.get(&p) else {
            return;
        };
        if self.leaders.get(p) != Some(from) || offset != pos || self.fetching.remove(&p).is_none()
        {
            return;
        }
        if let Some(reset) = diverged {
            // The leader no longer holds what was fetched: drop the
            // buffered messages from where the logs part and fetch again.
            let to = reset.min(pos);
            if let Some(buf) = self.buffer.get_mut(&p) {
                let before = buf.len();
                buf.retain(|m| m.0 < to);
                self.buffered -= before - buf.len();
            }
            self.fetch_pos.insert(p, (to, 0));
            self.fetch(ctx, p);
            return;
        }
        let room = (self.config.max_buffered as usize).saturating_sub(self.buffered);
        let take = entries.len().min(room);
        if take == 0 {
            return;
        }
        let buf = self.buffer.entry(p).or_default();
        for (i, e) in entries[..take].iter().enumerate() {
            buf.push_back((offset + i as u64, e.value));
        }
        self.buffered += take;
        self.buffer_peak = self.buffer_peak.max(self.buffered);
        self.fetch_pos
            .insert(p, (offset + take as u64, entries[take - 1].epoch));
        self.next_batch(ctx);
        self.fetch(ctx, p);
    }

    pub fn status(&self) -> Status {
        Status {
            role: "member",
            fields: vec![
                ("generation", self.generation.to_string()),
                ("processed", self.processed.to_string()),
                ("buffered", self.buffered.to_string()),
            ],
        }
    }
}
