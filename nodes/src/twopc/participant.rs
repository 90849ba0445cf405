use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{timer_tx, tx_timer, Change, Config, Decision, Mode, Msg, Tx, COORDINATOR};

/// What a participant logs when it votes yes: enough to finish the
/// transaction after a crash.
#[derive(Clone, Debug)]
struct VoteRecord {
    change: Change,
    peers: Vec<NodeId>,
}

/// A saga step as logged: whether it was applied (a step refused stays refused
/// when the coordinator asks again).
#[derive(Clone, Copy, Debug)]
struct StepRecord {
    applied: bool,
}

/// Where a transaction stands at this participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PState {
    /// Voted yes; waiting for the decision while holding the lock.
    Prepared,
    /// 3PC: everybody voted yes; commits on its own if the coordinator goes quiet.
    PreCommitted,
    Committed,
    Aborted,
}

impl PState {
    pub fn in_doubt(self) -> bool {
        matches!(self, PState::Prepared | PState::PreCommitted)
    }
}

#[derive(Clone, Debug)]
struct PTx {
    state: PState,
    change: Change,
    peers: Vec<NodeId>,
    /// When it became in doubt (this incarnation).
    since: Nanos,
    /// 3PC: it has asked the others once; at the next timeout it decides alone.
    asked: bool,
}

impl PTx {
    /// A transaction known only by its outcome (no vote of this node's own).
    fn settled(d: Decision, since: Nanos) -> PTx {
        PTx {
            state: if d == Decision::Commit {
                PState::Committed
            } else {
                PState::Aborted
            },
            change: Change {
                account: 0,
                delta: 0,
            },
            peers: Vec::new(),
            since,
            asked: false,
        }
    }
}

/// A read waiting for a lock to be released.
#[derive(Clone, Debug)]
struct QueuedRead {
    client: NodeId,
    op: u64,
    account: u32,
    since: Nanos,
}

/// A participant: owns some accounts, votes, and applies decisions.
#[derive(Clone, Debug)]
pub struct Participant {
    config: Config,
    me: NodeId,
    balances: BTreeMap<u32, i64>,
    /// The sum of `balances`, kept as they change: the conservation check
    /// reads it after every step.
    balance_sum: i64,
    /// Account to the transaction that holds its lock.
    locks: BTreeMap<u32, Tx>,
    txs: BTreeMap<Tx, PTx>,
    queued: Vec<QueuedRead>,
    /// Saga: per account, the sagas with a step applied here and not yet over.
    open_sagas: BTreeMap<u32, BTreeSet<Tx>>,
    pub(crate) intermediate_reads: u64,
    /// Decisions taken in this incarnation, in order, for the invariant checks.
    pub(crate) journal: Vec<(Tx, Decision)>,
    /// When this incarnation started: a change tells the checker the node
    /// was rebuilt from its disk.
    pub(crate) incarnation: Nanos,
    /// Finished in-doubt periods: total and longest, and clients whose reads
    /// waited behind a lock longer than their timeout.
    pub(crate) in_doubt_total: Nanos,
    pub(crate) in_doubt_max: Nanos,
    pub(crate) reads_blocked: u64,
    /// The clients those blocked reads came from.
    pub(crate) blocked_clients: BTreeSet<NodeId>,
    pub(crate) read_wait_max: Nanos,
    pub(crate) resolved_by_peer: u64,
    pub(crate) decided_alone: u64,
}

