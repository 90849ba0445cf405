//! Maelstrom's clients: one request open at a time, sent to the node the
//! workload names, answered or timed out; once the workload stops, a final
//! read on every node (the workloads with final reads only).
//!
//! Every request and its answer is kept as a [`Call`]: the checkers read
//! those, not the kernel's history, because a final read is not a request
//! the workload handed out. The kernel's history still gets every workload
//! operation (ok, fail or info), so the run report's latency and
//! availability figures hold for these runs too.

use serde_json::Value as Json;
use sim::history::{Outcome, Value};
use sim::node::{Ctx, NodeId, OpId, Request, Status, TimerId};
use sim::time::Nanos;

use std::collections::BTreeMap;

use super::ops::{kafka_keys, MaelOp, MopF, MopValue, TxnMop, WorkloadKind};
use super::wire::{Envelope, ErrorCode};

/// The client's only timers.
const TIMEOUT: TimerId = TimerId(1);
const FINAL_READS: TimerId = TimerId(2);
/// A final read that failed is made again after a pause (see `finish`).
const FINAL_RETRY: TimerId = TimerId(3);
/// A step at the time the verdict is due (lin-kv: see `verdict_at`).
const VERDICT: TimerId = TimerId(4);

/// What a reply said, as the checkers need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// No reply (a timeout), or one with nothing to read (`broadcast_ok`).
    None,
    /// `echo_ok`'s `echo`.
    Echo(Json),
    /// `generate_ok`'s `id`, as JSON text (ids may be any JSON value).
    Id(String),
    /// A broadcast `read_ok`'s `messages`, or a g-set's `value`.
    Elements(Vec<i64>),
    /// A counter's `read_ok` `value`.
    Count(i64),
    /// An `error` reply.
    Error(ErrorCode, String),
    /// A reply that does not fit the request: what was wrong.
    Malformed(String),
    /// kafka's `send_ok` `offset`.
    Offset(u64),
    /// kafka's `poll_ok` `msgs`: per key, `[offset, msg]` pairs in the
    /// order the node gave them.
    Msgs(BTreeMap<String, Vec<(u64, i64)>>),
    /// kafka's `list_committed_offsets_ok` `offsets`.
    Offsets(BTreeMap<String, u64>),
    /// `txn_ok`'s `txn`: the transaction with its reads filled in.
    Txn(Vec<TxnMop>),
    /// A lin-kv `read_ok`'s `value`.
    Value(i64),
}

/// One request a client made, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The client (`c3` is 3).
    pub process: u64,
    /// The node it was sent to.
    pub node: String,
    pub op: MaelOp,
    pub outcome: Outcome,
    pub reply: Reply,
    pub call_ns: Nanos,
    /// `None`: no answer (timed out).
    pub return_ns: Option<Nanos>,
    /// One of the final reads made after the workload stopped.
    pub final_read: bool,
}

#[derive(Clone, Debug)]
struct Open {
    /// The workload's operation; `None` for a final read.
    req: Option<OpId>,
    op: MaelOp,
    node: String,
    msg_id: u64,
    call_ns: Nanos,
}

/// A Maelstrom client.
#[derive(Clone, Debug)]
pub struct Client {
    kind: WorkloadKind,
    timeout: Nanos,
    /// When the final reads begin (`None`: the workload has none).
    final_reads_at: Option<Nanos>,
    nodes: Vec<String>,
    next_msg_id: u64,
    open: Option<Open>,
    /// Nodes still to read finally, the next last (a stack).
    finals: Vec<String>,
    /// The final reads began (in this life or an earlier one).
    finals_started: bool,
    /// This client's process number (`c3` is 3), for its records.
    process: u64,
    /// Which life of the client these records come from.
    pub life: u64,
    pub records: Vec<Call>,
    /// kafka: the offset each assigned key is polled from next (`None`:
    /// no key assigned yet in this life).
    positions: Option<BTreeMap<String, u64>>,
    /// kafka: the node the final polls are reading now, and how many
    /// polls they made there.
    final_node: Option<(String, u32)>,
    /// When the protocol gives its verdict, for a workload without final
    /// reads that is judged once every request has ended (lin-kv): the
    /// client sets a timer for it, so that the kernel steps then.
    verdict_at: Option<Nanos>,
}

