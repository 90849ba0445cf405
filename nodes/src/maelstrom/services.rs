//! Maelstrom's services: nodes that any Maelstrom node may call, as it
//! calls another server (Maelstrom's doc/services.md).
//!
//! - `lin-kv`: a linearizable key-value store. One copy of the map; each
//!   request takes effect the instant it arrives, so it takes effect
//!   between the caller's send and its reply.
//! - `seq-kv`: a sequentially consistent one, modelled as Maelstrom models
//!   it. The service keeps its last [`SEQ_VERSIONS`] states (a version per
//!   change) and, per caller (the `src` name), the newest version that
//!   caller has seen. A request is first tried on a version drawn
//!   uniformly between the caller's and the newest: if it changes
//!   nothing there (a read, a cas that fails, a write of the value the
//!   key already held) it is answered from that version, which becomes
//!   the caller's; otherwise it is applied to the newest version, making
//!   a new one. So every caller sees versions in order (never back in
//!   time), all changes are one total order, and a read may be stale: by
//!   as many versions as the caller has not seen, up to the versions kept.
//! - `lww-kv`: last write wins, eventually consistent. Five replicas,
//!   each with a Lamport clock and, per key, the value and the clock
//!   reading of the write that set it. Each request first merges one
//!   replica (drawn at random) into another (drawn at random; the newer
//!   stamp per key wins, ties going to the greater value), then is served
//!   by a third drawn at random. Reads may be stale, and of two writes on
//!   different replicas the later-stamped wins whichever came last: lost
//!   updates, as the service's name promises. (Maelstrom's own code
//!   computes the merge and then drops it, so its replicas never
//!   converge; here the merge is kept.)
//! - `lin-tso`: a linearizable timestamp oracle: `ts` answers `ts_ok`
//!   with 0, 1, 2 ..., one per request, strictly increasing.
//!
//! The key-value bodies are the lin-kv workload's: `read {key}` answers
//! `read_ok {value}` or error 20 (key-does-not-exist); `write {key, value}`
//! answers `write_ok`; `cas {key, from, to}` answers `cas_ok`, error 22
//! (precondition-failed) when the key holds another value, or error 20
//! when it has none, unless the request says `create_if_not_exists: true`,
//! which creates it with `to`. A request missing a field gets error 12
//! (malformed-request), any other type error 10 (not-supported). Keys and
//! values may be any JSON; keys are compared by their JSON text (`1` and
//! `"1"` are two keys).
//!
//! Where they run. A service is a node of the run, after the clients
//! (`lin-kv`, `seq-kv`, ... in that order), started when `[system]
//! services` lists it (and, for protocol `maelstrom`, when the reference
//! node calls it). Its messages cross chaoslab's network with the
//! scenario's latency and loss, as Maelstrom's cross its network. As in
//! Maelstrom, a scenario's faults do not reach it: a fault names servers
//! and clients, and a partition leaves every node it does not name
//! reachable from every side, so a partitioned server still reaches the
//! services. They do not crash. What a service draws (seq-kv's version,
//! lww-kv's replicas) comes from its own seeded stream: the same seed
//! gives the same answers.

use std::collections::{BTreeMap, VecDeque};

use rand::{Rng, RngCore};
use serde_json::Value as Json;
use sim::node::{Ctx, NodeId, Status, TimerId};

use super::wire::{Body, Envelope, ErrorCode};

/// The versions seq-kv keeps (Maelstrom keeps 32).
pub const SEQ_VERSIONS: usize = 32;
/// The replicas of lww-kv (Maelstrom's default).
pub const LWW_REPLICAS: usize = 5;

