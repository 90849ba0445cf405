//! The linearizability checker on small hand-made histories, and its agreement
//! with a brute-force enumeration of every order on random small histories.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::check::model::Model;
use sim::check::{check_linearizable, Budget, ModelKind, UnknownCause, Verdict};
use sim::history::{History, Op, OpFn, Outcome, Value};

mod brute_force;
mod hand_made;
mod pruning;

fn op(
    process: u64,
    key: &str,
    f: OpFn,
    output: Option<Value>,
    outcome: Outcome,
    call: u64,
    ret: Option<u64>,
) -> Op {
    Op {
        process,
        key: key.into(),
        f,
        output,
        outcome,
        call_ns: call,
        return_ns: ret,
        found_other: false,
    }
}
fn w(p: u64, v: i64, call: u64, ret: u64) -> Op {
    op(
        p,
        "",
        OpFn::Write(Value::Int(v)),
        None,
        Outcome::Ok,
        call,
        Some(ret),
    )
}
fn r(p: u64, v: Option<i64>, call: u64, ret: u64) -> Op {
    let out = v.map_or(Value::Nil, Value::Int);
    op(p, "", OpFn::Read, Some(out), Outcome::Ok, call, Some(ret))
}
fn cas(p: u64, from: i64, to: i64, outcome: Outcome, call: u64, ret: Option<u64>) -> Op {
    op(
        p,
        "",
        OpFn::Cas {
            expected: Value::Int(from),
            new: Value::Int(to),
        },
        None,
        outcome,
        call,
        ret,
    )
}
/// A write of `v` by process `p` that never completed (`info`).
fn crashed_w(p: u64, v: i64, call: u64) -> Op {
    op(
        p,
        "",
        OpFn::Write(Value::Int(v)),
        None,
        Outcome::Info,
        call,
        None,
    )
}
fn check(ops: Vec<Op>, model: ModelKind) -> Verdict {
    check_linearizable(&History { ops }, model, Budget::default()).verdict
}

/// A cas that answered "the key holds another value".
fn found_other(p: u64, from: i64, to: i64, call: u64, ret: u64) -> Op {
    let mut o = cas(p, from, to, Outcome::Fail, call, Some(ret));
    o.found_other = true;
    o
}