/// kafka: the most polls a client makes of one node in its final polls
/// (a node that keeps answering with messages, never with an empty poll,
/// must not keep the client busy for ever).
const FINAL_POLLS_MAX: u32 = 200;

impl Client {
    pub fn new(
        kind: WorkloadKind,
        timeout: Nanos,
        final_reads_at: Option<Nanos>,
        nodes: Vec<String>,
    ) -> Client {
        Client {
            kind,
            timeout,
            final_reads_at,
            nodes,
            next_msg_id: 0,
            open: None,
            finals: Vec::new(),
            finals_started: false,
            process: 0,
            life: 0,
            records: Vec::new(),
            positions: None,
            final_node: None,
            verdict_at: None,
        }
    }

    /// The same client, stepping at `at` (see the field).
    pub fn with_verdict_at(mut self, at: Option<Nanos>) -> Client {
        self.verdict_at = at;
        self
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Envelope>) {
        self.life = ctx.incarnation();
        self.process = ctx.cluster().process_of(ctx.me());
        // Each life numbers its requests from its own block, so a late
        // reply to a request of an earlier life (which a restarted client
        // forgot) can never match a request of this one.
        self.next_msg_id = ctx.incarnation() << 32;
        if let Some(at) = self.final_reads_at {
            // A client restarted after the final reads began makes its own
            // at once.
            ctx.set_timer(FINAL_READS, at.saturating_sub(ctx.now()));
        }
        if let Some(at) = self.verdict_at {
            ctx.set_timer(VERDICT, at.saturating_sub(ctx.now()));
        }
    }

    /// Whether this client made every final read it had to (always true
    /// of a workload without final reads).
    pub fn finals_done(&self) -> bool {
        self.final_reads_at.is_none()
            || (self.finals_started && self.finals.is_empty() && self.open.is_none())
    }

    /// The request open now, as a call that ended indefinitely: what a
    /// crash of this client leaves of it (the node may still carry it out).
    pub fn open_call(&self) -> Option<Call> {
        let open = self.open.as_ref()?;
        Some(Call {
            process: self.process,
            node: open.node.clone(),
            op: open.op.clone(),
            outcome: Outcome::Info,
            reply: Reply::None,
            call_ns: open.call_ns,
            return_ns: None,
            final_read: open.req.is_none(),
        })
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Envelope>, req: Request<MaelOp>) {
        if let Some(open) = self.open.take() {
            // Only a final read can be open here (the kernel hands out one
            // request at a time): read that node again later.
            debug_assert!(open.req.is_none(), "two workload requests open at once");
            self.finals.push(open.node);
        }
        let op = self.fill_in(req.f);
        self.send(ctx, Some(req.id), req.key, op);
    }

    /// kafka: a poll reads from this client's own positions; a client
    /// with no keys assigned (at the start of each life) assigns itself
    /// every key first, from their committed offsets.
    fn fill_in(&self, op: MaelOp) -> MaelOp {
        match (op, &self.positions) {
            (MaelOp::Poll(_), None) => MaelOp::ListCommittedOffsets(kafka_keys()),
            (MaelOp::Poll(_), Some(at)) => MaelOp::Poll(at.clone()),
            (op, _) => op,
        }
    }

