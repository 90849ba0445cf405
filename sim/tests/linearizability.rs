//! The linearizability checker on small hand-made histories, and its agreement
//! with a brute-force enumeration of every order on random small histories.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::check::model::Model;
use sim::check::{check_linearizable, Budget, ModelKind, UnknownCause, Verdict};
use sim::history::{History, Op, OpFn, Outcome, Value};

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
fn check(ops: Vec<Op>, model: ModelKind) -> Verdict {
    check_linearizable(&History { ops }, model, Budget::default()).verdict
}

#[test]
fn sequential_write_then_read_is_linearizable() {
    assert!(check(
        vec![w(0, 1, 0, 10), r(1, Some(1), 20, 30)],
        ModelKind::Register
    )
    .is_linearizable());
}

#[test]
fn a_read_of_the_old_value_after_a_completed_write_is_a_violation() {
    let v = check(
        vec![w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, Some(1), 40, 50)],
        ModelKind::Register,
    );
    let Verdict::NotLinearizable { explanation } = v else {
        panic!("expected a violation, got {v}")
    };
    assert_eq!(explanation.blocked_index, 2);
    assert_eq!(explanation.could_have_seen, vec!["2".to_string()]);
    assert_eq!(explanation.prefix.len(), 2);
    let text = explanation.to_string();
    assert!(text.contains("c1 read -> 1"), "{text}");
}

#[test]
fn concurrent_reads_may_see_either_side_of_a_write() {
    let ops = vec![
        w(0, 1, 0, 5),
        w(0, 2, 10, 40),
        r(1, Some(2), 15, 20),
        r(2, Some(2), 21, 25),
        r(3, Some(2), 30, 35),
    ];
    assert!(check(ops, ModelKind::Register).is_linearizable());
    // Once a read saw the new value, a later read cannot go back in time.
    let ops = vec![
        w(0, 1, 0, 5),
        w(0, 2, 10, 40),
        r(1, Some(2), 15, 20),
        r(2, Some(1), 21, 25),
    ];
    assert!(check(ops, ModelKind::Register).is_violation());
}

#[test]
fn an_info_write_may_take_effect_long_after_its_invocation() {
    let info = op(
        0,
        "",
        OpFn::Write(Value::Int(7)),
        None,
        Outcome::Info,
        0,
        None,
    );
    let ops = vec![
        info,
        w(1, 1, 10, 20),
        r(2, Some(1), 30, 40),
        r(2, Some(7), 50, 60),
    ];
    assert!(check(ops, ModelKind::Register).is_linearizable());
}

#[test]
fn an_info_write_may_never_take_effect() {
    let info = op(
        0,
        "",
        OpFn::Write(Value::Int(7)),
        None,
        Outcome::Info,
        0,
        None,
    );
    let ops = vec![
        info,
        r(2, None, 30, 40),
        w(1, 1, 50, 60),
        r(2, Some(1), 70, 80),
    ];
    assert!(check(ops, ModelKind::Register).is_linearizable());
}

#[test]
fn an_info_write_cannot_take_effect_before_its_invocation() {
    let info = op(
        0,
        "",
        OpFn::Write(Value::Int(7)),
        None,
        Outcome::Info,
        50,
        None,
    );
    assert!(check(vec![r(1, Some(7), 0, 10), info], ModelKind::Register).is_violation());
}

#[test]
fn a_failed_write_never_took_effect() {
    let failed = op(
        0,
        "",
        OpFn::Write(Value::Int(7)),
        None,
        Outcome::Fail,
        0,
        Some(10),
    );
    assert!(check(
        vec![failed.clone(), r(1, None, 20, 30)],
        ModelKind::Register
    )
    .is_linearizable());
    assert!(check(vec![failed, r(1, Some(7), 20, 30)], ModelKind::Register).is_violation());
}

#[test]
fn a_successful_cas_needs_the_expected_value() {
    let ok = vec![
        w(0, 1, 0, 10),
        cas(1, 1, 2, Outcome::Ok, 20, Some(30)),
        r(2, Some(2), 40, 50),
    ];
    assert!(check(ok, ModelKind::CasRegister).is_linearizable());
    let bad = vec![w(0, 1, 0, 10), cas(1, 3, 2, Outcome::Ok, 20, Some(30))];
    assert!(check(bad, ModelKind::CasRegister).is_violation());
}

#[test]
fn an_info_cas_may_or_may_not_have_applied() {
    let info = cas(1, 1, 2, Outcome::Info, 20, None);
    let applied = vec![w(0, 1, 0, 10), info.clone(), r(2, Some(2), 40, 50)];
    assert!(check(applied, ModelKind::CasRegister).is_linearizable());
    let not_applied = vec![w(0, 1, 0, 10), info, r(2, Some(1), 40, 50)];
    assert!(check(not_applied, ModelKind::CasRegister).is_linearizable());
}

