//! `chaoslab shrink`: turn a failing run into a small scenario a person can read.
//!
//! The failure to keep is exactly what broke in the original run: the set of
//! its failed checks by stable name (invariants, and `[expect]` keys such as
//! `all_clients_ok_after` or `measure."leaders elected"`). A smaller candidate
//! is kept only if it fails with exactly that set, with the same seed: it may
//! lose none of the original's failures and add none (a shorter run that also
//! fails a time-based expectation is a different failure). The shrinker tries:
//! 1. a nemesis becomes the fixed schedule of faults it applied;
//! 2. faults are removed in chunks, then one by one (delta debugging);
//! 3. fault times are rounded to whole milliseconds;
//! 4. the run is shortened (binary search on the duration), never to before a
//!    time the scenario names: its last fault, `all_clients_ok_after`, the
//!    workload's and nemesis's start and stop, and `[system]` times such as
//!    `measure_after` or `converge_by`;
//! 5. clients are removed.
//!
//! Every candidate is a complete, deterministic run, so the result is checked,
//! not guessed: the written file is parsed back and run again, and must fail
//! with the same set; otherwise shrink says it could not keep the failure.
//! An undecided run (a check with no answer) is not a failure: shrink refuses it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use sim::kernel::TraceMode;
use sim::report::{CheckBudget, Report, RunOutcome};
use sim::scenario::Scenario;
use sim::time::{fmt_duration, Nanos, NANOS_PER_MILLI};

use crate::exit;
use crate::Registry;

/// Shrink could not keep the failure: the shrunk scenario, parsed back and
/// run, does not fail the way the original did. Nothing is written.
pub const LOST: i32 = 4;

#[derive(clap::Args, Debug)]
pub struct ShrinkArgs {
    /// A scenario file or bundled scenario name whose run fails.
    pub scenario: String,
    /// The failing seed (default: the scenario's own).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to write the shrunk scenario (default: print it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The most candidate runs to try.
    #[arg(long, default_value_t = 400)]
    pub max_runs: u32,
    #[command(flatten)]
    pub budget: crate::CheckBudgetArgs,
}

/// How a run failed: its failed checks, and the checks it left undecided.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    failed: BTreeSet<String>,
    undecided: BTreeSet<String>,
}

impl Failure {
    fn of(r: &Report) -> Failure {
        Failure {
            failed: r.failed_checks(),
            undecided: r.undecided.iter().map(|u| u.check.clone()).collect(),
        }
    }
}

struct Shrinker<'r> {
    registry: &'r Registry,
    seed: u64,
    budget: CheckBudget,
    /// The original failure: a candidate must fail with exactly this set.
    target: Failure,
    runs: u32,
    max_runs: u32,
}