    /// What an answered request changes in the client, and the request
    /// that continues the same operation, if any: a kafka poll is
    /// followed by a commit of the offsets it read, and a final poll
    /// that returned messages by another poll of the same node.
    fn after_ok(
        &mut self,
        op: &MaelOp,
        reply: &Reply,
        final_read: bool,
        node: &str,
    ) -> Option<MaelOp> {
        match (op, reply) {
            (MaelOp::Poll(_), Reply::Msgs(msgs)) => {
                let at = self.positions.get_or_insert_with(BTreeMap::new);
                let mut commit = BTreeMap::new();
                for (key, pairs) in msgs {
                    if let Some(last) = pairs.iter().map(|p| p.0).max() {
                        let next = at.entry(key.clone()).or_insert(0);
                        *next = (*next).max(last + 1);
                        commit.insert(key.clone(), last);
                    }
                }
                if final_read {
                    let polls = self.final_node.as_ref().map_or(0, |f| f.1);
                    if !commit.is_empty() && polls < FINAL_POLLS_MAX {
                        self.finals.push(node.to_string());
                    }
                    None
                } else {
                    (!commit.is_empty()).then_some(MaelOp::CommitOffsets(commit))
                }
            }
            (MaelOp::ListCommittedOffsets(keys), Reply::Offsets(committed)) => {
                // Maelstrom's client starts a fresh key at its committed
                // offset (the last one processed, read again), and keeps
                // the position of a key it already had.
                let old = self.positions.take().unwrap_or_default();
                let at = keys
                    .iter()
                    .map(|k| {
                        let o = old.get(k).or(committed.get(k)).copied().unwrap_or(0);
                        (k.clone(), o)
                    })
                    .collect();
                self.positions = Some(at);
                None
            }
            _ => None,
        }
    }

    fn send(&mut self, ctx: &mut Ctx<Envelope>, req: Option<OpId>, node: String, op: MaelOp) {
        self.next_msg_id += 1;
        let me = ctx.cluster().name(ctx.me()).to_string();
        let body = op.body().with_msg_id(self.next_msg_id);
        match ctx.cluster().by_name(&node) {
            Some(to) => ctx.send(to, Envelope::new(me, node.as_str(), body)),
            // The workload names only servers.
            None => unreachable!("the workload named {node}, which is no node"),
        }
        ctx.set_timer(TIMEOUT, self.timeout);
        self.open = Some(Open {
            req,
            op,
            node,
            msg_id: self.next_msg_id,
            call_ns: ctx.now(),
        });
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Envelope>, _from: NodeId, msg: Envelope) {
        let Some(open) = &self.open else { return };
        if msg.body.in_reply_to != Some(open.msg_id) {
            // A late reply to a request that already timed out.
            return;
        }
        let (outcome, reply) = read_reply(self.kind, &open.op, &msg);
        ctx.cancel_timer(TIMEOUT);
        self.finish(ctx, outcome, reply, Some(ctx.now()));
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Envelope>, timer: TimerId) {
        match timer {
            TIMEOUT if self.open.is_some() => self.finish(ctx, Outcome::Info, Reply::None, None),
            FINAL_READS if self.kind.is_txn() => {
                // No final reads: the moment only marks that every
                // transaction has ended, and the verdict is due.
                self.finals_started = true;
            }
            FINAL_READS => {
                // Read the nodes in an order that differs per client, so
                // the final reads of a node are spread in time.
                let n = self.nodes.len();
                let me = ctx.me().index();
                self.finals = (0..n).map(|i| self.nodes[(me + i) % n].clone()).collect();
                self.finals.reverse();
                self.finals_started = true;
                if self.open.is_none() {
                    self.next_final(ctx);
                }
            }
            FINAL_RETRY => self.next_final(ctx),
            _ => {}
        }
    }

