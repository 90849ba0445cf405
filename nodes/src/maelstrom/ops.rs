//! What the clients of each Maelstrom workload ask, as chaoslab operations,
//! and the workload that draws them.
//!
//! The history key of an operation is the name of the node the client sends
//! it to (`n2`): Maelstrom's clients may send to any node, and the
//! checkers want to know which node answered a read.

use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sim::history::{Op, Value};
use sim::workload::{Operation, Workload};

use super::wire::Body;

/// Maelstrom's workloads that chaoslab runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WorkloadKind {
    Echo,
    UniqueIds,
    Broadcast,
    GCounter,
    PnCounter,
    GSet,
    LinKv,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 7] = [
        WorkloadKind::Echo,
        WorkloadKind::UniqueIds,
        WorkloadKind::Broadcast,
        WorkloadKind::GCounter,
        WorkloadKind::PnCounter,
        WorkloadKind::GSet,
        WorkloadKind::LinKv,
    ];

    /// Maelstrom's name (`maelstrom test -w NAME`).
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Echo => "echo",
            WorkloadKind::UniqueIds => "unique-ids",
            WorkloadKind::Broadcast => "broadcast",
            WorkloadKind::GCounter => "g-counter",
            WorkloadKind::PnCounter => "pn-counter",
            WorkloadKind::GSet => "g-set",
            WorkloadKind::LinKv => "lin-kv",
        }
    }

    pub fn from_name(name: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Whether the checker judges final reads, which the clients make on
    /// every node once the workload has stopped.
    pub fn has_final_reads(self) -> bool {
        matches!(
            self,
            WorkloadKind::Broadcast
                | WorkloadKind::GCounter
                | WorkloadKind::PnCounter
                | WorkloadKind::GSet
        )
    }
}

/// One client operation of a Maelstrom workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaelOp {
    /// `echo`: the payload to be echoed.
    Echo(String),
    /// `generate`: a new unique id.
    Generate,
    /// `broadcast`: a message to be delivered to every node.
    Broadcast(i64),
    /// `read`: what the node holds (messages, counter value, set).
    Read,
    /// `add` with a `delta` (g-counter, pn-counter).
    Add(i64),
    /// `add` with an `element` (g-set).
    AddElement(i64),
    /// lin-kv's `read` of a key.
    KvRead { key: i64 },
    /// lin-kv's `write`.
    KvWrite { key: i64, value: i64 },
    /// lin-kv's `cas`: set `key` to `to` if it holds `from`.
    KvCas { key: i64, from: i64, to: i64 },
}

impl MaelOp {
    /// The request body a client sends for it (without `msg_id`).
    pub fn body(&self) -> Body {
        match self {
            MaelOp::Echo(s) => Body::new("echo").with("echo", s.as_str()),
            MaelOp::Generate => Body::new("generate"),
            MaelOp::Broadcast(m) => Body::new("broadcast").with("message", *m),
            MaelOp::Read => Body::new("read"),
            MaelOp::Add(d) => Body::new("add").with("delta", *d),
            MaelOp::AddElement(e) => Body::new("add").with("element", *e),
            MaelOp::KvRead { key } => Body::new("read").with("key", *key),
            MaelOp::KvWrite { key, value } => {
                Body::new("write").with("key", *key).with("value", *value)
            }
            MaelOp::KvCas { key, from, to } => Body::new("cas")
                .with("key", *key)
                .with("from", *from)
                .with("to", *to),
        }
    }

    /// The reply type that acknowledges it.
    pub fn ok_kind(&self) -> &'static str {
        match self {
            MaelOp::Echo(_) => "echo_ok",
            MaelOp::Generate => "generate_ok",
            MaelOp::Broadcast(_) => "broadcast_ok",
            MaelOp::Read => "read_ok",
            MaelOp::Add(_) | MaelOp::AddElement(_) => "add_ok",
            MaelOp::KvRead { .. } => "read_ok",
            MaelOp::KvWrite { .. } => "write_ok",
            MaelOp::KvCas { .. } => "cas_ok",
        }
    }
}

