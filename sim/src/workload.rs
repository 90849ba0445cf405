//! What clients ask: the operation type a protocol's clients carry, and the
//! workload that draws them.
//!
//! A protocol's operations are its own type: a key-value store's are
//! [`OpFn`] (get, put, cas, append, delete on keys `k0..`), a bank's are
//! transfers and balance reads. The history is generic over that type
//! ([`crate::history::Op`]), and so are the node's requests
//! ([`crate::node::Request`]) and the checker's model
//! ([`crate::check::Model`]). Key-value is the default everywhere, so a
//! key-value protocol names none of this.
//!
//! The *rate* stays the scenario's: every client is a closed loop that waits
//! an exponential think time (`[workload] rate`) after each completion before
//! it asks the [`Workload`] for its next operation.

use std::collections::BTreeMap;
use std::fmt::Debug;

use rand::{Rng, RngCore};
use rand_distr::{Distribution, Zipf};
use serde::Serialize;

use crate::check::{Judge, KvJudge};
use crate::history::{Op, OpFn, Value};
use crate::kernel::describe_op;
use crate::scenario::{KeyDist, Scenario};

/// An operation a client can ask for. `Send`: the madsim driver carries
/// requests on tasks its runtime may move between threads.
pub trait Operation: Clone + Debug + PartialEq + Serialize + Send + 'static {
    /// How the trace shows it when it is invoked on `key`: `put k3 7`,
    /// `transfer 5 a1 -> a6`.
    fn describe(&self, key: &str) -> String;

    /// How a report names it once it is over, with what it returned (`read ->
    /// 3`, `balance a2 -> 95`): the checker's explanations use it.
    fn describe_done(&self, output: Option<&Value>) -> String;

    /// A pure read: it changes nothing, so one that never returned
    /// constrains nothing and the checker leaves it out.
    fn is_read(&self) -> bool;

    /// What an `ok` answer with no output returned (a read of a key that holds
    /// nothing returns nil). `None`: no output.
    fn default_output(&self) -> Option<Value> {
        None
    }

    /// The key-value operation this is, if it is one: the checks that only
    /// make sense for a key-value store (a cas that found another value) look
    /// at it.
    fn as_kv(&self) -> Option<&OpFn> {
        None
    }

    /// The workload a protocol with these operations gets unless it names
    /// its own ([`crate::protocol::Protocol::workload`]); `None` obliges it to.
    fn standard_workload(_scenario: &Scenario) -> Option<Box<dyn Workload<Op = Self>>> {
        None
    }

    /// How a history of these operations is judged unless the protocol names
    /// its own model ([`crate::protocol::Protocol::model`]); `None` obliges it to.
    fn standard_judge() -> Option<Box<dyn Judge<Self>>> {
        None
    }
}

impl Operation for OpFn {
    fn describe(&self, key: &str) -> String {
        describe_op(key, self)
    }

    fn describe_done(&self, output: Option<&Value>) -> String {
        use crate::check::model::describe_value as v;
        match self {
            OpFn::Read => match output {
                Some(out) => format!("read -> {}", v(out)),
                None => "read".to_string(),
            },
            OpFn::Write(x) => format!("write {}", v(x)),
            OpFn::Cas { expected, new } => format!("cas {} -> {}", v(expected), v(new)),
            OpFn::Append(x) => format!("append {}", v(x)),
            OpFn::Delete => "delete".to_string(),
        }
    }

    fn is_read(&self) -> bool {
        *self == OpFn::Read
    }

    fn default_output(&self) -> Option<Value> {
        (*self == OpFn::Read).then_some(Value::Nil)
    }

    fn as_kv(&self) -> Option<&OpFn> {
        Some(self)
    }

    fn standard_workload(scenario: &Scenario) -> Option<Box<dyn Workload<Op = OpFn>>> {
        Some(Box::new(KvWorkload::new(scenario)))
    }

    fn standard_judge() -> Option<Box<dyn Judge<OpFn>>> {
        Some(Box::new(KvJudge))
    }
}

/// What the clients ask, one operation at a time. `Send`, as
/// [`Operation`]: the madsim driver's world holds it.
pub trait Workload: Send {
    type Op: Operation;

    /// The next operation client number `client` (0 for the first client)
    /// asks for: the key it names (the empty string for a protocol with one
    /// object) and the operation. `rng` is the run's workload stream: draw
    /// everything from it, so a seed gives the same operations.
    fn next(&mut self, client: usize, rng: &mut dyn RngCore) -> (String, Self::Op);

    /// Client `client`'s operation completed `ok`; what it learnt may shape
    /// what it asks next.
    fn completed(&mut self, _client: usize, _op: &Op<Self::Op>) {}

