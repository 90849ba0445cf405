//! The `chaoslab` binary. This minimal entry point dispatches only `check` and
//! `bench check`; the full CLI (run, list, bench, tui) lives on `main`.

mod check_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "chaoslab",
    about = "chaoslab: a deterministic distributed-systems simulator and lab"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a recorded history for linearizability and weaker guarantees.
    Check(check_cmd::CheckArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

#[derive(Subcommand, Debug)]
enum Bench {
    /// Time the consistency checker on the reference corpus and a large history.
    Check(check_cmd::BenchCheckArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => check_cmd::run(&args),
        Command::Bench {
            what: Bench::Check(args),
        } => check_cmd::bench_check(&args),
    };
    std::process::exit(code);
}
