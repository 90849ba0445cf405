//! Agreement with brute force: every order of random small histories.

use sim::check::LinearizabilityReport;

use super::*;

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

/// Checks random case `case` with `model` and asserts the search decides it
/// as brute force does; returns brute force's answer and the search's report.
fn agrees_with_brute_force(
    case: usize,
    history: &History,
    model: ModelKind,
) -> (bool, LinearizabilityReport) {
    let expected = brute_force(history);
    let report = check_linearizable(history, model, Budget::default());
    let verdict = &report.verdict;
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
    (expected, report)
}

/// Clients that each run one operation at a time.
struct Clients {
    next_free: Vec<u64>,
}

impl Clients {
    fn new(n: usize) -> Clients {
        Clients {
            next_free: vec![0; n],
        }
    }

    /// A client at random, and an interval (call, return) for its next
    /// operation, after its last one.
    fn interval(&mut self, rng: &mut ChaCha8Rng) -> (usize, u64, u64) {
        let p = rng.gen_range(0..self.next_free.len());
        let call = self.next_free[p] + rng.gen_range(0..4);
        let ret = call + rng.gen_range(0..6);
        self.next_free[p] = ret + 1;
        (p, call, ret)
    }
}

/// Operations as clients issued them, each with the point where it really
/// took effect, if it did.
#[derive(Default)]
struct Run {
    ops: Vec<Op>,
    points: Vec<(u64, usize, bool)>,
}

impl Run {
    fn push(&mut self, point: u64, took_effect: bool, op: Op) {
        self.points.push((point, self.ops.len(), took_effect));
        self.ops.push(op);
    }

    /// Adds `op` (its outcome `ok`), which crashes (`info`) `crashes` times
    /// in 10 unless it is a read; a crashed one took effect or not, at
    /// random.
    fn push_may_crash(&mut self, rng: &mut ChaCha8Rng, crashes: u32, mut op: Op) {
        if rng.gen_range(0..10) < crashes && !matches!(op.f, OpFn::Read) {
            op.outcome = Outcome::Info;
        }
        let point = point(rng, op.call_ns, op.return_ns.expect("an interval"));
        let took_effect = op.outcome == Outcome::Ok || rng.gen_bool(0.5);
        self.push(point, took_effect, op);
    }

    /// The operations, after `apply` has seen each that took effect (with
    /// its index), in the order they took effect.
    fn replay(mut self, mut apply: impl FnMut(usize, &mut Op)) -> Vec<Op> {
        self.points.sort();
        for (_, i, took_effect) in self.points {
            if took_effect {
                apply(i, &mut self.ops[i]);
            }
        }
        self.ops
    }
}

/// Where an operation in `call..=ret` really took effect (twice the
/// resolution, so points are distinct-ish).
fn point(rng: &mut ChaCha8Rng, call: u64, ret: u64) -> u64 {
    2 * call + rng.gen_range(0..=2 * (ret - call))
}

/// Brute force and the search agree on `cases` histories `generate` makes
/// from `seed`; `also` looks at each case and brute force's answer further.
fn agreement(
    seed: u64,
    cases: usize,
    model: ModelKind,
    generate: fn(&mut ChaCha8Rng) -> History,
    mut also: impl FnMut(usize, &History, bool),
) -> Agreement {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut yes, mut no, mut pruned) = (0, 0, 0);
    for case in 0..cases {
        let history = generate(&mut rng);
        let (expected, report) = agrees_with_brute_force(case, &history, model);
        also(case, &history, expected);
        pruned += usize::from(report.ops_pruned > 0);
        if expected {
            yes += 1;
        } else {
            no += 1;
        }
    }
    Agreement { yes, no, pruned }
}

/// How many random cases were linearizable, how many not, and in how many
/// the search set operations aside.
struct Agreement {
    yes: usize,
    no: usize,
    pruned: usize,
}

impl Agreement {
    /// Both answers must be well represented, and the pruning must have had
    /// work in at least `min_pruned` cases, or the test proves little.
    fn assert_well_represented(&self, min_pruned: usize) {
        let Agreement { yes, no, pruned } = self;
        assert!(
            *yes > 500 && *no > 500 && *pruned >= min_pruned,
            "linearizable {yes}, not {no}, pruned in {pruned}"
        );
    }
}

/// After the real run: a crashed operation's interval never ends, `read`
/// may corrupt each read, and a share `cas_claims` of the successful cas
/// claim they found another value, perhaps wrongly.
fn corrupt(
    ops: &mut [Op],
    rng: &mut ChaCha8Rng,
    cas_claims: f64,
    mut read: impl FnMut(&mut Op, &mut ChaCha8Rng),
) {
    for o in ops {
        if o.outcome == Outcome::Info {
            o.return_ns = None;
        }
        if matches!(o.f, OpFn::Read) {
            read(o, rng);
        }
        if cas_claims > 0.0
            && matches!(o.f, OpFn::Cas { .. })
            && o.outcome == Outcome::Ok
            && rng.gen_bool(cas_claims)
        {
            o.outcome = Outcome::Fail;
            o.found_other = true;
        }
    }
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
    let mut run = Run::default();
    let mut clients = Clients::new(3);
    for _ in 0..n_ops {
        let (p, call, ret) = clients.interval(rng);
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
        let point = point(rng, call, ret);
        let took_effect = match outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Info => rng.gen_bool(0.5),
        };
        run.push(
            point,
            took_effect,
            op(p as u64, key, f, None, outcome, call, Some(ret)),
        );
    }
    // Replay in order of the real points to compute outputs and cas results.
    let model = ModelKind::Kv.model();
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    let mut ops = run.replay(|i, o| {
        let cur = store.get(&o.key).cloned().unwrap_or(Value::Nil);
        if let OpFn::Cas { expected, .. } = &o.f {
            if !sim::check::model::same_value(expected, &cur) && o.outcome == Outcome::Ok {
                // It found another value: said so (an observation), or
                // recorded as "did not happen".
                o.outcome = Outcome::Fail;
                o.found_other = i % 2 == 0;
                return;
            }
        }
        if matches!(o.f, OpFn::Read) && o.outcome == Outcome::Ok {
            o.output = Some(cur.clone());
        }
        let next = model
            .step(&cur, &o.f, o.output.as_ref(), o.outcome)
            .expect("a real execution is accepted");
        store.insert(o.key.clone(), next);
    });
    corrupt(&mut ops, rng, 0.2, |o, rng| {
        if o.outcome == Outcome::Ok && rng.gen_bool(0.5) {
            o.output = Some(match rng.gen_range(0..3) {
                0 => Value::Nil,
                1 => Value::Int(rng.gen_range(0..3)),
                _ => Value::List(vec![rng.gen_range(0..3)]),
            });
        }
    });
    History { ops }
}

