//! What the clients of each Maelstrom workload ask, as chaoslab operations,
//! and the workload that draws them.
//!
//! The history key of an operation is the name of the node the client sends
//! it to (`n2`): Maelstrom's clients may send to any node, and the
//! checkers want to know which node answered a read.

use std::collections::BTreeMap;

use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sim::history::{Op, OpFn, Value};
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
    Kafka,
    TxnListAppend,
    TxnRwRegister,
    LinKv,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 10] = [
        WorkloadKind::Echo,
        WorkloadKind::UniqueIds,
        WorkloadKind::Broadcast,
        WorkloadKind::GCounter,
        WorkloadKind::PnCounter,
        WorkloadKind::GSet,
        WorkloadKind::Kafka,
        WorkloadKind::TxnListAppend,
        WorkloadKind::TxnRwRegister,
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
            WorkloadKind::Kafka => "kafka",
            WorkloadKind::TxnListAppend => "txn-list-append",
            WorkloadKind::TxnRwRegister => "txn-rw-register",
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
                | WorkloadKind::Kafka
        )
    }

    /// The transactional workloads, judged by Elle's anomalies.
    pub fn is_txn(self) -> bool {
        matches!(
            self,
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister
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
    /// kafka's `send`: append `msg` to the log `key`.
    Send { key: String, msg: i64 },
    /// kafka's `poll`: the offset each key is read from. The workload
    /// hands out an empty map; the client fills in its own positions.
    Poll(BTreeMap<String, u64>),
    /// kafka's `commit_offsets`: each key processed up to this offset,
    /// inclusive (a client commits after each poll).
    CommitOffsets(BTreeMap<String, u64>),
    /// kafka's `list_committed_offsets`: the client (re)assigns itself
    /// these keys and starts each from its committed offset.
    ListCommittedOffsets(Vec<String>),
    /// kafka: the client assigns itself these keys from offset 0 (before
    /// its final polls). No message: Jepsen's seek-to-beginning assign.
    SeekToStart(Vec<String>),
    /// txn-list-append and txn-rw-register's `txn`: the micro-ops, reads
    /// with a null value.
    Txn(Vec<TxnMop>),
    /// lin-kv's `read` of a key.
    KvRead { key: i64 },
    /// lin-kv's `write`.
    KvWrite { key: i64, value: i64 },
    /// lin-kv's `cas`: set `key` to `to` if it holds `from`.
    KvCas { key: i64, from: i64, to: i64 },
}

/// One micro-op of a `txn`, as Maelstrom writes it: `["r", 3, null]`,
/// `["append", 3, 7]`, `["w", 3, 7]`. Keys are integers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMop {
    pub f: MopF,
    pub key: i64,
    pub value: MopValue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MopF {
    Read,
    Append,
    Write,
}

impl MopF {
    pub fn name(self) -> &'static str {
        match self {
            MopF::Read => "r",
            MopF::Append => "append",
            MopF::Write => "w",
        }
    }

    pub fn from_name(f: &str) -> Option<MopF> {
        match f {
            "r" => Some(MopF::Read),
            "append" => Some(MopF::Append),
            "w" => Some(MopF::Write),
            _ => None,
        }
    }
}

/// A micro-op's value: null (a read not yet made, or a register never
/// written), an integer (a write, an append, a register read) or a list
/// (a list-append read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MopValue {
    Null,
    Int(i64),
    List(Vec<i64>),
}

impl TxnMop {
    pub fn to_json(&self) -> Json {
        let v = match &self.value {
            MopValue::Null => Json::Null,
            MopValue::Int(i) => Json::from(*i),
            MopValue::List(xs) => Json::from(xs.clone()),
        };
        Json::Array(vec![Json::from(self.f.name()), Json::from(self.key), v])
    }

    /// Reads `["r", 3, [1, 2]]`; the error says what is wrong.
    pub fn from_json(v: &Json) -> Result<TxnMop, String> {
        let a = v
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| format!("micro-op {v} is not an array [f, key, value]"))?;
        let f = a[0]
            .as_str()
            .and_then(MopF::from_name)
            .ok_or_else(|| format!("micro-op {v}: f must be \"r\", \"append\" or \"w\""))?;
        let key = a[1]
            .as_i64()
            .ok_or_else(|| format!("micro-op {v}: the key must be an integer"))?;
        let value = match &a[2] {
            Json::Null => MopValue::Null,
            x if x.is_i64() => MopValue::Int(x.as_i64().unwrap_or_default()),
            Json::Array(xs) => MopValue::List(
                xs.iter()
                    .map(Json::as_i64)
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| format!("micro-op {v}: a list value must hold integers"))?,
            ),
            _ => {
                return Err(format!(
                    "micro-op {v}: the value must be null, an integer or a list of integers"
                ))
            }
        };
        Ok(TxnMop { f, key, value })
    }

    fn describe(&self) -> String {
        let v = match &self.value {
            MopValue::Null => "nil".to_string(),
            MopValue::Int(i) => i.to_string(),
            MopValue::List(xs) => format!("{xs:?}"),
        };
        format!("[{} {} {v}]", self.f.name(), self.key)
    }
}

impl MaelOp {
    /// A lin-kv operation as a key-value history's: its key and function
    /// (`None` for the other workloads' operations).
    pub fn kv_fn(&self) -> Option<(i64, OpFn)> {
        Some(match *self {
            MaelOp::KvRead { key } => (key, OpFn::Read),
            MaelOp::KvWrite { key, value } => (key, OpFn::Write(Value::Int(value))),
            MaelOp::KvCas { key, from, to } => (
                key,
                OpFn::Cas {
                    expected: Value::Int(from),
                    new: Value::Int(to),
                },
            ),
            _ => return None,
        })
    }