#[test]
fn the_register_model_does_not_know_cas() {
    let v = check(
        vec![cas(1, 1, 2, Outcome::Ok, 0, Some(1))],
        ModelKind::Register,
    );
    assert!(matches!(v, Verdict::Unknown { .. }), "{v}");
}

#[test]
fn kv_appends_build_lists_and_deletes_clear_them() {
    let a = |p, x, c, rt| {
        op(
            p,
            "k",
            OpFn::Append(Value::Int(x)),
            None,
            Outcome::Ok,
            c,
            Some(rt),
        )
    };
    let rd = |p, v: Value, c, rt| op(p, "k", OpFn::Read, Some(v), Outcome::Ok, c, Some(rt));
    let ops = vec![
        a(0, 1, 0, 10),
        a(1, 2, 5, 15),
        rd(2, Value::List(vec![2, 1]), 20, 30),
        op(0, "k", OpFn::Delete, None, Outcome::Ok, 40, Some(50)),
        rd(2, Value::Nil, 60, 70),
    ];
    assert!(check(ops.clone(), ModelKind::Kv).is_linearizable());
    let mut lost = ops;
    lost[2] = rd(2, Value::List(vec![1]), 20, 30);
    assert!(check(lost, ModelKind::Kv).is_violation());
}

#[test]
fn kv_keys_are_checked_independently_and_the_violation_names_its_key() {
    let put = |p, k: &str, v, c, rt| {
        op(
            p,
            k,
            OpFn::Write(Value::Int(v)),
            None,
            Outcome::Ok,
            c,
            Some(rt),
        )
    };
    let get = |p, k: &str, v, c, rt| {
        op(
            p,
            k,
            OpFn::Read,
            Some(Value::Int(v)),
            Outcome::Ok,
            c,
            Some(rt),
        )
    };
    let ops = vec![
        put(0, "a", 1, 0, 10),
        put(1, "b", 2, 0, 10),
        get(2, "a", 1, 20, 30),
        get(2, "b", 1, 40, 50),
    ];
    let Verdict::NotLinearizable { explanation } = check(ops, ModelKind::Kv) else {
        panic!("expected a violation")
    };
    assert_eq!(explanation.key, "b");
}

#[test]
fn a_tiny_step_budget_answers_unknown_never_a_wrong_verdict() {
    let mut ops = Vec::new();
    for i in 0..40 {
        ops.push(w(i, i as i64, 0, 100));
    }
    ops.push(r(99, Some(-1), 200, 300));
    let report = check_linearizable(&History { ops }, ModelKind::Register, Budget::steps(50));
    assert!(
        matches!(
            report.verdict,
            Verdict::Unknown {
                cause: UnknownCause::Steps,
                ..
            }
        ),
        "{}",
        report.verdict
    );
}

#[test]
fn an_expired_deadline_answers_unknown() {
    let mut ops = Vec::new();
    for i in 0..30 {
        ops.push(w(i, i as i64, 0, 100));
    }
    ops.push(r(99, Some(-1), 200, 300));
    let expired = || true;
    let budget = Budget {
        max_steps: u64::MAX,
        expired: Some(&expired),
        ..Budget::default()
    };
    let report = check_linearizable(&History { ops }, ModelKind::Register, budget);
    assert!(
        matches!(
            report.verdict,
            Verdict::Unknown {
                cause: UnknownCause::Deadline,
                ..
            }
        ),
        "{}",
        report.verdict
    );
}

#[test]
fn large_synthetic_histories_are_linearizable_and_clean() {
    for seed in 0..5 {
        let h = sim::check::synth::linearizable_kv_history(seed, 5_000, 20, 10);
        let report = check_linearizable(&h, ModelKind::Kv, Budget::default());
        assert!(report.verdict.is_linearizable(), "seed {seed}: {report}");
        let weak = sim::check::check_weak(&h);
        assert!(weak.is_clean(), "seed {seed}: {weak}");
    }
}

#[test]
fn a_memo_past_its_memory_limit_answers_unknown() {
    let mut ops = Vec::new();
    for i in 0..40 {
        ops.push(w(i, i as i64, 0, 100));
    }
    ops.push(r(99, Some(-1), 200, 300));
    let budget = Budget {
        max_memo_bytes: 10_000,
        ..Budget::default()
    };
    let report = check_linearizable(&History { ops }, ModelKind::Register, budget);
    let Verdict::Unknown { reason, cause } = &report.verdict else {
        panic!("{}", report.verdict)
    };
    assert!(reason.contains("memo"), "{reason}");
    assert_eq!(*cause, UnknownCause::Memory);
}

