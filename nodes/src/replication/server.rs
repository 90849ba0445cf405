//! A data server: the primary, or a replica that follows it.

mod requests;

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::client::{RequestId, SessionTable};
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::{fmt_duration, Nanos};

use super::msg::{Answer, Entry, Msg, Op, Pos};
use super::{Mode, Params};
use crate::kv::Kv;

/// The heartbeat and replication tick.
pub const TICK: TimerId = TimerId(1);
/// Lease timers: one per heartbeat round still running, `LEASE_TIMERS`
/// apart from `TICK`; round `r` uses slot `r % LEASE_SLOTS`.
const LEASE_TIMERS: u64 = 16;
const LEASE_SLOTS: u64 = 64;
/// The most entries one Append carries.
const MAX_ENTRIES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
}

/// Counters for the report.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Client writes a server refused (not the primary, lease lapsed).
    pub writes_refused: u64,
    pub reads_refused: u64,
    /// Reads served as the primary, and as a replica.
    pub reads_primary: u64,
    pub reads_replica: u64,
    /// Reads a replica sent on because it had not caught up.
    pub reads_behind: u64,
    /// Appends this server refused because their epoch was older (fencing).
    pub appends_fenced: u64,
    /// Times this server stepped down from primary.
    pub step_downs: u64,
    /// Reads and writes a primary refused because its lease had run out.
    pub lease_refusals: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.writes_refused += o.writes_refused;
        self.reads_refused += o.reads_refused;
        self.reads_primary += o.reads_primary;
        self.reads_replica += o.reads_replica;
        self.reads_behind += o.reads_behind;
        self.appends_fenced += o.appends_fenced;
        self.step_downs += o.step_downs;
        self.lease_refusals += o.lease_refusals;
    }
    fn total(&self) -> u64 {
        self.writes_refused
            + self.reads_refused
            + self.reads_primary
            + self.reads_replica
            + self.reads_behind
            + self.appends_fenced
            + self.step_downs
            + self.lease_refusals
    }
    /// Whether `now` is a fresh count (the server restarted) rather than
    /// a later value of `self`.
    pub fn restarted(&self, now: &Stats) -> bool {
        now.total() < self.total()
    }
}

#[derive(Clone, Copy, Debug)]
struct LeaseRound {
    mono_until: Nanos,
    true_until: Nanos,
    granted: bool,
}

#[derive(Clone, Debug)]
pub struct Server {
    id: NodeId,
    params: Arc<Params>,
    monitor: NodeId,
    /// The other data servers.
    peers: Vec<NodeId>,
    role: Role,
    /// The highest epoch this server knows of (persisted).
    epoch: u64,
    primary: Option<NodeId>,
    /// Entry `i` is `log[i - 1]` (persisted, one disk key per entry).
    log: Vec<Entry>,
    /// Committed and applied up to here; `kv` is that state (persisted).
    applied: u64,
    kv: Kv,
    /// The primary's commit index (what it has acknowledged).
    commit: u64,
    // Primary only.
    /// The state with every entry applied, committed or not: cas is judged
    /// against it, and it holds the sessions that make retries idempotent.
    head: Kv,
    /// Per client: its newest session and the log index of its last write.
    /// A restarted client is a new session (a higher incarnation), so its
    /// writes are new even though its sequence numbers start again at 1.
    sessions: SessionTable<u64>,
    matched: BTreeMap<NodeId, u64>,
    next: BTreeMap<NodeId, u64>,
    /// Client writes waiting for their entry to commit: index -> (client,
    /// request id, attempt), the attempt being the latest send that asked.
    waiting: BTreeMap<u64, (NodeId, RequestId, u64)>,
    /// The lease, one round per heartbeat sent as primary: each round's
    /// timer was armed when its heartbeat left, for the lease shortened by
    /// the drift bound; the monitor's answer grants it. The lease holds
    /// while a granted round's timer has not fired. Timers and the lease's
    /// end both run on the monotonic clock: at the node's drifted rate, and
    /// never moved by a step of the wall clock, so a wall clock set back
    /// cannot stretch the lease.
    lease_rounds: BTreeMap<u64, LeaseRound>,
    /// The next lease round (never reused, so a stale timer finds nothing).
    next_round: u64,
    /// Monotonic-clock time until which the granted rounds run (a second
    /// guard, and the status line).
    lease_until: Nanos,
    /// The same instant in virtual time, for the report's figures only
    /// (every decision reads the monotonic clock or a timer).
    lease_until_true: Nanos,
    /// The index of this primary's first entry (its no-op).
    first_index: u64,
    /// Replica: the primary's last index, as last heard (for the lag).
    primary_last: u64,
    /// Per client, the attempt number of the newest send taken in. A client
    /// numbers its sends in increasing order (across its restarts too), so a
    /// send numbered no higher is a copy the network duplicated or one that
    /// a later send overtook: it is dropped unanswered. Otherwise a late copy
    /// could apply a write after the client was told it was refused and
    /// recorded it as failed. Volatile, like a connection table; so that a
    /// copy sent before a crash cannot arrive after the restart to an empty
    /// table, `started_at` drops every send numbered below the restart.
    last_request: BTreeMap<u32, u64>,
    /// When this incarnation of the server started. A client's attempt
    /// number is at least the virtual time it sent, so a number below this
    /// is a send from before the restart (a late or duplicated copy).
    started_at: Nanos,
    /// The last time this server served as primary (a read, or a write
    /// accepted), with its epoch then: the split-brain check reads it.
    last_served: Option<(u64, Nanos)>,
    /// When this primary accepted its first client write (for the RTO).
    first_write_at: Option<Nanos>,
    stats: Stats,
}

