//! A replica: stores versions, coordinates client requests for any key, holds
//! hints for absent replicas, repairs and compares Merkle trees.

mod anti_entropy;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sim::history::{OpFn, Value};
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};

use super::version::{merge, next_clock, resolve, Sibling, Versioning};
use super::{Answer, Msg, Params, ReadRepair, Timeline};
use crate::ring::{hash, key_hash};

pub(super) const HANDOFF: TimerId = TimerId(1);
const ANTI_ENTROPY: TimerId = TimerId(2);
/// Per-request timers: `SLOPPY + req` asks stand-ins, `DEADLINE + req` gives up.
pub(super) const SLOPPY: u64 = 1 << 40;
pub(super) const DEADLINE: u64 = 2 << 40;
/// Merkle trees have this many leaves (keys bucketed by the top bits of their hash).
pub const MERKLE_LEAVES: usize = 16;

/// What a replica counts, for its status and the report.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Messages handled for keys (coordinated requests and replica reads/writes).
    pub requests: u64,
    pub coordinated: u64,
    pub unavailable: u64,
    pub stand_in_asks: u64,
    pub repairs_sent: u64,
    pub hints_stored: u64,
    pub hints_delivered: u64,
    pub sibling_reads: u64,
    pub anti_entropy_repairs: u64,
    /// Client requests coordinated, by key.
    pub per_key: BTreeMap<String, u64>,
}

#[derive(Clone, Debug)]
enum Kind {
    Write(Vec<Sibling>),
    Read,
}

/// A request this node coordinates.
#[derive(Clone, Debug)]
struct Pending {
    client: NodeId,
    op: u64,
    key: String,
    kind: Kind,
    /// The key's preference list when the request arrived.
    prefs: Vec<NodeId>,
    /// Every node asked: preference list and stand-ins.
    asked: BTreeSet<NodeId>,
    acks: BTreeSet<NodeId>,
    replies: BTreeMap<NodeId, Vec<Sibling>>,
    answered: bool,
    /// Stand-ins asked, and the preference-list node each stands in for.
    stand_ins: BTreeMap<NodeId, NodeId>,
    /// Blocking read repair: the replicas whose repair acknowledgement the
    /// answer waits for, and the value to answer with.
    repair_wait: BTreeSet<NodeId>,
    result: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct Server {
    me: NodeId,
    params: Arc<Params>,
    timeline: Arc<Timeline>,
    store: BTreeMap<String, Vec<Sibling>>,
    /// Versions held as a stand-in, by (intended replica, key).
    hints: BTreeMap<(NodeId, String), Vec<Sibling>>,
    pending: BTreeMap<u64, Pending>,
    /// Hint handoffs in flight: req to (target, key, versions sent).
    handoffs: BTreeMap<u64, (NodeId, String, Vec<Sibling>)>,
    /// Repairs sent and not yet acknowledged: req to target.
    repairs: BTreeMap<u64, NodeId>,
    next_req: u64,
    /// This node's vector clock counter.
    counter: u64,
    stats: Stats,
}

fn data_index(key: &str) -> u64 {
    key_hash(key)
}

fn hint_index(target: NodeId, key: &str) -> u64 {
    hash(format!("{}/{key}", target.0).as_bytes())
}

impl Server {
    /// Rebuilds a replica from its disk (everything it stored is synced).
    pub fn recover(
        me: NodeId,
        params: Arc<Params>,
        timeline: Arc<Timeline>,
        disk: &Disk,
    ) -> Server {
        let mut store = BTreeMap::new();
        for i in disk.indexes("data") {
            if let Some((k, v)) = disk.get::<(String, Vec<Sibling>)>(("data", i)) {
                store.insert(k.clone(), v.clone());
            }
        }
        let mut hints = BTreeMap::new();
        for i in disk.indexes("hint") {
            if let Some((t, k, v)) = disk.get::<(NodeId, String, Vec<Sibling>)>(("hint", i)) {
                hints.insert((*t, k.clone()), v.clone());
            }
        }
        Server {
            me,
            params,
            timeline,
            store,
            hints,
            pending: BTreeMap::new(),
            handoffs: BTreeMap::new(),
            repairs: BTreeMap::new(),
            next_req: 1,
            counter: disk.get::<u64>(("counter", 0)).copied().unwrap_or(0),
            stats: Stats::default(),
        }
    }