#[test]
fn a_long_single_key_history_does_not_overflow_the_stack() {
    let ops: Vec<Op> = (0..20_000)
        .map(|i| w(0, i, 2 * i as u64, 2 * i as u64 + 1))
        .collect();
    assert!(check(ops, ModelKind::Register).is_linearizable());
}

// ---------------------------------------------------------------------------
// Agreement with brute force.

/// Is there an order of all completed operations plus some of the unknown ones
/// that respects real time and the kv model, with ALL keys in one state (no
/// per-key splitting, so this also checks P-compositionality)?
fn brute_force(history: &History) -> bool {
    let model = ModelKind::Kv.model();
    let ops: Vec<&Op> = history
        .ops
        .iter()
        .filter(|o| {
            (o.outcome != Outcome::Fail || o.found_other)
                && !(matches!(o.f, OpFn::Read) && (o.outcome != Outcome::Ok || o.output.is_none()))
        })
        .collect();
    let ret = |o: &Op| {
        if done(o) {
            o.return_ns.unwrap_or(u64::MAX)
        } else {
            u64::MAX
        }
    };
    fn go(
        ops: &[&Op],
        used: &mut Vec<bool>,
        state: &BTreeMap<String, Value>,
        model: &sim::check::ValueModel,
        ret: &dyn Fn(&Op) -> u64,
    ) -> bool {
        // Done once every completed operation is placed (unknown ones may never happen).
        if ops.iter().zip(used.iter()).all(|(o, &u)| u || !done(o)) {
            return true;
        }
        for i in 0..ops.len() {
            if used[i] {
                continue;
            }
            // Real time: nothing still unplaced and completed may have returned before i began.
            let blocked = ops
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && !used[j] && done(o) && ret(o) < ops[i].call_ns);
            if blocked {
                continue;
            }
            let cur = state.get(&ops[i].key).cloned().unwrap_or(Value::Nil);
            if let Some(next) = model.step(&cur, &ops[i].f, ops[i].output.as_ref(), ops[i].outcome)
            {
                let mut s = state.clone();
                s.insert(ops[i].key.clone(), next);
                used[i] = true;
                if go(ops, used, &s, model, ret) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    let mut used = vec![false; ops.len()];
    go(&ops, &mut used, &BTreeMap::new(), &model, &ret)
}

/// Completed: an `ok`, or a cas that found another value (an observation).
fn done(o: &Op) -> bool {
    o.outcome == Outcome::Ok || (o.outcome == Outcome::Fail && o.found_other)
}

/// A random small history: clients run operations against a real atomic store
/// at random points inside their intervals, then some reads are corrupted.
fn random_history(rng: &mut ChaCha8Rng) -> History {
    let n_ops = rng.gen_range(1..=7);
    let keys = ["x", "y"];
    let mut ops = Vec::new();
    let mut next_free = [0u64; 3];
    let mut points = Vec::new();
    for _ in 0..n_ops {
        let p = rng.gen_range(0..3usize);
        let call = next_free[p] + rng.gen_range(0..4);
        let ret = call + rng.gen_range(0..6);
        next_free[p] = ret + 1;
        let n_keys = if rng.gen_bool(0.7) { 1 } else { 2 };
        let key = keys[rng.gen_range(0..n_keys)];
        let f = match rng.gen_range(0..6) {
            0 | 1 => OpFn::Read,
            2 => OpFn::Write(Value::Int(rng.gen_range(0..3))),
            3 => OpFn::Cas {
                expected: Value::Int(rng.gen_range(0..3)),
                new: Value::Int(rng.gen_range(0..3)),
            },
            4 => OpFn::Append(Value::Int(rng.gen_range(0..3))),
            _ => OpFn::Delete,
        };
        let outcome = match rng.gen_range(0..10) {
            0 => Outcome::Fail,
            1 => Outcome::Info,
            _ => Outcome::Ok,
        };
        // Where it really took effect (twice the resolution, so points are distinct-ish).
        let point = 2 * call + rng.gen_range(0..=2 * (ret - call));
        let took_effect = match outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Info => rng.gen_bool(0.5),
        };
        points.push((point, ops.len(), took_effect));
        ops.push(op(p as u64, key, f, None, outcome, call, Some(ret)));
    }
    // Replay in order of the real points to compute outputs and cas results.
    points.sort();
    let model = ModelKind::Kv.model();
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    for (_, i, took_effect) in points {
        if !took_effect {
            continue;
        }
        let o = &mut ops[i];
        let cur = store.get(&o.key).cloned().unwrap_or(Value::Nil);
        if let OpFn::Cas { expected, .. } = &o.f {
            if !sim::check::model::same_value(expected, &cur) && o.outcome == Outcome::Ok {
                // It found another value: said so (an observation), or
                // recorded as "did not happen".
                o.outcome = Outcome::Fail;
                o.found_other = i % 2 == 0;
                continue;
            }
        }
        if matches!(o.f, OpFn::Read) && o.outcome == Outcome::Ok {
            o.output = Some(cur.clone());
        }
        let next = model
            .step(&cur, &o.f, o.output.as_ref(), o.outcome)
            .expect("a real execution is accepted");
        store.insert(o.key.clone(), next);
    }
    for o in &mut ops {
        if o.outcome == Outcome::Info {
            o.return_ns = None;
        }
        if matches!(o.f, OpFn::Read) && o.outcome == Outcome::Ok && rng.gen_bool(0.5) {
            o.output = Some(match rng.gen_range(0..3) {
                0 => Value::Nil,
                1 => Value::Int(rng.gen_range(0..3)),
                _ => Value::List(vec![rng.gen_range(0..3)]),
            });
        }
        // A cas that claims it found another value, perhaps wrongly.
        if matches!(o.f, OpFn::Cas { .. }) && o.outcome == Outcome::Ok && rng.gen_bool(0.2) {
            o.outcome = Outcome::Fail;
            o.found_other = true;
        }
    }
    History { ops }
}

#[test]
fn the_search_agrees_with_brute_force_on_2000_random_small_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x11_7e_a4);
    let (mut yes, mut no) = (0, 0);
    for case in 0..2000 {
        let history = random_history(&mut rng);
        let expected = brute_force(&history);
        let verdict = check_linearizable(&history, ModelKind::Kv, Budget::default()).verdict;
        assert!(
            !matches!(verdict, Verdict::Unknown { .. }),
            "case {case}: {verdict}"
        );
        assert_eq!(
            verdict.is_linearizable(),
            expected,
            "case {case}: brute force says {expected}, search says {verdict}\n{}",
            history.to_jsonl()
        );
        if expected {
            // Every weaker anomaly is impossible in a linearizable history, so
            // any reported here would be a false alarm.
            let weak = sim::check::check_weak(&history);
            assert!(
                weak.is_clean(),
                "case {case}: linearizable but\n{weak}\n{}",
                history.to_jsonl()
            );
            yes += 1;
        } else {
            no += 1;
        }
    }
    // Both answers must be well represented, or the test proves little.
    assert!(yes > 500 && no > 500, "linearizable {yes}, not {no}");
}

