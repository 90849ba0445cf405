//! Distributed transactions over a bank: two-phase commit, its cooperative
//! termination protocol, three-phase commit, and an orchestrated saga.
//!
//! The bank is spread over participants `n2..nN`; account `a` lives on
//! participant `a % participants`. Server `n1` is the coordinator. Clients
//! submit transfers between accounts on two different participants (to the
//! coordinator) and balance reads (straight to the participant that owns the
//! account).
//!
//! **Two-phase commit** (Gray 1978; Bernstein, Hadzilacos and Goodman,
//! *Concurrency Control and Recovery in Database Systems*, 1987, ch. 7). The
//! coordinator sends `Prepare` with each participant's half of the transfer.
//! A participant locks the account, checks the balance, writes its vote to its
//! log and syncs it *before* answering yes: from then on it is *in doubt*, it
//! holds the lock, and only the coordinator may decide. The coordinator logs a
//! commit decision (synced) before sending it, so a crash cannot make it
//! forget a commit someone may already have applied. It logs nothing for an
//! abort: under *presumed abort* a coordinator that finds no decision in its
//! log answers "abort". Timeouts are allowed only where the protocol permits
//! them: the coordinator may abort while it still waits for votes, and a
//! participant may refuse (vote no) before it has voted yes; after a yes it
//! must wait. That wait is the famous blocking: if the coordinator crashes
//! after collecting votes, every participant that voted yes holds its locks,
//! and reads of those accounts stall, until the coordinator comes back.
//!
//! **Cooperative termination** (`cooperative_termination = true`): an in-doubt
//! participant also asks the other participants of the transaction. A peer
//! that knows the outcome tells it; a peer that never voted may abort and say
//! so. It helps only when somebody knows: if every participant voted yes and
//! none heard the decision, they are all still blocked.
//!
//! **Three-phase commit** (Skeen, *Nonblocking Commit Protocols*, SIGMOD
//! 1981). After all votes are yes the coordinator sends `PreCommit` and waits
//! for acknowledgements before `Commit`. A participant that times out decides
//! alone: abort if it is only prepared (nobody can have committed yet),
//! commit if it is pre-committed (everybody voted yes). That removes the
//! blocking when nodes crash, but a timeout cannot tell a crash from a
//! partition: a pre-commit that reaches one side of a partition and not the
//! other makes the two sides decide differently, and atomicity breaks.
//!
//! This 3PC is cut down in one way worth knowing: its coordinator logs only
//! commits, as 2PC's does, so a coordinator that restarts while participants
//! are still settling a transaction it never logged answers "abort" (presumed
//! abort), even if a pre-committed participant has meanwhile committed on its
//! own. Skeen's protocol has the recovering coordinator join the termination
//! protocol instead. The bundled scenarios keep the coordinator down far
//! longer than the participants take to settle, so they never meet this case.
//!
//! **Saga** (Garcia-Molina and Salem, *Sagas*, SIGMOD 1987), orchestrated by
//! the coordinator: the debit commits locally at once, then the credit; if the
//! credit fails, a compensation credits the debited account back. Nothing
//! blocks and no lock is held, but others can read the intermediate state (the
//! money has left one account and not yet arrived in the other), and the total
//! of all balances is wrong for as long as a saga is half done.
//!
//! **What clients ask, and how it is judged** (see [`bank`]). Clients draw
//! the bank's own operations: a transfer of 1 to 10 from one account to an
//! account on another participant, or a balance read. A committed transfer
//! completes `ok`; a definite abort (a vote no, insufficient funds, a lock
//! conflict, a compensated saga) completes `fail` and counts as served; a
//! client that hears nothing before its timeout gives up with `info`: it was
//! blocked. The history is checked for linearizability against a model of
//! the whole bank (every balance), which is what correct 2PC guarantees.
//!
//! Invariants: `atomicity` (no transaction committed on one node and aborted
//! on another), `conservation` (whenever nothing is in flight anywhere, the
//! balances add up to what they started with), `durability` (a node never
//! comes back from a crash without a commit it had made).

pub mod bank;
mod checker;
mod client;
mod coordinator;
mod participant;

