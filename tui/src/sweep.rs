//! `chaoslab sweep`: one scenario over many seeds, to find the seeds whose run
//! breaks the hypothesis.
//!
//! Runs are independent pure functions of (scenario, seed), so they may run on
//! several threads here without touching determinism: each run is the same
//! wherever and whenever it runs, and results are reported in seed order.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sim::kernel::TraceMode;
use sim::report::Report;

use crate::exit;
use crate::scenarios;

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
    passed: bool,
    fingerprint: String,
    /// What broke: invariants violated unexpectedly, expectations that failed.
    broke: Vec<String>,
}

pub fn run(args: &SweepArgs) -> i32 {
    let scenario = match scenarios::load(Some(&args.scenario)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.0);
            return exit::BAD_INPUT;
        }
    };
    let (first, last) = args.seeds;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicU64::new(first);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > last {
                    break;
                }
                let out = nodes::run(&scenario, seed, TraceMode::Off)
                    .expect("the scenario was checked when loaded");
                let report = Report::build(&scenario, &out);
                let outcome = Outcome {
                    seed,
                    passed: report.passed,
                    fingerprint: report.fingerprint.clone(),
                    broke: report.failures(),
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

    let failed: Vec<&Outcome> = results.iter().filter(|r| !r.passed).collect();
    for r in &results {
        if args.verbose || !r.passed {
            println!(
                "seed {:>6}  {}  {}{}",
                r.seed,
                r.fingerprint,
                if r.passed { "pass" } else { "FAIL" },
                if r.broke.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.broke.join("; "))
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
    println!(
        "\n{}: {} seeds ({first}..{last}), {} passed, {} failed",
        scenario.meta.name,
        results.len(),
        results.len() - failed.len(),
        failed.len()
    );
    for (kind, seeds) in &kinds {
        let shown: Vec<String> = seeds.iter().take(10).map(|s| s.to_string()).collect();
        println!(
            "  {kind}: {} seeds (e.g. {}{})",
            seeds.len(),
            shown.join(", "),
            if seeds.len() > 10 { ", ..." } else { "" }
        );
    }
    if let Some(f) = failed.first() {
        println!(
            "replay the first failure with:\n  {}",
            sim::report::replay_command(&scenario, f.seed)
        );
        exit::FAIL
    } else {
        exit::PASS
    }
}
