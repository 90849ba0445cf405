//! `chaoslab shrink`: turn a failing run into a small scenario a person can read.
//!
//! The failure to keep is what broke in the original run (its invariants and
//! expectations, by name). The shrinker then tries smaller scenarios and keeps
//! each one that still breaks at least one of those things, with the same seed:
//! 1. a nemesis becomes the fixed schedule of faults it applied;
//! 2. faults are removed in chunks, then one by one (delta debugging);
//! 3. fault times are rounded to whole milliseconds;
//! 4. the run is shortened (binary search on the duration);
//! 5. clients are removed.
//!
//! Every candidate is a complete, deterministic run, so the result is checked,
//! not guessed: the written file fails when run with `chaoslab run`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use sim::kernel::TraceMode;
use sim::report::Report;
use sim::scenario::Scenario;
use sim::time::{fmt_duration, Nanos, NANOS_PER_MILLI};

use crate::exit;
use crate::scenarios;

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
}

struct Shrinker {
    seed: u64,
    /// Names of what broke originally (the part of each failure before ':').
    target: BTreeSet<String>,
    runs: u32,
    max_runs: u32,
}

fn names(report: &Report) -> BTreeSet<String> {
    report
        .failures()
        .iter()
        .map(|f| f.split(':').next().unwrap_or(f).to_string())
        .collect()
}

impl Shrinker {
    /// Does this candidate still fail in one of the original ways?
    fn fails(&mut self, s: &Scenario) -> bool {
        if self.runs >= self.max_runs {
            return false;
        }
        self.runs += 1;
        match nodes::run(s, self.seed, TraceMode::Off) {
            Ok(out) => {
                let r = Report::build(s, &out);
                !r.passed && !names(&r).is_disjoint(&self.target)
            }
            Err(_) => false,
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
        let last_fault = s.faults.iter().map(|f| f.at).max().unwrap_or(0);
        let mut lo: Nanos = last_fault.max(NANOS_PER_MILLI);
        let mut hi = s.meta.duration;
        // Invariant: `hi` fails. Stop at 10ms resolution.
        while hi - lo > 10 * NANOS_PER_MILLI {
            let mid = (lo + (hi - lo) / 2) / NANOS_PER_MILLI * NANOS_PER_MILLI;
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

pub fn run(args: &ShrinkArgs) -> i32 {
    let original = match scenarios::load(Some(&args.scenario)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.0);
            return exit::BAD_INPUT;
        }
    };
    let seed = args.seed.unwrap_or(original.meta.seed);
    let out = nodes::run(&original, seed, TraceMode::Off).expect("checked when loaded");
    let report = Report::build(&original, &out);
    if report.passed {
        println!(
            "{} passes with seed {seed}: nothing to shrink. Find a failing seed with `chaoslab sweep {}`.",
            original.meta.name, args.scenario
        );
        return exit::PASS;
    }
    let mut sh = Shrinker {
        seed,
        target: names(&report),
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
        "duration: {} -> {}",
        fmt_duration(d),
        fmt_duration(s.meta.duration)
    ));
    let c = s.topology.clients;
    sh.clients(&mut s);
    steps.push(format!("clients: {c} -> {}", s.topology.clients));

    let file = args
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "shrunk.toml".into());
    let mut header = vec![
        format!(
            "Shrunk by `chaoslab shrink {} --seed {seed}` in {} runs.",
            args.scenario, sh.runs
        ),
        format!(
            "It still breaks: {}.",
            sh.target.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    ];
    header.extend(steps.iter().map(|s| format!("- {s}")));
    let text = s.to_toml(&header);

    // Check the file itself: parsed back, it must still fail.
    let reparsed = match nodes::parse(&file, &text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("internal error: the shrunk scenario does not parse back:\n{e}\n{text}");
            return exit::FAIL;
        }
    };
    let check = nodes::run(&reparsed, seed, TraceMode::Off).expect("parsed");
    let final_report = Report::build(&reparsed, &check);
    if final_report.passed {
        eprintln!(
            "internal error: the shrunk scenario passes when parsed back; keeping the original"
        );
        return exit::FAIL;
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
    for f in final_report.failures() {
        println!("  still broken: {f}");
    }
    if args.out.is_some() {
        println!("replay it with:\n  chaoslab run {file} --seed {seed}");
    }
    exit::FAIL
}