impl Server {
    /// Rebuilds a server from its disk: a fresh one on the first start.
    /// `n1` starts as the primary of epoch 1; a restarted server is always
    /// a replica until the monitor says otherwise.
    pub fn recover(
        id: NodeId,
        params: Arc<Params>,
        monitor: NodeId,
        data: &[NodeId],
        disk: &Disk,
    ) -> Server {
        let log: Vec<Entry> = disk
            .indexes("log")
            .into_iter()
            .filter_map(|i| disk.get::<Entry>(("log", i)).cloned())
            .collect();
        let started = disk.get::<u64>(("epoch", 0)).is_some();
        let epoch = disk.get::<u64>(("epoch", 0)).copied().unwrap_or(1);
        let applied = disk
            .get::<u64>(("applied", 0))
            .copied()
            .unwrap_or(0)
            .min(log.len() as u64);
        let mut s = Server {
            id,
            params,
            monitor,
            peers: data.iter().copied().filter(|p| *p != id).collect(),
            role: Role::Replica,
            epoch,
            primary: None,
            log,
            applied: 0,
            kv: Kv::default(),
            commit: 0,
            head: Kv::default(),
            sessions: SessionTable::default(),
            matched: BTreeMap::new(),
            next: BTreeMap::new(),
            waiting: BTreeMap::new(),
            lease_rounds: BTreeMap::new(),
            next_round: 0,
            lease_until: 0,
            lease_until_true: 0,
            first_index: 0,
            primary_last: 0,
            last_request: BTreeMap::new(),
            started_at: 0,
            last_served: None,
            first_write_at: None,
            stats: Stats::default(),
        };
        s.apply_to(applied);
        if !started && data.first() == Some(&id) {
            s.role = Role::Primary;
            s.primary = Some(id);
            s.first_index = 1;
        } else if !started {
            s.primary = data.first().copied();
        }
        s
    }

    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    pub fn log(&self) -> &[Entry] {
        &self.log
    }
    pub fn commit(&self) -> u64 {
        self.commit
    }
    pub fn applied(&self) -> u64 {
        self.applied
    }
    pub fn kv(&self) -> &Kv {
        &self.kv
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    pub fn last_served(&self) -> Option<(u64, Nanos)> {
        self.last_served
    }
    /// A primary that may serve at virtual time `now`: with fencing, one
    /// whose lease has not run out (a paused primary's lease runs out too).
    pub fn serving(&self, now: Nanos) -> bool {
        self.role == Role::Primary && (!self.params.fencing || now < self.lease_until_true)
    }
    pub fn first_write_at(&self) -> Option<Nanos> {
        self.first_write_at
    }
    pub fn last_pos(&self) -> Pos {
        self.pos_at(self.log.len() as u64)
    }
    pub fn pos_at(&self, index: u64) -> Pos {
        match index {
            0 => Pos::ZERO,
            i => Pos {
                index: i,
                epoch: self.log.get(i as usize - 1).map_or(0, |e| e.epoch),
            },
        }
    }
    fn last(&self) -> u64 {
        self.log.len() as u64
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.started_at = ctx.now();
        if self.role == Role::Primary {
            // The first primary starts with a no-op like every later one.
            let noop = Entry {
                epoch: self.epoch,
                op: Op::Noop,
                at: ctx.now(),
            };
            self.append(ctx, noop);
            ctx.disk().put(("epoch", 0), self.epoch);
            ctx.disk().sync();
            for p in self.peers.clone() {
                self.next.insert(p, 1);
                self.matched.insert(p, 0);
            }
        }
        self.tick(ctx);
    }

    /// Applies committed entries up to `to` to `kv`.
    fn apply_to(&mut self, to: u64) {
        while self.applied < to.min(self.last()) {
            let e = &self.log[self.applied as usize];
            if let Op::Client { key, f, .. } = &e.op {
                self.kv.apply(key, f);
            }
            self.applied += 1;
        }
    }

    fn persist_applied(&mut self, ctx: &mut Ctx<Msg>) {
        ctx.disk().put(("applied", 0), self.applied);
    }

    fn append(&mut self, ctx: &mut Ctx<Msg>, e: Entry) {
        if let Op::Client { id, key, f } = &e.op {
            self.head.apply(key, f);
            self.sessions.record(*id, self.last() + 1);
        }
        ctx.disk().put(("log", self.last() + 1), e.clone());
        self.log.push(e);
    }

    /// Drops entries from `from` on (a divergent tail), undoing their effect
    /// on the applied state.
    fn truncate(&mut self, ctx: &mut Ctx<Msg>, from: u64) {
        for i in from..=self.last() {
            ctx.disk().delete(("log", i));
        }
        self.log.truncate(from as usize - 1);
        if self.applied >= from {
            let to = from - 1;
            self.kv = Kv::default();
            self.applied = 0;
            self.apply_to(to);
            self.persist_applied(ctx);
        }
        self.commit = self.commit.min(from - 1);
    }

    fn lease_ok(&self, ctx: &Ctx<Msg>) -> bool {
        !self.params.fencing
            || (self.lease_rounds.values().any(|r| r.granted) && ctx.mono_time() < self.lease_until)
    }

    /// Recomputes the lease's end from the granted rounds still running.
    fn lease_changed(&mut self) {
        let granted = self.lease_rounds.values().filter(|r| r.granted);
        self.lease_until = granted.clone().map(|r| r.mono_until).max().unwrap_or(0);
        self.lease_until_true = granted.map(|r| r.true_until).max().unwrap_or(0);
    }

    /// A primary's heartbeat opens a lease round and arms its timer now, so
    /// the lease it may earn counts from before the monitor heard it.
    fn open_lease_round(&mut self, ctx: &mut Ctx<Msg>) -> u64 {
        let round = self.next_round;
        self.next_round += 1;
        if self.role != Role::Primary || !self.params.fencing {
            return round;
        }
        // Rounds run for less than a heartbeat timeout, so far fewer than
        // LEASE_SLOTS are ever open; refuse to reuse a running slot.
        if self.lease_rounds.len() as u64 >= LEASE_SLOTS - 1 {
            return round;
        }
        let len = self.params.lease_local();
        self.lease_rounds.insert(
            round,
            LeaseRound {
                mono_until: ctx.mono_time() + len,
                true_until: ctx.now() + ctx.clock().true_duration(len),
                granted: false,
            },
        );
        ctx.set_timer(TimerId(LEASE_TIMERS + round % LEASE_SLOTS), len);
        round
    }

    fn clear_lease(&mut self, ctx: &mut Ctx<Msg>) {
        for r in std::mem::take(&mut self.lease_rounds).into_keys() {
            ctx.cancel_timer(TimerId(LEASE_TIMERS + r % LEASE_SLOTS));
        }
        self.lease_changed();
    }

    pub fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        let round = self.open_lease_round(ctx);
        let msg = Msg::Heartbeat {
            epoch: self.epoch,
            primary: self.role == Role::Primary,
            last: self.last_pos(),
            round,
        };
        ctx.send(self.monitor, msg);
        if self.role == Role::Primary {
            for p in self.peers.clone() {
                // Resend from what the replica has confirmed: anything lost
                // on the way is sent again.
                let m = self.matched.get(&p).copied().unwrap_or(0);
                self.next.insert(p, m + 1);
                self.replicate(ctx, p);
            }
        }
        ctx.set_timer(TICK, self.params.heartbeat_interval);
    }

