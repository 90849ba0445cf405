//! `chaoslab explore`: check every run of a small configuration (see
//! `sim::explore`), and write the counterexample it finds as a scenario that
//! `chaoslab run` replays and `chaoslab tui` steps through.
//!
//! Exit codes: 0 every run within the bounds was explored and none broke
//! anything; 1 a counterexample was found (and written); 2 bad input; 3 no
//! counterexample, but the search was not exhaustive (a budget ran out, the
//! depth bound cut runs short, or the strategy samples).

// The time budget and the states-per-second figure read the wall clock, and
// the memory budget reads the process's size: the search itself never does.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sim::explore::{Limits, Outcome, Stats, Strategy};
use sim::scenario::{with_schedule, Scenario};
use sim::time::fmt_duration;

use crate::{exit, Registry};

/// Explore every run of a small configuration (see docs/exploring.md).
#[derive(clap::Args, Debug, Clone)]
pub struct ExploreArgs {
    /// A scenario file or bundled scenario name with an [explore] table
    /// (its bounds: operations per client, crashes, partitions, drops...).
    pub scenario: String,
    /// bfs: level by level, the first counterexample is a shortest one;
    /// dfs: depth first; pct: random runs with PCT priorities (for
    /// configurations too large to exhaust).
    #[arg(long, default_value = "bfs", value_parser = ["bfs", "dfs", "pct"])]
    pub strategy: String,
    /// The seed the nodes' own random draws and the workload come from
    /// (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The most distinct states to explore before answering "not
    /// exhaustive".
    #[arg(long, default_value_t = 2_000_000)]
    pub max_states: u64,
    /// The longest run to explore, in steps (default: [explore] depth, else
    /// no bound but the scenario's duration).
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Stop after this long (e.g. 30s, 5m) with "not exhaustive".
    #[arg(long, default_value = "10m", value_parser = parse_time)]
    pub timeout: Duration,
    /// Stop when the process holds this much memory (e.g. 2GiB) with "not
    /// exhaustive".
    #[arg(long, default_value = "4GiB", value_parser = parse_size)]
    pub max_memory: u64,
    /// pct: how many random runs.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// pct: the bug depth d it targets (d - 1 priority change points).
    #[arg(long, default_value_t = 3)]
    pub bug_depth: u32,
    /// Where to write the counterexample scenario (default:
    /// NAME.counterexample.toml in the current folder).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_time(s: &str) -> Result<Duration, String> {
    sim::time::parse_duration(s).map(Duration::from_nanos)
}

fn parse_size(s: &str) -> Result<u64, String> {
    sim::scenario::parse_memory_budget(s)
}

/// The process's resident memory, in bytes, where the system says.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub fn run(registry: &Registry, args: &ExploreArgs) -> i32 {
    let Some(scenario) = registry.load_or_explain(Some(&args.scenario)) else {
        return exit::BAD_INPUT;
    };
    if let Err(e) = sim::explore::explorable(&scenario) {
        eprintln!("{e}");
        return exit::BAD_INPUT;
    }
    let seed = args.seed.unwrap_or(scenario.meta.seed);
    if seed > i64::MAX as u64 {
        eprintln!(
            "--seed {seed}: a counterexample keeps its seed in [meta] seed, a TOML integer; use a seed up to {}",
            i64::MAX
        );
        return exit::BAD_INPUT;
    }
    let strategy = match args.strategy.as_str() {
        "dfs" => Strategy::Dfs,
        "pct" => Strategy::Pct {
            runs: args.runs,
            depth: args.bug_depth.max(1),
            seed,
        },
        _ => Strategy::Bfs,
    };
    let limits = Limits {
        max_states: args.max_states,
        max_depth: args.max_depth,
        check_steps: scenario.meta.check_steps(),
    };
    let started = Instant::now();
    let bar = progress();
    let (timeout, max_memory) = (args.timeout, args.max_memory);
    let mut stop = |s: &Stats| -> Option<String> {
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} states, {} unique, depth {}",
                s.explored, s.unique, s.max_depth
            ));
            bar.tick();
        }
        if started.elapsed() >= timeout {
            return Some(format!(
                "the time limit of {} ran out (--timeout)",
                fmt_duration(timeout.as_nanos() as u64)
            ));
        }
        if resident_bytes().is_some_and(|b| b >= max_memory) {
            return Some(format!(
                "the memory limit of {} was reached (--max-memory)",
                sim::check::show_bytes(max_memory)
            ));
        }
        None
    };
    let outcome = match registry
        .catalog()
        .explore(&scenario, seed, strategy, limits, &mut stop)
    {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
        Err(e) => {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed();
    let written = match &outcome.counterexample {
        Some(cex) => match write_counterexample(registry, &scenario, seed, &outcome, cex, args) {
            Ok(path) => Some(path),
            Err(e) => {
                eprintln!("{e}");
                return exit::BAD_INPUT;
            }
        },
        None => None,
    };
    if args.json {
        let v = serde_json::json!({
            "scenario": scenario.meta.name,
            "seed": seed,
            "outcome": outcome,
            "seconds": elapsed.as_secs_f64(),
            "states_per_second": outcome.stats.explored as f64 / elapsed.as_secs_f64().max(1e-9),
            "written": written.as_ref().map(|p| p.display().to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
    } else {
        print_outcome(
            registry,
            &scenario,
            seed,
            &outcome,
            elapsed,
            written.as_ref(),
        );
    }
    if outcome.counterexample.is_some() {
        exit::FAIL
    } else if outcome.exhaustive {
        exit::PASS
    } else {
        exit::UNDECIDED
    }
}

fn progress() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} exploring: {msg} [{elapsed}]")
            .expect("a valid template"),
    );
    Some(bar)
}

/// What the bounds of an exhaustive answer were, in words.
pub fn bounds(s: &Scenario) -> String {
    let x = s.explore.as_ref().expect("explorable");
    let mut parts = vec![
        format!("{} servers, {} clients", s.servers(), s.clients()),
        format!(
            "{} operations per client{}",
            x.ops,
            match x.issue {
                sim::scenario::Issue::AnyTime => "",
                sim::scenario::Issue::Earliest => " (each as soon as it may)",
            }
        ),
    ];
    for (n, what) in [
        (x.crashes, "crash"),
        (x.restarts, "restart"),
        (x.partitions, "partition"),
        (x.drops, "lost message"),
        (x.duplicates, "duplicated message"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}{}", if n == 1 { "" } else { "s" }));
        }
    }
    // The window used: the table's, else the network's own range.
    let (lo, hi) = x.window().unwrap_or_else(|| s.network.latency.window());
    parts.push(format!(
        "messages take {} to {}{}",
        fmt_duration(lo),
        fmt_duration(hi),
        if x.latency.is_none() && !s.network.region_latency.is_empty() {
            " (between regions, their own range)"
        } else {
            ""
        }
    ));
    parts.push(format!("runs of {}", fmt_duration(s.meta.duration)));
    parts.join(", ")
}