/// Maelstrom's services, in the order a run's nodes list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceKind {
    LinKv,
    SeqKv,
    LwwKv,
    LinTso,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::LinKv,
        ServiceKind::SeqKv,
        ServiceKind::LwwKv,
        ServiceKind::LinTso,
    ];

    /// Its node name, which nodes send to (`lin-kv`).
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::LinKv => "lin-kv",
            ServiceKind::SeqKv => "seq-kv",
            ServiceKind::LwwKv => "lww-kv",
            ServiceKind::LinTso => "lin-tso",
        }
    }

    pub fn from_name(name: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One key-value state: each key's JSON text and its value.
pub type Store = BTreeMap<String, Json>;

/// A key's JSON text: how a store files it.
fn key_of(body: &Body) -> Option<String> {
    body.get("key").map(Json::to_string)
}

/// Serves one key-value request on `store`: the changed store (`None`
/// when the request changed nothing) and the reply body.
pub fn apply_kv(store: &Store, body: &Body) -> (Option<Store>, Body) {
    let missing = |field: &str| {
        Body::error(
            ErrorCode::MalformedRequest,
            format!("{} needs a {field:?} field", body.kind),
        )
    };
    let absent = || Body::error(ErrorCode::KeyDoesNotExist, "key does not exist");
    match body.kind.as_str() {
        "read" => {
            let Some(key) = key_of(body) else {
                return (None, missing("key"));
            };
            match store.get(&key) {
                Some(v) => (None, Body::new("read_ok").with("value", v.clone())),
                None => (None, absent()),
            }
        }
        "write" => {
            let Some(key) = key_of(body) else {
                return (None, missing("key"));
            };
            let Some(value) = body.get("value") else {
                return (None, missing("value"));
            };
            let changed = (store.get(&key) != Some(value)).then(|| {
                let mut next = store.clone();
                next.insert(key, value.clone());
                next
            });
            (changed, Body::new("write_ok"))
        }
        "cas" => {
            let Some(key) = key_of(body) else {
                return (None, missing("key"));
            };
            let (Some(from), Some(to)) = (body.get("from"), body.get("to")) else {
                return (
                    None,
                    missing(if body.get("from").is_none() {
                        "from"
                    } else {
                        "to"
                    }),
                );
            };
            let create = body
                .get("create_if_not_exists")
                .and_then(Json::as_bool)
                .unwrap_or(false);
            let set = |store: &Store| {
                let mut next = store.clone();
                next.insert(key.clone(), to.clone());
                (store.get(&key) != Some(to)).then_some(next)
            };
            match store.get(&key) {
                None if create => (set(store), Body::new("cas_ok")),
                None => (None, absent()),
                Some(now) if now == from => (set(store), Body::new("cas_ok")),
                Some(now) => (
                    None,
                    Body::error(
                        ErrorCode::PreconditionFailed,
                        format!("current value {now} is not {from}"),
                    ),
                ),
            }
        }
        other => (
            None,
            Body::error(
                ErrorCode::NotSupported,
                format!("the key-value services do not serve {other:?}"),
            ),
        ),
    }
}

/// One lww-kv replica: a Lamport clock, and per key the stamp of the
/// write that set it and its value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replica {
    pub clock: u64,
    pub values: BTreeMap<String, (u64, Json)>,
}

impl Replica {
    fn store(&self) -> Store {
        self.values
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect()
    }

    /// Serves a request; a change is stamped with the clock, which ticks.
    fn serve(&mut self, body: &Body) -> Body {
        let (changed, reply) = apply_kv(&self.store(), body);
        if let Some(next) = changed {
            for (k, v) in next {
                if self.values.get(&k).map(|(_, old)| old) != Some(&v) {
                    self.values.insert(k, (self.clock, v));
                }
            }
            self.clock += 1;
        }
        reply
    }

    /// Takes in `other`'s state: the larger clock, and per key the value
    /// with the newer stamp (on a tie, the greater JSON text, so that the
    /// merge is the same whichever replica merges into which).
    pub fn merge(&mut self, other: &Replica) {
        self.clock = self.clock.max(other.clock);
        for (k, (ts, v)) in &other.values {
            let newer = match self.values.get(k) {
                None => true,
                Some((mine, mv)) => (ts, v.to_string()) > (mine, mv.to_string()),
            };
            if newer {
                self.values.insert(k.clone(), (*ts, v.clone()));
            }
        }
    }
}

