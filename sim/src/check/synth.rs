//! Synthetic histories for benchmarks and tests: clients run operations against
//! a real atomic key-value store, each taking effect at a random instant inside
//! its interval, so the history is linearizable by construction.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Model, ModelKind};
use crate::history::{History, Op, OpFn, Outcome, Value};

/// A linearizable kv history of `n_ops` operations over keys `k0..k{n_keys}`
/// from `n_clients` concurrent clients (reads, writes, cas, appends), with a
/// few unknown (`info`) writes. The same seed gives the same history.
pub fn linearizable_kv_history(
    seed: u64,
    n_ops: usize,
    n_keys: usize,
    n_clients: usize,
) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_clients = n_clients.max(1);
    let n_keys = n_keys.max(1);
    let mut next_free = vec![0u64; n_clients];
    let mut ops = Vec::with_capacity(n_ops);
    // (instant it took effect, op index, whether it took effect)
    let mut points = Vec::with_capacity(n_ops);
    for i in 0..n_ops {
        let c = i % n_clients;
        let call = next_free[c] + rng.gen_range(0..1_000);
        let ret = call + rng.gen_range(100..5_000);
        next_free[c] = ret;
        let key = format!("k{}", rng.gen_range(0..n_keys));
        let f = match rng.gen_range(0..10) {
            0..=4 => OpFn::Read,
            5..=7 => OpFn::Write(Value::Int(rng.gen_range(0..5))),
            8 => OpFn::Cas {
                expected: Value::Int(rng.gen_range(0..5)),
                new: Value::Int(rng.gen_range(0..5)),
            },
            _ => OpFn::Append(Value::Int(rng.gen_range(0..5))),
        };
        let info = !matches!(f, OpFn::Read) && rng.gen_range(0..100) == 0;
        let outcome = if info { Outcome::Info } else { Outcome::Ok };
        let took_effect = !info || rng.gen_bool(0.5);
        points.push((rng.gen_range(call..=ret), i, took_effect));
        ops.push(Op {
            process: c as u64,
            key,
            f,
            output: None,
            outcome,
            call_ns: call,
            return_ns: if info { None } else { Some(ret) },
            found_other: false,
        });
        if info {
            // A client that timed out is replaced by a fresh one (Jepsen's rule),
            // modelled by moving this client's clock far ahead.
            next_free[c] = ret + 10_000;
        }
    }
    points.sort_unstable();
    let model = ModelKind::Kv.model();
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    for (_, i, took_effect) in points {
        if !took_effect {
            continue;
        }
        let op = &mut ops[i];
        let cur = store.get(&op.key).cloned().unwrap_or(Value::Nil);
        if let (OpFn::Cas { expected, .. }, Outcome::Ok) = (&op.f, op.outcome) {
            if !super::model::same_value(expected, &cur) {
                op.outcome = Outcome::Fail;
                continue;
            }
        }
        if matches!(op.f, OpFn::Read) {
            op.output = Some(cur.clone());
        }
        let next = model
            .step(&cur, &op.f, op.output.as_ref(), op.outcome)
            .expect("a real execution is accepted");
        store.insert(op.key.clone(), next);
    }
    History { ops }
}
