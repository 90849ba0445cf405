//! The checkers of Maelstrom's workloads, over the clients' [`Call`]s.
//!
//! Each reads a history and says what Maelstrom's checker for that
//! workload says: echo (every reply echoes the request), unique-ids (no id
//! twice), broadcast and g-set (Jepsen's set-full checker, which Maelstrom
//! uses for both: lost, stale and never-read elements, stable latency),
//! g-counter and pn-counter (each node's final read within the sums the
//! acknowledged and the indefinite adds allow). They know nothing of the
//! nodes that answered, so they grade any implementation the same way.
//!
//! Their figures go into the run report (see [`Checked::metrics`]), where
//! a scenario's `[expect.measure."lost"]` and the like hold them to a
//! number.

mod counter;
mod echo;
mod kafka;
pub mod linkv;
mod sets;
mod txn;
mod unique;

pub use counter::{check_counter, CounterReport};
pub use echo::{check_echo, EchoReport};
pub use kafka::{check_kafka, log_history, KafkaReport, KAFKA_ALLOWED, KAFKA_FAILURES};
pub use linkv::{check_linkv, LinKvReport, LinKvVerdict};
pub use sets::{check_set, SetReport};
pub use txn::{check_txn_calls, txn_history, TxnCheck, TxnConsistency};
pub use unique::{check_unique, UniqueReport};

use sim::history::Outcome;
use sim::metric::Metrics;

use super::client::{Call, Reply};
use super::ops::WorkloadKind;

/// A workload checker's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Checked {
    Echo(EchoReport),
    Unique(UniqueReport),
    Set(SetReport),
    Counter(CounterReport),
    Kafka(KafkaReport),
    Txn(TxnCheck),
    LinKv(LinKvReport),
}

impl Checked {
    /// Runs the checker of workload `kind` on `calls`; `nodes` are the
    /// servers' names (the final reads must cover every one).
    pub fn run(kind: WorkloadKind, calls: &[Call], nodes: &[String]) -> Checked {
        Checked::run_in(kind, calls, nodes, TxnConsistency::StrictSerializable)
    }

    /// As [`Checked::run`]; the txn workloads are judged at `consistency`.
    pub fn run_in(
        kind: WorkloadKind,
        calls: &[Call],
        nodes: &[String],
        consistency: TxnConsistency,
    ) -> Checked {
        match kind {
            WorkloadKind::Echo => Checked::Echo(check_echo(calls)),
            WorkloadKind::UniqueIds => Checked::Unique(check_unique(calls)),
            WorkloadKind::Broadcast | WorkloadKind::GSet => Checked::Set(check_set(calls, nodes)),
            WorkloadKind::GCounter | WorkloadKind::PnCounter => {
                Checked::Counter(check_counter(calls, nodes))
            }
            WorkloadKind::Kafka => Checked::Kafka(check_kafka(calls, nodes)),
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => {
                Checked::Txn(check_txn_calls(kind, consistency, calls))
            }
            WorkloadKind::LinKv => {
                Checked::LinKv(check_linkv(calls, sim::check::Budget::default()))
            }
        }
    }

    /// Why the checker could not decide, if it could not (lin-kv's search
    /// out of budget): never a failure.
    pub fn undecided(&self) -> Option<&str> {
        match self {
            Checked::LinKv(LinKvReport {
                verdict: LinKvVerdict::Undecided(why),
                ..
            }) => Some(why),
            _ => None,
        }
    }

    /// Whether the history passes Maelstrom's criteria for the workload.
    pub fn valid(&self) -> bool {
        self.failures().is_empty()
    }

