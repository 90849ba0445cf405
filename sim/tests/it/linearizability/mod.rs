//! The linearizability checker on small hand-made histories, and its agreement
//! with a brute-force enumeration of every order on random small histories;
//! the weak-consistency report on hand-made histories.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::check::model::Model;
use sim::check::{check_linearizable, Budget, Explanation, ModelKind, UnknownCause, Verdict};
use sim::history::{History, Op, OpFn, Outcome, Value};

mod brute_force;
mod hand_made;
mod pruning;
mod weak;

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
/// A history written one operation a word, `process:op@call-return`:
/// `0:w1@0-10` writes 1, `1:r1@20-30` reads 1 (`r-` reads nil, `r[2,1]` a
/// list), `2:a3@..` appends 3, `0:d@..` deletes and `1:c1>2@..` is a cas of
/// 1 to 2; a key goes before the operation (`0:a:w1@0-10`), else it is "".
/// With no return time (`@5-`) the operation never completed (info); a `!`
/// after the return marks a failure, a `?` a cas that found another value.
fn h(text: &str) -> Vec<Op> {
    text.split_whitespace().map(parse_op).collect()
}

fn parse_op(word: &str) -> Op {
    let bad = || -> ! { panic!("not an operation: {word}") };
    let num = |s: &str| s.parse::<i64>().unwrap_or_else(|_| bad());
    let time = |s: &str| s.parse::<u64>().unwrap_or_else(|_| bad());
    let (process, rest) = word.split_once(':').unwrap_or_else(|| bad());
    let (key, rest) = rest.split_once(':').unwrap_or(("", rest));
    let (f, times) = rest.split_once('@').unwrap_or_else(|| bad());
    let (times, mark) = match times.strip_suffix(['!', '?']) {
        Some(t) => (t, times.chars().last()),
        None => (times, None),
    };
    let (call, ret) = times.split_once('-').unwrap_or_else(|| bad());
    let ret = (!ret.is_empty()).then(|| time(ret));
    let (f, output) = match f.split_at(1) {
        ("w", v) => (OpFn::Write(Value::Int(num(v))), None),
        ("a", v) => (OpFn::Append(Value::Int(num(v))), None),
        ("d", "") => (OpFn::Delete, None),
        ("c", v) => {
            let (from, to) = v.split_once('>').unwrap_or_else(|| bad());
            let (expected, new) = (Value::Int(num(from)), Value::Int(num(to)));
            (OpFn::Cas { expected, new }, None)
        }
        ("r", "-") => (OpFn::Read, Some(Value::Nil)),
        ("r", v) => match v.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            Some(l) => {
                let list = l.split(',').filter(|e| !e.is_empty()).map(num).collect();
                (OpFn::Read, Some(Value::List(list)))
            }
            None => (OpFn::Read, Some(Value::Int(num(v)))),
        },
        _ => bad(),
    };
    let outcome = match (mark, ret) {
        (Some(_), _) => Outcome::Fail,
        (None, Some(_)) => Outcome::Ok,
        (None, None) => Outcome::Info,
    };
    let process = time(process);
    let mut o = op(process, key, f, output, outcome, time(call), ret);
    o.found_other = mark == Some('?');
    o
}

/// Checks each (what it shows, model, history in [`h`]'s notation, whether
/// it is linearizable: else it must be a violation).
fn assert_verdicts(cases: &[(&str, ModelKind, &str, bool)]) {
    for &(what, model, history, linearizable) in cases {
        let v = check(h(history), model);
        let right = if linearizable {
            v.is_linearizable()
        } else {
            v.is_violation()
        };
        assert!(right, "{what}: {history} with the {model:?} model: {v}");
    }
}

/// The explanation of the violation `history` (in [`h`]'s notation) must be.
fn violation(history: &str, model: ModelKind) -> Explanation {
    match check(h(history), model) {
        Verdict::NotLinearizable { explanation } => explanation,
        v => panic!("{history} must be a violation with the {model:?} model, got {v}"),
    }
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