    /// The request body a client sends for it (without `msg_id`).
    pub fn body(&self) -> Body {
        match self {
            MaelOp::Echo(s) => Body::new("echo").with("echo", s.as_str()),
            MaelOp::Generate => Body::new("generate"),
            MaelOp::Broadcast(m) => Body::new("broadcast").with("message", *m),
            MaelOp::Read => Body::new("read"),
            MaelOp::Add(d) => Body::new("add").with("delta", *d),
            MaelOp::AddElement(e) => Body::new("add").with("element", *e),
            MaelOp::Send { key, msg } => Body::new("send")
                .with("key", key.as_str())
                .with("msg", *msg),
            MaelOp::Poll(offsets) => Body::new("poll").with("offsets", offsets_json(offsets)),
            MaelOp::CommitOffsets(offsets) => {
                Body::new("commit_offsets").with("offsets", offsets_json(offsets))
            }
            MaelOp::ListCommittedOffsets(keys) | MaelOp::SeekToStart(keys) => {
                Body::new("list_committed_offsets").with("keys", keys.clone())
            }
            MaelOp::Txn(mops) => Body::new("txn").with(
                "txn",
                Json::Array(mops.iter().map(TxnMop::to_json).collect()),
            ),
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
            MaelOp::Send { .. } => "send_ok",
            MaelOp::Poll(_) => "poll_ok",
            MaelOp::CommitOffsets(_) => "commit_offsets_ok",
            MaelOp::ListCommittedOffsets(_) | MaelOp::SeekToStart(_) => "list_committed_offsets_ok",
            MaelOp::Txn(_) => "txn_ok",
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
            MaelOp::Send { key, msg } => format!("send {msg} to {key:?}"),
            MaelOp::Poll(o) => format!("poll {o:?}"),
            MaelOp::CommitOffsets(o) => format!("commit_offsets {o:?}"),
            MaelOp::ListCommittedOffsets(k) => format!("list_committed_offsets {k:?}"),
            MaelOp::SeekToStart(k) => format!("seek to offset 0 on {k:?}"),
            MaelOp::Txn(mops) => {
                let m: Vec<String> = mops.iter().map(TxnMop::describe).collect();
                format!("txn [{}]", m.join(" "))
            }
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
        match self {
            MaelOp::Read | MaelOp::Poll(_) | MaelOp::KvRead { .. } => true,
            MaelOp::Txn(mops) => mops.iter().all(|m| m.f == MopF::Read),
            _ => false,
        }
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

    /// A kafka operation: a poll (`read_share` of them), else now and then
    /// (one in ten) a reassignment to a random non-empty set of keys, else
    /// a send of a fresh message to a random key.
    fn kafka_op(&mut self, poll: bool, rng: &mut dyn RngCore) -> MaelOp {
        if poll {
            return MaelOp::Poll(BTreeMap::new());
        }
        if rng.gen::<f64>() < 0.1 {
            let mut keys: Vec<String> = kafka_keys()
                .into_iter()
                .filter(|_| rng.gen::<bool>())
                .collect();
            if keys.is_empty() {
                keys.push(kafka_keys()[rng.gen_range(0..KAFKA_KEYS)].clone());
            }
            return MaelOp::ListCommittedOffsets(keys);
        }
        let key = rng.gen_range(0..KAFKA_KEYS).to_string();
        MaelOp::Send {
            key,
            msg: self.fresh(),
        }
    }

    /// A transaction of 1 to 4 micro-ops (5 when the last is a read and a
    /// write) on keys 0 to [`TXN_KEYS`] - 1:
    /// reads and writes (appends) half and half, and half the writes
    /// read their key first (read-modify-write: what lets Elle order a
    /// register's versions, and what a lost update is made of). Every
    /// appended or written value is fresh (unique in the run, so unique
    /// per key, as Elle needs).
    fn txn(&mut self, rng: &mut dyn RngCore) -> MaelOp {
        let len = rng.gen_range(1..=4);
        let write = if self.kind == WorkloadKind::TxnListAppend {
            MopF::Append
        } else {
            MopF::Write
        };
        let read = |key| TxnMop {
            f: MopF::Read,
            key,
            value: MopValue::Null,
        };
        let mut mops = Vec::with_capacity(len + 1);
        while mops.len() < len {
            let key = rng.gen_range(0..TXN_KEYS);
            if rng.gen::<bool>() {
                mops.push(read(key));
                continue;
            }
            if rng.gen::<bool>() {
                mops.push(read(key));
            }
            mops.push(TxnMop {
                f: write,
                key,
                value: MopValue::Int(self.fresh()),
            });
        }
        MaelOp::Txn(mops)
    }
}

/// How many logs the kafka workload sends to: keys `"0"` to `"3"`.
pub const KAFKA_KEYS: usize = 4;

/// How many keys the txn workloads touch: 0 to 4. Few keys, so that
/// transactions meet on them.
pub const TXN_KEYS: i64 = 5;

/// The kafka workload's keys, in order.
pub fn kafka_keys() -> Vec<String> {
    (0..KAFKA_KEYS).map(|k| k.to_string()).collect()
}

/// A map of keys to offsets, as kafka's bodies carry it.
pub fn offsets_json(offsets: &BTreeMap<String, u64>) -> Json {
    Json::Object(
        offsets
            .iter()
            .map(|(k, o)| (k.clone(), Json::from(*o)))
            .collect(),
    )
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
            WorkloadKind::Kafka => self.kafka_op(read, rng),
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => self.txn(rng),
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