    /// A copy in its present state, for `chaoslab explore`, which forks a
    /// run at every choice. `None` (the default): the protocol cannot be
    /// explored until its workload says how it is copied (a `Clone`
    /// workload returns `Some(Box::new(self.clone()))`).
    fn fork(&self) -> Option<Box<dyn Workload<Op = Self::Op>>> {
        None
    }
}

/// How many key names [`KvWorkload`] keeps written.
const NAMED_KEYS: usize = 4096;

/// The key-value workload, from the scenario's `[workload]`: keys `k0..` drawn
/// uniformly or by a Zipf law, the operation by the `mix` shares, written
/// values fresh integers 2, 3, ..., and a cas expecting the last value its
/// client saw or wrote on that key.
#[derive(Clone)]
pub struct KvWorkload {
    keys: u32,
    zipf: Option<Zipf<f64>>,
    /// get, put, cas, append, delete.
    shares: [f64; 5],
    next_value: i64,
    /// Per client, the last value it saw or wrote per key index.
    last_seen: Vec<BTreeMap<u32, i64>>,
    /// Each key's name (`k7`), written once when first drawn: an operation
    /// copies the name instead of formatting it again.
    names: Vec<String>,
}

impl KvWorkload {
    pub fn new(scenario: &Scenario) -> KvWorkload {
        let w = &scenario.workload;
        let zipf = match w.key_dist {
            KeyDist::Zipf => Some(
                Zipf::new(*w.keys.get_ref() as u64, *w.zipf_exponent.get_ref())
                    .expect("checked when the scenario was parsed"),
            ),
            KeyDist::Uniform => None,
        };
        let mix = w.mix.get_ref();
        KvWorkload {
            keys: *w.keys.get_ref(),
            zipf,
            shares: [mix.get, mix.put, mix.cas, mix.append, mix.delete],
            next_value: 1,
            last_seen: Vec::new(),
            names: Vec::new(),
        }
    }

    fn fresh_value(&mut self) -> i64 {
        self.next_value += 1;
        self.next_value
    }

    /// Key `key_index`'s name. The first [`NAMED_KEYS`] names are kept once
    /// written (most workloads use far fewer keys); the rest are formatted
    /// each time, so a huge key space costs no memory.
    fn name(&mut self, key_index: u32) -> String {
        let i = key_index as usize;
        if i >= NAMED_KEYS {
            return format!("k{key_index}");
        }
        if self.names.len() <= i {
            let from = self.names.len();
            self.names.extend((from..=i).map(|k| format!("k{k}")));
        }
        self.names[i].clone()
    }

    fn seen(&mut self, client: usize) -> &mut BTreeMap<u32, i64> {
        if self.last_seen.len() <= client {
            self.last_seen.resize_with(client + 1, BTreeMap::new);
        }
        &mut self.last_seen[client]
    }
}

impl Workload for KvWorkload {
    type Op = OpFn;

    fn fork(&self) -> Option<Box<dyn Workload<Op = OpFn>>> {
        Some(Box::new(self.clone()))
    }

    fn next(&mut self, client: usize, rng: &mut dyn RngCore) -> (String, OpFn) {
        let key_index = match &self.zipf {
            Some(z) => z.sample(rng) as u32 - 1,
            None => rng.gen_range(0..self.keys),
        };
        let total: f64 = self.shares.iter().sum();
        let mut pick = rng.gen::<f64>() * total;
        let mut which = 0;
        for (i, s) in self.shares.iter().enumerate() {
            if pick < *s {
                which = i;
                break;
            }
            pick -= s;
            which = i;
        }
        let f = match which {
            0 => OpFn::Read,
            1 => OpFn::Write(Value::Int(self.fresh_value())),
            2 => {
                let expected = match self.seen(client).get(&key_index) {
                    Some(v) => Value::Int(*v),
                    None => Value::Nil,
                };
                OpFn::Cas {
                    expected,
                    new: Value::Int(self.fresh_value()),
                }
            }
            3 => OpFn::Append(Value::Int(self.fresh_value())),
            _ => OpFn::Delete,
        };
        (self.name(key_index), f)
    }

    fn completed(&mut self, client: usize, op: &Op<OpFn>) {
        let key_index: u32 = op.key[1..].parse().unwrap_or(0);
        let seen = match (&op.f, &op.output) {
            (OpFn::Read, Some(Value::Int(v))) => Some(*v),
            (OpFn::Write(Value::Int(v)), _) => Some(*v),
            (
                OpFn::Cas {
                    new: Value::Int(v), ..
                },
                _,
            ) => Some(*v),
            _ => None,
        };
        if let Some(v) = seen {
            self.seen(client).insert(key_index, v);
        }
    }
}