/// A service's state and how it answers, apart from the kernel: what the
/// unit tests drive.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceState {
    Lin(Store),
    Seq {
        /// The versions kept, oldest first; the newest is number `newest`.
        versions: VecDeque<Store>,
        newest: u64,
        /// Per caller, the newest version it has seen.
        seen: BTreeMap<String, u64>,
    },
    Lww(Vec<Replica>),
    Tso {
        next: u64,
    },
}

impl ServiceState {
    pub fn new(kind: ServiceKind) -> ServiceState {
        match kind {
            ServiceKind::LinKv => ServiceState::Lin(Store::new()),
            ServiceKind::SeqKv => ServiceState::Seq {
                versions: VecDeque::from([Store::new()]),
                newest: 0,
                seen: BTreeMap::new(),
            },
            ServiceKind::LwwKv => ServiceState::Lww(vec![Replica::default(); LWW_REPLICAS]),
            ServiceKind::LinTso => ServiceState::Tso { next: 0 },
        }
    }

    /// Answers request `body` from `src`, drawing from `rng` where the
    /// service's semantics allow a choice.
    pub fn handle(&mut self, src: &str, body: &Body, rng: &mut dyn RngCore) -> Body {
        match self {
            ServiceState::Lin(store) => {
                let (changed, reply) = apply_kv(store, body);
                if let Some(next) = changed {
                    *store = next;
                }
                reply
            }
            ServiceState::Seq {
                versions,
                newest,
                seen,
            } => {
                let oldest = *newest + 1 - versions.len() as u64;
                let from = seen.get(src).copied().unwrap_or(0).max(oldest);
                let at = rng.gen_range(from..=*newest);
                let (changed, reply) = apply_kv(&versions[(at - oldest) as usize], body);
                if changed.is_none() {
                    seen.insert(src.to_string(), at);
                    return reply;
                }
                // A change must follow every change before it: it is made
                // on the newest version.
                let last = versions.back().expect("seq-kv keeps a version");
                let (changed, reply) = apply_kv(last, body);
                if let Some(next) = changed {
                    versions.push_back(next);
                    *newest += 1;
                    if versions.len() > SEQ_VERSIONS {
                        versions.pop_front();
                    }
                }
                seen.insert(src.to_string(), *newest);
                reply
            }
            ServiceState::Lww(replicas) => {
                let n = replicas.len();
                let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
                if a != b {
                    let source = replicas[a].clone();
                    replicas[b].merge(&source);
                }
                let i = rng.gen_range(0..n);
                replicas[i].serve(body)
            }
            ServiceState::Tso { next } => {
                if body.kind != "ts" {
                    return Body::error(
                        ErrorCode::NotSupported,
                        format!("lin-tso serves only \"ts\", not {:?}", body.kind),
                    );
                }
                let ts = *next;
                *next += 1;
                Body::new("ts_ok").with("ts", ts)
            }
        }
    }

    /// The fields the TUI shows.
    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            ServiceState::Lin(store) => vec![("keys", store.len().to_string())],
            ServiceState::Seq {
                versions, newest, ..
            } => vec![
                ("version", newest.to_string()),
                ("keys", versions.back().map_or(0, BTreeMap::len).to_string()),
            ],
            ServiceState::Lww(replicas) => vec![(
                "clock",
                replicas
                    .iter()
                    .map(|r| r.clock)
                    .max()
                    .unwrap_or(0)
                    .to_string(),
            )],
            ServiceState::Tso { next } => vec![("next ts", next.to_string())],
        }
    }
}

/// A service hosted on the kernel: it answers each request to its sender
/// (by the request's `src`), `in_reply_to` its `msg_id`.
#[derive(Clone, Debug)]
pub struct Service {
    pub kind: ServiceKind,
    pub state: ServiceState,
    /// Requests answered (this life).
    pub served: u64,
}