    fn finish(
        &mut self,
        ctx: &mut Ctx<Envelope>,
        outcome: Outcome,
        reply: Reply,
        return_ns: Option<Nanos>,
    ) {
        let Some(open) = self.open.take() else { return };
        let next = if outcome == Outcome::Ok {
            self.after_ok(&open.op, &reply, open.req.is_none(), &open.node)
        } else {
            None
        };
        if let (Some(next), Some(id)) = (next, open.req) {
            // The operation goes on with its next request.
            self.records.push(Call {
                process: self.process,
                node: open.node.clone(),
                op: open.op,
                outcome,
                reply,
                call_ns: open.call_ns,
                return_ns,
                final_read: false,
            });
            self.send(ctx, Some(id), open.node, next);
            return;
        }
        if let Some(id) = open.req {
            let output = output_of(&reply);
            if return_ns.is_none() {
                ctx.give_up(id, Outcome::Info);
            } else {
                ctx.complete(
                    id,
                    outcome,
                    if outcome == Outcome::Ok { output } else { None },
                );
            }
        }
        // A final read that went unanswered (or answered an error) is made
        // again until one is answered: one lost message must not leave a
        // node unread. The node goes to the back of the queue; when it is
        // the only one left, the client pauses a timeout first rather than
        // hammer a node that keeps refusing.
        let retry =
            open.req.is_none() && outcome != Outcome::Ok && !matches!(reply, Reply::Malformed(_));
        if retry {
            self.finals.insert(0, open.node.clone());
        }
        self.records.push(Call {
            process: self.process,
            node: open.node,
            op: open.op,
            outcome,
            reply,
            call_ns: open.call_ns,
            return_ns,
            final_read: open.req.is_none(),
        });
        if retry && self.finals.len() == 1 {
            ctx.set_timer(FINAL_RETRY, self.timeout);
        } else {
            self.next_final(ctx);
        }
    }

    fn next_final(&mut self, ctx: &mut Ctx<Envelope>) {
        if self.open.is_some() {
            return;
        }
        if let Some(node) = self.finals.pop() {
            let op = if self.kind == WorkloadKind::Kafka {
                self.final_poll(ctx, &node)
            } else {
                MaelOp::Read
            };
            self.send(ctx, None, node, op);
        }
    }

    /// kafka: the next final poll of `node`. The first one there starts
    /// every key from offset 0 (recorded as a seek, so the checker does
    /// not take the step back for a nonmonotonic poll); the next ones go
    /// on from where the last ended, until a poll returns nothing.
    fn final_poll(&mut self, ctx: &mut Ctx<Envelope>, node: &str) -> MaelOp {
        match &mut self.final_node {
            Some((n, polls)) if n == node => *polls += 1,
            _ => {
                self.final_node = Some((node.to_string(), 1));
                let keys = kafka_keys();
                self.positions = Some(keys.iter().map(|k| (k.clone(), 0)).collect());
                self.records.push(Call {
                    process: self.process,
                    node: node.to_string(),
                    op: MaelOp::SeekToStart(keys),
                    outcome: Outcome::Ok,
                    reply: Reply::None,
                    call_ns: ctx.now(),
                    return_ns: Some(ctx.now()),
                    final_read: true,
                });
            }
        }
        MaelOp::Poll(self.positions.clone().unwrap_or_default())
    }

    pub fn status(&self) -> Status {
        Status {
            role: "client",
            fields: vec![("requests", self.records.len().to_string())],
        }
    }
}