pub use bank::{BankModel, BankOp, BankWorkload};
pub use checker::Checker;
pub use client::Client;
pub use coordinator::Coordinator;
pub use participant::Participant;

use serde::Deserialize;
use sim::check::{Judge, Linearizable};
use sim::client::ClientConfig;
use sim::metric::Metrics;
use sim::node::{Cluster, Disk, NodeId, TimerId};
use sim::protocol::{Findings, Property, Protocol, Step};
use sim::scenario::Scenario;
use sim::time::{ms, Nanos};
use sim::workload::Workload;

pub const ROLES: &[&str] = &["coordinator", "participant"];

/// The protocol events the bank's nodes report with `ctx.note`, for fault
/// triggers: a participant `prepared` (voted yes, in doubt from now on),
/// `precommitted` (3PC), `committed` or `aborted` a transaction; the
/// coordinator `commit-decided` (it sends the commit in the same step).
pub const NOTES: &[&str] = &[
    "prepared",
    "precommitted",
    "committed",
    "aborted",
    "commit-decided",
];

/// The coordinator is always `n1`.
pub const COORDINATOR: NodeId = NodeId(0);

/// Which commit protocol the bank runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Mode {
    #[serde(rename = "2pc")]
    TwoPc,
    #[serde(rename = "3pc")]
    ThreePc,
    #[serde(rename = "saga")]
    Saga,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::TwoPc => "2pc",
            Mode::ThreePc => "3pc",
            Mode::Saga => "saga",
        }
    }
}

/// `[system]` for `protocol = "twopc"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// `"2pc"`, `"3pc"` or `"saga"`.
    pub mode: Mode,
    /// 2PC only: in-doubt participants also ask each other for the decision.
    pub cooperative_termination: bool,
    /// Accounts on each participant.
    pub accounts_per_participant: u32,
    /// Every account's balance at the start.
    pub initial_balance: i64,
    /// The chance that a participant refuses its part of a transfer: it votes
    /// no (2PC/3PC) or fails the credit step (saga, which then compensates).
    #[serde(deserialize_with = "sim::scenario::serde_share::f64")]
    pub fail_probability: f64,
    /// How long the coordinator waits for votes (and 3PC pre-commit
    /// acknowledgements) before it decides without them.
    #[serde(with = "sim::time::serde_duration")]
    pub vote_timeout: Nanos,
    /// How long a participant that voted yes waits for the decision before it
    /// acts: asks (2PC), decides alone (3PC).
    #[serde(with = "sim::time::serde_duration")]
    pub participant_timeout: Nanos,
    /// How often unanswered messages are sent again: decisions, saga steps,
    /// an in-doubt participant's questions.
    #[serde(with = "sim::time::serde_duration")]
    pub resend_interval: Nanos,
    /// Bug: the coordinator sends its decision before it is durable (its log is
    /// flushed in the background every 100 ms).
    pub decide_before_logging: bool,
    /// Bug: a participant answers yes without logging its vote durably (the
    /// vote reaches its log only together with the outcome).
    pub participant_forgets_vote: bool,
    /// Bug: a participant that voted yes aborts on its own when it times out.
    pub unilateral_abort_after_yes: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            mode: Mode::TwoPc,
            cooperative_termination: false,
            accounts_per_participant: 4,
            initial_balance: 100,
            fail_probability: 0.0,
            vote_timeout: ms(100),
            participant_timeout: ms(200),
            resend_interval: ms(50),
            decide_before_logging: false,
            participant_forgets_vote: false,
            unilateral_abort_after_yes: false,
        }
    }
}

/// The accounts and where they live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bank {
    pub participants: u32,
    pub accounts: u32,
}

impl Bank {
    /// The participant that owns account `a`.
    pub fn owner(&self, a: u32) -> NodeId {
        NodeId(1 + a % self.participants)
    }

    /// The accounts participant `p` owns.
    pub fn accounts_of(&self, p: NodeId) -> impl Iterator<Item = u32> + '_ {
        let i = p.0 - 1;
        (0..self.accounts).filter(move |a| a % self.participants == i)
    }
}

/// A transaction is named by the client operation that asked for it.
pub type Tx = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    Commit,
    Abort,
}

