//! The command line: run, list, benchmark and check distributed-systems
//! scenarios, over the protocols and scenarios of a [`Registry`].

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::{bench, check_cmd, cluster_cmd, exit, run_cmd, shrink, sweep, Registry};

#[derive(Parser, Debug)]
#[command(
    name = "chaoslab",
    version,
    about = "A deterministic distributed-systems simulator and teaching lab",
    long_about = "chaoslab runs real protocol code under injected partitions, latency, loss, \
clock skew, disk faults and crashes, in seeded virtual time: the same scenario and seed \
always give the same run. With no command it runs the built-in default scenario.",
    after_help = "Exit codes (run, sweep, shrink, check, export): 0 the hypothesis held (export: the files \
were written), 1 it did not \
(or an invariant broke), 2 bad input (scenario file, history, trace, flags; for sweep merge, files that are not the shards of one sweep; \
an output file that cannot be written (--trace, --history, --export, --html, export --to; said after the report when a \
write fails during a run), or two outputs that are one file), 3 undecided: nothing \
failed but a check has no answer (the linearizability search ran out of steps or memory; \
for run, sweep and shrink raise it with --check-max-steps / --check-max-memory or \
[meta] check_max_steps / check_max_memory). A run with a real failure exits 1 even if something else is undecided. \
4 (shrink only) the shrunk scenario did not fail as the original did; nothing was written. \
5 (run --bin only) a node process stopped the run: it did not answer init within --init-timeout, printed a line \
that is not a Maelstrom message, exited by itself, or printed more than 10000 lines in a second; the report of the \
run so far is printed, then the error naming the node and the tail of its stderr. \
explore: 0 every run within the bounds was explored and nothing broke, 1 a counterexample was found (and written), \
2 bad input, 3 nothing broke but the search was not exhaustive (a budget or the depth bound)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario and print its report; exits 1 when its hypothesis fails,
    /// 3 when nothing failed but a check is undecided.
    Run(run_cmd::RunArgs),
    /// List the scenarios (bundled, and those of the registry's folders) with
    /// one-line descriptions.
    List,
    /// Check a history (Jepsen/Maelstrom EDN, porcupine logs, chaoslab JSON
    /// Lines) for linearizability and weaker guarantees, or a transaction
    /// history (--model list-append, rw-register) for Elle's anomalies.
    Check(check_cmd::CheckArgs),
    /// Run a scenario over many seeds; list the seeds whose hypothesis failed
    /// and, apart, those left undecided. Exits 1 if any failed, else 3 if any
    /// is undecided. `--shard K/N` and `sweep merge` split it across machines.
    Sweep(sweep::SweepArgs),
    /// Shrink a failing run into a small scenario that still fails the same way.
    Shrink(shrink::ShrinkArgs),
    /// Explore every run of a small configuration (its [explore] table) and
    /// write the shortest counterexample as a scenario `run` replays. Exits
    /// 0 when exhaustive with nothing broken, 1 with a counterexample, 3
    /// when a bound stopped it first.
    Explore(crate::explore_cmd::ExploreArgs),
    /// Measure the simulator's speed (events per second, simulated/wall time).
    Bench(bench::BenchArgs),
    /// Run a scenario's nodes as a real local cluster (TCP on 127.0.0.1, real
    /// time) and print the same report; needs `--features madsim`.
    Cluster(cluster_cmd::ClusterArgs),
    /// Convert a saved trace (`run --trace FILE`) for a viewer:
    /// `--to perfetto FILE` (ui.perfetto.dev, chrome://tracing) or
    /// `--to shiviz FILE` (ShiViz); see docs/export.md.
    Export(crate::export::ExportArgs),
    /// Open the terminal UI on a scenario: step through the run, inject faults,
    /// save what you found as a scenario file.
    Tui(crate::tui::TuiArgs),
    /// Labs: `lab new WORKLOAD` writes a Cargo project with a skeleton
    /// Maelstrom node to finish in Rust and a test that grades it part by
    /// part under chaoslab's faults (docs/labs.md).
    Lab(crate::lab::LabArgs),
}

/// The whole command line over `registry`: parses the process's arguments,
/// runs the command and returns its exit code (see `--help`). An outside
/// crate's `main` is `std::process::exit(chaoslab::main(registry))`.
pub fn main(registry: Registry) -> i32 {
    quiet_on_closed_pipe();
    // `bench`'s targets are the registry's: its protocols' benchmarks.
    let command = Cli::command().mut_subcommand("bench", |c| {
        c.mut_arg("target", |a| {
            a.value_parser(clap::builder::PossibleValuesParser::new(bench::targets(
                &registry,
            )))
        })
    });
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let r = &registry;
    match cli.command {
        None if interactive() => crate::tui::run(r, &crate::tui::TuiArgs::default()),
        None => run_cmd::run(
            r,
            &run_cmd::RunArgs {
                scenario: None,
                seed: None,
                trace: None,
                history: None,
                export: Vec::new(),
                export_window: None,
                json: false,
                driver: "kernel".into(),
                budget: Default::default(),
                html: Default::default(),
                process: Default::default(),
            },
        ),
        Some(Command::Run(args)) => run_cmd::run(r, &args),
        Some(Command::List) => list(r),
        Some(Command::Check(args)) => check_cmd::run(&r.program_name(), &args),
        Some(Command::Sweep(args)) => sweep::run(r, &args),
        Some(Command::Shrink(args)) => shrink::run(r, &args),
        Some(Command::Explore(args)) => crate::explore_cmd::run(r, &args),
        Some(Command::Bench(args)) => bench::run(r, &args),
        Some(Command::Cluster(args)) => cluster_cmd::run(r, &args),
        Some(Command::Export(args)) => crate::export::run(&args),
        Some(Command::Tui(args)) => crate::tui::run(r, &args),
        Some(Command::Lab(args)) => crate::lab::run(&args),
    }
}

/// Rust ignores SIGPIPE, so a write to a closed pipe (`chaoslab list | head -1`)
/// returns an error that `println!` turns into a panic. Restoring the default
/// action ends the process quietly at the first such write, as `cat` or `grep`
/// would; the reader has already taken all it wanted.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called once at the start of main, before any other thread
    // exists; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Plain `chaoslab` opens the UI only when a person is at a terminal; piped or
/// in CI it prints the default scenario's report as before.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

fn list(registry: &Registry) -> i32 {
    let listed = registry.list();
    let width = listed.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &listed {
        let description = match registry.parse(&l.file, &l.text) {
            Ok(s) => s.meta.description,
            Err(e) => format!("(does not parse: {})", e.message),
        };
        println!("{:<width$}  {description}", l.name);
    }
    if let Some(default) = registry.default_scenario() {
        let program = registry.program_name();
        println!("\nRun one with `{program} run NAME` (e.g. `{program} run {default}`).");
    }
    exit::PASS
}