/// What a reply to `op` means: the outcome and what it returned.
pub fn read_reply(kind: WorkloadKind, op: &MaelOp, msg: &Envelope) -> (Outcome, Reply) {
    let body = &msg.body;
    if let Some(code) = body.error_code() {
        let text = body
            .get("text")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        // Maelstrom's lin-kv client takes only these codes for "did not
        // happen" (its known-failure-codes); any other error, an abort
        // included, leaves a lin-kv operation indefinite.
        let definite = if kind == WorkloadKind::LinKv {
            matches!(code.code(), 1 | 10 | 11 | 20 | 21 | 22)
        } else {
            code.is_definite()
        };
        let outcome = if definite {
            Outcome::Fail
        } else {
            Outcome::Info
        };
        return (outcome, Reply::Error(code, text));
    }
    let malformed = |why: String| (Outcome::Info, Reply::Malformed(why));
    if body.kind != op.ok_kind() {
        return malformed(format!("expected {}, got {:?}", op.ok_kind(), body.kind));
    }
    let field = |name: &str| -> Result<&Json, String> {
        body.get(name)
            .ok_or_else(|| format!("{} without {name:?}", body.kind))
    };
    let reply = match (op, kind) {
        (MaelOp::Echo(_), _) => field("echo").map(|e| Reply::Echo(e.clone())),
        (MaelOp::Generate, _) => field("id").map(|id| Reply::Id(id.to_string())),
        (MaelOp::Read, WorkloadKind::Broadcast) => field("messages").and_then(|_| {
            body.ints("messages")
                .map(Reply::Elements)
                .ok_or_else(|| "read_ok messages must be a list of integers".to_string())
        }),
        (MaelOp::Read, WorkloadKind::GSet) => field("value").and_then(|_| {
            body.ints("value")
                .map(Reply::Elements)
                .ok_or_else(|| "read_ok value must be a list of integers".to_string())
        }),
        // A null (or absent) value reads nil, as Maelstrom's client
        // records it: a key never written.
        (MaelOp::KvRead { .. }, _) => match body.get("value") {
            None | Some(Json::Null) => Ok(Reply::None),
            Some(v) => v.as_i64().map(Reply::Value).ok_or_else(|| {
                format!(
                    "read_ok value must be an integer (one the workload wrote) or null, not {v}"
                )
            }),
        },
        (MaelOp::Read, _) => field("value").and_then(|v| {
            v.as_i64()
                .map(Reply::Count)
                .ok_or_else(|| "read_ok value must be an integer".to_string())
        }),
        (MaelOp::Send { .. }, _) => field("offset").and_then(|o| {
            as_offset(o).map(Reply::Offset).ok_or_else(|| {
                format!(
                    "send_ok offset must be an integer from 0 to {}, got {o}",
                    i64::MAX
                )
            })
        }),
        (MaelOp::Poll(asked), _) => field("msgs").and_then(|m| read_msgs(m, asked)),
        (MaelOp::ListCommittedOffsets(_), _) => {
            field("offsets").and_then(|m| read_offsets(m).map(Reply::Offsets))
        }
        (MaelOp::Txn(sent), _) => field("txn").and_then(|t| read_txn(kind, sent, t)),
        _ => Ok(Reply::None),
    };
    match reply {
        Ok(r) => (Outcome::Ok, r),
        Err(why) => malformed(why),
    }
}

/// `poll_ok`'s `msgs`: a map of keys to `[offset, msg]` pairs, only keys
/// the poll asked for, each key's offsets from the one asked on.
fn read_msgs(m: &Json, asked: &BTreeMap<String, u64>) -> Result<Reply, String> {
    let map = m.as_object().ok_or_else(|| {
        format!("poll_ok msgs must be a map of keys to [offset, msg] pairs, got {m}")
    })?;
    let mut msgs = BTreeMap::new();
    for (key, pairs) in map {
        let Some(&from) = asked.get(key) else {
            return Err(format!(
                "poll_ok msgs has key {key:?}, which the poll did not ask for"
            ));
        };
        let pairs = pairs
            .as_array()
            .ok_or_else(|| format!("poll_ok msgs {key:?} must be a list of [offset, msg] pairs"))?;
        let mut read = Vec::with_capacity(pairs.len());
        for p in pairs {
            let pair = p
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| Some((as_offset(&a[0])?, a[1].as_i64()?)))
                .ok_or_else(|| {
                    format!(
                        "poll_ok msgs {key:?}: {p} is not an [offset, msg] pair of integers \
                         with an offset from 0 to {}",
                        i64::MAX
                    )
                })?;
            if pair.0 < from {
                return Err(format!(
                    "poll_ok msgs {key:?}: offset {} is before the offset asked for, {from}",
                    pair.0
                ));
            }
            read.push(pair);
        }
        msgs.insert(key.clone(), read);
    }
    Ok(Reply::Msgs(msgs))
}

