use std::collections::{BTreeMap, BTreeSet};

use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::{ms, Nanos};

use super::{timer_tx, tx_timer, Change, Config, Decision, Mode, Msg, Tx};

/// With `decide_before_logging`, the coordinator flushes its log on this timer
/// only, like a database with asynchronous commit.
const FLUSH: TimerId = TimerId(u64::MAX - 16);
const FLUSH_EVERY: Nanos = ms(100);

/// The decision log: commits, and the aborts a client is told of. An abort
/// only participants hear of is not written (presumed abort): one that asks
/// about a transaction with no record hears abort.
#[derive(Clone, Debug)]
struct CommitRecord {
    parts: Vec<(NodeId, Change)>,
}

/// A saga's progress, logged (synced) at every step so a restarted
/// coordinator resumes it where it was.
#[derive(Clone, Copy, Debug)]
struct SagaRecord {
    parts: [(NodeId, Change); 2],
    /// The step under way: 0 debit, 1 credit, 2 compensation, 3 finished.
    step: u8,
    committed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Voting,
    /// 3PC: all voted yes; waiting for pre-commit acknowledgements.
    PreCommitting,
    /// Decided commit; resending until every participant acknowledged.
    Committing,
    /// Saga step under way.
    Saga(u8),
}

#[derive(Clone, Debug)]
struct CTx {
    /// The client to answer, if it is still listening (not after a restart).
    client: Option<NodeId>,
    parts: Vec<(NodeId, Change)>,
    phase: Phase,
    /// Yes votes, pre-commit acks or decision acks, depending on the phase.
    heard: BTreeSet<NodeId>,
}

/// The coordinator: runs every transaction's commit protocol and keeps the
/// decision log.
#[derive(Clone, Debug)]
pub struct Coordinator {
    config: Config,
    active: BTreeMap<Tx, CTx>,
    /// Decisions known in this incarnation (commits from the log, and the
    /// aborts it has taken or presumed).
    decided: BTreeMap<Tx, Decision>,
    /// The last few decisions, newest last, for the status line.
    recent: Vec<(Tx, Decision)>,
    pub(crate) journal: Vec<(Tx, Decision)>,
    pub(crate) incarnation: Nanos,
    pub(crate) commits: u64,
    pub(crate) aborts: u64,
    pub(crate) compensations: u64,
}

impl Coordinator {
    /// Rebuilds the coordinator from its log. A commit is in the log only if
    /// it was synced; a transaction with no record is aborted (presumed abort).
    pub fn recover(config: &Config, disk: &Disk) -> Coordinator {
        let mut active = BTreeMap::new();
        let mut decided = BTreeMap::new();
        for tx in disk.indexes("commit") {
            let Some(r) = disk.get::<CommitRecord>(("commit", tx)) else {
                continue;
            };
            decided.insert(tx, Decision::Commit);
            if disk.get::<()>(("done", tx)).is_none() {
                active.insert(
                    tx,
                    CTx {
                        client: None,
                        parts: r.parts.clone(),
                        phase: Phase::Committing,
                        heard: BTreeSet::new(),
                    },
                );
            }
        }
        // An abort a client was told of: a retry of its transfer that
        // arrives after a restart must hear abort again, not run it anew.
        for tx in disk.indexes("abort") {
            if disk.get::<()>(("abort", tx)).is_some() {
                // Never both: a transaction is logged one way, once.
                debug_assert!(!decided.contains_key(&tx), "t{tx} logged both ways");
                decided.entry(tx).or_insert(Decision::Abort);
            }
        }
        for tx in disk.indexes("saga") {
            let Some(r) = disk.get::<SagaRecord>(("saga", tx)).copied() else {
                continue;
            };
            if r.step == 3 {
                let d = if r.committed {
                    Decision::Commit
                } else {
                    Decision::Abort
                };
                decided.insert(tx, d);
            } else {
                active.insert(
                    tx,
                    CTx {
                        client: None,
                        parts: r.parts.to_vec(),
                        phase: Phase::Saga(r.step),
                        heard: BTreeSet::new(),
                    },
                );
            }
        }
        Coordinator {
            config: config.clone(),
            active,
            decided,
            recent: Vec::new(),
            journal: Vec::new(),
            incarnation: 0,
            commits: 0,
            aborts: 0,
            compensations: 0,
        }
    }