/// One participant's half of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub account: u32,
    pub delta: i64,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Client to coordinator.
        Transfer {
            op: u64,
            from: u32,
            to: u32,
            amount: i64,
        },
        TransferDone {
            op: u64,
            committed: bool,
        },
        /// Client to the participant owning `account`.
        Read {
            op: u64,
            account: u32,
        },
        ReadDone {
            op: u64,
            balance: i64,
        },
        Prepare {
            tx: Tx,
            change: Change,
            /// The other participants, for cooperative termination.
            peers: Vec<NodeId>,
        },
        Vote {
            tx: Tx,
            yes: bool,
        },
        PreCommit {
            tx: Tx,
        },
        PreCommitAck {
            tx: Tx,
        },
        Decide {
            tx: Tx,
            decision: Decision,
        },
        Ack {
            tx: Tx,
        },
        /// An in-doubt participant asks the coordinator (or a peer).
        AskDecision {
            tx: Tx,
        },
        /// The answer; `None`: "I do not know either".
        Tell {
            tx: Tx,
            decision: Option<Decision>,
        },
        /// Saga: apply `change` at once (step 0 debit, 1 credit, 2 compensation).
        Step {
            tx: Tx,
            step: u8,
            change: Change,
        },
        StepDone {
            tx: Tx,
            step: u8,
            ok: bool,
        },
        /// Saga: the transfer is over (committed or compensated). Only for the
        /// measure of reads that saw a half-done saga; never resent.
        SagaEnd {
            tx: Tx,
        },
    }
}

/// Per-transaction timers: the transaction id shifted, plus which node's timer.
pub(crate) fn tx_timer(tx: Tx) -> TimerId {
    TimerId(tx << 1)
}
pub(crate) fn timer_tx(t: TimerId) -> Option<Tx> {
    (t.0 & 1 == 0 && t.0 < u64::MAX / 4).then_some(t.0 >> 1)
}

/// Everything a node needs to know about the run's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub params: Params,
    pub bank: Bank,
    pub client: ClientConfig,
}

#[derive(Clone, Debug)]
pub struct Twopc {
    pub config: Config,
    pub checker: Checker,
}

sim::node_enum! {
    /// A node of the bank.
    pub enum TwopcNode: Msg, op = BankOp {
        Coordinator(Coordinator) { role: |_| "coordinator", start, get coordinator },
        Participant(Participant) { role: |_| "participant", start, get participant },
        Client(Client) { role: |_| "client", requests, no_sender },
    }
}

impl Protocol for Twopc {
    type Node = TwopcNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> TwopcNode {
        if cluster.is_client(id) {
            TwopcNode::Client(Client::new(&self.config))
        } else if id == COORDINATOR {
            TwopcNode::Coordinator(Coordinator::recover(&self.config, disk))
        } else {
            TwopcNode::Participant(Participant::recover(&self.config, id, disk))
        }
    }

    const PROPERTIES: &'static [Property] = &[
        Property::always(
            "atomicity",
            "no transaction is committed on one node and aborted on another",
        ),
        Property::always(
            "conservation",
            "whenever nothing is in flight, the balances sum to what they started at",
        ),
        Property::always(
            "durability",
            "no node comes back from a crash without a commit it had made",
        ),
    ];

    fn check(&mut self, step: Step<'_, TwopcNode>, out: &mut Findings) {
        let (now, stepped, nodes) = (step.now, step.stepped, step.nodes);
        self.checker
            .check(now, stepped, nodes, out.violations_mut());
    }

    fn workload(&self, scenario: &Scenario) -> Box<dyn Workload<Op = BankOp>> {
        Box::new(BankWorkload::new(self.config.bank, scenario))
    }

    fn model(&self) -> Box<dyn Judge<BankOp>> {
        Box::new(Linearizable(BankModel {
            accounts: self.config.bank.accounts,
            initial_balance: self.config.params.initial_balance,
        }))
    }

    fn metrics(&self, nodes: &[Option<TwopcNode>], out: &mut Metrics) {
        self.checker.metrics(&self.config, nodes, out)
    }
}

#[cfg(test)]
mod tests;