    fn replicate(&mut self, ctx: &mut Ctx<Msg>, to: NodeId) {
        let next = self.next.get(&to).copied().unwrap_or(1).max(1);
        let prev = self.pos_at(next - 1);
        let end = (self.last()).min(prev.index + MAX_ENTRIES as u64);
        let entries = self.log[prev.index as usize..end as usize].to_vec();
        self.next.insert(to, end + 1);
        ctx.send(
            to,
            Msg::Append {
                epoch: self.epoch,
                prev,
                entries,
                commit: self.commit,
                last: self.last(),
            },
        );
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == TICK {
            self.tick(ctx);
        } else if timer.0 >= LEASE_TIMERS && timer.0 < LEASE_TIMERS + LEASE_SLOTS {
            let slot = timer.0 - LEASE_TIMERS;
            let due = self
                .lease_rounds
                .keys()
                .copied()
                .find(|r| r % LEASE_SLOTS == slot);
            if let Some(r) = due {
                self.lease_rounds.remove(&r);
                self.lease_changed();
            }
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request {
                id,
                attempt,
                key,
                f,
                min,
            } => self.on_request(ctx, from, (id, attempt), key, f, min),
            Msg::Append {
                epoch,
                prev,
                entries,
                commit,
                last,
            } => self.on_append(ctx, from, epoch, prev, entries, commit, last),
            Msg::Ack { epoch, matched } => {
                // An Ack answers the stream of one epoch: one from an older
                // epoch (held up by a clogged link, say) counts entries of a
                // log this server may since have cut back, so it must not
                // move `matched` or count towards a commit.
                if self.newer_epoch(ctx, epoch, None)
                    || self.role != Role::Primary
                    || epoch != self.epoch
                {
                    return;
                }
                debug_assert!(
                    matched <= self.last(),
                    "an Ack of this epoch beyond the primary's log"
                );
                let matched = matched.min(self.last());
                let m = self.matched.entry(from).or_insert(0);
                *m = (*m).max(matched);
                let n = self.next.entry(from).or_insert(1);
                *n = (*n).max(matched + 1);
                self.advance_commit(ctx);
            }
            Msg::Mismatch { epoch, hint } => {
                // As for Ack: a hint from an older epoch's stream is stale.
                if self.newer_epoch(ctx, epoch, None)
                    || self.role != Role::Primary
                    || epoch != self.epoch
                {
                    return;
                }
                let hint = hint.min(self.last());
                let m = self.matched.entry(from).or_insert(0);
                *m = (*m).min(hint);
                self.next.insert(from, hint + 1);
                self.replicate(ctx, from);
            }
            Msg::Fenced { epoch } => {
                if self.params.fencing {
                    self.newer_epoch(ctx, epoch, None);
                }
            }
            Msg::HeartbeatAck {
                epoch,
                primary,
                round,
            } => {
                // The monitor is the authority on who is primary: a deposed
                // primary steps down once it hears from it, fencing or not.
                let deposed = self.role == Role::Primary && primary != Some(self.id);
                if epoch > self.epoch || (deposed && epoch >= self.epoch) {
                    self.set_epoch(ctx, epoch);
                    self.step_down(ctx, primary);
                    return;
                }
                if self.role == Role::Replica {
                    if epoch == self.epoch && primary.is_some() && primary != Some(self.id) {
                        self.primary = primary;
                    }
                } else if epoch == self.epoch && primary == Some(self.id) {
                    // A round whose timer already fired stays expired.
                    if let Some(r) = self.lease_rounds.get_mut(&round) {
                        r.granted = true;
                        self.lease_changed();
                    }
                }
            }
            Msg::Probe { epoch } => {
                if epoch > self.epoch {
                    self.set_epoch(ctx, epoch);
                    if self.params.fencing && self.role == Role::Primary {
                        self.step_down(ctx, None);
                    }
                }
                ctx.send(
                    from,
                    Msg::ProbeReply {
                        epoch,
                        last: self.last_pos(),
                    },
                );
            }
            Msg::Promote { epoch } => {
                if epoch >= self.epoch {
                    self.set_epoch(ctx, epoch);
                    self.become_primary(ctx);
                }
            }
            Msg::Reply { .. } | Msg::Heartbeat { .. } | Msg::ProbeReply { .. } => {}
        }
    }