    pub fn store(&self) -> &BTreeMap<String, Vec<Sibling>> {
        &self.store
    }
    pub fn hints(&self) -> &BTreeMap<(NodeId, String), Vec<Sibling>> {
        &self.hints
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        ctx.set_timer(HANDOFF, self.params.handoff_interval);
        if let Some(i) = self.params.anti_entropy_interval {
            ctx.set_timer(ANTI_ENTROPY, i);
        }
    }

    fn mode(&self) -> Versioning {
        self.params.versioning
    }

    /// What this node holds for `key`: its own versions and any hints.
    fn local(&self, key: &str) -> Vec<Sibling> {
        let mut out = self.store.get(key).cloned().unwrap_or_default();
        for ((_, k), v) in &self.hints {
            if k == key {
                out = merge(&out, v, self.mode());
            }
        }
        out
    }

    fn save(&mut self, ctx: &mut Ctx<Msg>, key: &str) {
        let disk = ctx.disk();
        match self.store.get(key) {
            Some(v) => disk.put(("data", data_index(key)), (key.to_string(), v.clone())),
            None => disk.delete(("data", data_index(key))),
        }
        disk.sync();
    }

    fn save_hint(&mut self, ctx: &mut Ctx<Msg>, target: NodeId, key: &str) {
        let disk = ctx.disk();
        match self.hints.get(&(target, key.to_string())) {
            Some(v) => disk.put(
                ("hint", hint_index(target, key)),
                (target, key.to_string(), v.clone()),
            ),
            None => disk.delete(("hint", hint_index(target, key))),
        }
        disk.sync();
    }

    /// Stores versions as a replica; returns whether anything changed.
    fn apply(&mut self, ctx: &mut Ctx<Msg>, key: &str, sibs: &[Sibling], repair: bool) -> bool {
        let mode = self.mode();
        let cur = self.store.get(key).cloned().unwrap_or_default();
        let new = if repair && self.params.read_repair_writes_older {
            // The bug: a repair is taken as is, because "the coordinator
            // already compared versions".
            let mut s = sibs.to_vec();
            s.sort();
            if let Some(newer) = cur
                .iter()
                .find(|c| sibs.iter().all(|s| c.supersedes(s, mode)))
            {
                ctx.violation(
                    "repair-never-older",
                    format!(
                        "n{}: a read repair replaced {key} = {:?} with the older {:?}",
                        self.me.0 + 1,
                        newer.value,
                        resolve(sibs)
                    ),
                );
            }
            s
        } else {
            merge(&cur, sibs, mode)
        };
        if new == cur {
            return false;
        }
        self.store.insert(key.to_string(), new);
        self.save(ctx, key);
        true
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { op, key, f } => self.coordinate(ctx, from, op, key, f),
            Msg::Put {
                req,
                key,
                sibs,
                hint_for,
                repair,
            } => {
                self.stats.requests += 1;
                self.put_local(ctx, &key, &sibs, hint_for, repair);
                ctx.send(from, Msg::PutAck { req });
            }
            Msg::PutAck { req } => self.on_ack(ctx, req, from),
            Msg::Get { req, key } => {
                self.stats.requests += 1;
                let sibs = self.local(&key);
                ctx.send(from, Msg::GetReply { req, sibs });
            }
            Msg::GetReply { req, sibs } => self.on_reply(ctx, req, from, sibs),
            Msg::Tree { leaves } => self.on_tree(ctx, from, leaves),
            Msg::Leaves {
                leaves,
                data,
                reply,
            } => self.on_leaves(ctx, from, leaves, data, reply),
            Msg::Reply { .. } => {}
        }
    }

    fn put_local(
        &mut self,
        ctx: &mut Ctx<Msg>,
        key: &str,
        sibs: &[Sibling],
        hint_for: Option<NodeId>,
        repair: bool,
    ) {
        match hint_for {
            Some(t) if t != self.me => {
                let k = (t, key.to_string());
                let cur = self.hints.get(&k).cloned().unwrap_or_default();
                let new = merge(&cur, sibs, self.mode());
                if new != cur {
                    self.hints.insert(k, new);
                    self.stats.hints_stored += 1;
                    self.save_hint(ctx, t, key);
                }
            }
            _ => {
                self.apply(ctx, key, sibs, repair);
            }
        }
    }

