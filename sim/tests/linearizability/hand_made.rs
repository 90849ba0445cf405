//! Small hand-made histories: registers, cas, crashed and failed writes, keys,
//! budgets, and the explanation of a violation.

use super::*;

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
    let info = crashed_w(0, 7, 0);
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
    let info = crashed_w(0, 7, 0);
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
    let info = crashed_w(0, 7, 50);
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