    /// Recovery: re-send every logged commit not yet acknowledged, and resume
    /// every unfinished saga.
    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.incarnation = ctx.now() + 1;
        if self.config.params.decide_before_logging {
            ctx.set_timer(FLUSH, FLUSH_EVERY);
        }
        let txs: Vec<Tx> = self.active.keys().copied().collect();
        for tx in txs {
            self.resend(ctx, tx);
        }
    }

    pub fn in_flight(&self) -> usize {
        self.active.len()
    }

    /// Whether this node's state (rebuilt from its log) still says `tx` committed.
    pub fn knows_committed(&self, tx: Tx) -> bool {
        self.decided.get(&tx) == Some(&Decision::Commit)
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Transfer {
                op,
                from: a,
                to: b,
                amount,
            } => self.begin(ctx, from, op, a, b, amount),
            Msg::Vote { tx, yes } => self.on_vote(ctx, from, tx, yes),
            // The guard counts the acknowledgement; one that does not
            // complete its phase falls through to `_` and does nothing more.
            Msg::PreCommitAck { tx } if self.heard_from_all(tx, Phase::PreCommitting, from) => {
                self.commit(ctx, tx);
            }
            Msg::Ack { tx } if self.heard_from_all(tx, Phase::Committing, from) => {
                // Everyone has applied it: the record may be forgotten. The
                // mark need not be synced; losing it only means re-sending a
                // commit after a crash.
                self.active.remove(&tx);
                ctx.disk().put(("done", tx), ());
                ctx.cancel_timer(tx_timer(tx));
            }
            Msg::AskDecision { tx } => {
                let decision = match (self.decided.get(&tx), self.active.get(&tx)) {
                    (Some(&d), _) => Some(d),
                    // Still collecting votes: no answer yet.
                    (None, Some(_)) => None,
                    // Presumed abort: no record means abort. Remember it, so a
                    // late retry of this transaction cannot commit it.
                    (None, None) => {
                        self.decide(tx, Decision::Abort);
                        Some(Decision::Abort)
                    }
                };
                if decision.is_some() {
                    ctx.send(from, Msg::Tell { tx, decision });
                }
            }
            Msg::StepDone { tx, step, ok } => self.on_step_done(ctx, tx, step, ok),
            _ => {}
        }
    }

    fn begin(&mut self, ctx: &mut Ctx<Msg>, client: NodeId, op: u64, a: u32, b: u32, amount: i64) {
        let tx = op;
        // A retry: answer at once if decided, else when decided.
        if let Some(&d) = self.decided.get(&tx) {
            let committed = d == Decision::Commit;
            if !committed {
                // A presumed abort (a participant asked first) is logged
                // only now that a client is to be told of it.
                self.log_abort(ctx, tx);
            }
            ctx.send(client, Msg::TransferDone { op, committed });
            return;
        }
        if let Some(t) = self.active.get_mut(&tx) {
            t.client = Some(client);
            return;
        }
        let bank = self.config.bank;
        let parts = vec![
            (
                bank.owner(a),
                Change {
                    account: a,
                    delta: -amount,
                },
            ),
            (
                bank.owner(b),
                Change {
                    account: b,
                    delta: amount,
                },
            ),
        ];
        if self.config.params.mode == Mode::Saga {
            let record = SagaRecord {
                parts: [parts[0], parts[1]],
                step: 0,
                committed: false,
            };
            ctx.disk().put(("saga", tx), record);
            ctx.disk().sync();
            self.active.insert(
                tx,
                CTx {
                    client: Some(client),
                    parts,
                    phase: Phase::Saga(0),
                    heard: BTreeSet::new(),
                },
            );
            self.resend(ctx, tx);
            return;
        }
        let peers: Vec<NodeId> = parts.iter().map(|p| p.0).collect();
        for &(p, change) in &parts {
            ctx.send(
                p,
                Msg::Prepare {
                    tx,
                    change,
                    peers: peers.clone(),
                },
            );
        }
        ctx.set_timer(tx_timer(tx), self.config.params.vote_timeout);
        self.active.insert(
            tx,
            CTx {
                client: Some(client),
                parts,
                phase: Phase::Voting,
                heard: BTreeSet::new(),
            },
        );
    }

    /// Counts `from`'s acknowledgement of `tx` in `phase` (one from another
    /// phase is late and ignored); true once every participant has answered.
    fn heard_from_all(&mut self, tx: Tx, phase: Phase, from: NodeId) -> bool {
        match self.active.get_mut(&tx) {
            Some(t) if t.phase == phase => {
                t.heard.insert(from);
                t.heard.len() == t.parts.len()
            }
            _ => false,
        }
    }

    fn on_vote(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, tx: Tx, yes: bool) {
        let Some(t) = self.active.get_mut(&tx) else {
            return;
        };
        if t.phase != Phase::Voting {
            return;
        }
        if !yes {
            self.abort(ctx, tx);
            return;
        }
        t.heard.insert(from);
        if t.heard.len() < t.parts.len() {
            return;
        }
        if self.config.params.mode == Mode::ThreePc {
            t.phase = Phase::PreCommitting;
            t.heard.clear();
            for &(p, _) in &t.parts {
                ctx.send(p, Msg::PreCommit { tx });
            }
            ctx.set_timer(tx_timer(tx), self.config.params.vote_timeout);
        } else {
            self.commit(ctx, tx);
        }
    }

    fn decide(&mut self, tx: Tx, d: Decision) {
        self.decided.insert(tx, d);
        self.journal.push((tx, d));
        self.recent.push((tx, d));
        if self.recent.len() > 4 {
            self.recent.remove(0);
        }
        match d {
            Decision::Commit => self.commits += 1,
            Decision::Abort => self.aborts += 1,
        }
    }

    /// Logs the commit (synced) and only then sends it. With
    /// `decide_before_logging` the record waits for the next background flush.
    fn commit(&mut self, ctx: &mut Ctx<Msg>, tx: Tx) {
        let Some(t) = self.active.get_mut(&tx) else {
            return;
        };
        ctx.disk().put(
            ("commit", tx),
            CommitRecord {
                parts: t.parts.clone(),
            },
        );
        if !self.config.params.decide_before_logging {
            ctx.disk().sync();
        }
        t.phase = Phase::Committing;
        t.heard.clear();
        for &(p, _) in &t.parts {
            ctx.send(
                p,
                Msg::Decide {
                    tx,
                    decision: Decision::Commit,
                },
            );
        }
        if let Some(c) = t.client.take() {
            ctx.send(
                c,
                Msg::TransferDone {
                    op: tx,
                    committed: true,
                },
            );
        }
        ctx.set_timer(tx_timer(tx), self.config.params.resend_interval);
        ctx.note("commit-decided");
        self.decide(tx, Decision::Commit);
    }

    /// Logs (and syncs) the abort of `tx` before a client is told of it,
    /// unless it is logged already: the client may have sent the transfer
    /// again before the answer reached it, and a retry that arrives after a
    /// crash must not find the transaction unknown and run it, moving money
    /// for a transfer the client was told failed.
    fn log_abort(&mut self, ctx: &mut Ctx<Msg>, tx: Tx) {
        if ctx.disk().get::<()>(("abort", tx)).is_some() {
            return;
        }
        ctx.disk().put(("abort", tx), ());
        if !self.config.params.decide_before_logging {
            ctx.disk().sync();
        }
    }

    /// Aborts a transaction still voting (or, in 3PC, pre-committing): its
    /// client is told, so the abort is logged first ([`Self::log_abort`]).
    /// No participant needs to acknowledge: one that misses the message
    /// will ask, and no record means abort.
    fn abort(&mut self, ctx: &mut Ctx<Msg>, tx: Tx) {
        let Some(t) = self.active.remove(&tx) else {
            return;
        };
        self.log_abort(ctx, tx);
        for &(p, _) in &t.parts {
            ctx.send(
                p,
                Msg::Decide {
                    tx,
                    decision: Decision::Abort,
                },
            );
        }
        if let Some(c) = t.client {
            ctx.send(
                c,
                Msg::TransferDone {
                    op: tx,
                    committed: false,
                },
            );
        }
        ctx.cancel_timer(tx_timer(tx));
        self.decide(tx, Decision::Abort);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == FLUSH {
            ctx.disk().sync();
            ctx.set_timer(FLUSH, FLUSH_EVERY);
            return;
        }
        let Some(tx) = timer_tx(timer) else {
            return;
        };
        let Some(t) = self.active.get(&tx) else {
            return;
        };
        match t.phase {
            // Not every vote came in: abort, which is allowed before deciding.
            Phase::Voting => self.abort(ctx, tx),
            // 3PC: a participant that did not acknowledge the pre-commit may
            // have timed out into abort on its own: abort too.
            Phase::PreCommitting => self.abort(ctx, tx),
            Phase::Committing | Phase::Saga(_) => self.resend(ctx, tx),
        }
    }

    /// Sends the current message again to whoever has not answered.
    fn resend(&mut self, ctx: &mut Ctx<Msg>, tx: Tx) {
        let Some(t) = self.active.get(&tx) else {
            return;
        };
        match t.phase {
            Phase::Committing => {
                for &(p, _) in t.parts.iter().filter(|(p, _)| !t.heard.contains(p)) {
                    ctx.send(
                        p,
                        Msg::Decide {
                            tx,
                            decision: Decision::Commit,
                        },
                    );
                }
            }
            Phase::Saga(step) => {
                let (p, change) = saga_step(&t.parts, step);
                ctx.send(p, Msg::Step { tx, step, change });
            }
            Phase::Voting | Phase::PreCommitting => {}
        }
        ctx.set_timer(tx_timer(tx), self.config.params.resend_interval);
    }

    fn on_step_done(&mut self, ctx: &mut Ctx<Msg>, tx: Tx, step: u8, ok: bool) {
        let Some(t) = self.active.get_mut(&tx) else {
            return;
        };
        if t.phase != Phase::Saga(step) {
            return; // a late answer to a step already handled
        }
        let (next, committed) = match (step, ok) {
            (0, false) => (3, false), // nothing was applied
            (0, true) => (1, false),
            (1, true) => (3, true),
            (1, false) => (2, false), // compensate the debit
            _ => (3, false),          // the compensation is done
        };
        if next == 2 {
            self.compensations += 1;
        }
        let record = SagaRecord {
            parts: [t.parts[0], t.parts[1]],
            step: next,
            committed,
        };
        ctx.disk().put(("saga", tx), record);
        ctx.disk().sync();
        if next < 3 {
            t.phase = Phase::Saga(next);
            self.resend(ctx, tx);
            return;
        }
        let t = self.active.remove(&tx).expect("present above");
        ctx.cancel_timer(tx_timer(tx));
        if let Some(c) = t.client {
            ctx.send(c, Msg::TransferDone { op: tx, committed });
        }
        for &(p, _) in &t.parts {
            ctx.send(p, Msg::SagaEnd { tx });
        }
        let d = if committed {
            Decision::Commit
        } else {
            Decision::Abort
        };
        self.decide(tx, d);
    }

    pub fn status(&self) -> Status {
        let active: Vec<String> = self
            .active
            .iter()
            .take(6)
            .map(|(tx, t)| {
                let phase = match t.phase {
                    Phase::Voting => "voting".to_string(),
                    Phase::PreCommitting => "pre-committing".to_string(),
                    Phase::Committing => "committing".to_string(),
                    Phase::Saga(s) => format!("saga step {s}"),
                };
                format!("t{tx} {phase}")
            })
            .collect();
        let log: Vec<String> = self
            .recent
            .iter()
            .map(|(tx, d)| format!("t{tx}:{}", if *d == Decision::Commit { "C" } else { "A" }))
            .collect();
        Status {
            role: "coordinator",
            fields: vec![
                ("mode", self.config.params.mode.name().to_string()),
                (
                    "active",
                    format!("{} {}", self.active.len(), active.join(", ")),
                ),
                ("commits", self.commits.to_string()),
                ("aborts", self.aborts.to_string()),
                ("decision log", log.join(" ")),
            ],
        }
    }
}

/// Who applies saga step `step`, and what: the debit, the credit, or the
/// debit's compensation.
fn saga_step(parts: &[(NodeId, Change)], step: u8) -> (NodeId, Change) {
    match step {
        0 => parts[0],
        1 => parts[1],
        _ => {
            let (p, c) = parts[0];
            (
                p,
                Change {
                    account: c.account,
                    delta: -c.delta,
                },
            )
        }
    }
}