    /// The criteria the history fails, by the figure that shows each.
    pub fn failures(&self) -> Vec<&'static str> {
        let mut failed = Vec::new();
        let mut fail = |bad: bool, name: &'static str| {
            if bad {
                failed.push(name);
            }
        };
        match self {
            Checked::Echo(r) => {
                fail(!r.mismatched.is_empty(), "echo mismatches");
                fail(!r.malformed.is_empty(), "malformed replies");
            }
            Checked::Unique(r) => {
                fail(!r.duplicated.is_empty(), "duplicate ids");
                fail(!r.malformed.is_empty(), "malformed replies");
            }
            Checked::Set(r) => {
                fail(!r.lost.is_empty(), "lost");
                fail(!r.unexpected.is_empty(), "unexpected");
                fail(!r.no_final_read.is_empty(), "nodes without final read");
                fail(!r.malformed.is_empty(), "malformed replies");
            }
            Checked::Counter(r) => {
                fail(!r.out_of_bounds.is_empty(), "final reads out of bounds");
                fail(!r.no_final_read.is_empty(), "nodes without final read");
                fail(!r.malformed.is_empty(), "malformed replies");
            }
            Checked::Kafka(r) => {
                for kind in r.failed() {
                    fail(true, kind.name());
                }
                // A node no final poll reached is reported, not failed:
                // Maelstrom's kafka checker has no such criterion, and an
                // unread message is caught as `unseen` whichever node
                // holds it.
                fail(!r.malformed.is_empty(), "malformed replies");
            }
            Checked::Txn(r) => {
                for kind in r.forbidden() {
                    fail(true, kind.name());
                }
                fail(!r.malformed.is_empty(), "malformed replies");
            }
            Checked::LinKv(r) => {
                fail(
                    matches!(r.verdict, LinKvVerdict::NotLinearizable { .. }),
                    "not linearizable",
                );
                fail(!r.malformed.is_empty(), "malformed replies");
                for what in r.never_ok() {
                    fail(true, what);
                }
            }
        }
        failed
    }

    /// The checker's figures, for the report.
    pub fn metrics(&self, out: &mut Metrics) {
        match self {
            Checked::Echo(r) => r.metrics(out),
            Checked::Unique(r) => r.metrics(out),
            Checked::Set(r) => r.metrics(out),
            Checked::Counter(r) => r.metrics(out),
            Checked::Kafka(r) => r.metrics(out),
            Checked::Txn(r) => r.metrics(out),
            Checked::LinKv(r) => r.metrics(out),
        }
    }
}

/// Replies that did not fit their request (a missing field, the wrong
/// type): a node bug Maelstrom refuses at once.
pub fn malformed(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|c| match &c.reply {
            Reply::Malformed(why) => Some(format!("{} from {}: {why}", c.op_name(), c.node)),
            _ => None,
        })
        .collect()
}

impl Call {
    fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    fn op_name(&self) -> String {
        sim::workload::Operation::describe(&self.op, &self.node)
    }
}

/// The `q`-quantile of sorted `xs` (nearest rank), if any.
fn quantile(xs: &[u64], q: f64) -> Option<u64> {
    if xs.is_empty() {
        return None;
    }
    let i = ((xs.len() - 1) as f64 * q).round() as usize;
    Some(xs[i.min(xs.len() - 1)])
}

/// A few of `items`, for a figure's note: `3, 9, 12 ...`.
fn some<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut shown: Vec<String> = items.into_iter().take(6).map(|x| x.to_string()).collect();
    if shown.len() == 6 {
        shown[5] = "...".to_string();
    }
    shown.join(", ")
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Hand-made histories for the checkers' tests.
    use super::*;
    use crate::maelstrom::ops::MaelOp;
    use sim::time::ms;

    /// An ok call from client `p` to `node`, over [`at`, `at` + 1ms].
    pub fn ok(p: u64, node: &str, op: MaelOp, reply: Reply, at: u64) -> Call {
        Call {
            process: p,
            node: node.to_string(),
            op,
            outcome: Outcome::Ok,
            reply,
            call_ns: ms(at),
            return_ns: Some(ms(at + 1)),
            final_read: false,
        }
    }

    /// The same call, ending otherwise.
    pub fn ended(mut c: Call, outcome: Outcome, reply: Reply) -> Call {
        c.outcome = outcome;
        c.reply = reply;
        if outcome == Outcome::Info {
            c.return_ns = None;
        }
        c
    }

    /// A final read of `node` that returned `reply`.
    pub fn final_read(p: u64, node: &str, reply: Reply, at: u64) -> Call {
        let mut c = ok(p, node, MaelOp::Read, reply, at);
        c.final_read = true;
        c
    }

    pub fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }
}
