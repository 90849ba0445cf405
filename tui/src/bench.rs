//! `chaoslab bench`: how fast the simulator runs, on this machine.
//!
//! This is the one place that reads the wall clock: it measures the simulator,
//! it is not part of it.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::BufWriter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sim::kernel::TraceMode;
use sim::time::fmt_duration;
use sim::trace::JsonLines;

use sim::registry::Bench;

use crate::{exit, Registry};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// What to measure: `kernel` (the simulator's own speed on the
    /// protocols' kernel benchmarks, tracing off and on), a protocol by name
    /// (its benchmark scenario, tracing off and on), `check` (the
    /// linearizability checker on the reference histories and a generated
    /// 100,000-operation history), `tui` (the terminal UI's frame time on
    /// a run of about a million events), or `explore` (the explorer's states
    /// per second on a bench protocol, see `--vs stateright`). The possible
    /// values come from the registry: see below.
    #[arg(default_value = "kernel")]
    pub target: String,
    /// For `check`: the reference corpus (the folder holding verdicts.tsv).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<std::path::PathBuf>,
    /// Simulated seconds per workload (longer runs give steadier figures).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Compare the kernel with another driver on the same scenarios (those
    /// the protocols mark for it: ping, single-server KV, Raft) in one invocation: `--vs madsim` (needs
    /// the madsim build, see docs/drivers.md). `bench explore --vs
    /// stateright`: the explorer against stateright's on the same protocol
    /// (needs the build with `--features stateright`).
    #[arg(long, value_name = "DRIVER", value_parser = ["madsim", "stateright"])]
    pub vs: Option<String>,
    /// For `explore`: servers of the bench protocol (3 gives 729 unique
    /// states, 4 gives 531,441).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=5))]
    pub servers: u32,
    /// With `--vs madsim`: each workload is run on each driver again and
    /// again, each run in a fresh process, the two drivers in turn, until
    /// that driver's runs of it have taken this many seconds of wall time
    /// (at least once, at most 25 times); the median wall time is reported
    /// (the mean of the two middle runs when their number is even). 0 runs
    /// each once.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, requires = "vs")]
    pub repeat_for: f64,
    /// One measurement in this process, for `--vs madsim`'s parent:
    /// `DRIVER:INDEX` (the INDEX-th compared workload on `kernel` or
    /// `madsim`). Prints `events wall_seconds simulated_seconds`.
    #[arg(long, hide = true, value_name = "DRIVER:INDEX", requires = "vs")]
    pub child: Option<String>,
}

struct Figures {
    events: u64,
    wall_s: f64,
    simulated_s: f64,
    /// Tracing on: the MiB of JSON Lines the trace came to.
    trace_mib: Option<f64>,
}

/// What "tracing on" costs: the run streams its trace as `run --trace FILE`
/// does (each record serialised to JSON Lines through a buffered writer, as
/// it is made), into a writer that counts the bytes and keeps none, so that
/// the figure is the simulator's and not the disk's.
const TRACING_ON: &str =
    "tracing on: every record serialised to JSON Lines as `run --trace FILE` writes it, \
                          then discarded (no disk)";