    fn set_epoch(&mut self, ctx: &mut Ctx<Msg>, epoch: u64) {
        if epoch > self.epoch {
            self.epoch = epoch;
            ctx.disk().put(("epoch", 0), epoch);
            ctx.disk().sync();
        }
    }

    /// A message carried a newer epoch: with fencing, a primary steps down.
    /// Returns whether it did.
    fn newer_epoch(&mut self, ctx: &mut Ctx<Msg>, epoch: u64, primary: Option<NodeId>) -> bool {
        if !self.params.fencing || epoch <= self.epoch {
            return false;
        }
        self.set_epoch(ctx, epoch);
        if self.role == Role::Primary {
            self.step_down(ctx, primary);
            return true;
        }
        false
    }

    /// The transition to replica: pending client writes are dropped (their
    /// clients time out: the write may or may not survive).
    pub fn step_down(&mut self, ctx: &mut Ctx<Msg>, primary: Option<NodeId>) {
        if self.role == Role::Primary {
            self.stats.step_downs += 1;
        }
        self.role = Role::Replica;
        self.primary = primary.filter(|p| *p != self.id);
        self.waiting.clear();
        self.matched.clear();
        self.next.clear();
        self.clear_lease(ctx);
        self.head = Kv::default();
        self.sessions.clear();
    }

