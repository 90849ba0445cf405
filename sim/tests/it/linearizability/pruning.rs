//! Setting aside what cannot matter: crashed writes, appends and cas nobody
//! saw, cas observations, and the worklist against a naive reference.

use super::*;

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
fn a_cas_refused_from_a_stale_copy_is_caught() {
    // The register holds 1 from before the cas began until after it ended
    // (the read after it still sees 1, and nothing else writes), yet the cas
    // says it found another value: the protocol answered from a stale copy.
    assert_blocked(
        "0:w1@0-10 1:c1>2@20-30? 0:r1@40-50",
        "c1 cas 1 -> 2 (found another value)",
        &["1"],
    );
}

/// The cas-register history (in [`h`]'s notation) must be a violation that
/// blocks at operation `op`, which could have seen only `could_have_seen`.
fn assert_blocked(history: &str, op: &str, could_have_seen: &[&str]) {
    let explanation = violation(history, ModelKind::CasRegister);
    assert_eq!(explanation.blocked_op, op);
    assert_eq!(explanation.could_have_seen, could_have_seen);
}

/// Cas observations that constrain nothing: the verdict each must get.
#[test]
fn cas_refusals_that_prove_nothing_are_legal() {
    assert_verdicts(&[
        (
            // A write of 3 overlaps the cas: the cas may have run after it,
            // when the register held 3, and the write of 1 came back later.
            "a cas that found another value while a write was in flight",
            ModelKind::CasRegister,
            "0:w1@0-10 2:w3@15-35 1:c1>2@20-30? 0:w1@40-50 0:r1@60-70",
            true,
        ),
        (
            // The same refusal read as Knossos's `:fail`: it did not happen.
            "a cas recorded as failed without the observation",
            ModelKind::CasRegister,
            "0:w1@0-10 1:c1>2@20-30! 0:r1@40-50",
            true,
        ),
    ]);
}

#[test]
fn crashed_writes_nobody_read_are_set_aside_and_cost_no_search() {
    // 40 crashed writes of values nobody read, then reads of one value: 2^40
    // orders for a search that keeps them.
    let mut ops = vec![w(0, 1, 0, 10)];
    for i in 0..40 {
        ops.push(crashed_w(100 + i, 1000 + i as i64, 20));
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
    let ops = h("0:w1@0-10 2:w5@12- 1:c1>2@20-30?");
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
    assert_blocked(
        "0:w1@0-10 2:w3@15-100 1:c1>9@20-30? 3:r1@40-50",
        "c3 read -> 1",
        &["3"],
    );
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