    fn coordinate(&mut self, ctx: &mut Ctx<Msg>, client: NodeId, op: u64, key: String, f: OpFn) {
        self.stats.requests += 1;
        self.stats.coordinated += 1;
        *self.stats.per_key.entry(key.clone()).or_default() += 1;
        let prefs = self
            .timeline
            .at(ctx.now())
            .preference_list(&key, self.params.n);
        let kind = match f {
            OpFn::Read => Kind::Read,
            f => {
                // cas and append look at this node's own copy only.
                let local = self.local(&key);
                let cur = resolve(&local);
                let value = match f {
                    OpFn::Write(v) => v,
                    OpFn::Cas { expected, new } => {
                        if cur != expected {
                            ctx.send(
                                client,
                                Msg::Reply {
                                    op,
                                    answer: Answer::Mismatch,
                                },
                            );
                            return;
                        }
                        new
                    }
                    OpFn::Append(v) => sim::check::model::append_value(&cur, &v),
                    OpFn::Delete => Value::Nil,
                    OpFn::Read => unreachable!("handled above"),
                };
                let clock = next_clock(&local, self.me.0, self.counter + 1);
                self.counter = clock[&self.me.0];
                ctx.disk().put(("counter", 0), self.counter);
                Kind::Write(vec![Sibling {
                    ts: (ctx.local_time(), self.me.0),
                    clock,
                    value,
                    born_ns: ctx.now(),
                }])
            }
        };
        let req = self.next_req;
        self.next_req += 1;
        self.pending.insert(
            req,
            Pending {
                client,
                op,
                key,
                kind,
                prefs: prefs.clone(),
                asked: BTreeSet::new(),
                acks: BTreeSet::new(),
                replies: BTreeMap::new(),
                answered: false,
                stand_ins: BTreeMap::new(),
                repair_wait: BTreeSet::new(),
                result: None,
            },
        );
        for p in prefs {
            self.ask(ctx, req, p, None);
        }
        if self.params.sloppy {
            ctx.set_timer(TimerId(SLOPPY + req), self.params.sloppy_after);
        }
        ctx.set_timer(TimerId(DEADLINE + req), self.params.coordinator_timeout);
    }

    /// Sends request `req` to `to` (handled at once when `to` is this node).
    fn ask(&mut self, ctx: &mut Ctx<Msg>, req: u64, to: NodeId, hint_for: Option<NodeId>) {
        let Some(p) = self.pending.get_mut(&req) else {
            return;
        };
        p.asked.insert(to);
        let key = p.key.clone();
        match p.kind.clone() {
            Kind::Write(sibs) => {
                if to == self.me {
                    self.put_local(ctx, &key, &sibs, hint_for, false);
                    self.on_ack(ctx, req, to);
                } else {
                    ctx.send(to, Msg::put(req, key, sibs, hint_for));
                }
            }
            Kind::Read => {
                if to == self.me {
                    let sibs = self.local(&key);
                    self.on_reply(ctx, req, to, sibs);
                } else {
                    ctx.send(to, Msg::Get { req, key });
                }
            }
        }
    }

    fn answer(&mut self, ctx: &mut Ctx<Msg>, req: u64, answer: Answer) {
        if let Some(p) = self.pending.get_mut(&req) {
            if !p.answered {
                p.answered = true;
                if answer == Answer::Unavailable {
                    self.stats.unavailable += 1;
                }
                ctx.send(p.client, Msg::Reply { op: p.op, answer });
            }
        }
    }