#[test]
fn the_search_agrees_with_brute_force_on_2000_random_small_histories() {
    agreement(
        0x11_7e_a4,
        2000,
        ModelKind::Kv,
        random_history,
        |case, history, expected| {
            if expected {
                // Every weaker anomaly is impossible in a linearizable
                // history, so any reported here would be a false alarm.
                let weak = sim::check::check_weak(history);
                assert!(
                    weak.is_clean(),
                    "case {case}: linearizable but\n{weak}\n{}",
                    history.to_jsonl()
                );
            }
        },
    )
    .assert_well_represented(0);
}

/// Two to eight operations on one key by four clients, each in a random
/// interval: `pick` chooses the n-th, and each but a read crashes with a
/// chance of `crashes` in ten.
/// The run and how many operations it holds.
fn random_single_key_run(
    rng: &mut ChaCha8Rng,
    crashes: u32,
    mut pick: impl FnMut(&mut ChaCha8Rng, i32) -> OpFn,
) -> (Run, i32) {
    let n_ops: i32 = rng.gen_range(2..=8);
    let mut run = Run::default();
    let mut clients = Clients::new(4);
    for n in 0..n_ops {
        let (p, call, ret) = clients.interval(rng);
        let f = pick(rng, n);
        run.push_may_crash(
            rng,
            crashes,
            op(p as u64, "", f, None, Outcome::Ok, call, Some(ret)),
        );
    }
    (run, n_ops)
}

/// A random small register history rich in crashed writes of values nobody
/// read, the case the search prunes: writes of fresh values, reads of the
/// real value (sometimes corrupted), cas operations that may say they found
/// another value.
fn random_register_history(rng: &mut ChaCha8Rng) -> History {
    let (run, _) = random_single_key_run(rng, 4, |rng, n| match rng.gen_range(0..5) {
        0 | 1 => OpFn::Read,
        2 | 3 => OpFn::Write(Value::Int(n as i64 % 5)),
        _ => OpFn::Cas {
            expected: Value::Int(rng.gen_range(0..5)),
            new: Value::Int(rng.gen_range(0..5)),
        },
    });
    let mut cur = Value::Nil;
    let mut ops = run.replay(|_, o| match &o.f {
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
    });
    corrupt(&mut ops, rng, 0.15, |o, rng| {
        if rng.gen_bool(0.25) {
            o.output = Some(Value::Int(rng.gen_range(0..5)));
        }
    });
    History { ops }
}

#[test]
fn pruning_crashed_writes_and_placing_reads_greedily_agree_with_brute_force() {
    agreement(
        0x9e_11_5a,
        3000,
        ModelKind::CasRegister,
        random_register_history,
        |_, _, _| {},
    )
    .assert_well_represented(301);
}

/// A random small list history on one key, rich in crashed appends whose
/// element no read returned (the case `prune_unobserved_appends` sets aside):
/// number appends, writes, deletes and reads run against a real list at a
/// random point inside their interval, then some reads are corrupted (an
/// element dropped or added). Now and then a string append or a cas, which
/// must turn the pruning off.
fn random_append_history(rng: &mut ChaCha8Rng) -> History {
    let (run, n_ops) = random_single_key_run(rng, 5, |rng, n| match rng.gen_range(0..20) {
        0..=5 => OpFn::Read,
        6..=13 => OpFn::Append(Value::Int(n as i64)),
        14..=16 => OpFn::Write(Value::Int(100 + n as i64)),
        17 => OpFn::Delete,
        18 => OpFn::Append(Value::Str("s".into())),
        _ => OpFn::Cas {
            expected: Value::Nil,
            new: Value::Int(200 + n as i64),
        },
    });
    let model = ModelKind::Kv.model();
    let mut cur = Value::Nil;
    let mut ops = run.replay(|_, o| {
        if matches!(o.f, OpFn::Read) {
            o.output = Some(cur.clone());
            return;
        }
        match model.step(&cur, &o.f, None, o.outcome) {
            Some(next) => cur = next,
            // A cas that did not find nil.
            None => {
                o.outcome = Outcome::Fail;
                o.found_other = true;
            }
        }
    });
    corrupt(&mut ops, rng, 0.0, |o, rng| {
        if rng.gen_bool(0.25) {
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
    });
    History { ops }
}

#[test]
fn setting_aside_crashed_appends_nobody_saw_agrees_with_brute_force() {
    agreement(
        0x00a9_9e4d,
        4000,
        ModelKind::Kv,
        random_append_history,
        |_, _, _| {},
    )
    .assert_well_represented(501);
}