impl Participant {
    /// Rebuilds a participant from its log: balances, decided transactions,
    /// and transactions it voted yes on without a decision, which are in doubt
    /// again and take their locks back.
    pub fn recover(config: &Config, me: NodeId, disk: &Disk) -> Participant {
        let bank = config.bank;
        let mut balances = BTreeMap::new();
        for a in bank.accounts_of(me) {
            let b = disk
                .get::<i64>(("balance", a as u64))
                .copied()
                .unwrap_or(config.params.initial_balance);
            balances.insert(a, b);
        }
        let mut txs = BTreeMap::new();
        let mut locks = BTreeMap::new();
        for tx in disk.indexes("vote") {
            let Some(v) = disk.get::<VoteRecord>(("vote", tx)) else {
                continue;
            };
            let state = match disk.get::<Decision>(("outcome", tx)) {
                Some(Decision::Commit) => PState::Committed,
                Some(Decision::Abort) => PState::Aborted,
                None if disk.get::<()>(("precommit", tx)).is_some() => PState::PreCommitted,
                None => PState::Prepared,
            };
            if state.in_doubt() {
                locks.insert(v.change.account, tx);
            }
            txs.insert(
                tx,
                PTx {
                    state,
                    change: v.change,
                    peers: v.peers.clone(),
                    since: 0,
                    asked: false,
                },
            );
        }
        for tx in disk.indexes("outcome") {
            if let (Entry::Vacant(e), Some(&d)) =
                (txs.entry(tx), disk.get::<Decision>(("outcome", tx)))
            {
                e.insert(PTx::settled(d, 0));
            }
        }
        Participant {
            config: config.clone(),
            me,
            balance_sum: balances.values().sum(),
            balances,
            locks,
            txs,
            queued: Vec::new(),
            open_sagas: BTreeMap::new(),
            intermediate_reads: 0,
            journal: Vec::new(),
            incarnation: 0,
            in_doubt_total: 0,
            in_doubt_max: 0,
            reads_blocked: 0,
            blocked_clients: BTreeSet::new(),
            read_wait_max: 0,
            resolved_by_peer: 0,
            decided_alone: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.incarnation = ctx.now() + 1;
        // Recovery: every transaction still in doubt waits for its decision
        // again, from now.
        let t = self.config.params.participant_timeout;
        for (&tx, p) in self.txs.iter_mut() {
            if p.state.in_doubt() {
                p.since = ctx.now();
                ctx.set_timer(tx_timer(tx), t);
            }
        }
    }

    // ----- what the checker and the report read -----

    pub fn balance_total(&self) -> i64 {
        debug_assert_eq!(self.balance_sum, self.balances.values().sum::<i64>());
        self.balance_sum
    }
    pub fn locks_held(&self) -> usize {
        self.locks.len()
    }
    pub fn in_doubt(&self) -> usize {
        self.locks.len()
    }
    /// How long the transactions still in doubt have been so, at `now`.
    pub fn in_doubt_since(&self) -> impl Iterator<Item = Nanos> + '_ {
        self.txs
            .values()
            .filter(|p| p.state.in_doubt())
            .map(|p| p.since)
    }
    pub fn state_of(&self, tx: Tx) -> Option<PState> {
        self.txs.get(&tx).map(|p| p.state)
    }
    /// The reads waiting for a lock: who asked, and since when.
    pub fn queued_reads(&self) -> impl Iterator<Item = (NodeId, Nanos)> + '_ {
        self.queued.iter().map(|q| (q.client, q.since))
    }

    // ----- handlers -----

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare { tx, change, peers } => self.on_prepare(ctx, from, tx, change, peers),
            Msg::PreCommit { tx } => self.on_precommit(ctx, from, tx),
            Msg::Decide { tx, decision } => {
                self.on_decision(ctx, tx, decision);
                ctx.send(from, Msg::Ack { tx });
            }
            Msg::AskDecision { tx } => {
                let decision = self.answer_peer(ctx, tx);
                ctx.send(from, Msg::Tell { tx, decision });
            }
            Msg::Tell {
                tx,
                decision: Some(d),
            } if self.txs.get(&tx).is_some_and(|p| p.state.in_doubt()) => {
                if from != COORDINATOR {
                    self.resolved_by_peer += 1;
                }
                self.on_decision(ctx, tx, d);
            }
            Msg::Read { op, account } => {
                if self.config.params.mode != Mode::Saga && self.locks.contains_key(&account) {
                    // Strict two-phase locking: the read waits for the writer.
                    self.queued.push(QueuedRead {
                        client: from,
                        op,
                        account,
                        since: ctx.now(),
                    });
                } else {
                    if self.open_sagas.get(&account).is_some_and(|s| !s.is_empty()) {
                        // A saga is half done on this account: the reader sees
                        // money that has left and not arrived, or arrived and
                        // may yet be taken back.
                        self.intermediate_reads += 1;
                    }
                    let balance = self.balances.get(&account).copied().unwrap_or(0);
                    ctx.send(from, Msg::ReadDone { op, balance });
                }
            }
            Msg::SagaEnd { tx } => {
                for s in self.open_sagas.values_mut() {
                    s.remove(&tx);
                }
            }
            Msg::Step { tx, step, change } => self.on_step(ctx, from, tx, step, change),
            _ => {}
        }
    }

    /// Phase one: lock, check, log the vote (synced), answer. A no needs no
    /// log record: under presumed abort, no record means abort.
    fn on_prepare(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        tx: Tx,
        change: Change,
        peers: Vec<NodeId>,
    ) {
        if let Some(p) = self.txs.get(&tx) {
            // A repeated prepare gets the same answer.
            let yes = p.state != PState::Aborted;
            ctx.send(from, Msg::Vote { tx, yes });
            return;
        }
        let balance = self.balances.get(&change.account).copied().unwrap_or(0);
        let refuse = self.locks.contains_key(&change.account)
            || balance + change.delta < 0
            || (self.config.params.fail_probability > 0.0
                && ctx.rng().gen::<f64>() < self.config.params.fail_probability);
        if refuse {
            self.txs.insert(
                tx,
                PTx {
                    state: PState::Aborted,
                    change,
                    peers,
                    since: ctx.now(),
                    asked: false,
                },
            );
            self.journal.push((tx, Decision::Abort));
            ctx.send(from, Msg::Vote { tx, yes: false });
            return;
        }
        self.locks.insert(change.account, tx);
        if !self.config.params.participant_forgets_vote {
            ctx.disk().put(
                ("vote", tx),
                VoteRecord {
                    change,
                    peers: peers.clone(),
                },
            );
            ctx.disk().sync();
        }
        self.txs.insert(
            tx,
            PTx {
                state: PState::Prepared,
                change,
                peers,
                since: ctx.now(),
                asked: false,
            },
        );
        ctx.set_timer(tx_timer(tx), self.config.params.participant_timeout);
        ctx.send(from, Msg::Vote { tx, yes: true });
        ctx.note("prepared");
    }

    fn on_precommit(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, tx: Tx) {
        let Some(p) = self.txs.get_mut(&tx) else {
            return;
        };
        if p.state == PState::Prepared {
            p.state = PState::PreCommitted;
            ctx.disk().put(("precommit", tx), ());
            ctx.disk().sync();
            ctx.set_timer(tx_timer(tx), self.config.params.participant_timeout);
            ctx.note("precommitted");
        }
        if p.state != PState::Aborted {
            ctx.send(from, Msg::PreCommitAck { tx });
        }
    }

    /// Applies a decision to a transaction: the change (on commit), the
    /// outcome record, synced, then the lock goes and waiting reads are served.
    fn on_decision(&mut self, ctx: &mut Ctx<Msg>, tx: Tx, decision: Decision) {
        let now = ctx.now();
        let Some(p) = self.txs.get_mut(&tx) else {
            // No vote on record. Normally the coordinator only commits what
            // this node voted yes on, so this is a vote lost in a crash: with
            // nothing to apply, the participant can only count it aborted.
            self.txs.insert(tx, PTx::settled(Decision::Abort, now));
            ctx.disk().put(("outcome", tx), Decision::Abort);
            ctx.disk().sync();
            self.journal.push((tx, Decision::Abort));
            return;
        };
        if !p.state.in_doubt() {
            return; // already decided: a repeated decision changes nothing
        }
        let waited = now - p.since;
        self.in_doubt_total += waited;
        self.in_doubt_max = self.in_doubt_max.max(waited);
        let account = p.change.account;
        if self.config.params.participant_forgets_vote {
            // The bug: only now does the vote reach the log.
            ctx.disk().put(
                ("vote", tx),
                VoteRecord {
                    change: p.change,
                    peers: p.peers.clone(),
                },
            );
        }
        if decision == Decision::Commit {
            p.state = PState::Committed;
            let b = self.balances.entry(account).or_insert(0);
            *b += p.change.delta;
            let b = *b;
            self.balance_sum += p.change.delta;
            ctx.disk().put(("balance", account as u64), b);
        } else {
            p.state = PState::Aborted;
        }
        ctx.disk().put(("outcome", tx), decision);
        ctx.disk().sync();
        ctx.note(match decision {
            Decision::Commit => "committed",
            Decision::Abort => "aborted",
        });
        ctx.cancel_timer(tx_timer(tx));
        self.journal.push((tx, decision));
        if self.locks.get(&account) == Some(&tx) {
            self.locks.remove(&account);
            self.serve_queued(ctx, account);
        }
    }

    fn serve_queued(&mut self, ctx: &mut Ctx<Msg>, account: u32) {
        let now = ctx.now();
        let timeout = self.config.client.timeout;
        let balance = self.balances.get(&account).copied().unwrap_or(0);
        let mut kept = Vec::new();
        for q in std::mem::take(&mut self.queued) {
            if q.account != account {
                kept.push(q);
                continue;
            }
            let waited = now - q.since;
            self.read_wait_max = self.read_wait_max.max(waited);
            if waited >= timeout {
                self.reads_blocked += 1;
                self.blocked_clients.insert(q.client);
            }
            ctx.send(q.client, Msg::ReadDone { op: q.op, balance });
        }
        self.queued = kept;
    }

    /// What this node tells a peer that asks about `tx` (cooperative
    /// termination). One that never voted aborts the transaction, so that it
    /// can never vote yes later, and says so.
    fn answer_peer(&mut self, ctx: &mut Ctx<Msg>, tx: Tx) -> Option<Decision> {
        match self.txs.get(&tx).map(|p| p.state) {
            Some(PState::Committed) => Some(Decision::Commit),
            Some(PState::Aborted) => Some(Decision::Abort),
            // 3PC: pre-committed means everybody voted yes, so commit is safe.
            Some(PState::PreCommitted) => Some(Decision::Commit),
            Some(PState::Prepared) => None,
            None => {
                self.txs
                    .insert(tx, PTx::settled(Decision::Abort, ctx.now()));
                self.journal.push((tx, Decision::Abort));
                Some(Decision::Abort)
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        let Some(tx) = timer_tx(timer) else {
            return;
        };
        let Some(p) = self.txs.get(&tx) else {
            return;
        };
        let params = &self.config.params;
        match (params.mode, p.state) {
            (Mode::ThreePc, s) if s.in_doubt() => {
                if !p.asked {
                    // Skeen's termination protocol, cut down: ask everyone
                    // once; a pre-committed or decided peer settles it.
                    let peers = p.peers.clone();
                    self.txs.get_mut(&tx).expect("present").asked = true;
                    self.ask(ctx, tx, &peers, true);
                    return;
                }
                // Nobody answered: decide alone. Prepared means not every
                // pre-commit went out, so nobody committed: abort. Pre-committed
                // means everybody voted yes: commit. A partition, not a crash,
                // may be why nobody answered; then the sides can disagree.
                self.decided_alone += 1;
                let d = if s == PState::Prepared {
                    Decision::Abort
                } else {
                    Decision::Commit
                };
                self.on_decision(ctx, tx, d);
            }
            (Mode::TwoPc, s) if s.in_doubt() => {
                if params.unilateral_abort_after_yes {
                    self.decided_alone += 1;
                    self.on_decision(ctx, tx, Decision::Abort);
                    return;
                }
                let peers = p.peers.clone();
                let cooperative = params.cooperative_termination;
                self.ask(ctx, tx, &peers, cooperative);
            }
            _ => {}
        }
    }

    /// Asks the coordinator (and the peers) for the decision, and looks again
    /// after `resend_interval`.
    fn ask(&mut self, ctx: &mut Ctx<Msg>, tx: Tx, peers: &[NodeId], peers_too: bool) {
        ctx.send(COORDINATOR, Msg::AskDecision { tx });
        if peers_too {
            for &peer in peers.iter().filter(|&&q| q != self.me) {
                ctx.send(peer, Msg::AskDecision { tx });
            }
        }
        ctx.set_timer(tx_timer(tx), self.config.params.resend_interval);
    }

    /// A saga step commits locally at once, logged and synced; the answer to
    /// a repeated step is the logged one.
    fn on_step(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, tx: Tx, step: u8, change: Change) {
        let key = ("step", tx * 4 + step as u64);
        if let Some(r) = ctx.disk().get::<StepRecord>(key).copied() {
            ctx.send(
                from,
                Msg::StepDone {
                    tx,
                    step,
                    ok: r.applied,
                },
            );
            return;
        }
        let balance = self.balances.get(&change.account).copied().unwrap_or(0);
        // Only the credit is the "failing step"; a compensation must not fail.
        let fails = (change.delta < 0 && balance + change.delta < 0)
            || (step == 1
                && self.config.params.fail_probability > 0.0
                && ctx.rng().gen::<f64>() < self.config.params.fail_probability);
        if !fails {
            self.open_sagas
                .entry(change.account)
                .or_default()
                .insert(tx);
            let b = balance + change.delta;
            self.balances.insert(change.account, b);
            self.balance_sum += change.delta;
            ctx.disk().put(("balance", change.account as u64), b);
        }
        ctx.disk().put(key, StepRecord { applied: !fails });
        ctx.disk().sync();
        ctx.send(
            from,
            Msg::StepDone {
                tx,
                step,
                ok: !fails,
            },
        );
    }

    pub fn status(&self) -> Status {
        let locks: Vec<String> = self
            .locks
            .iter()
            .map(|(a, tx)| format!("a{a}@t{tx}"))
            .collect();
        let in_doubt: Vec<String> = self
            .txs
            .iter()
            .filter(|(_, p)| p.state.in_doubt())
            .map(|(tx, p)| {
                let s = if p.state == PState::Prepared {
                    "prepared"
                } else {
                    "pre-committed"
                };
                format!("t{tx} {s}")
            })
            .collect();
        let committed = self
            .txs
            .values()
            .filter(|p| p.state == PState::Committed)
            .count();
        let aborted = self
            .txs
            .values()
            .filter(|p| p.state == PState::Aborted)
            .count();
        let balances: Vec<String> = self
            .balances
            .iter()
            .map(|(a, b)| format!("a{a}={b}"))
            .collect();
        Status {
            role: "participant",
            fields: vec![
                ("balances", balances.join(" ")),
                ("locks", locks.join(" ")),
                ("in doubt", in_doubt.join(", ")),
                ("committed", committed.to_string()),
                ("aborted", aborted.to_string()),
                ("queued reads", self.queued.len().to_string()),
            ],
        }
    }
}