    fn on_ack(&mut self, ctx: &mut Ctx<Msg>, req: u64, from: NodeId) {
        if let Some((target, key, sent)) = self.handoffs.remove(&req) {
            let k = (target, key);
            if self.hints.get(&k) == Some(&sent) {
                self.hints.remove(&k);
                self.stats.hints_delivered += 1;
                self.save_hint(ctx, target, &k.1);
            }
            return;
        }
        if self.repairs.remove(&req).is_some() {
            return;
        }
        let w = self.params.w;
        let Some(p) = self.pending.get_mut(&req) else {
            return;
        };
        match p.kind {
            Kind::Write(_) => {
                p.acks.insert(from);
                if p.acks.len() >= w {
                    self.answer(ctx, req, Answer::Ok(None));
                }
            }
            Kind::Read => {
                // A blocking read repair's acknowledgement.
                if p.repair_wait.remove(&from) && p.repair_wait.is_empty() {
                    let v = p.result.clone();
                    self.answer(ctx, req, Answer::Ok(v));
                }
            }
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx<Msg>, req: u64, from: NodeId, sibs: Vec<Sibling>) {
        let mode = self.mode();
        let r = self.params.r;
        let Some(p) = self.pending.get_mut(&req) else {
            return;
        };
        if p.replies.insert(from, sibs.clone()).is_some() {
            return;
        }
        if p.answered || p.result.is_some() {
            // A late reply: repair it in the background if it is behind.
            if self.params.read_repair != ReadRepair::Off {
                let merged = p
                    .replies
                    .values()
                    .fold(Vec::new(), |acc, s| merge(&acc, s, mode));
                let key = p.key.clone();
                if merge(&sibs, &merged, mode) != merge(&sibs, &[], mode) {
                    self.send_repair(ctx, from, key, merged);
                }
            }
            return;
        }
        if p.replies.len() < r {
            return;
        }
        let merged = p
            .replies
            .values()
            .fold(Vec::new(), |acc, s| merge(&acc, s, mode));
        if merged.len() > 1 {
            self.stats.sibling_reads += 1;
        }
        let value = resolve(&merged);
        let key = p.key.clone();
        let replies = p.replies.clone();
        let mut stale: Vec<(NodeId, Vec<Sibling>)> = Vec::new();
        if self.params.read_repair != ReadRepair::Off {
            if self.params.read_repair_writes_older {
                // The bug: the oldest reply is taken for the truth, and every
                // replica that differs from it is "repaired".
                let oldest = replies
                    .values()
                    .min_by(|a, b| {
                        let ka = a.iter().map(|s| s.ts).max();
                        let kb = b.iter().map(|s| s.ts).max();
                        ka.cmp(&kb)
                    })
                    .cloned()
                    .unwrap_or_default();
                for (n, s) in &replies {
                    if *s != oldest {
                        stale.push((*n, oldest.clone()));
                    }
                }
            } else {
                for (n, s) in &replies {
                    if merge(s, &merged, mode) != merge(s, &[], mode) {
                        stale.push((*n, merged.clone()));
                    }
                }
            }
        }
        let blocking = self.params.read_repair == ReadRepair::Blocking && !stale.is_empty();
        for (n, s) in stale {
            if blocking {
                if let Some(p) = self.pending.get_mut(&req) {
                    p.repair_wait.insert(n);
                }
                self.stats.repairs_sent += 1;
                if n == self.me {
                    self.apply(ctx, &key, &s, true);
                    if let Some(p) = self.pending.get_mut(&req) {
                        p.repair_wait.remove(&n);
                    }
                } else {
                    ctx.send(n, Msg::repair(req, key.clone(), s));
                }
            } else {
                self.send_repair(ctx, n, key.clone(), s);
            }
        }
        let Some(p) = self.pending.get_mut(&req) else {
            return;
        };
        p.result = Some(value.clone());
        if p.repair_wait.is_empty() {
            self.answer(ctx, req, Answer::Ok(Some(value)));
        }
    }

    /// A read repair nobody waits for.
    fn send_repair(&mut self, ctx: &mut Ctx<Msg>, to: NodeId, key: String, sibs: Vec<Sibling>) {
        self.stats.repairs_sent += 1;
        if to == self.me {
            self.apply(ctx, &key, &sibs, true);
            return;
        }
        let req = self.next_req;
        self.next_req += 1;
        self.repairs.insert(req, to);
        ctx.send(to, Msg::repair(req, key, sibs));
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            HANDOFF => {
                self.handoff(ctx);
                ctx.set_timer(HANDOFF, self.params.handoff_interval);
            }
            ANTI_ENTROPY => {
                self.start_anti_entropy(ctx);
                if let Some(i) = self.params.anti_entropy_interval {
                    ctx.set_timer(ANTI_ENTROPY, i);
                }
            }
            TimerId(t) if t >= DEADLINE => {
                let req = t - DEADLINE;
                self.answer(ctx, req, Answer::Unavailable);
                self.pending.remove(&req);
                ctx.cancel_timer(TimerId(SLOPPY + req));
            }
            TimerId(t) if t >= SLOPPY => self.ask_stand_ins(ctx, t - SLOPPY),
            _ => {}
        }
    }

