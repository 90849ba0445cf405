//! Small hand-made histories: registers, cas, crashed and failed writes, keys,
//! budgets, and the explanation of a violation.

use super::*;

#[test]
fn the_history_notation_builds_what_the_constructors_build() {
    let append = OpFn::Append(Value::Int(1));
    let list = Some(Value::List(vec![2, 1]));
    assert_eq!(
        h("0:w1@0-10 1:r-@20-30 2:r-7@5-6 0:w7@0- 1:c1>2@20-30? 1:c3>2@0-1! 1:c1>2@20-"),
        vec![
            w(0, 1, 0, 10),
            r(1, None, 20, 30),
            r(2, Some(-7), 5, 6),
            crashed_w(0, 7, 0),
            found_other(1, 1, 2, 20, 30),
            cas(1, 3, 2, Outcome::Fail, 0, Some(1)),
            cas(1, 1, 2, Outcome::Info, 20, None),
        ]
    );
    assert_eq!(
        h("9:k:a1@2-3 9:k:r[2,1]@4-5 0:k:d@6-7"),
        vec![
            op(9, "k", append, None, Outcome::Ok, 2, Some(3)),
            op(9, "k", OpFn::Read, list, Outcome::Ok, 4, Some(5)),
            op(0, "k", OpFn::Delete, None, Outcome::Ok, 6, Some(7)),
        ]
    );
}

#[test]
fn a_read_of_the_old_value_after_a_completed_write_is_a_violation() {
    let explanation = violation("0:w1@0-10 0:w2@20-30 1:r1@40-50", ModelKind::Register);
    assert_eq!(explanation.blocked_index, 2);
    assert_eq!(explanation.could_have_seen, vec!["2".to_string()]);
    assert_eq!(explanation.prefix.len(), 2);
    let text = explanation.to_string();
    assert!(text.contains("c1 read -> 1"), "{text}");
}

/// Small histories and the verdict each must get (`true`: linearizable,
/// `false`: a violation). In the first four, process 0's write of 7 or
/// process 1's cas never completed.
#[test]
fn small_histories_get_the_verdict_they_must() {
    use ModelKind::{CasRegister, Kv, Register};
    assert_verdicts(&[
        (
            "sequential write then read",
            Register,
            "0:w1@0-10 1:r1@20-30",
            true,
        ),
        (
            "concurrent reads may see either side of a write",
            Register,
            "0:w1@0-5 0:w2@10-40 1:r2@15-20 2:r2@21-25 3:r2@30-35",
            true,
        ),
        (
            "once a read saw the new value, a later read cannot go back in time",
            Register,
            "0:w1@0-5 0:w2@10-40 1:r2@15-20 2:r1@21-25",
            false,
        ),
        (
            "an info write may take effect long after its invocation",
            Register,
            "0:w7@0- 1:w1@10-20 2:r1@30-40 2:r7@50-60",
            true,
        ),
        (
            "an info write may never take effect",
            Register,
            "0:w7@0- 2:r-@30-40 1:w1@50-60 2:r1@70-80",
            true,
        ),
        (
            "an info write cannot take effect before its invocation",
            Register,
            "1:r7@0-10 0:w7@50-",
            false,
        ),
        (
            "an info cas may have applied",
            CasRegister,
            "0:w1@0-10 1:c1>2@20- 2:r2@40-50",
            true,
        ),
        (
            "an info cas may not have applied",
            CasRegister,
            "0:w1@0-10 1:c1>2@20- 2:r1@40-50",
            true,
        ),
        (
            "a failed write never took effect",
            Register,
            "0:w7@0-10! 1:r-@20-30",
            true,
        ),
        (
            "a failed write is never read",
            Register,
            "0:w7@0-10! 1:r7@20-30",
            false,
        ),
        (
            "a successful cas after the value it expected",
            CasRegister,
            "0:w1@0-10 1:c1>2@20-30 2:r2@40-50",
            true,
        ),
        (
            "a successful cas needs the expected value",
            CasRegister,
            "0:w1@0-10 1:c3>2@20-30",
            false,
        ),
        (
            "kv appends build lists and deletes clear them",
            Kv,
            "0:k:a1@0-10 1:k:a2@5-15 2:k:r[2,1]@20-30 0:k:d@40-50 2:k:r-@60-70",
            true,
        ),
        (
            "a list that lost an append",
            Kv,
            "0:k:a1@0-10 1:k:a2@5-15 2:k:r[1]@20-30 0:k:d@40-50 2:k:r-@60-70",
            false,
        ),
    ]);
}

#[test]
fn the_register_model_does_not_know_cas() {
    let v = check(h("1:c1>2@0-1"), ModelKind::Register);
    assert!(matches!(v, Verdict::Unknown { .. }), "{v}");
}

#[test]
fn kv_keys_are_checked_independently_and_the_violation_names_its_key() {
    let explanation = violation(
        "0:a:w1@0-10 1:b:w2@0-10 2:a:r1@20-30 2:b:r1@40-50",
        ModelKind::Kv,
    );
    assert_eq!(explanation.key, "b");
}

/// `n` concurrent writes of 0..n, then a read of -1, which none wrote: a
/// violation, but one found only after trying every order of the writes.
fn hopeless(n: u64) -> History {
    let mut ops: Vec<Op> = (0..n).map(|i| w(i, i as i64, 0, 100)).collect();
    ops.push(r(99, Some(-1), 200, 300));
    History { ops }
}

/// The register check of `history` under `budget`, which must give up: why.
fn gave_up(history: &History, budget: Budget) -> (String, UnknownCause) {
    let report = check_linearizable(history, ModelKind::Register, budget);
    match report.verdict {
        Verdict::Unknown { reason, cause } => (reason, cause),
        v => panic!("the check must give up: {v}"),
    }
}

#[test]
fn a_tiny_step_budget_answers_unknown_never_a_wrong_verdict() {
    let (_, cause) = gave_up(&hopeless(40), Budget::steps(50));
    assert_eq!(cause, UnknownCause::Steps);
}

#[test]
fn an_expired_deadline_answers_unknown() {
    let expired = || true;
    let budget = Budget {
        max_steps: u64::MAX,
        expired: Some(&expired),
        ..Budget::default()
    };
    let (_, cause) = gave_up(&hopeless(30), budget);
    assert_eq!(cause, UnknownCause::Deadline);
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
    let budget = Budget {
        max_memo_bytes: 10_000,
        ..Budget::default()
    };
    let (reason, cause) = gave_up(&hopeless(40), budget);
    assert!(reason.contains("memo"), "{reason}");
    assert_eq!(cause, UnknownCause::Memory);
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
    let v = check(h("0:w1@0-10 0:w2@20-30 1:r1@40-50"), ModelKind::Register);
    let expected = "NOT linearizable
the register (register model) is not linearizable.
The longest order of its operations consistent with real time and the model has 2 operation(s), starting from nil:
  #0      c0 write 1                   => 1
  #1      c0 write 2                   => 2
Then #2 `c1 read -> 1` cannot be placed:
  it returned before any consistent order could include it; where it could have taken effect, the value was 2.";
    assert_eq!(v.to_string(), expected);
}