impl Operation for MaelOp {
    fn describe(&self, key: &str) -> String {
        let what = match self {
            MaelOp::Echo(s) => format!("echo {s:?}"),
            MaelOp::Generate => "generate".to_string(),
            MaelOp::Broadcast(m) => format!("broadcast {m}"),
            MaelOp::Read => "read".to_string(),
            MaelOp::Add(d) => format!("add {d}"),
            MaelOp::AddElement(e) => format!("add element {e}"),
            MaelOp::KvRead { key } => format!("read key {key}"),
            MaelOp::KvWrite { key, value } => format!("write key {key} = {value}"),
            MaelOp::KvCas { key, from, to } => format!("cas key {key} {from} -> {to}"),
        };
        format!("{what} at {key}")
    }

    fn describe_done(&self, output: Option<&Value>) -> String {
        let done = self.describe("");
        let done = done.trim_end_matches(" at ");
        match output {
            Some(out) => format!("{done} -> {}", sim::check::model::describe_value(out)),
            None => done.to_string(),
        }
    }

    fn is_read(&self) -> bool {
        matches!(self, MaelOp::Read | MaelOp::KvRead { .. })
    }
}

/// The workload: each client sends its operations to the nodes in turn
/// (client `i`'s `k`-th operation goes to node `(i + k) mod n`, all counted
/// from 0), so every node serves every kind of request. Broadcast
/// messages and set elements are fresh integers 0, 1, 2, ... (unique, as
/// Maelstrom's are); counter deltas are drawn from 1..=5 (g-counter) or
/// -5..=5 (pn-counter). lin-kv's operations are on [`KV_KEYS`] keys (0, 1,
/// 2), each drawn at random: a read (`read_share`), else a write or a cas
/// (even odds), with values and cas operands drawn from 0..=4, as Jepsen's
/// linearizable-register test draws them.
#[derive(Clone, Debug)]
pub struct MaelWorkload {
    pub kind: WorkloadKind,
    /// The names of the nodes, in order.
    pub nodes: Vec<String>,
    /// Share of reads, for the workloads that read.
    pub read_share: f64,
    next_value: i64,
    sent: Vec<usize>,
}

impl MaelWorkload {
    pub fn new(kind: WorkloadKind, nodes: Vec<String>, read_share: f64) -> MaelWorkload {
        MaelWorkload {
            kind,
            nodes,
            read_share,
            next_value: 0,
            sent: Vec::new(),
        }
    }

    fn fresh(&mut self) -> i64 {
        let v = self.next_value;
        self.next_value += 1;
        v
    }
}

impl Workload for MaelWorkload {
    type Op = MaelOp;

    fn next(&mut self, client: usize, rng: &mut dyn RngCore) -> (String, MaelOp) {
        if self.sent.len() <= client {
            self.sent.resize(client + 1, 0);
        }
        let k = self.sent[client];
        self.sent[client] += 1;
        let node = self.nodes[(client + k) % self.nodes.len()].clone();
        let read = rng.gen::<f64>() < self.read_share;
        let op = match self.kind {
            WorkloadKind::Echo => MaelOp::Echo(format!("Please echo {}", rng.gen_range(0..128))),
            WorkloadKind::UniqueIds => MaelOp::Generate,
            WorkloadKind::LinKv => kv_op(read, rng),
            _ if read => MaelOp::Read,
            WorkloadKind::Broadcast => MaelOp::Broadcast(self.fresh()),
            WorkloadKind::GSet => MaelOp::AddElement(self.fresh()),
            WorkloadKind::GCounter => MaelOp::Add(rng.gen_range(1..=5)),
            WorkloadKind::PnCounter => MaelOp::Add(rng.gen_range(-5..=5)),
        };
        (node, op)
    }

    fn completed(&mut self, _client: usize, _op: &Op<MaelOp>) {}

    fn fork(&self) -> Option<Box<dyn Workload<Op = MaelOp>>> {
        Some(Box::new(self.clone()))
    }
}

/// The keys of the lin-kv workload.
pub const KV_KEYS: i64 = 3;

/// A lin-kv operation: see [`MaelWorkload`].
fn kv_op(read: bool, rng: &mut dyn RngCore) -> MaelOp {
    let key = rng.gen_range(0..KV_KEYS);
    if read {
        return MaelOp::KvRead { key };
    }
    if rng.gen_bool(0.5) {
        MaelOp::KvWrite {
            key,
            value: rng.gen_range(0..=4),
        }
    } else {
        MaelOp::KvCas {
            key,
            from: rng.gen_range(0..=4),
            to: rng.gen_range(0..=4),
        }
    }
}