    /// Sloppy quorum: for every preference-list node that has not answered,
    /// ask the next node on the ring walk to stand in for it.
    fn ask_stand_ins(&mut self, ctx: &mut Ctx<Msg>, req: u64) {
        let Some(p) = self.pending.get(&req) else {
            return;
        };
        // A read is done once answered; a write goes on finding homes for the
        // copies of replicas that have not acknowledged, as Dynamo writes to
        // the first N healthy nodes whatever W is.
        if p.answered && matches!(p.kind, Kind::Read) {
            return;
        }
        let answered: BTreeSet<NodeId> = match p.kind {
            Kind::Write(_) => p.acks.clone(),
            Kind::Read => p.replies.keys().copied().collect(),
        };
        let covered: BTreeSet<NodeId> = p
            .stand_ins
            .iter()
            .filter(|(s, _)| answered.contains(s))
            .map(|(_, pref)| *pref)
            .collect();
        let missing: Vec<NodeId> = p
            .prefs
            .iter()
            .copied()
            .filter(|n| !answered.contains(n) && !covered.contains(n))
            .collect();
        let walk = self.timeline.at(ctx.now()).walk(&p.key);
        let mut candidates = walk
            .into_iter()
            .filter(|n| !p.asked.contains(n))
            .collect::<Vec<_>>()
            .into_iter();
        let mut asked_any = false;
        for m in missing {
            let Some(stand_in) = candidates.next() else {
                break;
            };
            self.stats.stand_in_asks += 1;
            asked_any = true;
            if let Some(p) = self.pending.get_mut(&req) {
                p.stand_ins.insert(stand_in, m);
            }
            self.ask(ctx, req, stand_in, Some(m));
        }
        // A stand-in may be unreachable too: try the next ones a little later.
        if asked_any {
            ctx.set_timer(TimerId(SLOPPY + req), self.params.sloppy_after);
        }
    }

    /// Hands hints back to their replicas, and keys this node no longer
    /// replicates (after a membership change) to the nodes that now do.
    fn handoff(&mut self, ctx: &mut Ctx<Msg>) {
        let ring = self.timeline.at(ctx.now()).clone();
        let n = self.params.n;
        let moved: Vec<String> = self
            .store
            .keys()
            .filter(|k| !ring.preference_list(k, n).contains(&self.me))
            .cloned()
            .collect();
        for key in moved {
            if let Some(sibs) = self.store.remove(&key) {
                self.save(ctx, &key);
                for p in ring.preference_list(&key, n) {
                    self.put_local(ctx, &key, &sibs, Some(p), false);
                }
            }
        }
        // Repairs nobody acknowledged by now were lost (a partition, a
        // crash); forget them, so the status counts only recent ones.
        self.repairs.clear();
        if self.params.hint_never_delivered {
            return;
        }
        self.handoffs.clear();
        let hints: Vec<((NodeId, String), Vec<Sibling>)> = self
            .hints
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ((target, key), sibs) in hints {
            let req = self.next_req;
            self.next_req += 1;
            self.handoffs
                .insert(req, (target, key.clone(), sibs.clone()));
            ctx.send(target, Msg::put(req, key, sibs, None));
        }
    }

    pub fn status(&self) -> Status {
        let ring = &self.timeline.epochs[self.timeline.epochs.len() - 1].1;
        let tokens = ring.tokens_of(self.me);
        let position = tokens
            .first()
            .map(|t| format!("{:.3}", *t as f64 / u64::MAX as f64))
            .unwrap_or_else(|| "-".into());
        Status {
            role: "replica",
            fields: vec![
                (
                    "ring",
                    format!("first token at {position}, {} vnodes", tokens.len()),
                ),
                ("keys", self.store.len().to_string()),
                ("hints", self.hints.len().to_string()),
                ("pending repairs", self.repairs.len().to_string()),
                (
                    "coordinating",
                    self.pending
                        .values()
                        .filter(|p| !p.answered)
                        .count()
                        .to_string(),
                ),
            ],
        }
    }
}