/// A random small register history rich in crashed writes of values nobody
/// read, the case the search prunes: writes of fresh values, reads of the
/// real value (sometimes corrupted), cas operations that may say they found
/// another value.
fn random_register_history(rng: &mut ChaCha8Rng) -> History {
    let n_ops = rng.gen_range(2..=8);
    let mut ops = Vec::new();
    let mut next_free = [0u64; 4];
    let mut points = Vec::new();
    for n in 0..n_ops {
        let p = rng.gen_range(0..4usize);
        let call = next_free[p] + rng.gen_range(0..4);
        let ret = call + rng.gen_range(0..6);
        next_free[p] = ret + 1;
        let f = match rng.gen_range(0..5) {
            0 | 1 => OpFn::Read,
            2 | 3 => OpFn::Write(Value::Int(n as i64 % 5)),
            _ => OpFn::Cas {
                expected: Value::Int(rng.gen_range(0..5)),
                new: Value::Int(rng.gen_range(0..5)),
            },
        };
        let outcome = match rng.gen_range(0..10) {
            0..=3 if !matches!(f, OpFn::Read) => Outcome::Info,
            _ => Outcome::Ok,
        };
        let point = 2 * call + rng.gen_range(0..=2 * (ret - call));
        let took_effect = outcome == Outcome::Ok || rng.gen_bool(0.5);
        points.push((point, ops.len(), took_effect));
        ops.push(op(p as u64, "", f, None, outcome, call, Some(ret)));
    }
    points.sort();
    let mut cur = Value::Nil;
    for (_, i, took_effect) in points {
        let o = &mut ops[i];
        if !took_effect {
            continue;
        }
        match &o.f {
            OpFn::Read => o.output = Some(cur.clone()),
            OpFn::Write(v) => cur = v.clone(),
            OpFn::Cas { expected, new } => {
                if *expected == cur {
                    cur = new.clone();
                } else if o.outcome == Outcome::Ok {
                    o.outcome = Outcome::Fail;
                    o.found_other = true;
                }
            }
            _ => {}
        }
    }
    for o in &mut ops {
        if o.outcome == Outcome::Info {
            o.return_ns = None;
        }
        if matches!(o.f, OpFn::Read) && rng.gen_bool(0.25) {
            o.output = Some(Value::Int(rng.gen_range(0..5)));
        }
        if matches!(o.f, OpFn::Cas { .. }) && o.outcome == Outcome::Ok && rng.gen_bool(0.15) {
            o.outcome = Outcome::Fail;
            o.found_other = true;
        }
    }
    History { ops }
}

