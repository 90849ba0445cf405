//! `chaoslab sweep`: one scenario over many seeds, to find the seeds whose run
//! breaks the hypothesis; `chaoslab sweep merge`: the report of a sweep run in
//! shards on many machines.
//!
//! Runs are independent pure functions of (scenario, seed), so they may run on
//! several threads here without touching determinism: each run is the same
//! wherever and whenever it runs, and results are reported in seed order. For
//! the same reason a sweep can be split across machines (`--shard K/N`, see
//! [`shard`]): each writes its seeds' results to a file (`--out`, see
//! [`record`]) and `sweep merge` prints, from the files, the very report one
//! sweep over the whole range prints ([`report::render`] prints both).
//!
//! A seed whose only open question is an undecided check (the linearizability
//! search ran out of budget) is listed apart from the failed ones: it is not
//! a failure. The sweep exits 1 if any seed failed, else 3 if any seed is
//! undecided, else 0.
//!
//! This is the command line, not the simulator: it reads the wall clock to
//! show seeds per second and a progress bar on stderr, never on stdout, whose
//! report depends on the scenario and the seeds alone.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod merge;
mod record;
mod report;
mod shard;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sim::kernel::TraceMode;
use sim::report::{Report, RunOutcome};

use crate::exit;
use crate::Registry;
use report::Outcome;
use shard::{Shard, ShardArg};

#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    subcommand_negates_reqs = true,
    after_help = "Split a sweep across machines: run `sweep SCENARIO --seeds A..B --shard K/N \
--out shard-K.jsonl` for each K from 0 to N-1 (the seed at index i of the range goes to shard \
i mod N), then `sweep merge shard-*.jsonl` prints the report one sweep over A..B would. \
A scenario file named `merge` is swept as `sweep ./merge`. See docs/scale-out.md."
)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// A scenario file or bundled scenario name.
    #[arg(required = true)]
    pub scenario: Option<String>,
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
    /// Run only shard K of N (counted from 0: 0/4 to 3/4) of the seeds: the
    /// seed at index i of the range is shard i mod N's. `auto` reads K from
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID
    /// minus SLURM_ARRAY_TASK_MIN (Slurm job array).
    #[arg(long, value_name = "K/N|auto", value_parser = shard::parse_shard)]
    pub shard: Option<ShardArg>,
    /// With `--shard auto`: the shard count N (default under Slurm:
    /// SLURM_ARRAY_TASK_COUNT; required under Kubernetes: the Job's
    /// completions).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub shards: Option<u64>,
    /// Write every seed's result as JSON Lines to FILE, after a header line
    /// naming the scenario, range, shard and program, for `sweep merge`.
    /// `-` writes them to stdout, and the report to stderr. A file is written
    /// as FILE.part and renamed to FILE when the sweep is done.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
    #[command(flatten)]
    pub budget: crate::CheckBudgetArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum SweepCommand {
    /// Print the report of a sweep run in shards, from the files of
    /// `sweep --shard K/N --out FILE`: the same report, failures and replay
    /// command, and exit code as one sweep over the whole range. Exits 2 if a
    /// shard or some of its seeds are missing, a seed is there twice, or the
    /// files are of different sweeps.
    Merge(merge::MergeArgs),
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

pub fn run(registry: &Registry, args: &SweepArgs) -> i32 {
    if let Some(SweepCommand::Merge(m)) = &args.command {
        return merge::run(registry, m);
    }
    match sweep(registry, args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            exit::BAD_INPUT
        }
    }
}

/// The shard `args` ask for, `None` for the whole range.
fn shard_of(args: &SweepArgs) -> Result<Option<Shard>, String> {
    match (args.shard, args.shards) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("error: --shards N goes with --shard auto".into()),
        (Some(ShardArg::Given(_)), Some(_)) => Err(
            "error: --shards N goes with --shard auto; --shard K/N gives the count already".into(),
        ),
        (Some(ShardArg::Given(s)), None) => Ok(Some(s)),
        (Some(ShardArg::Auto), n) => shard::resolve_auto(n, &|var| std::env::var(var).ok())
            .map(Some)
            .map_err(|e| format!("error: {e}")),
    }
}

fn sweep(registry: &Registry, args: &SweepArgs) -> Result<i32, String> {
    let name = args
        .scenario
        .as_deref()
        .expect("clap requires a scenario unless `merge` is given");
    let Some(scenario) = registry.load_or_explain(Some(name)) else {
        return Ok(exit::BAD_INPUT);
    };
    let shard = shard_of(args)?;
    let budget = args.budget.for_scenario(&scenario);
    let (first, last) = args.seeds;
    let program = registry.program_name();
    // Counted from 0 so that a range ending at u64::MAX ends: a seed counter
    // would wrap past it. `parse_seeds` keeps the count under a million.
    let total = last - first + 1;
    let mine = shard.unwrap_or(Shard::WHOLE);
    let header = record::Header {
        chaoslab_sweep: record::FORMAT,
        program: program.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        build: record::build_id(),
        scenario: scenario.file.clone(),
        name: scenario.meta.name.clone(),
        scenario_hash: record::text_hash(&scenario.source),
        first,
        last,
        shard: mine.index,
        shards: mine.count,
        check_max_steps: args.budget.check_max_steps,
        check_max_memory: args.budget.check_max_memory,
        source: scenario.source.clone(),
    };
    let writer = match args.out.as_deref() {
        None => None,
        Some("-") => Some(record::Writer::new(
            Box::new(std::io::BufWriter::new(std::io::stdout())),
            "stdout".into(),
            &header,
        )),
        Some(path) => Some(record::Writer::to_file(path, &header)?),
    };
    let count = mine.len(total);
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let bar = progress_bar(count);
    let started = std::time::Instant::now();
    let next = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let results = Mutex::new((Vec::new(), writer));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                if j >= count {
                    break;
                }
                let seed = first + mine.index + j * mine.count;
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
                if outcome.outcome == RunOutcome::Fail {
                    let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
                    bar.set_message(format!("{n} failed"));
                }
                let mut held = results.lock().expect("no worker panics holding it");
                if let Some(w) = &mut held.1 {
                    w.push(&outcome);
                }
                held.0.push(outcome);
                drop(held);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let (mut results, writer) = results.into_inner().expect("workers are done");
    // A file that could not be written does not hide the sweep's report:
    // the report is printed, then the error, and the exit code is 2.
    let written = writer.map_or(Ok(()), record::Writer::finish);
    results.sort_by_key(|r| r.seed);
    eprintln!(
        "{}: {} seeds in {seconds:.2}s, {:.1} seeds/s on {jobs} thread{}",
        scenario.meta.name,
        results.len(),
        results.len() as f64 / seconds.max(1e-9),
        if jobs == 1 { "" } else { "s" }
    );
    let (text, code) = report::render(
        &report::Sweep {
            scenario: &scenario,
            first,
            last,
            shard,
            budget: &args.budget,
            program: &program,
            verbose: args.verbose,
        },
        &results,
    );
    if args.out.as_deref() == Some("-") {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    written?;
    Ok(code)
}

/// A bar on stderr while a person watches it; nothing when stderr is a pipe
/// or a file (a CI log, a batch job's output).
fn progress_bar(seeds: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(seeds);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} seeds, {rate}, eta {eta} {msg}",
    ) {
        let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1} seeds/s", state.per_sec());
        };
        bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    bar
}