/// An offset as a reply carries it: an integer from 0 to `i64::MAX`
/// (Maelstrom's offsets are JVM longs), so the client's `offset + 1`
/// and the history's `i64` can never overflow.
fn as_offset(j: &Json) -> Option<u64> {
    j.as_u64().filter(|&o| o <= i64::MAX as u64)
}

/// `list_committed_offsets_ok`'s `offsets`: a map of keys to offsets.
fn read_offsets(m: &Json) -> Result<BTreeMap<String, u64>, String> {
    let map = m.as_object().ok_or_else(|| {
        format!("list_committed_offsets_ok offsets must be a map of keys to offsets, got {m}")
    })?;
    map.iter()
        .map(|(k, o)| {
            as_offset(o).map(|o| (k.clone(), o)).ok_or_else(|| {
                format!(
                    "list_committed_offsets_ok offsets {k:?} must be an integer from 0 to {}, got {o}",
                    i64::MAX
                )
            })
        })
        .collect()
}

/// `txn_ok`'s `txn`: the request's micro-ops in the same order, with the
/// same functions, keys and written values, and every read filled in
/// with a value of the workload's kind (list-append: null or a list;
/// rw-register: null or an integer).
fn read_txn(kind: WorkloadKind, sent: &[TxnMop], t: &Json) -> Result<Reply, String> {
    let got = t
        .as_array()
        .ok_or_else(|| format!("txn_ok txn must be a list of micro-ops, got {t}"))?;
    if got.len() != sent.len() {
        return Err(format!(
            "txn_ok txn has {} micro-ops; the request had {}",
            got.len(),
            sent.len()
        ));
    }
    let mut done = Vec::with_capacity(got.len());
    for (i, (g, s)) in got.iter().zip(sent).enumerate() {
        let m = TxnMop::from_json(g).map_err(|e| format!("txn_ok txn: {e}"))?;
        if m.f != s.f || m.key != s.key {
            return Err(format!(
                "txn_ok txn micro-op {i} is {g}; the request's was {}",
                s.to_json()
            ));
        }
        let fits = match (m.f, &m.value, kind) {
            (MopF::Read, MopValue::Null, _) => true,
            (MopF::Read, MopValue::List(_), WorkloadKind::TxnListAppend) => true,
            (MopF::Read, MopValue::Int(_), WorkloadKind::TxnRwRegister) => true,
            (MopF::Read, _, _) => false,
            (_, v, _) => *v == s.value,
        };
        if !fits {
            let want = match (m.f, kind) {
                (MopF::Read, WorkloadKind::TxnListAppend) => {
                    "a read's value must be null or a list of integers".to_string()
                }
                (MopF::Read, _) => "a read's value must be null or an integer".to_string(),
                _ => format!(
                    "a write must carry the value the request wrote, {}",
                    s.to_json()
                ),
            };
            return Err(format!("txn_ok txn micro-op {i} is {g}: {want}"));
        }
        done.push(m);
    }
    Ok(Reply::Txn(done))
}

/// The output the kernel's history records for a reply.
fn output_of(reply: &Reply) -> Option<Value> {
    match reply {
        Reply::Echo(Json::String(s)) => Some(Value::Str(s.clone())),
        Reply::Echo(other) => Some(Value::Str(other.to_string())),
        Reply::Id(id) => Some(Value::Str(id.clone())),
        Reply::Elements(xs) => {
            let mut xs = xs.clone();
            xs.sort_unstable();
            Some(Value::List(xs))
        }
        Reply::Count(n) | Reply::Value(n) => Some(Value::Int(*n)),
        Reply::Offset(o) => Some(Value::Int(*o as i64)),
        _ => None,
    }
}
