//! `chaoslab bench`: how fast the simulator runs, on this machine.
//!
//! This is the one place that reads the wall clock: it measures the simulator,
//! it is not part of it.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::time::Instant;

use sim::kernel::TraceMode;
use sim::time::fmt_duration;

use crate::exit;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// What to measure: `kernel` (ping between 5 nodes, and the single-server
    /// store with tracing off and on), `raft` (5 servers, 3 clients), `twopc`
    /// (two-phase commit: 1 coordinator, 4 participants, 8 clients), `quorum`
    /// (8 replicas on a ring, N=3, 8 clients), `cache` (1 database, 2
    /// write-through caches, 32 clients, zipf keys), `check` (the linearizability
    /// checker on the reference histories and a generated 100,000-operation
    /// history), `replication` (1 primary, 2 replicas and the monitor,
    /// semi-sync, 8 clients), or `tui` (the terminal UI's frame time on a run
    /// of about a million events).
    #[arg(default_value = "kernel", value_parser = ["kernel", "raft", "twopc", "quorum", "cache", "replication", "check", "tui"])]
    pub target: String,
    /// For `check`: the reference corpus (the folder holding verdicts.tsv).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<std::path::PathBuf>,
    /// Simulated seconds per workload (longer runs give steadier figures).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Compare the kernel with another driver on the same scenarios (ping,
    /// single-server KV, Raft with 5 servers) in one run: `--vs madsim` (needs
    /// the madsim build, see docs/drivers.md).
    #[arg(long, value_name = "DRIVER", value_parser = ["madsim"])]
    pub vs: Option<String>,
}

const PING: &str = r#"
[meta]
name = "bench/ping"
description = "5 servers bounce 64 messages each, as fast as the network allows"
duration = "60s"
[system]
protocol = "ping"
in_flight = 64
[topology]
servers = 5
[network]
latency = { dist = "uniform", min = "1ms", max = "3ms" }
"#;

const SINGLE: &str = r#"
[meta]
name = "bench/single"
description = "the single-server store with 32 busy clients"
duration = "60s"
[system]
protocol = "single"
[topology]
servers = 1
clients = 32
[network]
latency = { dist = "uniform", min = "100us", max = "300us" }
[workload]
rate = 2000
keys = 100
mix = { get = 0.5, put = 0.4, cas = 0.1 }
timeout = "100ms"
"#;

const RAFT: &str = r#"
[meta]
name = "bench/raft"
description = "5 Raft servers, 3 clients, a steady workload"
duration = "60s"
[system]
protocol = "raft"
election_timeout_min = "150ms"
election_timeout_max = "300ms"
heartbeat_interval = "50ms"
[topology]
servers = 5
clients = 3
[network]
latency = { dist = "uniform", min = "1ms", max = "3ms" }
[workload]
rate = 100
keys = 20
mix = { get = 0.5, put = 0.3, cas = 0.1, append = 0.1 }
timeout = "500ms"
retry = { policy = "fixed", delay = "50ms", attempts = 5 }
"#;

const TWOPC: &str = r#"
[meta]
name = "bench/twopc"
description = "two-phase commit: 1 coordinator, 4 participants, 8 busy clients"
duration = "60s"
[system]
protocol = "twopc"
mode = "2pc"
[topology]
servers = 5
clients = 8
[network]
latency = { dist = "uniform", min = "100us", max = "300us" }
[workload]
rate = 2000
keys = 64
mix = { get = 0.4, put = 0.6 }
timeout = "100ms"
"#;

const QUORUM: &str = r#"
[meta]
name = "bench/quorum"
description = "quorum replication: 8 replicas on a ring, N=3 W=2 R=2, 8 busy clients"
duration = "60s"
[system]
protocol = "quorum"
n = 3
w = 2
r = 2
vnodes = 64
read_repair = "async"
[topology]
servers = 8
clients = 8
[network]
latency = { dist = "uniform", min = "100us", max = "300us" }
[workload]
rate = 2000
keys = 64
mix = { get = 0.5, put = 0.5 }
timeout = "100ms"
"#;

const CACHE: &str = r#"
[meta]
name = "bench/cache"
description = "1 database, 2 write-through caches of 1000 entries, 32 busy clients, zipf keys"
duration = "60s"
[system]
protocol = "cache"
policy = "write-through"
capacity = 1000
eviction = "lru"
ttl = "5s"
db_service_time = "100us"
[topology]
servers = 3
clients = 32
[network]
latency = { dist = "uniform", min = "100us", max = "300us" }
[workload]
rate = 200
keys = 10000
key_dist = "zipf"
zipf_exponent = 1.0
mix = { get = 0.9, put = 0.1 }
timeout = "100ms"
"#;

const REPLICATION: &str = r#"
[meta]
name = "bench/replication"
description = "primary-replica replication: 1 primary, 2 replicas, the monitor, semi-sync, 8 busy clients"
duration = "60s"
[system]
protocol = "replication"
mode = "semi-sync"
reads = "replicas"
[topology]
servers = 4
clients = 8
[network]
latency = { dist = "uniform", min = "100us", max = "300us" }
[workload]
rate = 2000
keys = 64
mix = { get = 0.5, put = 0.5 }
timeout = "100ms"
"#;

struct Figures {
    events: u64,
    wall_s: f64,
    simulated_s: f64,
}