#[test]
fn pruning_crashed_writes_and_placing_reads_greedily_agree_with_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x9e_11_5a);
    let (mut yes, mut no, mut pruned) = (0, 0, 0);
    for case in 0..3000 {
        let history = random_register_history(&mut rng);
        let expected = brute_force(&history);
        let report = check_linearizable(&history, ModelKind::CasRegister, Budget::default());
        assert_eq!(
            report.verdict.is_linearizable(),
            expected,
            "case {case}: brute force says {expected}, search says {}\n{}",
            report.verdict,
            history.to_jsonl()
        );
        assert!(!matches!(report.verdict, Verdict::Unknown { .. }));
        pruned += usize::from(report.ops_pruned > 0);
        if expected {
            yes += 1;
        } else {
            no += 1;
        }
    }
    assert!(
        yes > 500 && no > 500 && pruned > 300,
        "linearizable {yes}, not {no}, pruned in {pruned}"
    );
}

/// A random small list history on one key, rich in crashed appends whose
/// element no read returned (the case `prune_unobserved_appends` sets aside):
/// number appends, writes, deletes and reads run against a real list at a
/// random point inside their interval, then some reads are corrupted (an
/// element dropped or added). Now and then a string append or a cas, which
/// must turn the pruning off.
fn random_append_history(rng: &mut ChaCha8Rng) -> History {
    let n_ops = rng.gen_range(2..=8);
    let mut ops = Vec::new();
    let mut next_free = [0u64; 4];
    let mut points = Vec::new();
    for n in 0..n_ops {
        let p = rng.gen_range(0..4usize);
        let call = next_free[p] + rng.gen_range(0..4);
        let ret = call + rng.gen_range(0..6);
        next_free[p] = ret + 1;
        let f = match rng.gen_range(0..20) {
            0..=5 => OpFn::Read,
            6..=13 => OpFn::Append(Value::Int(n as i64)),
            14..=16 => OpFn::Write(Value::Int(100 + n as i64)),
            17 => OpFn::Delete,
            18 => OpFn::Append(Value::Str("s".into())),
            _ => OpFn::Cas {
                expected: Value::Nil,
                new: Value::Int(200 + n as i64),
            },
        };
        let outcome = match rng.gen_range(0..10) {
            0..=4 if !matches!(f, OpFn::Read) => Outcome::Info,
            _ => Outcome::Ok,
        };
        let point = 2 * call + rng.gen_range(0..=2 * (ret - call));
        let took_effect = outcome == Outcome::Ok || rng.gen_bool(0.5);
        points.push((point, ops.len(), took_effect));
        ops.push(op(p as u64, "", f, None, outcome, call, Some(ret)));
    }
    points.sort();
    let model = ModelKind::Kv.model();
    let mut cur = Value::Nil;
    for (_, i, took_effect) in points {
        let o = &mut ops[i];
        if !took_effect {
            continue;
        }
        if matches!(o.f, OpFn::Read) {
            o.output = Some(cur.clone());
            continue;
        }
        match model.step(&cur, &o.f, None, o.outcome) {
            Some(next) => cur = next,
            // A cas that did not find nil.
            None => {
                o.outcome = Outcome::Fail;
                o.found_other = true;
            }
        }
    }
    for o in &mut ops {
        if o.outcome == Outcome::Info {
            o.return_ns = None;
        }
        if matches!(o.f, OpFn::Read) && rng.gen_bool(0.25) {
            let mut l = match o.output.take() {
                Some(Value::List(l)) => l,
                _ => Vec::new(),
            };
            if !l.is_empty() && rng.gen_bool(0.5) {
                l.remove(rng.gen_range(0..l.len()));
            } else {
                l.push(rng.gen_range(0..n_ops as i64));
            }
            o.output = Some(if l.is_empty() {
                Value::Nil
            } else {
                Value::List(l)
            });
        }
    }
    History { ops }
}

#[test]
fn setting_aside_crashed_appends_nobody_saw_agrees_with_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x00a9_9e4d);
    let (mut yes, mut no, mut pruned) = (0, 0, 0);
    for case in 0..4000 {
        let history = random_append_history(&mut rng);
        let expected = brute_force(&history);
        let report = check_linearizable(&history, ModelKind::Kv, Budget::default());
        assert_eq!(
            report.verdict.is_linearizable(),
            expected,
            "case {case}: brute force says {expected}, search says {}\n{}",
            report.verdict,
            history.to_jsonl()
        );
        pruned += usize::from(report.ops_pruned > 0);
        if expected {
            yes += 1;
        } else {
            no += 1;
        }
    }
    assert!(
        yes > 500 && no > 500 && pruned > 500,
        "linearizable {yes}, not {no}, pruned in {pruned}"
    );
}