impl Service {
    pub fn new(kind: ServiceKind) -> Service {
        Service {
            kind,
            state: ServiceState::new(kind),
            served: 0,
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Envelope>, _from: NodeId, msg: Envelope) {
        let kind = msg.body.kind.as_str();
        // A reply (a node answering what it thinks was a request of ours)
        // is not a request: answering it would start a ping-pong.
        if kind == "error" || kind.ends_with("_ok") {
            return;
        }
        let Some(to) = ctx.cluster().by_name(&msg.src) else {
            return;
        };
        let reply = self
            .state
            .handle(&msg.src, &msg.body, ctx.rng())
            .replying_to(msg.body.msg_id);
        self.served += 1;
        ctx.send(to, Envelope::new(self.kind.name(), msg.src, reply));
    }

    pub fn on_timer(&mut self, _ctx: &mut Ctx<Envelope>, _timer: TimerId) {}

    pub fn status(&self) -> Status {
        let mut fields = vec![
            ("service", self.kind.name().to_string()),
            ("requests", self.served.to_string()),
        ];
        fields.extend(self.state.fields());
        Status {
            role: "service",
            fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn read(k: i64) -> Body {
        Body::new("read").with("key", k)
    }
    fn write(k: i64, v: i64) -> Body {
        Body::new("write").with("key", k).with("value", v)
    }
    fn cas(k: i64, from: i64, to: i64) -> Body {
        Body::new("cas")
            .with("key", k)
            .with("from", from)
            .with("to", to)
    }
    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(3)
    }
    /// The value a reply read, or its error code.
    fn got(b: &Body) -> Result<Option<i64>, i64> {
        match b.error_code() {
            Some(code) => Err(code.code()),
            None => Ok(b.int("value")),
        }
    }

    #[test]
    fn lin_kv_answers_maelstrom_s_bodies_and_error_codes() {
        let mut s = ServiceState::new(ServiceKind::LinKv);
        let mut r = rng();
        assert_eq!(got(&s.handle("n1", &read(1), &mut r)), Err(20));
        assert_eq!(got(&s.handle("n1", &cas(1, 0, 1), &mut r)), Err(20));
        let create = cas(1, 0, 5).with("create_if_not_exists", true);
        assert_eq!(s.handle("n1", &create, &mut r).kind, "cas_ok");
        assert_eq!(got(&s.handle("n2", &read(1), &mut r)), Ok(Some(5)));
        assert_eq!(s.handle("n2", &write(1, 7), &mut r).kind, "write_ok");
        let refused = s.handle("n1", &cas(1, 5, 6), &mut r);
        assert_eq!(got(&refused), Err(22));
        assert!(refused
            .get("text")
            .is_some_and(|t| t == "current value 7 is not 5"));
        assert_eq!(s.handle("n1", &cas(1, 7, 8), &mut r).kind, "cas_ok");
        assert_eq!(got(&s.handle("n3", &read(1), &mut r)), Ok(Some(8)));
        assert_eq!(
            got(&s.handle("n1", &Body::new("write").with("key", 1), &mut r)),
            Err(12)
        );
        assert_eq!(got(&s.handle("n1", &Body::new("ts"), &mut r)), Err(10));
        // Keys are JSON: the string "1" is another key than 1.
        let text_key = Body::new("read").with("key", "1");
        assert_eq!(got(&s.handle("n1", &text_key, &mut r)), Err(20));
    }

    #[test]
    fn lin_tso_hands_out_strictly_increasing_timestamps() {
        let mut s = ServiceState::new(ServiceKind::LinTso);
        let mut r = rng();
        let ts: Vec<i64> = (0..5)
            .map(|i| {
                let b = s.handle(&format!("n{}", i % 2 + 1), &Body::new("ts"), &mut r);
                assert_eq!(b.kind, "ts_ok");
                b.int("ts").unwrap()
            })
            .collect();
        assert_eq!(ts, vec![0, 1, 2, 3, 4]);
        assert_eq!(got(&s.handle("n1", &read(1), &mut r)), Err(10));
    }

    #[test]
    fn seq_kv_reads_may_be_stale_but_a_caller_never_goes_back_in_time() {
        let mut s = ServiceState::new(ServiceKind::SeqKv);
        let mut r = rng();
        // n1 writes 1..=20: each write makes a version, the newest n1's.
        for v in 1..=20 {
            s.handle("n1", &write(0, v), &mut r);
        }
        // n1 has seen version 20: it always reads the newest value.
        for _ in 0..20 {
            assert_eq!(got(&s.handle("n1", &read(0), &mut r)), Ok(Some(20)));
        }
        // n2 has seen nothing: it reads old versions, never older than the
        // last it read.
        let mut last = -1;
        let mut stale = 0;
        for _ in 0..200 {
            let v = match got(&s.handle("n2", &read(0), &mut r)) {
                Ok(Some(v)) => v,
                Err(20) => 0, // version 0: the key did not exist yet
                other => panic!("{other:?}"),
            };
            assert!(v >= last, "n2 went back in time: {v} after {last}");
            stale += u64::from(v < 20);
            last = v;
        }
        assert!(
            stale > 0,
            "a caller that has seen nothing reads stale values"
        );
        assert_eq!(last, 20, "and catches up");
    }

    #[test]
    fn seq_kv_changes_are_one_total_order_on_the_newest_version() {
        let mut s = ServiceState::new(ServiceKind::SeqKv);
        let mut r = rng();
        s.handle("n1", &write(0, 1), &mut r);
        s.handle("n1", &cas(0, 1, 2), &mut r);
        // n2 has seen nothing. A cas from 1 would change version 1, so it
        // is made on the newest, where 1 is gone: it never succeeds (on
        // version 0 it finds no key, which changes nothing either).
        for _ in 0..20 {
            let b = s.handle("n2", &cas(0, 1, 3), &mut r);
            assert!(matches!(got(&b), Err(20 | 22)), "{b:?}");
        }
        // A write of the newest value changes nothing there: n2 has now
        // seen the newest version, and its cas from 2 succeeds.
        assert_eq!(s.handle("n2", &write(0, 2), &mut r).kind, "write_ok");
        assert_eq!(s.handle("n2", &cas(0, 2, 3), &mut r).kind, "cas_ok");
        assert_eq!(got(&s.handle("n2", &read(0), &mut r)), Ok(Some(3)));
        // The versions kept are bounded.
        for v in 0..100 {
            s.handle("n1", &write(0, v), &mut r);
        }
        let ServiceState::Seq { versions, .. } = &s else {
            unreachable!()
        };
        assert_eq!(versions.len(), SEQ_VERSIONS);
    }

    #[test]
    fn lww_kv_replicas_read_stale_and_lose_concurrent_writes_but_merge_to_one_value() {
        let mut s = ServiceState::new(ServiceKind::LwwKv);
        let mut r = rng();
        let mut stale = 0;
        for v in 1..=50 {
            s.handle("n1", &write(0, v), &mut r);
            if got(&s.handle("n2", &read(0), &mut r)) != Ok(Some(v)) {
                stale += 1;
            }
        }
        assert!(stale > 0, "a read served by a replica the write missed");
        // Merging replica 0 into every other and back makes them agree: the
        // newest stamp wins everywhere.
        let ServiceState::Lww(replicas) = &mut s else {
            unreachable!()
        };
        for i in 1..replicas.len() {
            let other = replicas[i].clone();
            replicas[0].merge(&other);
        }
        let merged = replicas[0].clone();
        for rep in replicas.iter_mut() {
            rep.merge(&merged);
        }
        assert!(replicas.iter().all(|rep| rep.values == merged.values));
        // Two writes on different replicas with the same stamp: the merge
        // keeps one of them, the same whichever merges into which.
        let mut a = Replica::default();
        let mut b = Replica::default();
        a.serve(&write(9, 1));
        b.serve(&write(9, 2));
        let (mut ab, mut ba) = (a.clone(), b.clone());
        ab.merge(&b);
        ba.merge(&a);
        assert_eq!(ab.values, ba.values);
        assert_eq!(ab.values[&Json::from(9).to_string()].1, Json::from(2));
    }

    #[test]
    fn a_service_answers_the_same_way_from_the_same_seed() {
        let run = || {
            let mut s = ServiceState::new(ServiceKind::SeqKv);
            let mut r = rng();
            (0..50)
                .map(|i| {
                    let b = if i % 3 == 0 { write(0, i) } else { read(0) };
                    got(&s.handle(&format!("n{}", i % 3), &b, &mut r))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