fn measure(name: &str, toml: &str, seconds: u64, mode: TraceMode) -> Result<Figures, String> {
    let text = toml.replace("duration = \"60s\"", &format!("duration = \"{seconds}s\""));
    let scenario = nodes::parse(name, &text).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let out = nodes::run(&scenario, 1, mode).map_err(|e| e.to_string())?;
    let wall_s = start.elapsed().as_secs_f64();
    Ok(Figures {
        events: out.counters.events,
        wall_s,
        simulated_s: out.end_ns as f64 / 1e9,
    })
}

/// `chaoslab bench --vs madsim`: the same scenarios, the same seed, on both
/// drivers, tracing off; events are counted the same way (the kernel's
/// counters, which both drivers keep).
fn vs_madsim(seconds: u64) -> i32 {
    #[cfg(not(all(feature = "madsim", madsim)))]
    {
        let _ = seconds;
        eprintln!(
            "error: `bench --vs madsim` needs the madsim driver in simulation; build with:\n  {}",
            crate::run_cmd::MADSIM_BUILD
        );
        exit::BAD_INPUT
    }
    #[cfg(all(feature = "madsim", madsim))]
    {
        println!(
            "chaoslab bench --vs madsim: {} of simulated time per workload, seed 1, tracing off",
            fmt_duration(seconds * 1_000_000_000)
        );
        let runs = [
            ("ping, 5 nodes", PING),
            ("single-server KV, 32 clients", SINGLE),
            ("raft, 5 servers, 3 clients", RAFT),
        ];
        for (label, toml) in runs {
            let text = toml.replace("duration = \"60s\"", &format!("duration = \"{seconds}s\""));
            let scenario = match nodes::parse(label, &text) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("bench scenario failed to parse: {e}");
                    return exit::FAIL;
                }
            };
            let kernel = match measure(label, toml, seconds, TraceMode::Off) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("{e}");
                    return exit::FAIL;
                }
            };
            let start = Instant::now();
            let out = match chaoslab::driver::run(
                &scenario,
                chaoslab::driver::Options {
                    seed: 1,
                    trace: TraceMode::Off,
                    speed: 1.0,
                },
            ) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("{e}");
                    return exit::FAIL;
                }
            };
            let madsim = Figures {
                events: out.counters.events,
                wall_s: start.elapsed().as_secs_f64(),
                simulated_s: out.end_ns as f64 / 1e9,
            };
            print(&format!("{label}, kernel"), &kernel);
            print(&format!("{label}, madsim"), &madsim);
            let rate = |f: &Figures| f.events as f64 / f.wall_s;
            println!(
                "{:<42} kernel/madsim: {:.1}x events/s",
                "",
                rate(&kernel) / rate(&madsim)
            );
        }
        exit::PASS
    }
}

fn print(label: &str, f: &Figures) {
    println!(
        "{label:<42} {:>11} events  {:>7.3}s wall  {:>6.2}M events/s  {:>8.0}x real time",
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

pub fn run(args: &BenchArgs) -> i32 {
    if args.seconds == 0 {
        eprintln!("error: --seconds must be at least 1");
        return exit::BAD_INPUT;
    }
    if args.vs.is_some() {
        return vs_madsim(args.seconds);
    }
    if args.target == "check" {
        return crate::check_cmd::bench_check(&crate::check_cmd::BenchCheckArgs {
            corpus: args.corpus.clone(),
        });
    }
    if args.target == "tui" {
        return tui_frames();
    }
    println!(
        "chaoslab bench {}: {} of simulated time per workload, seed 1",
        args.target,
        fmt_duration(args.seconds * 1_000_000_000)
    );
    // The protocol benchmarks: one workload each, with tracing off and on.
    let protocol_bench = [
        ("raft", "raft, 5 servers, 3 clients", RAFT),
        ("twopc", "twopc, 1+4 servers, 8 clients", TWOPC),
        ("quorum", "quorum, 8 servers, 8 clients", QUORUM),
        ("cache", "cache, 1 db + 2 caches, 32 clients", CACHE),
        (
            "replication",
            "replication, 1+2 servers + monitor, 8 clients",
            REPLICATION,
        ),
    ];
    if let Some(&(_, label, toml)) = protocol_bench.iter().find(|(t, _, _)| *t == args.target) {
        for (mode, tracing) in [
            (TraceMode::Off, "tracing off"),
            (TraceMode::Record, "tracing on"),
        ] {
            let label = format!("{label}, {tracing}");
            match measure(&label, toml, args.seconds, mode) {
                Ok(f) => print(&label, &f),
                Err(e) => {
                    eprintln!("bench scenario failed to parse: {e}");
                    return exit::FAIL;
                }
            }
        }
        return exit::PASS;
    }
    let runs = [
        ("(a) ping, 5 nodes, tracing off", PING, TraceMode::Off),
        ("(b) single-server KV, tracing off", SINGLE, TraceMode::Off),
        (
            "(b) single-server KV, tracing on",
            SINGLE,
            TraceMode::Record,
        ),
    ];
    for (i, (label, toml, mode)) in runs.iter().enumerate() {
        match measure(label, toml, args.seconds, *mode) {
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
/// million events (ping, 5 servers, 64 messages in flight each, 6 simulated
/// seconds), drawn on an in-memory backend while stepping, paging and jumping.
fn tui_frames() -> i32 {
    use chaoslab::tui::app::{Action, App};
    use chaoslab::tui::keys::Target;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let text = PING.replace("duration = \"60s\"", "duration = \"6s\"");
    let scenario = match nodes::parse("bench/ping", &text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench scenario failed to parse: {e}");
            return exit::FAIL;
        }
    };
    let start = Instant::now();
    let mut app = match App::new(scenario, 1) {
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
                .draw(|f| chaoslab::tui::draw::draw(&app, f))
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