#[test]
fn a_crashed_append_is_set_aside_only_if_no_read_saw_its_element_and_no_cas_or_string_append_could_tell(
) {
    let app = |p, e: i64, outcome, call, ret| {
        op(p, "", OpFn::Append(Value::Int(e)), None, outcome, call, ret)
    };
    let read = |p, l: Vec<i64>, call, ret| {
        op(
            p,
            "",
            OpFn::Read,
            Some(Value::List(l)),
            Outcome::Ok,
            call,
            Some(ret),
        )
    };
    let pruned = |ops: Vec<Op>| {
        check_linearizable(&History { ops }, ModelKind::Kv, Budget::default()).ops_pruned
    };
    // 40 crashed appends nobody saw, between reads of [1]: set aside, one search step each.
    let mut ops = vec![app(0, 1, Outcome::Ok, 0, Some(1))];
    for i in 0..40 {
        ops.push(app(i + 1, 100 + i as i64, Outcome::Info, 2, None));
    }
    ops.push(read(99, vec![1], 3, 4));
    assert_eq!(pruned(ops.clone()), 40);
    // A read that saw one of them keeps it; one that returned before it began does not.
    let mut seen = ops.clone();
    seen.push(read(98, vec![1, 100], 5, 6));
    assert_eq!(pruned(seen), 39);
    let mut before = vec![read(97, vec![100], 0, 1)];
    before.extend(ops.clone());
    assert_eq!(
        pruned(before),
        40,
        "the read of [100] returned before the append of 100 began"
    );
    // A cas or a string append on the key turns it off.
    let mut with_cas = ops.clone();
    with_cas.push(cas(96, 1, 2, Outcome::Info, 5, None));
    assert_eq!(pruned(with_cas), 0);
    let mut with_str = ops;
    with_str.push(op(
        95,
        "",
        OpFn::Append(Value::Str("x".into())),
        None,
        Outcome::Info,
        5,
        None,
    ));
    assert_eq!(pruned(with_str), 0);
}

#[test]
fn the_explanation_reads_like_a_lesson() {
    let v = check(
        vec![w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, Some(1), 40, 50)],
        ModelKind::Register,
    );
    let expected = "NOT linearizable
the register (register model) is not linearizable.
The longest order of its operations consistent with real time and the model has 2 operation(s), starting from nil:
  #0      c0 write 1                   => 1
  #1      c0 write 2                   => 2
Then #2 `c1 read -> 1` cannot be placed:
  it returned before any consistent order could include it; where it could have taken effect, the value was 2.";
    assert_eq!(v.to_string(), expected);
}

/// A cas that answered "the key holds another value".
fn found_other(p: u64, from: i64, to: i64, call: u64, ret: u64) -> Op {
    let mut o = cas(p, from, to, Outcome::Fail, call, Some(ret));
    o.found_other = true;
    o
}

#[test]
fn a_cas_refused_from_a_stale_copy_is_caught() {
    // The register holds 1 from before the cas began until after it ended
    // (the read after it still sees 1, and nothing else writes), yet the cas
    // says it found another value: the protocol answered from a stale copy.
    let ops = vec![
        w(0, 1, 0, 10),
        found_other(1, 1, 2, 20, 30),
        r(0, Some(1), 40, 50),
    ];
    let Verdict::NotLinearizable { explanation } = check(ops, ModelKind::CasRegister) else {
        panic!("a stale refusal must be a violation")
    };
    assert_eq!(
        explanation.blocked_op,
        "c1 cas 1 -> 2 (found another value)"
    );
    assert_eq!(explanation.could_have_seen, vec!["1".to_string()]);
}

#[test]
fn a_cas_that_found_another_value_while_a_write_was_in_flight_is_legal() {
    // A write of 3 overlaps the cas: the cas may have run after it, when the
    // register held 3, and the write of 1 came back later.
    let ops = vec![
        w(0, 1, 0, 10),
        w(2, 3, 15, 35),
        found_other(1, 1, 2, 20, 30),
        w(0, 1, 40, 50),
        r(0, Some(1), 60, 70),
    ];
    assert!(check(ops, ModelKind::CasRegister).is_linearizable());
}

