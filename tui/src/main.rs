//! `chaoslab`: run, list, benchmark and check distributed-systems scenarios.

mod bench;
mod check_cmd;
mod run_cmd;
mod scenarios;
mod shrink;
mod sweep;

use clap::{Parser, Subcommand};

/// Exit codes, documented in `chaoslab --help` and the README.
pub mod exit {
    /// The hypothesis held (and every invariant not expected to break held).
    pub const PASS: i32 = 0;
    /// The hypothesis did not hold, or an invariant broke.
    pub const FAIL: i32 = 1;
    /// Bad input: a scenario, history or flag that cannot be used.
    pub const BAD_INPUT: i32 = 2;
}

#[derive(Parser, Debug)]
#[command(
    name = "chaoslab",
    version,
    about = "A deterministic distributed-systems simulator and teaching lab",
    long_about = "chaoslab runs real protocol code under injected partitions, latency, loss, \
clock skew, disk faults and crashes, in seeded virtual time: the same scenario and seed \
always give the same run. With no command it runs the built-in default scenario.",
    after_help = "Exit codes: 0 the hypothesis held, 1 it did not (or an invariant broke), \
2 bad input (scenario file, flags), 3 a check whose verdict is unknown (budget ran out)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario and print its report; exits 1 when its hypothesis fails.
    Run(run_cmd::RunArgs),
    /// List the bundled scenarios with one-line descriptions.
    List,
    /// Check a history (Jepsen/Maelstrom EDN, porcupine logs, chaoslab JSON
    /// Lines) for linearizability and weaker guarantees.
    Check(check_cmd::CheckArgs),
    /// Run a scenario over many seeds; list the seeds whose hypothesis failed.
    Sweep(sweep::SweepArgs),
    /// Shrink a failing run into a small scenario that still fails the same way.
    Shrink(shrink::ShrinkArgs),
    /// Measure the simulator's speed (events per second, simulated/wall time).
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        None => run_cmd::run(&run_cmd::RunArgs {
            scenario: None,
            seed: None,
            trace: None,
            history: None,
            json: false,
        }),
        Some(Command::Run(args)) => run_cmd::run(&args),
        Some(Command::List) => list(),
        Some(Command::Check(args)) => check_cmd::run(&args),
        Some(Command::Sweep(args)) => sweep::run(&args),
        Some(Command::Shrink(args)) => shrink::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
    };
    std::process::exit(code);
}

fn list() -> i32 {
    let width = scenarios::BUNDLED
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(0);
    for (name, path, text) in scenarios::BUNDLED {
        let description = match nodes::parse(path, text) {
            Ok(s) => s.meta.description,
            Err(e) => format!("(does not parse: {})", e.message),
        };
        println!("{name:<width$}  {description}");
    }
    println!(
        "\nRun one with `chaoslab run NAME` (e.g. `chaoslab run {}`).",
        scenarios::DEFAULT
    );
    exit::PASS
}