fn print_outcome(
    registry: &Registry,
    scenario: &Scenario,
    seed: u64,
    outcome: &Outcome,
    elapsed: Duration,
    written: Option<&PathBuf>,
) {
    let s = &outcome.stats;
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "explore {} ({}, seed {seed})",
        scenario.meta.name, outcome.strategy
    );
    println!("  bounds: {}", bounds(scenario));
    println!(
        "  states: {} explored, {} unique; deepest run {} steps; {} runs finished",
        s.explored, s.unique, s.max_depth, s.finished_runs
    );
    println!(
        "  speed: {:.0} states/s ({:.2}s)",
        s.explored as f64 / secs,
        secs
    );
    if s.undecided_checks > 0 || s.undecided_properties > 0 {
        println!(
            "  undecided (never failures): {} linearizability checks, {} eventually-properties",
            s.undecided_checks, s.undecided_properties
        );
    }
    match &outcome.counterexample {
        Some(cex) => {
            println!(
                "  counterexample: {} broke at step {} ({}): {}",
                cex.property,
                cex.steps.len(),
                fmt_duration(cex.at),
                cex.detail
            );
            for (k, (_, what)) in cex.steps.iter().enumerate() {
                println!("    {:>3}. {what}", k + 1);
            }
            if let Some(path) = written {
                let program = registry.program_name();
                println!("  written to {}", path.display());
                println!("  replay it:        {program} run {}", path.display());
                println!("  step through it:  {program} tui {}", path.display());
            }
        }
        None if outcome.exhaustive => {
            println!("  exhaustive: every run within the bounds was explored; nothing broke");
        }
        None => {
            println!("  not exhaustive: nothing broke in what was explored, but");
            for why in &outcome.bounded_by {
                println!("    - {why}");
            }
        }
    }
}

fn write_counterexample(
    registry: &Registry,
    scenario: &Scenario,
    seed: u64,
    outcome: &Outcome,
    cex: &sim::explore::Counterexample,
    args: &ExploreArgs,
) -> Result<PathBuf, String> {
    let header = format!(
        "The run chaoslab explore found ({}, seed {seed}): {} broke at step {} ({}).\n{}\nReplay it with `{} run FILE`; `tui FILE` steps through it.",
        outcome.strategy,
        cex.property,
        cex.steps.len(),
        fmt_duration(cex.at),
        cex.detail.lines().next().unwrap_or(""),
        registry.program_name()
    );
    let text = with_schedule(
        &scenario.source,
        seed,
        &header,
        &cex.steps,
        scenario.servers(),
    )
    .ok_or_else(|| {
        format!(
            "{}: the scenario text does not parse as TOML",
            scenario.file
        )
    })?;
    let path = args.out.clone().unwrap_or_else(|| {
        let base = scenario.meta.name.replace('/', "-");
        PathBuf::from(format!("{base}.counterexample.toml"))
    });
    // The file must replay: parse it back before writing.
    registry
        .parse(&path.display().to_string(), &text)
        .map_err(|e| {
            format!(
                "the counterexample does not parse back (a bug): {}",
                e.message
            )
        })?;
    std::fs::write(&path, text)
        .map_err(|e| format!("cannot write the counterexample to {}: {e}", path.display()))?;
    Ok(path)
}