#[test]
fn a_cas_recorded_as_failed_without_the_observation_constrains_nothing() {
    // The same refusal read as Knossos's `:fail`: it did not happen.
    let ops = vec![
        w(0, 1, 0, 10),
        cas(1, 1, 2, Outcome::Fail, 20, Some(30)),
        r(0, Some(1), 40, 50),
    ];
    assert!(check(ops, ModelKind::CasRegister).is_linearizable());
}

#[test]
fn crashed_writes_nobody_read_are_set_aside_and_cost_no_search() {
    // 40 crashed writes of values nobody read, then reads of one value: 2^40
    // orders for a search that keeps them.
    let mut ops = vec![w(0, 1, 0, 10)];
    for i in 0..40 {
        ops.push(op(
            100 + i,
            "",
            OpFn::Write(Value::Int(1000 + i as i64)),
            None,
            Outcome::Info,
            20,
            None,
        ));
    }
    for i in 0..40 {
        ops.push(r(i, Some(1), 30 + 10 * i, 35 + 10 * i));
    }
    let report = check_linearizable(&History { ops }, ModelKind::Register, Budget::default());
    assert!(report.verdict.is_linearizable(), "{report}");
    assert_eq!(report.ops_pruned, 40);
    assert!(report.steps < 1_000, "{report}");
}

#[test]
fn a_crashed_write_a_cas_observation_may_need_is_kept() {
    // Only the crashed write of 5 can explain the cas that found another
    // value than 1: it must not be set aside.
    let ops = vec![
        w(0, 1, 0, 10),
        op(
            2,
            "",
            OpFn::Write(Value::Int(5)),
            None,
            Outcome::Info,
            12,
            None,
        ),
        found_other(1, 1, 2, 20, 30),
    ];
    let report = check_linearizable(&History { ops }, ModelKind::CasRegister, Budget::default());
    assert!(report.verdict.is_linearizable(), "{report}");
    assert_eq!(report.ops_pruned, 0);
}

/// A write of 0, then crashed cas `i -> i+1` for `i` in `0..n`.
fn crashed_cas_chain(n: usize) -> Vec<Op> {
    let mut ops = vec![w(0, 0, 0, 1)];
    for i in 0..n {
        ops.push(cas(
            1 + i as u64,
            i as i64,
            i as i64 + 1,
            Outcome::Info,
            2 + i as u64,
            None,
        ));
    }
    ops
}

#[test]
fn a_long_chain_of_crashed_cas_is_set_aside_whole() {
    // Each crashed cas is needed only by the next one. (How fast: a check_cli
    // test times 20,000 of them, as the simulator's crate reads no clock.)
    let history = History {
        ops: crashed_cas_chain(2_000),
    };
    let report = check_linearizable(&history, ModelKind::CasRegister, Budget::default());
    assert!(report.verdict.is_linearizable(), "{report}");
    assert_eq!(report.ops_pruned, 2_000);
    assert!(report.steps < 10, "{report}");
}

#[test]
fn a_chain_of_crashed_cas_is_kept_as_far_as_a_read_needs_it() {
    // A read of 3 needs cas 2 -> 3, which needs 1 -> 2, which needs 0 -> 1;
    // cas 3 -> 4 and 4 -> 5 are needed by nobody.
    let mut ops = crashed_cas_chain(5);
    ops.push(r(99, Some(3), 100, 110));
    let report = check_linearizable(&History { ops }, ModelKind::CasRegister, Budget::default());
    assert!(report.verdict.is_linearizable(), "{report}");
    assert_eq!(report.ops_pruned, 2, "{report}");
    // A read of a value the chain never reaches: nothing explains it.
    let mut ops = crashed_cas_chain(5);
    ops.push(r(99, Some(7), 100, 110));
    let report = check_linearizable(&History { ops }, ModelKind::CasRegister, Budget::default());
    assert!(report.verdict.is_violation(), "{report}");
}

