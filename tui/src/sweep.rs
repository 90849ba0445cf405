//! `chaoslab sweep`: one scenario over many seeds, to find the seeds whose run
//! breaks the hypothesis.
//!
//! Runs are independent pure functions of (scenario, seed), so they may run on
//! several threads here without touching determinism: each run is the same
//! wherever and whenever it runs, and results are reported in seed order.
//!
//! A seed whose only open question is an undecided check (the linearizability
//! search ran out of budget) is listed apart from the failed ones: it is not
//! a failure. The sweep exits 1 if any seed failed, else 3 if any seed is
//! undecided, else 0.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sim::kernel::TraceMode;
use sim::report::{Report, RunOutcome, Undecided};

use crate::exit;
use crate::Registry;

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// A scenario file or bundled scenario name.
    pub scenario: String,
    /// The seeds to run: a range `FIRST..LAST` (inclusive) or one number N
    /// meaning 1..N.
    #[arg(long, default_value = "1..100", value_parser = parse_seeds)]
    pub seeds: (u64, u64),
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print every seed's one-line result, not only failures.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub budget: crate::CheckBudgetArgs,
}

fn parse_seeds(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}`: write a range like 1..500, or a count like 500 (meaning 1..500)");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim()
                .trim_start_matches('=')
                .parse()
                .map_err(|_| bad())?,
        ),
        None => (1, s.trim().parse().map_err(|_| bad())?),
    };
    if a > b || b - a >= 1_000_000 {
        return Err(format!(
            "`{s}`: the range must be non-empty and at most a million seeds"
        ));
    }
    Ok((a, b))
}

/// One seed's result.
struct Outcome {
    seed: u64,
    outcome: RunOutcome,
    fingerprint: String,
    /// What broke: invariants violated unexpectedly, expectations that failed.
    broke: Vec<String>,
    /// Checks left undecided.
    undecided: Vec<Undecided>,
}

pub fn run(registry: &Registry, args: &SweepArgs) -> i32 {
    let Some(scenario) = registry.load_or_explain(Some(&args.scenario)) else {
        return exit::BAD_INPUT;
    };
    let budget = args.budget.for_scenario(&scenario);
    let (first, last) = args.seeds;
    // Counted from 0 so that a range ending at u64::MAX ends: a seed counter
    // would wrap past it. `parse_seeds` keeps the count under a million.
    let count = last - first + 1;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let seed = first + i;
                let out = registry
                    .run(&scenario, seed, TraceMode::Off)
                    .expect("the scenario was checked when loaded");
                let report = Report::build_with(&scenario, &out, budget);
                let outcome = Outcome {
                    seed,
                    outcome: report.outcome,
                    fingerprint: report.fingerprint.clone(),
                    broke: report.failures(),
                    undecided: report.undecided.clone(),
                };
                results
                    .lock()
                    .expect("no worker panics holding it")
                    .push(outcome);
            });
        }
    });
    let mut results = results.into_inner().expect("workers are done");
    results.sort_by_key(|r| r.seed);

    let failed: Vec<&Outcome> = results
        .iter()
        .filter(|r| r.outcome == RunOutcome::Fail)
        .collect();
    let undecided: Vec<&Outcome> = results
        .iter()
        .filter(|r| r.outcome == RunOutcome::Undecided)
        .collect();
    for r in &results {
        if args.verbose || r.outcome != RunOutcome::Pass {
            let mut what: Vec<String> = r.broke.clone();
            what.extend(r.undecided.iter().map(|u| {
                format!(
                    "{} undecided ({}: {})",
                    u.check,
                    cause_words(&u.cause),
                    u.reason
                )
            }));
            println!(
                "seed {:>6}  {}  {}{}",
                r.seed,
                r.fingerprint,
                match r.outcome {
                    RunOutcome::Pass => "pass",
                    RunOutcome::Fail => "FAIL",
                    RunOutcome::Undecided => "UNDECIDED",
                },
                if what.is_empty() {
                    String::new()
                } else {
                    format!(": {}", what.join("; "))
                }
            );
        }
    }
    // Failures grouped by what broke, so a sweep reads as a list of bugs.
    let mut kinds: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    for r in &failed {
        for b in &r.broke {
            let key = b.split(':').next().unwrap_or(b);
            kinds.entry(key).or_default().push(r.seed);
        }
    }
    // Undecided seeds grouped by which check and what ran out.
    let mut open: std::collections::BTreeMap<(String, String), Vec<u64>> = Default::default();
    for r in &undecided {
        for u in &r.undecided {
            open.entry((u.check.clone(), u.cause.clone()))
                .or_default()
                .push(r.seed);
        }
    }
    println!(
        "\n{}: {} seeds ({first}..{last}), {} passed, {} failed, {} undecided",
        scenario.meta.name,
        results.len(),
        results.len() - failed.len() - undecided.len(),
        failed.len(),
        undecided.len()
    );
    let shown = |seeds: &[u64]| {
        let some: Vec<String> = seeds.iter().take(10).map(|s| s.to_string()).collect();
        format!(
            "{}{}",
            some.join(", "),
            if seeds.len() > 10 { ", ..." } else { "" }
        )
    };
    if !kinds.is_empty() {
        println!("failed:");
    }
    for (kind, seeds) in &kinds {
        println!("  {kind}: {} seeds (e.g. {})", seeds.len(), shown(seeds));
    }
    if !open.is_empty() {
        println!("undecided (not failures: the check has no answer within its budget):");
    }
    for ((check, cause), seeds) in &open {
        println!(
            "  {check} ({}): {} seeds (e.g. {})",
            cause_words(cause),
            seeds.len(),
            shown(seeds)
        );
    }
    let program = registry.program_name();
    let replay = |seed: u64| {
        format!(
            "{}{}",
            sim::report::replay_command(&program, &scenario, seed),
            args.budget.flags()
        )
    };
    if let Some(u) = undecided.first() {
        match u.undecided.iter().find_map(|x| x.flag.as_ref()) {
            Some(flag) => println!(
                "decide the first undecided seed with:\n  {}\nor sweep again with {flag}",
                args.budget.decide(
                    &sim::report::replay_command(&program, &scenario, u.seed),
                    flag
                )
            ),
            None => println!(
                "the first undecided seed cannot be decided by a larger budget:\n  {}",
                replay(u.seed)
            ),
        }
    }
    if let Some(f) = failed.first() {
        println!("replay the first failure with:\n  {}", replay(f.seed));
        exit::FAIL
    } else if !undecided.is_empty() {
        exit::UNDECIDED
    } else {
        exit::PASS
    }
}

/// What ran out, in words.
fn cause_words(cause: &str) -> &'static str {
    match cause {
        "steps" => "search ran out of steps",
        "memory" => "search ran out of memory",
        "deadline" => "search ran out of time",
        "no value" => "the figure has no value in the run",
        _ => "the model cannot judge the history",
    }
}