    /// The monitor chose this server: it writes a no-op in its epoch and
    /// streams its log to every other server.
    pub fn become_primary(&mut self, ctx: &mut Ctx<Msg>) {
        self.role = Role::Primary;
        self.primary = Some(self.id);
        self.head = Kv::default();
        for e in &self.log {
            if let Op::Client { key, f, .. } = &e.op {
                self.head.apply(key, f);
            }
        }
        self.sessions.clear();
        for (i, e) in self.log.iter().enumerate() {
            if let Op::Client { id, .. } = &e.op {
                self.sessions.record(*id, i as u64 + 1);
            }
        }
        self.waiting.clear();
        self.clear_lease(ctx);
        self.first_write_at = None;
        self.commit = self.applied;
        self.first_index = self.last() + 1;
        let noop = Entry {
            epoch: self.epoch,
            op: Op::Noop,
            at: ctx.now(),
        };
        self.append(ctx, noop);
        ctx.disk().sync();
        for p in self.peers.clone() {
            self.matched.insert(p, 0);
            self.next.insert(p, self.first_index);
            self.replicate(ctx, p);
        }
        self.advance_commit(ctx);
        // Ask the monitor for a lease at once instead of at the next tick.
        self.tick(ctx);
    }

    /// How many replicas must hold an entry before it is acknowledged.
    fn acks_needed(&self) -> usize {
        match self.params.mode {
            Mode::Async => 0,
            Mode::SemiSync => self.params.semi_sync_acks.min(self.peers.len()),
            Mode::Sync => self.peers.len(),
        }
    }