impl Shrinker<'_> {
    fn failure(&self, s: &Scenario) -> Option<Failure> {
        let out = self.registry.run(s, self.seed, TraceMode::Off).ok()?;
        let r = Report::build_with(s, &out, self.budget);
        (r.outcome == RunOutcome::Fail).then(|| Failure::of(&r))
    }

    /// Does this candidate fail exactly as the original did? A check the
    /// original decided must not become undecided (it might hide a new failure).
    fn fails(&mut self, s: &Scenario) -> bool {
        if self.runs >= self.max_runs {
            return false;
        }
        self.runs += 1;
        match self.failure(s) {
            Some(f) => {
                f.failed == self.target.failed && f.undecided.is_subset(&self.target.undecided)
            }
            None => false,
        }
    }

    /// Delta debugging over the fault schedule.
    fn faults(&mut self, s: &mut Scenario) {
        let mut n = 2usize;
        while s.faults.len() >= 2 {
            let len = s.faults.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            for start in (0..len).step_by(chunk) {
                let mut candidate = s.clone();
                candidate.faults.drain(start..(start + chunk).min(len));
                if self.fails(&candidate) {
                    *s = candidate;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n >= len {
                    break;
                }
                n = (n * 2).min(len);
            }
        }
        if s.faults.len() == 1 {
            let mut candidate = s.clone();
            candidate.faults.clear();
            if self.fails(&candidate) {
                *s = candidate;
            }
        }
    }

    fn round_times(&mut self, s: &mut Scenario) {
        let mut candidate = s.clone();
        for f in &mut candidate.faults {
            f.at = (f.at + NANOS_PER_MILLI / 2) / NANOS_PER_MILLI * NANOS_PER_MILLI;
        }
        candidate.faults.sort_by_key(|f| f.at);
        if candidate.faults != s.faults && self.fails(&candidate) {
            *s = candidate;
        }
    }

    fn shorten(&mut self, s: &mut Scenario) {
        let mut lo: Nanos = earliest_end(s).max(NANOS_PER_MILLI);
        let mut hi = s.meta.duration;
        // Invariant: `hi` fails. Stop at 10ms resolution.
        while hi > lo && hi - lo > 10 * NANOS_PER_MILLI {
            let mid = (lo + (hi - lo) / 2) / NANOS_PER_MILLI * NANOS_PER_MILLI;
            if mid <= lo {
                break;
            }
            let mut candidate = s.clone();
            candidate.meta.duration = mid;
            if self.fails(&candidate) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        s.meta.duration = hi;
    }

    fn clients(&mut self, s: &mut Scenario) {
        // Regions and faults may name clients; removing one would break them.
        let named = s
            .topology
            .regions
            .values()
            .flatten()
            .any(|m| m.get_ref().starts_with('c'))
            || s.faults
                .iter()
                .any(|f| format!("{:?}", f.kind).contains("\"c"));
        if named {
            return;
        }
        while s.topology.clients > 1 {
            let mut candidate = s.clone();
            candidate.topology.clients -= 1;
            if self.fails(&candidate) {
                *s = candidate;
            } else {
                break;
            }
        }
    }
}

/// The earliest time a shrunk run may end: no earlier than any time the
/// scenario names, so that no fault, window or deadline falls off its end.
fn earliest_end(s: &Scenario) -> Nanos {
    s.latest_named_time()
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "nothing".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

pub fn run(registry: &Registry, args: &ShrinkArgs) -> i32 {
    let Some(original) = registry.load_or_explain(Some(&args.scenario)) else {
        return exit::BAD_INPUT;
    };
    let seed = args.seed.unwrap_or(original.meta.seed);
    let budget = args.budget.for_scenario(&original);
    let out = registry
        .run(&original, seed, TraceMode::Off)
        .expect("checked when loaded");
    let report = Report::build_with(&original, &out, budget);
    let program = registry.program_name();
    let replay_without_budget = sim::report::replay_command(&program, &original, seed);
    let replay = format!("{replay_without_budget}{}", args.budget.flags());
    match report.outcome {
        RunOutcome::Pass => {
            println!(
                "{} passes with seed {seed}: nothing to shrink. Find a failing seed with `{program} sweep {}`.",
                original.meta.name, args.scenario
            );
            return exit::PASS;
        }
        RunOutcome::Undecided => {
            eprintln!(
                "{} did not fail with seed {seed}: it is undecided, and an undecided run is not a failure, so there is nothing to shrink.",
                original.meta.name
            );
            args.budget.explain_undecided(
                &report.undecided,
                &replay_without_budget,
                "decide it first",
            );
            return exit::UNDECIDED;
        }
        RunOutcome::Fail => {}
    }
    let mut sh = Shrinker {
        registry,
        seed,
        budget,
        target: Failure::of(&report),
        runs: 0,
        max_runs: args.max_runs.max(1),
    };
    let before = (
        original.faults.len(),
        out.nemesis_log.len(),
        original.meta.duration,
        original.topology.clients,
    );
    let mut s = original.clone();
    s.meta.seed = seed;
    let mut steps = Vec::new();
    if s.nemesis.is_some() {
        let mut fixed = s.clone();
        fixed.nemesis = None;
        fixed.faults.extend(out.nemesis_log.iter().cloned());
        fixed.faults.sort_by_key(|f| f.at);
        if sh.fails(&fixed) {
            steps.push(format!(
                "the nemesis became its fixed schedule of {} faults",
                out.nemesis_log.len()
            ));
            s = fixed;
        } else {
            steps.push("the nemesis could not be fixed into a schedule that fails the same way; it is kept".into());
        }
    }
    let n = s.faults.len();
    sh.faults(&mut s);
    steps.push(format!("faults: {n} -> {}", s.faults.len()));
    sh.round_times(&mut s);
    let d = s.meta.duration;
    sh.shorten(&mut s);
    steps.push(format!(
        "duration: {} -> {} (never before {}, the latest time the scenario names)",
        fmt_duration(d),
        fmt_duration(s.meta.duration),
        fmt_duration(earliest_end(&s))
    ));
    let c = s.topology.clients;
    sh.clients(&mut s);
    steps.push(format!("clients: {c} -> {}", s.topology.clients));

    let file = args
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "shrunk.toml".into());
    // Budget flags become the file's own [meta] budget: run on its own, the
    // shrunk file must be decided as it was here.
    if let Some(n) = args.budget.check_max_steps {
        s.meta.check_max_steps = Some(n);
    }
    if let Some(m) = args.budget.check_max_memory {
        s.meta.set_check_max_memory(m);
    }
    let mut header = vec![
        format!(
            "Shrunk by `{program} shrink {} --seed {seed}{}` in {} runs.",
            args.scenario,
            args.budget.flags(),
            sh.runs
        ),
        format!(
            "It fails exactly as the original did: {}.",
            join(&sh.target.failed)
        ),
    ];
    header.extend(steps.iter().map(|s| format!("- {s}")));
    let text = s.to_toml(&header);

    // Check the file itself: parsed back and run, it must fail the same way.
    let lost = |why: String| {
        eprintln!(
            "shrink could not keep the failure of {} with seed {seed}: {why}\n\
             nothing was written; the original still fails, replay it with:\n  {replay}",
            original.meta.name
        );
        LOST
    };
    let reparsed = match registry.parse(&file, &text) {
        Ok(r) => r,
        Err(e) => return lost(format!("the shrunk scenario does not parse back:\n{e}")),
    };
    let check = match registry.run(&reparsed, seed, TraceMode::Off) {
        Ok(c) => c,
        Err(e) => return lost(format!("the shrunk scenario does not run:\n{e}")),
    };
    let final_report = Report::build_with(&reparsed, &check, budget);
    let final_failure = Failure::of(&final_report);
    if final_report.outcome != RunOutcome::Fail || final_failure.failed != sh.target.failed {
        return lost(format!(
            "parsed back and run, the shrunk scenario fails {} instead of {}",
            join(&final_failure.failed),
            join(&sh.target.failed)
        ));
    }
    match &args.out {
        Some(p) => {
            if let Err(e) = std::fs::write(p, &text) {
                eprintln!("error: cannot write {}: {e}", p.display());
                return exit::BAD_INPUT;
            }
            println!("wrote {}", p.display());
        }
        None => print!("{text}"),
    }
    println!(
        "\nshrunk in {} runs: faults {} (+{} from the nemesis) -> {}, duration {} -> {}, clients {} -> {}",
        sh.runs,
        before.0,
        before.1,
        reparsed.faults.len(),
        fmt_duration(before.2),
        fmt_duration(reparsed.meta.duration),
        before.3,
        reparsed.topology.clients
    );
    println!(
        "it fails exactly as the original did ({} check{}, no other):",
        sh.target.failed.len(),
        if sh.target.failed.len() == 1 { "" } else { "s" }
    );
    for f in final_report.failures() {
        println!("  still broken: {f}");
    }
    if args.out.is_some() {
        println!(
            "replay it with:\n  {program} run {file} --seed {seed}{}",
            args.budget.flags()
        );
    }
    exit::FAIL
}