/// The pruning rule of `prune_unobserved`, applied naively: recompute all
/// evidence and drop every unneeded crashed write, round after round.
fn prune_by_rounds(history: &History) -> Vec<usize> {
    const FOREVER: u64 = u64::MAX;
    let ops = &history.ops;
    let mut kept: Vec<usize> = (0..ops.len()).collect();
    loop {
        let mut needs: BTreeMap<Value, u64> = BTreeMap::new();
        let mut found: Vec<(u64, Value)> = Vec::new();
        for &i in &kept {
            let o = &ops[i];
            let ret = o.return_ns.unwrap_or(FOREVER).max(o.call_ns);
            let need = match (&o.f, o.outcome) {
                (OpFn::Read, Outcome::Ok) => o.output.clone().map(|v| (v, ret)),
                (OpFn::Cas { expected, .. }, Outcome::Ok) => Some((expected.clone(), ret)),
                (OpFn::Cas { expected, .. }, Outcome::Info) => Some((expected.clone(), FOREVER)),
                (OpFn::Cas { expected, .. }, Outcome::Fail) if o.found_other => {
                    found.push((ret, expected.clone()));
                    None
                }
                _ => None,
            };
            if let Some((v, r)) = need {
                let slot = needs.entry(v).or_insert(0);
                *slot = (*slot).max(r);
            }
        }
        let before = kept.len();
        kept.retain(|&i| {
            let o = &ops[i];
            let v = match (&o.f, o.outcome) {
                (OpFn::Write(v), Outcome::Info) => v.clone(),
                (OpFn::Cas { new, .. }, Outcome::Info) => new.clone(),
                _ => return true,
            };
            let t = o.call_ns;
            needs.get(&v).is_some_and(|&r| r >= t) || found.iter().any(|(r, e)| *r >= t && *e != v)
        });
        if kept.len() == before {
            return kept;
        }
    }
}

#[test]
fn pruning_with_a_worklist_leaves_out_what_pruning_by_rounds_does() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5e7_0ff);
    let mut pruned_some = 0;
    for case in 0..2000 {
        let n = rng.gen_range(2..40);
        let mut ops = Vec::new();
        for i in 0..n {
            let call = rng.gen_range(0..100u64);
            let ret = call + rng.gen_range(0..20);
            let v = |rng: &mut ChaCha8Rng| Value::Int(rng.gen_range(0..6));
            let mut o = match rng.gen_range(0..10) {
                0..=2 => op(
                    i,
                    "",
                    OpFn::Read,
                    Some(v(&mut rng)),
                    Outcome::Ok,
                    call,
                    Some(ret),
                ),
                3 => op(
                    i,
                    "",
                    OpFn::Write(v(&mut rng)),
                    None,
                    Outcome::Info,
                    call,
                    None,
                ),
                4 => op(
                    i,
                    "",
                    OpFn::Write(v(&mut rng)),
                    None,
                    Outcome::Ok,
                    call,
                    Some(ret),
                ),
                _ => {
                    let f = OpFn::Cas {
                        expected: v(&mut rng),
                        new: v(&mut rng),
                    };
                    match rng.gen_range(0..6) {
                        0..=3 => op(i, "", f, None, Outcome::Info, call, None),
                        4 => op(i, "", f, None, Outcome::Ok, call, Some(ret)),
                        _ => op(i, "", f, None, Outcome::Fail, call, Some(ret)),
                    }
                }
            };
            o.found_other = o.outcome == Outcome::Fail;
            ops.push(o);
        }
        let history = History { ops };
        let expected = prune_by_rounds(&history);
        let got = sim::check::prune_unobserved(&history, (0..history.ops.len()).collect());
        assert_eq!(got, expected, "case {case}\n{}", history.to_jsonl());
        pruned_some += usize::from(got.len() < history.ops.len());
    }
    assert!(
        pruned_some > 500,
        "only {pruned_some} cases pruned anything"
    );
}

#[test]
fn the_values_a_blocked_operation_could_have_seen_start_after_a_cas_observation() {
    // The cas that found another value than 1 returned before the read began,
    // so the read comes after it, when the register held 3: 1 is not among
    // the values it could have seen.
    let ops = vec![
        w(0, 1, 0, 10),
        w(2, 3, 15, 100),
        found_other(1, 1, 9, 20, 30),
        r(3, Some(1), 40, 50),
    ];
    let Verdict::NotLinearizable { explanation } = check(ops, ModelKind::CasRegister) else {
        panic!("the read of 1 cannot follow the observation")
    };
    assert_eq!(explanation.blocked_op, "c3 read -> 1");
    assert_eq!(explanation.could_have_seen, vec!["3".to_string()]);
}

#[test]
fn an_info_cas_with_a_return_time_keeps_a_crashed_append_in_play() {
    // The cas never completed: it may take effect after the append whatever
    // return time the history records. Append 0 gives [0], the cas makes it
    // [1], the read sees [1]: linearizable only with the crashed append.
    let list = |l: &[i64]| Value::List(l.to_vec());
    let ops = vec![
        op(
            0,
            "k",
            OpFn::Cas {
                expected: list(&[0]),
                new: list(&[1]),
            },
            None,
            Outcome::Info,
            0,
            Some(1),
        ),
        op(
            1,
            "k",
            OpFn::Append(Value::Int(0)),
            None,
            Outcome::Info,
            2,
            None,
        ),
        op(
            2,
            "k",
            OpFn::Read,
            Some(list(&[1])),
            Outcome::Ok,
            3,
            Some(4),
        ),
    ];
    assert!(check(ops, ModelKind::Kv).is_linearizable());
}
