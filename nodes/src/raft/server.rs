//! A Raft server: follower, pre-candidate, candidate or leader.
//!
//! Every handler follows the same discipline: change state, write what must be
//! durable to the disk, queue outgoing messages in an outbox, and at the end
//! [`Server::flush`]: sync the disk if anything was written, then send. So no
//! reply, vote or AppendEntries ever leaves before the state it promises is on
//! stable storage (Figure 2, "Persistent state ... updated on stable storage
//! before responding to RPCs").

mod peers;
mod reads;
mod show;

use std::collections::BTreeSet;

use rand::Rng;
use sim::client::RequestId;
use sim::node::{Cluster, Ctx, Disk, NodeId, TimerId};
use sim::time::Nanos;

use super::kv::Kv;
use super::log::{Command, Entries, Entry, Log};
use super::msg::{ClientResult, Msg};
use super::{Params, ReadMode};
use peers::{PeerSet, ProgressTable, RoundStarts};

pub const ELECTION_TIMER: TimerId = TimerId(1);
pub const HEARTBEAT_TIMER: TimerId = TimerId(2);
pub const CHECK_QUORUM_TIMER: TimerId = TimerId(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// What a leader knows of one follower's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The next index to send.
    pub next: u64,
    /// The highest index known to be replicated on the follower.
    pub matched: u64,
    /// The highest heartbeat round the follower has answered in this term.
    pub acked_round: u64,
}

/// A linearizable read waiting to be served without going through the log.
#[derive(Clone, Debug)]
struct PendingRead {
    client: NodeId,
    id: RequestId,
    key: String,
    /// The state machine must have applied this far before the read is served.
    read_index: u64,
    /// The heartbeat round a majority must answer to confirm leadership; `None`
    /// once confirmed (or when a lease vouched for it).
    round: Option<u64>,
    /// Answered on the strength of the lease alone.
    by_lease: bool,
}

/// Shown (`Debug`) field by field as a derived `Debug` would show it, less
/// `acked_synced`, a cache: traces and explored states see what they saw
/// before it was added (see `show.rs`).
#[derive(Clone)]
pub struct Server {
    id: NodeId,
    peers: Vec<NodeId>,
    majority: usize,
    params: Params,

    // Persistent state (Figure 2).
    term: u64,
    vote: Option<NodeId>,
    log: Log,

    // Volatile state.
    role: Role,
    leader: Option<NodeId>,
    commit: u64,
    applied: u64,
    kv: Kv,
    votes: BTreeSet<NodeId>,
    /// When this server last heard from a leader of its term, by its
    /// monotonic clock (the promise behind leases is elapsed time).
    heard_leader_at: Option<Nanos>,

    // Leader state.
    progress: ProgressTable,
    /// The index of this leader's no-op: reads wait until it is committed.
    term_start: u64,
    /// Peers heard from since the last CheckQuorum tick.
    active: PeerSet,
    round: u64,
    /// When each recent round began, by the monotonic clock (for leases).
    round_started: RoundStarts,
    /// The monotonic-clock reading until which the lease lets this leader
    /// read alone.
    lease_until: Option<Nanos>,
    reads: Vec<PendingRead>,
    /// Reads answered on the lease alone, ever (for the lease-safety check).
    lease_reads: u64,

    outbox: Vec<(NodeId, Msg)>,
    dirty: bool,
    /// The peers' acknowledged rounds, highest first, as they were at the
    /// last AppendEntries reply (see `on_round_acked`).
    acked_scratch: Vec<u64>,
    /// Whether `acked_scratch` holds the acknowledged rounds of `progress`
    /// as they are now, so a reply updates it in place instead of
    /// rebuilding it. Not shown: it is a cache.
    acked_synced: bool,
}

impl Server {
    /// Builds a server from its disk alone: term, vote and log survive a
    /// restart; everything else, the state machine included, is rebuilt by
    /// replaying the log as the commit index is learnt again.
    pub fn from_disk(id: NodeId, cluster: &Cluster, params: &Params, disk: &Disk) -> Self {
        let servers = cluster.servers();
        let term = disk.get::<u64>(("term", 0)).copied().unwrap_or(0);
        let vote = if params.forget_vote_on_restart {
            None
        } else {
            disk.get::<Option<NodeId>>(("vote", 0)).copied().flatten()
        };
        Server {
            id,
            peers: servers.iter().copied().filter(|s| *s != id).collect(),
            majority: servers.len() / 2 + 1,
            params: params.clone(),
            term,
            vote,
            log: Log::from_disk(disk),
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            kv: Kv::default(),
            votes: BTreeSet::new(),
            heard_leader_at: None,
            progress: ProgressTable::default(),
            term_start: 0,
            active: PeerSet::default(),
            round: 0,
            round_started: RoundStarts::default(),
            lease_until: None,
            reads: Vec::new(),
            lease_reads: 0,
            outbox: Vec::new(),
            acked_scratch: Vec::new(),
            acked_synced: false,
            dirty: false,
        }
    }