    fn advance_commit(&mut self, ctx: &mut Ctx<Msg>) {
        let need = self.acks_needed();
        let target = if need == 0 {
            self.last()
        } else {
            let mut m: Vec<u64> = self.matched.values().copied().collect();
            m.sort_unstable_by(|a, b| b.cmp(a));
            m.get(need - 1).copied().unwrap_or(0).min(self.last())
        };
        // Only entries of this primary's own epoch commit by counting; older
        // ones commit with them (Raft §5.4.2).
        if target > self.commit && self.pos_at(target).epoch == self.epoch {
            self.commit = target;
            self.apply_to(self.commit);
            self.persist_applied(ctx);
            let done: Vec<u64> = self
                .waiting
                .range(..=self.commit)
                .map(|(i, _)| *i)
                .collect();
            for i in done {
                if let Some((client, id, attempt)) = self.waiting.remove(&i) {
                    let pos = self.pos_at(i);
                    ctx.send(
                        client,
                        Msg::Reply {
                            id,
                            attempt,
                            answer: Answer::Ok { value: None, pos },
                        },
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        epoch: u64,
        prev: Pos,
        entries: Vec<Entry>,
        commit: u64,
        last: u64,
    ) {
        if self.params.fencing {
            if epoch < self.epoch {
                // The replica and its storage refuse a deposed primary.
                self.stats.appends_fenced += 1;
                ctx.send(from, Msg::Fenced { epoch: self.epoch });
                return;
            }
            self.newer_epoch(ctx, epoch, Some(from));
        } else if self.role == Role::Primary {
            // Without epochs there is nothing to compare: a primary carries
            // on until the monitor deposes it.
            return;
        }
        self.set_epoch(ctx, epoch);
        self.primary = Some(from);
        self.primary_last = last;
        let reply_epoch = self.epoch;
        if prev.index > self.last() {
            ctx.send(
                from,
                Msg::Mismatch {
                    epoch: reply_epoch,
                    hint: self.last(),
                },
            );
            return;
        }
        if self.pos_at(prev.index).epoch != prev.epoch {
            // Skip back over the whole conflicting epoch at once.
            let conflict = self.pos_at(prev.index).epoch;
            let mut i = prev.index;
            while i > 0 && self.pos_at(i).epoch == conflict {
                i -= 1;
            }
            ctx.send(
                from,
                Msg::Mismatch {
                    epoch: reply_epoch,
                    hint: i,
                },
            );
            return;
        }
        let mut index = prev.index;
        let mut wrote = false;
        for e in entries {
            index += 1;
            if index <= self.last() {
                if self.pos_at(index).epoch == e.epoch {
                    continue;
                }
                self.truncate(ctx, index);
            }
            ctx.disk().put(("log", index), e.clone());
            self.log.push(e);
            wrote = true;
        }
        let to = commit.min(index);
        if to > self.applied {
            self.apply_to(to);
            self.persist_applied(ctx);
            wrote = true;
        }
        self.commit = self.commit.max(to);
        if wrote {
            ctx.disk().sync();
        }
        ctx.send(
            from,
            Msg::Ack {
                epoch: reply_epoch,
                matched: index,
            },
        );
    }

    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }

    pub fn status(&self) -> Status {
        let last = self.last_pos();
        let mut fields = vec![
            ("epoch", self.epoch.to_string()),
            ("log", format!("{}@{}", last.index, last.epoch)),
            ("applied", self.applied.to_string()),
        ];
        match self.role {
            Role::Primary => {
                fields.push(("commit", self.commit.to_string()));
                fields.push((
                    "lease",
                    if self.params.fencing {
                        format!("until {}", fmt_duration(self.lease_until))
                    } else {
                        "off (no fencing)".into()
                    },
                ));
                let lag = self
                    .matched
                    .iter()
                    .map(|(n, m)| format!("n{}:{}", n.0 + 1, self.last().saturating_sub(*m)))
                    .collect::<Vec<_>>()
                    .join(" ");
                fields.push(("replica lag", lag));
            }
            Role::Replica => {
                fields.push((
                    "primary",
                    self.primary.map_or("-".into(), |p| format!("n{}", p.0 + 1)),
                ));
                fields.push((
                    "lag",
                    format!("{} entries", self.primary_last.saturating_sub(self.applied)),
                ));
            }
        }
        Status {
            role: self.role_name(),
            fields,
        }
    }
}