/// Counts the bytes written to it and keeps none.
struct Counted(Arc<AtomicU64>);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tracing off, or on: streamed as `run --trace FILE` streams it, with the
/// count of bytes it wrote.
fn tracing(on: bool) -> (TraceMode, Option<Arc<AtomicU64>>) {
    if !on {
        return (TraceMode::Off, None);
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let out = BufWriter::with_capacity(crate::run_cmd::TRACE_BUFFER, Counted(bytes.clone()));
    (
        TraceMode::Stream(Box::new(JsonLines::new(out))),
        Some(bytes),
    )
}

/// The possible `bench` targets: `kernel`, each protocol with a benchmark
/// of its own, `check` and `tui`.
pub fn targets(registry: &Registry) -> Vec<clap::builder::PossibleValue> {
    use clap::builder::PossibleValue;
    let mut out = vec![PossibleValue::new("kernel").help("the simulator's own speed")];
    for (name, b) in benches(registry).filter(|(_, b)| !b.kernel) {
        out.push(PossibleValue::new(name).help(b.label));
    }
    out.push(PossibleValue::new("check").help("the linearizability checker"));
    out.push(PossibleValue::new("tui").help("the terminal UI's frame time"));
    out.push(
        PossibleValue::new("explore").help("the explorer's states per second (--vs stateright)"),
    );
    out
}

/// Every protocol's benchmark, in the registry's order.
fn benches(registry: &Registry) -> impl Iterator<Item = (&'static str, Bench)> + '_ {
    registry
        .catalog()
        .entries()
        .iter()
        .filter_map(|e| e.bench.map(|b| (e.name, b)))
}

fn with_seconds(toml: &str, seconds: u64) -> String {
    toml.replace("duration = \"60s\"", &format!("duration = \"{seconds}s\""))
}

fn measure(
    registry: &Registry,
    name: &str,
    toml: &str,
    seconds: u64,
    traced: bool,
) -> Result<Figures, String> {
    let text = with_seconds(toml, seconds);
    let scenario = registry.parse(name, &text).map_err(|e| e.to_string())?;
    let (mode, bytes) = tracing(traced);
    let start = Instant::now();
    let out = registry
        .run(&scenario, 1, mode)
        .map_err(|e| e.to_string())?;
    let wall_s = start.elapsed().as_secs_f64();
    if let Some(e) = out.trace_error {
        return Err(format!("error: the trace could not be written: {e}"));
    }
    Ok(Figures {
        trace_mib: bytes.map(|b| b.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)),
        events: out.counters.events,
        wall_s,
        simulated_s: out.end_ns as f64 / 1e9,
    })
}

/// The workloads `--vs madsim` compares (those the protocols mark for it),
/// in the registry's order.
fn compared(registry: &Registry) -> Vec<Bench> {
    benches(registry)
        .map(|(_, b)| b)
        .filter(|b| b.compare_drivers)
        .collect()
}

const DRIVERS: [&str; 2] = ["kernel", "madsim"];

/// One run of a compared workload on the madsim driver, in this process.
#[cfg(all(feature = "madsim", madsim))]
fn measure_madsim(registry: &Registry, b: &Bench, seconds: u64) -> Result<Figures, String> {
    let text = with_seconds(b.toml, seconds);
    let scenario = registry
        .parse(b.label, &text)
        .map_err(|e| format!("bench scenario failed to parse: {e}"))?;
    let start = Instant::now();
    let out = crate::driver::run(
        registry,
        &scenario,
        crate::driver::Options {
            seed: 1,
            trace: TraceMode::Off,
            speed: 1.0,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(Figures {
        events: out.counters.events,
        wall_s: start.elapsed().as_secs_f64(),
        simulated_s: out.end_ns as f64 / 1e9,
        trace_mib: None,
    })
}

/// `--child DRIVER:INDEX`: one measurement in this process, printed for
/// the parent as `events wall_seconds simulated_seconds`.
fn child(registry: &Registry, spec: &str, seconds: u64) -> i32 {
    let parsed = spec
        .split_once(':')
        .and_then(|(d, i)| Some((d, i.parse::<usize>().ok()?)));
    let workloads = compared(registry);
    let Some((driver, b)) = parsed.and_then(|(d, i)| Some((d, workloads.get(i)?))) else {
        eprintln!(
            "error: --child takes DRIVER:INDEX (kernel or madsim, and an index below {}), not `{spec}`",
            workloads.len()
        );
        return exit::BAD_INPUT;
    };
    let figures = match driver {
        "kernel" => measure(registry, b.label, b.toml, seconds, false),
        #[cfg(all(feature = "madsim", madsim))]
        "madsim" => measure_madsim(registry, b, seconds),
        _ => {
            eprintln!(
                "error: --child: no driver `{driver}` in this build (kernel{})",
                if cfg!(all(feature = "madsim", madsim)) {
                    ", madsim"
                } else {
                    ""
                }
            );
            return exit::BAD_INPUT;
        }
    };
    match figures {
        Ok(f) => {
            println!("{} {} {}", f.events, f.wall_s, f.simulated_s);
            exit::PASS
        }
        Err(e) => {
            eprintln!("{e}");
            exit::FAIL
        }
    }
}

/// Runs one measurement in a fresh process of this very program (`--child`),
/// so that no run inherits the heap another left behind.
fn in_child(driver: &str, index: usize, seconds: u64) -> Result<Figures, String> {
    let exe = std::env::current_exe().map_err(|e| format!("error: this program's path: {e}"))?;
    let out = std::process::Command::new(&exe)
        .args(["bench", "--vs", "madsim", "--seconds"])
        .arg(seconds.to_string())
        .arg("--child")
        .arg(format!("{driver}:{index}"))
        .output()
        .map_err(|e| format!("error: could not run {}: {e}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    if !out.status.success() {
        return Err(format!(
            "error: a {driver} run failed ({}):\n{}\n{}",
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let parse = |x: &str| x.parse::<f64>().ok();
    match fields.as_slice() {
        [events, wall, simulated] => match (events.parse().ok(), parse(wall), parse(simulated)) {
            (Some(events), Some(wall_s), Some(simulated_s)) => Ok(Figures {
                events,
                wall_s,
                simulated_s,
                trace_mib: None,
            }),
            _ => Err(format!("error: a {driver} run printed `{}`", text.trim())),
        },
        _ => Err(format!(
            "error: a {driver} run printed `{}`, not `events wall_seconds simulated_seconds`",
            text.trim()
        )),
    }
}

/// The run of median wall time (the mean of the two middle ones when the
/// count is even), with the fastest and slowest wall times.
fn median(runs: &mut [Figures]) -> (Figures, f64, f64) {
    runs.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
    let n = runs.len();
    let wall_s = (runs[(n - 1) / 2].wall_s + runs[n / 2].wall_s) / 2.0;
    let m = &runs[n / 2];
    (
        Figures {
            events: m.events,
            wall_s,
            simulated_s: m.simulated_s,
            trace_mib: None,
        },
        runs[0].wall_s,
        runs[n - 1].wall_s,
    )
}

/// At most this many runs of one workload on one driver.
const MAX_RUNS: usize = 25;

/// `chaoslab bench --vs madsim`: the same scenarios, the same seed, on both
/// drivers, tracing off; events are counted the same way (the kernel's
/// counters, which both drivers keep). Every run is a fresh process of this
/// program, the two drivers in turn, and each figure is the median of a
/// driver's runs of a workload (see `--repeat-for`).
fn vs_madsim(registry: &Registry, args: &BenchArgs) -> i32 {
    if let Some(spec) = &args.child {
        return child(registry, spec, args.seconds);
    }
    if !cfg!(all(feature = "madsim", madsim)) {
        eprintln!(
            "error: `bench --vs madsim` needs the madsim driver in simulation; build with:\n  {}",
            crate::run_cmd::madsim_build(&registry.program_name())
        );
        return exit::BAD_INPUT;
    }
    if !(args.repeat_for >= 0.0 && args.repeat_for <= 3600.0) {
        eprintln!("error: --repeat-for takes seconds from 0 to 3600");
        return exit::BAD_INPUT;
    }
    println!(
        "{} bench --vs madsim: {} of simulated time per workload, seed 1, tracing off",
        registry.program_name(),
        fmt_duration(args.seconds * 1_000_000_000)
    );
    println!(
        "each run a fresh process, the drivers in turn, repeated for {}s of wall time per driver (at most {MAX_RUNS} runs): the median wall time",
        args.repeat_for
    );
    for (index, b) in compared(registry).iter().enumerate() {
        let mut runs: [Vec<Figures>; 2] = Default::default();
        loop {
            let mut ran = false;
            for (d, driver) in DRIVERS.iter().enumerate() {
                let spent: f64 = runs[d].iter().map(|f| f.wall_s).sum();
                if runs[d].len() >= MAX_RUNS || (!runs[d].is_empty() && spent >= args.repeat_for) {
                    continue;
                }
                match in_child(driver, index, args.seconds) {
                    Ok(f) => runs[d].push(f),
                    Err(e) => {
                        eprintln!("{e}");
                        return exit::FAIL;
                    }
                }
                ran = true;
            }
            if !ran {
                break;
            }
        }
        let mut medians = Vec::new();
        for (d, driver) in DRIVERS.iter().enumerate() {
            // The same seed runs the same events, to the same simulated
            // time, every time: anything else is a determinism bug, not noise.
            let first = &runs[d][0];
            let differ =
                |f: &Figures| f.events != first.events || f.simulated_s != first.simulated_s;
            if runs[d].iter().any(differ) {
                let seen = runs[d]
                    .iter()
                    .map(|f| format!("{} events to {}s", f.events, f.simulated_s));
                eprintln!(
                    "error: {}, {driver}: runs of the same seed differ ({}): a determinism bug",
                    b.label,
                    seen.collect::<Vec<_>>().join(", ")
                );
                return exit::FAIL;
            }
            let n = runs[d].len();
            let (m, fastest, slowest) = median(&mut runs[d]);
            print(&format!("{}, {driver}", b.label), &m);
            println!(
                "{:<42} median of {n} run{}: wall {fastest:.3}s..{slowest:.3}s",
                "",
                if n == 1 { "" } else { "s" }
            );
            medians.push(m);
        }
        let rate = |f: &Figures| f.events as f64 / f.wall_s;
        println!(
            "{:<42} kernel/madsim: {:.1}x events/s",
            "",
            rate(&medians[0]) / rate(&medians[1])
        );
    }
    exit::PASS
}

fn print(label: &str, f: &Figures) {
    let trace = f
        .trace_mib
        .map(|mib| format!("  {mib:.0} MiB of trace"))
        .unwrap_or_default();
    println!(
        "{label:<42} {:>11} events  {:>7.3}s wall  {:>6.2}M events/s  {:>8.0}x real time{trace}",
        f.events,
        f.wall_s,
        f.events as f64 / f.wall_s / 1e6,
        f.simulated_s / f.wall_s
    );
}

/// Peak resident memory of this process, from /proc (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn run(registry: &Registry, args: &BenchArgs) -> i32 {
    if args.seconds == 0 {
        eprintln!("error: --seconds must be at least 1");
        return exit::BAD_INPUT;
    }
    if args.target == "explore" || args.vs.as_deref() == Some("stateright") {
        if args.target != "explore" {
            eprintln!(
                "error: `--vs stateright` compares the explorer: run `{} bench explore --vs stateright`",
                registry.program_name()
            );
            return exit::BAD_INPUT;
        }
        return explore(registry, args);
    }
    if args.vs.is_some() {
        return vs_madsim(registry, args);
    }
    if args.target == "check" {
        return crate::check_cmd::bench_check(&crate::check_cmd::BenchCheckArgs {
            corpus: args.corpus.clone(),
        });
    }
    if args.target == "tui" {
        return tui_frames(registry);
    }
    println!(
        "{} bench {}: {} of simulated time per workload, seed 1",
        registry.program_name(),
        args.target,
        fmt_duration(args.seconds * 1_000_000_000)
    );
    println!("{TRACING_ON}");
    // A protocol's own benchmark: its workload with tracing off and on.
    if let Some((_, b)) = benches(registry).find(|(n, b)| !b.kernel && *n == args.target) {
        for (traced, tracing) in [(false, "tracing off"), (true, "tracing on")] {
            let label = format!("{}, {tracing}", b.label);
            match measure(registry, &label, b.toml, args.seconds, traced) {
                Ok(f) => print(&label, &f),
                Err(e) => {
                    eprintln!("bench scenario failed to parse: {e}");
                    return exit::FAIL;
                }
            }
        }
        return exit::PASS;
    }
    // The kernel: the first kernel benchmark with tracing off (and the
    // memory it took), each other one with tracing off and on.
    let mut runs: Vec<(String, &str, bool)> = Vec::new();
    for (i, (_, b)) in benches(registry).filter(|(_, b)| b.kernel).enumerate() {
        let letter = (b'a' + i as u8) as char;
        runs.push((
            format!("({letter}) {}, tracing off", b.label),
            b.toml,
            false,
        ));
        if i > 0 {
            runs.push((format!("({letter}) {}, tracing on", b.label), b.toml, true));
        }
    }
    for (i, (label, toml, traced)) in runs.iter().enumerate() {
        match measure(registry, label, toml, args.seconds, *traced) {
            Ok(f) => {
                print(label, &f);
                if i == 0 {
                    if let Some(mib) = peak_rss_mib() {
                        println!(
                            "{:<34} peak resident memory after (a): {mib:.1} MiB (tracing off)",
                            ""
                        );
                    }
                }
            }
            Err(e) => {
                eprintln!("bench scenario failed to parse: {e}");
                return exit::FAIL;
            }
        }
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak resident memory, all runs: {mib:.1} MiB");
    }
    exit::PASS
}

/// `chaoslab bench tui`: frame times of the terminal UI on a run of about a
/// million events (the first kernel benchmark, ping: 5 servers, 64 messages
/// in flight each, for 6 simulated seconds), drawn on an in-memory backend
/// while stepping, paging and jumping.
fn tui_frames(registry: &Registry) -> i32 {
    use crate::tui::app::{Action, App};
    use crate::tui::keys::Target;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let Some((name, b)) = benches(registry).find(|(_, b)| b.kernel) else {
        eprintln!("error: no protocol of this chaoslab has a kernel benchmark to draw");
        return exit::BAD_INPUT;
    };
    let text = with_seconds(b.toml, 6);
    let scenario = match registry.parse(&format!("bench/{name}"), &text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench scenario failed to parse: {e}");
            return exit::FAIL;
        }
    };
    let start = Instant::now();
    let mut app = match App::new_in(registry, scenario, 1) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return exit::FAIL;
        }
    };
    let record_s = start.elapsed().as_secs_f64();
    println!(
        "chaoslab bench tui: {} trace records ({} message ids), recorded with per-event state in {record_s:.2}s",
        app.run.len(),
        app.run.send_of.len()
    );
    if let Some(mib) = peak_rss_mib() {
        println!("peak resident memory: {mib:.1} MiB");
    }
    // Scripted moves: single steps, pages, jumps across the whole run, steps back.
    let moves: Vec<Action> = (0..400)
        .map(|k| match k % 8 {
            0..=2 => Action::Step(1),
            3 => Action::Step(-1),
            4 => Action::Page(1),
            5 => Action::Step(app.run.len() as i64 / 50),
            6 => Action::Jump(Target::Message, k % 16 < 8),
            _ => Action::Select(1),
        })
        .collect();
    for (w, h) in [(200u16, 60u16), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test backend");
        app.update(Action::Start);
        let mut times = Vec::with_capacity(moves.len());
        for m in &moves {
            let t0 = Instant::now();
            app.update(m.clone());
            terminal
                .draw(|f| crate::tui::draw::draw(&app, f))
                .expect("drawing to memory");
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let max = times.iter().cloned().fold(0.0, f64::max);
        times.sort_by(f64::total_cmp);
        let p99 = times[times.len() * 99 / 100];
        println!(
            "{w}x{h}: {} frames (update + draw), mean {mean:.3} ms, p99 {p99:.3} ms, max {max:.3} ms (target: under 5 ms)",
            times.len()
        );
    }
    exit::PASS
}

/// `chaoslab bench explore [--vs stateright]`: the explorer's figures on the
/// bench protocol (`crate::explore_bench`), and stateright's on the same
/// protocol written as an actor model, in one process.
fn explore(registry: &Registry, args: &BenchArgs) -> i32 {
    use crate::explore_bench;
    let servers = args.servers as usize;
    if args.vs.as_deref() == Some("madsim") {
        eprintln!("error: `bench explore` compares with `--vs stateright` only");
        return exit::BAD_INPUT;
    }
    #[cfg(not(feature = "stateright"))]
    if args.vs.is_some() {
        eprintln!(
            "error: `bench explore --vs stateright` needs stateright, which the default build leaves out; build with:\n  cargo build --release --features stateright\nthen run:\n  target/release/{} bench explore --vs stateright",
            registry.program_name()
        );
        return exit::BAD_INPUT;
    }
    println!(
        "{} bench explore: a last-writer-wins register on {servers} servers, each writing once; \
         every delivery order, no faults; breadth first, one thread",
        registry.program_name()
    );
    println!(
        "expected unique states: 3^(n(n-1)) = {} (each ordered pair of servers: write in flight, ack in flight, or ack counted)",
        explore_bench::expected_unique(servers)
    );
    let ours = match explore_bench::explore(servers) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAIL;
        }
    };
    let row = |who: &str, states: u64, unique: u64, depth: u64, secs: f64| {
        println!(
            "{who:<11} {states:>10} states  {unique:>9} unique  depth {depth:>3}  {secs:>8.3}s  {:>10.0} states/s",
            states as f64 / secs.max(1e-9)
        );
    };
    row(
        "chaoslab",
        ours.states,
        ours.unique,
        ours.depth,
        ours.seconds,
    );
    if !ours.exhaustive {
        eprintln!("error: the chaoslab search was not exhaustive");
        return exit::FAIL;
    }
    #[cfg(feature = "stateright")]
    if args.vs.is_some() {
        let theirs = explore_bench::stateright::check(servers);
        row(
            "stateright",
            theirs.states,
            theirs.unique,
            theirs.depth,
            theirs.seconds,
        );
        let rate = |states: u64, secs: f64| states as f64 / secs.max(1e-9);
        println!(
            "chaoslab/stateright: {:.2}x states/s, {:.2}x the time",
            rate(ours.states, ours.seconds) / rate(theirs.states, theirs.seconds),
            ours.seconds / theirs.seconds.max(1e-9)
        );
        println!(
            "(states: choices made from expanded states, repeats included; stateright counts its initial state too, and\n \
             depth counts it as 1 where chaoslab counts steps from the initial state)"
        );
        if !theirs.held {
            eprintln!("error: stateright found the always-property broken");
            return exit::FAIL;
        }
        if theirs.unique == ours.unique {
            println!("unique states AGREE: {}", ours.unique);
        } else {
            println!(
                "unique states DISAGREE: chaoslab {}, stateright {} (the semantics differ: a bug in one of the two models)",
                ours.unique, theirs.unique
            );
            return exit::FAIL;
        }
    }
    exit::PASS
}