    // ---- Accessors (for status, invariants and tests) ----

    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn term(&self) -> u64 {
        self.term
    }
    pub fn vote(&self) -> Option<NodeId> {
        self.vote
    }
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    pub fn log(&self) -> &Log {
        &self.log
    }
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    pub fn applied_index(&self) -> u64 {
        self.applied
    }
    pub fn kv(&self) -> &Kv {
        &self.kv
    }
    pub fn lease_reads(&self) -> u64 {
        self.lease_reads
    }
    pub fn progress(&self, peer: NodeId) -> Option<Progress> {
        self.progress.get(peer).copied()
    }

    // ---- Handlers ----

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.role = Role::Follower;
        if self.params.read_mode == ReadMode::Lease {
            // A restarted server has forgotten when it last heard from a
            // leader, so it cannot know whether it promised not to vote. It
            // keeps the promise it may have made: no votes for one minimum
            // election timeout. Without this, crashing followers could let
            // a new leader in while the old one's lease still runs.
            self.heard_leader_at = Some(ctx.mono_time());
        }
        self.reset_election_timer(ctx);
        self.flush(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            ELECTION_TIMER if self.role != Role::Leader => {
                if self.params.pre_vote {
                    self.become_pre_candidate(ctx);
                } else {
                    self.become_candidate(ctx);
                }
            }
            HEARTBEAT_TIMER if self.role == Role::Leader => {
                self.new_round(ctx);
                self.broadcast_append();
                ctx.set_timer(HEARTBEAT_TIMER, self.params.heartbeat_interval);
            }
            // CheckQuorum (dissertation §6.2): a leader that has not heard
            // from a majority within an election timeout steps down, so a
            // leader cut off in a minority stops serving.
            CHECK_QUORUM_TIMER if self.role == Role::Leader => {
                if self.active.len() + 1 < self.majority {
                    self.become_follower(ctx, self.term, None);
                } else {
                    self.active.clear();
                    ctx.set_timer(CHECK_QUORUM_TIMER, self.params.election_timeout_min);
                }
            }
            _ => {}
        }
        self.flush(ctx);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::RequestVote {
                term,
                last_index,
                last_term,
                pre_vote,
            } => self.on_request_vote(ctx, from, term, last_index, last_term, pre_vote),
            Msg::RequestVoteReply {
                term,
                granted,
                pre_vote,
            } => self.on_vote_reply(ctx, from, term, granted, pre_vote),
            // AppendEntries carries the most fields: its handler takes it apart.
            msg @ Msg::AppendEntries { .. } => self.on_append(ctx, from, msg),
            Msg::AppendEntriesReply {
                term,
                round,
                success: true,
                match_index,
                ..
            } => self.on_append_reply(ctx, from, term, round, Ok(match_index)),
            Msg::AppendEntriesReply {
                term,
                round,
                rejected,
                conflict_term,
                conflict_index,
                ..
            } => {
                let conflict = (rejected, conflict_term, conflict_index);
                self.on_append_reply(ctx, from, term, round, Err(conflict))
            }
            Msg::ClientRequest { id, key, f } => self.on_client(ctx, from, id, key, *f),
            Msg::ClientReply { .. } => {}
        }
        self.flush(ctx);
    }

    // ---- Elections (§5.2) ----

    fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
        pre_vote: bool,
    ) {
        // A server that heard from a live leader within the minimum election
        // timeout disregards vote requests (dissertation §4.2.3), so a server
        // that was cut off cannot depose a healthy leader when it returns. The
        // same promise is what makes leader leases safe.
        if term > self.term && self.leader_is_fresh(ctx) {
            self.send(
                from,
                Msg::RequestVoteReply {
                    term: self.term,
                    granted: false,
                    pre_vote,
                },
            );
            return;
        }
        if pre_vote {
            // PreVote changes nothing on the voter: it only asks "would you?".
            let granted = term > self.term && self.log.is_up_to_date(last_term, last_index);
            let reply_term = if granted { term } else { self.term };
            self.send(
                from,
                Msg::RequestVoteReply {
                    term: reply_term,
                    granted,
                    pre_vote: true,
                },
            );
            return;
        }
        if term > self.term {
            self.become_follower(ctx, term, None);
        }
        let granted = term == self.term
            && self.role != Role::Leader
            && (self.vote.is_none() || self.vote == Some(from))
            && self.log.is_up_to_date(last_term, last_index);
        if granted {
            self.vote = Some(from);
            self.persist_term_and_vote(ctx);
            self.reset_election_timer(ctx);
        }
        self.send(
            from,
            Msg::RequestVoteReply {
                term: self.term,
                granted,
                pre_vote: false,
            },
        );
    }

    fn on_vote_reply(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        term: u64,
        granted: bool,
        pre_vote: bool,
    ) {
        if term > self.term && !(pre_vote && granted) {
            self.become_follower(ctx, term, None);
            return;
        }
        if !granted {
            return;
        }
        if pre_vote && self.role == Role::PreCandidate && term == self.term + 1 {
            self.votes.insert(from);
            if self.votes.len() >= self.majority {
                self.become_candidate(ctx);
            }
        } else if !pre_vote && self.role == Role::Candidate && term == self.term {
            self.votes.insert(from);
            if self.votes.len() >= self.majority {
                self.become_leader(ctx);
            }
        }
    }

    fn leader_is_fresh(&self, ctx: &Ctx<Msg>) -> bool {
        let sticky = self.params.check_quorum
            || self.params.pre_vote
            || self.params.read_mode == ReadMode::Lease;
        if !sticky {
            return false;
        }
        if self.role == Role::Leader {
            return true;
        }
        self.heard_leader_at
            .is_some_and(|at| ctx.mono_time().saturating_sub(at) < self.params.election_timeout_min)
    }

    fn become_follower(&mut self, ctx: &mut Ctx<Msg>, term: u64, leader: Option<NodeId>) {
        if term > self.term {
            self.term = term;
            self.vote = None;
            self.persist_term_and_vote(ctx);
        }
        let was_leader = self.role == Role::Leader;
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
        if was_leader {
            ctx.cancel_timer(HEARTBEAT_TIMER);
            ctx.cancel_timer(CHECK_QUORUM_TIMER);
            self.progress.clear();
            self.acked_synced = false;
            self.lease_until = None;
            for r in std::mem::take(&mut self.reads) {
                self.send(
                    r.client,
                    Msg::ClientReply {
                        id: r.id,
                        result: ClientResult::NotLeader(leader),
                    },
                );
            }
        }
        self.reset_election_timer(ctx);
    }

    fn become_pre_candidate(&mut self, ctx: &mut Ctx<Msg>) {
        self.role = Role::PreCandidate;
        if self.ask_for_votes(ctx, self.term + 1, true) {
            self.become_candidate(ctx);
        }
    }

    fn become_candidate(&mut self, ctx: &mut Ctx<Msg>) {
        self.term += 1;
        self.vote = Some(self.id);
        self.persist_term_and_vote(ctx);
        self.role = Role::Candidate;
        if self.ask_for_votes(ctx, self.term, false) {
            self.become_leader(ctx);
        }
    }

    /// Opens a (pre-)vote for `term`: counts this server's own vote, restarts
    /// the election timer and asks every peer. True when its own vote is
    /// already a majority (a cluster of one), so nobody needs asking.
    fn ask_for_votes(&mut self, ctx: &mut Ctx<Msg>, term: u64, pre_vote: bool) -> bool {
        self.leader = None;
        self.votes = BTreeSet::from([self.id]);
        self.reset_election_timer(ctx);
        if self.votes.len() >= self.majority {
            return true;
        }
        for p in self.peers.clone() {
            self.send(
                p,
                Msg::RequestVote {
                    term,
                    last_index: self.log.last_index(),
                    last_term: self.log.last_term(),
                    pre_vote,
                },
            );
        }
        false
    }

    fn become_leader(&mut self, ctx: &mut Ctx<Msg>) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.votes.clear();
        ctx.cancel_timer(ELECTION_TIMER);
        let next = self.log.last_index() + 1;
        let start = Progress {
            next,
            matched: 0,
            acked_round: 0,
        };
        self.progress = ProgressTable::new(&self.peers, start);
        self.acked_synced = false;
        self.active.clear();
        self.round_started.clear();
        self.lease_until = None;
        // §5.4.2 and §8: a leader commits an entry of its own term as soon as it
        // can, which commits every earlier entry with it.
        self.term_start = next;
        self.append_local(ctx, Command::Noop);
        self.new_round(ctx);
        self.broadcast_append();
        ctx.set_timer(HEARTBEAT_TIMER, self.params.heartbeat_interval);
        if self.params.check_quorum {
            ctx.set_timer(CHECK_QUORUM_TIMER, self.params.election_timeout_min);
        }
        self.maybe_commit(ctx);
    }

    fn reset_election_timer(&mut self, ctx: &mut Ctx<Msg>) {
        let (lo, hi) = (
            self.params.election_timeout_min,
            self.params
                .election_timeout_max
                .max(self.params.election_timeout_min),
        );
        let after = ctx.rng().gen_range(lo..=hi);
        ctx.set_timer(ELECTION_TIMER, after);
    }

    // ---- Log replication (§5.3) ----

    fn on_append(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            commit: leader_commit,
            round,
        } = msg
        else {
            unreachable!("on_append takes an AppendEntries")
        };
        let reject = |s: &Self, conflict_term, conflict_index| Msg::AppendEntriesReply {
            term: s.term,
            success: false,
            match_index: 0,
            rejected: prev_index,
            conflict_term,
            conflict_index,
            round,
        };
        if term < self.term {
            // A stale leader learns the new term from the reply and steps down.
            let msg = reject(self, None, 0);
            self.send(from, msg);
            return;
        }
        if term > self.term || self.role != Role::Follower || self.leader != Some(from) {
            self.become_follower(ctx, term, Some(from));
        } else {
            self.reset_election_timer(ctx);
        }
        self.heard_leader_at = Some(ctx.mono_time());

        // The consistency check: the entry before the new ones must match.
        if prev_index > self.log.last_index() {
            let msg = reject(self, None, self.log.last_index() + 1);
            self.send(from, msg);
            return;
        }
        let local_prev = self.log.term_at(prev_index).unwrap_or(0);
        if local_prev != prev_term && !self.params.skip_log_check {
            let first = self.log.first_index_of_term_at(prev_index);
            let msg = reject(self, Some(local_prev), first);
            self.send(from, msg);
            return;
        }

        // Append what is new; an existing entry that conflicts (same index,
        // other term) is deleted with all that follow it. Entries that already
        // match are kept: a delayed AppendEntries must never truncate entries
        // that a later one appended.
        let match_index = prev_index + entries.len() as u64;
        for e in entries.iter() {
            match self.log.term_at(e.index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    self.log.truncate_from(ctx.disk(), e.index);
                    self.dirty = true;
                }
                None => {}
            }
            self.log.append(ctx.disk(), e.clone());
            self.dirty = true;
        }
        let new_commit = leader_commit.min(match_index);
        if new_commit > self.commit {
            self.commit = new_commit;
            self.apply();
        }
        self.send(from, Msg::append_ok(self.term, match_index, round));
    }

    /// A follower's answer to AppendEntries of heartbeat round `round`: the
    /// index its log now matches up to, or the `prev_index` it refused with
    /// the conflict hint (conflict term, conflict index).
    fn on_append_reply(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        term: u64,
        round: u64,
        reply: Result<u64, (u64, Option<u64>, u64)>,
    ) {
        if term > self.term {
            self.become_follower(ctx, term, None);
            return;
        }
        if term < self.term || self.role != Role::Leader {
            return;
        }
        self.active.insert(from);
        let last = self.log.last_index();
        let Some(pr) = self.progress.get_mut(from) else {
            return;
        };
        let acked_before = pr.acked_round;
        pr.acked_round = pr.acked_round.max(round);
        let acked = (acked_before, pr.acked_round);
        match reply {
            Ok(match_index) => {
                if match_index > pr.matched {
                    pr.matched = match_index;
                    pr.next = pr.next.max(match_index + 1);
                    // Committing changes no progress: read it first.
                    let next = pr.next;
                    self.maybe_commit(ctx);
                    if next <= last {
                        self.send_append(from);
                    }
                }
            }
            Err((rejected, conflict_term, conflict_index))
                if rejected + 1 == pr.next && rejected > pr.matched =>
            {
                // Fast backtracking (§5.3, end): skip the follower's whole
                // conflicting term, or to its log's end, instead of one entry at
                // a time.
                let next = match conflict_term {
                    Some(ct) => match self.log.last_index_of_term(ct) {
                        Some(i) => i + 1,
                        None => conflict_index,
                    },
                    None => conflict_index,
                };
                pr.next = next.clamp(pr.matched + 1, last + 1);
                self.send_append(from);
            }
            Err(_) => {}
        }
        self.on_round_acked(acked);
    }

    fn new_round(&mut self, ctx: &mut Ctx<Msg>) {
        self.round += 1;
        self.round_started.insert(self.round, ctx.mono_time());
    }

    fn broadcast_append(&mut self) {
        // By position, not over a copy of the list: a heartbeat allocates
        // nothing but its messages. Followers that wait for the same next
        // index (all of them, on a healthy cluster) share one run of entries:
        // the log does not change while the messages are made.
        let mut shared = None;
        for k in 0..self.peers.len() {
            self.send_append_sharing(self.peers[k], &mut shared);
        }
    }

    fn send_append(&mut self, to: NodeId) {
        self.send_append_sharing(to, &mut None);
    }

    /// Sends `to` the entries from its next index on. `shared` holds the
    /// last run made in this round of sending and the index it starts at:
    /// a follower whose next index is the same gets that run again, and
    /// otherwise a new one is made and kept there. The caller must not
    /// change the log while it reuses `shared`.
    fn send_append_sharing(&mut self, to: NodeId, shared: &mut Option<(u64, Entries)>) {
        let pr = *self
            .progress
            .get(to)
            .expect("a leader has progress for every peer");
        let prev_index = pr.next - 1;
        let entries = match shared {
            Some((from, run)) if *from == pr.next => run.clone(),
            _ => {
                let run = self.log.slice(pr.next, self.params.max_entries_per_message);
                *shared = Some((pr.next, run.clone()));
                run
            }
        };
        let msg = Msg::AppendEntries {
            term: self.term,
            prev_index,
            prev_term: self.log.term_at(prev_index).unwrap_or(0),
            entries,
            commit: self.commit,
            round: self.round,
        };
        self.send(to, msg);
    }

    fn append_local(&mut self, ctx: &mut Ctx<Msg>, command: Command) -> u64 {
        let index = self.log.last_index() + 1;
        self.log.append(
            ctx.disk(),
            Entry {
                term: self.term,
                index,
                command: std::sync::Arc::new(command),
            },
        );
        self.dirty = true;
        index
    }

    /// The commit rule (§5.3, §5.4.2): the highest index stored on a majority,
    /// but only if its entry is of the current term. Counting replicas of an
    /// older term's entry is unsafe: Figure 8 shows it overwritten after
    /// reaching a majority.
    fn maybe_commit(&mut self, ctx: &mut Ctx<Msg>) {
        if self.role != Role::Leader {
            return;
        }
        // The leader counts itself only for what is on its stable storage.
        if self.dirty {
            ctx.disk().sync();
            self.dirty = false;
        }
        let mut n = self.log.last_index();
        while n > self.commit {
            let term_ok =
                self.log.term_at(n) == Some(self.term) || self.params.commit_old_terms_by_counting;
            if term_ok {
                let replicas = 1 + self.progress.values().filter(|p| p.matched >= n).count();
                if replicas >= self.majority {
                    break;
                }
            }
            n -= 1;
        }
        if n > self.commit {
            self.commit = n;
            self.apply();
        }
    }

    fn apply(&mut self) {
        while self.applied < self.commit {
            // Only a bug flag can leave the commit index past the log's end
            // (a follower that truncated committed entries); apply what exists.
            let Some(entry) = self.log.get(self.applied + 1) else {
                break;
            };
            self.applied += 1;
            // The entry is borrowed from the log while the state machine and
            // the outbox change: three fields, no copy of the command.
            let leader = self.role == Role::Leader;
            let result = self.kv.apply(&entry.command, leader);
            if let (Command::Client { id, .. }, Some(result)) = (&*entry.command, result) {
                let reply = Msg::ClientReply { id: *id, result };
                self.outbox.push((id.session.client, reply));
            }
        }
        self.serve_reads();
    }

    // ---- Persistence and output ----

    fn persist_term_and_vote(&mut self, ctx: &mut Ctx<Msg>) {
        ctx.disk().put(("term", 0), self.term);
        if !self.params.forget_vote_on_restart {
            ctx.disk().put(("vote", 0), self.vote);
        }
        self.dirty = true;
    }

    fn send(&mut self, to: NodeId, msg: Msg) {
        self.outbox.push((to, msg));
    }

    /// Syncs what this handler wrote, then sends what it queued.
    fn flush(&mut self, ctx: &mut Ctx<Msg>) {
        if self.dirty {
            ctx.disk().sync();
            self.dirty = false;
        }
        // Most replies a leader hears send nothing: no drain to set up.
        if self.outbox.is_empty() {
            return;
        }
        // Drained, not taken: the outbox keeps its memory for the next handler.
        for (to, msg) in self.outbox.drain(..) {
            ctx.send(to, msg);
        }
    }
}
