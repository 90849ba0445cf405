//! `chaoslab run`: one scenario, one seed, a report, and an exit code.

use std::io::Write;
use std::path::PathBuf;

use sim::kernel::TraceMode;
use sim::report::{Report, RunOutcome};

use crate::exit;
use crate::Registry;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A scenario file, or the name of a bundled scenario (see the `list` command).
    /// Without it, the built-in default scenario runs.
    pub scenario: Option<String>,
    /// Run with this seed instead of the scenario's own `[meta] seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write every event of the run to FILE as JSON Lines (see docs/trace.md).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write the client history to FILE as JSON Lines, for `chaoslab check`.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Also write the run for a viewer, as it goes: `--export perfetto FILE`
    /// (Trace Event Format JSON for ui.perfetto.dev and chrome://tracing) or
    /// `--export shiviz FILE` (a vector-clock log for ShiViz's Lamport
    /// diagram). Give it twice for both; works with or without --trace.
    /// See docs/export.md.
    #[arg(long, num_args = 2, value_names = ["FORMAT", "FILE"],
          action = clap::ArgAction::Append)]
    pub export: Vec<String>,
    /// Export only this part of the run, FROM..TO in virtual time:
    /// `--export-window 4.9s..5.3s` (also `4s..`, `..500ms`). The trace stays
    /// whole; a viewer gets a smaller file, around the moment that matters.
    #[arg(long, value_name = "FROM..TO", requires = "export")]
    pub export_window: Option<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Which driver runs the nodes: `kernel` (chaoslab's own simulator) or
    /// `madsim` (the same nodes on madsim; needs a build with
    /// `--features madsim` and `RUSTFLAGS="--cfg madsim"`, see docs/drivers.md).
    #[arg(long, default_value = "kernel", value_parser = ["kernel", "madsim"])]
    pub driver: String,
    #[command(flatten)]
    pub budget: crate::CheckBudgetArgs,
    #[command(flatten)]
    pub html: crate::html::HtmlArgs,
    #[command(flatten)]
    pub process: crate::process::ProcessArgs,
}

/// The cargo feature that brings in the madsim driver: chaoslab's own
/// `madsim`, which a crate of your own names through its dependency.
pub fn madsim_feature(program: &str) -> &'static str {
    if program == sim::report::DEFAULT_PROGRAM {
        "madsim"
    } else {
        "chaoslab/madsim"
    }
}

/// How to build `program` with the madsim driver in simulation.
pub fn madsim_build(program: &str) -> String {
    format!(
        "RUSTFLAGS=\"--cfg madsim\" cargo build --release --features {} --target-dir target/madsim",
        madsim_feature(program)
    )
}

/// Runs the scenario on the driver `args.driver` names.
fn run_on_driver(
    registry: &Registry,
    driver: &str,
    scenario: &sim::scenario::Scenario,
    seed: u64,
    mode: TraceMode,
) -> Result<sim::kernel::RunOutput, String> {
    match driver {
        "madsim" => on_madsim(registry, scenario, seed, mode, 1.0, Sockets::Simulated),
        _ => registry
            .run(scenario, seed, mode)
            .map_err(|e| e.to_string()),
    }
}

/// What a command needs of the madsim driver: simulated time and sockets
/// (`run --driver madsim`, a build with `--cfg madsim`) or real ones
/// (`cluster`, a build without it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sockets {
    Simulated,
    Real,
}

/// Why this build cannot run the madsim driver on `sockets`, and how to
/// build one that can; `None` when it can.
pub(crate) fn madsim_missing(program: &str, sockets: Sockets) -> Option<String> {
    let has_driver = cfg!(feature = "madsim");
    let simulated = cfg!(madsim);
    let (build, feature) = (madsim_build(program), madsim_feature(program));
    match sockets {
        Sockets::Simulated if !has_driver => Some(format!(
            "error: this {program} was built without the madsim driver\n  build it with:\n  {build}\n  \
             then run: target/madsim/release/{program} run FILE --driver madsim"
        )),
        Sockets::Simulated if !simulated => Some(format!(
            "error: this {program} has the madsim driver but was built without `--cfg madsim`, \
             so it drives real sockets, not a simulation\n  \
             for a real local cluster run `{program} cluster FILE`; for a deterministic madsim run build with:\n  {build}"
        )),
        Sockets::Real if !has_driver => Some(format!(
            "error: this {program} was built without the madsim driver, which `cluster` runs on\n  \
             build it with:\n  cargo build --release --features {feature}\n  \
             (and for `run --driver madsim`: {build})"
        )),
        Sockets::Real if simulated => Some(format!(
            "error: this {program} was built with `--cfg madsim`, so its sockets are simulated; \
             `{program} cluster` needs a build without it:\n  cargo build --release --features {feature}"
        )),
        _ => None,
    }
}

/// Runs `scenario` on the madsim driver at `speed` (simulated seconds per
/// real second, for real sockets), or says how to build a binary that can.
pub(crate) fn on_madsim(
    registry: &Registry,
    scenario: &sim::scenario::Scenario,
    seed: u64,
    trace: TraceMode,
    speed: f64,
    sockets: Sockets,
) -> Result<sim::kernel::RunOutput, String> {
    if let Some(why) = madsim_missing(&registry.program_name(), sockets) {
        return Err(why);
    }
    #[cfg(feature = "madsim")]
    {
        let options = crate::driver::Options { seed, trace, speed };
        crate::driver::run(registry, scenario, options).map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "madsim"))]
    {
        let _ = (scenario, seed, trace, speed);
        unreachable!("without the driver, madsim_missing says so")
    }
}

/// The buffer between the trace's serialiser and its file.
pub(crate) const TRACE_BUFFER: usize = 1 << 16;

pub fn run(registry: &Registry, args: &RunArgs) -> i32 {
    let Some(scenario) = registry.load_or_explain(args.scenario.as_deref()) else {
        return exit::BAD_INPUT;
    };
    let seed = args.seed.unwrap_or(scenario.meta.seed);
    if scenario.schedule.is_some() && seed != scenario.meta.seed {
        eprintln!(
            "{}: its [schedule] replays the run explored with seed {}; --seed {seed} would be another run (its steps name that run's events)",
            scenario.file, scenario.meta.seed
        );
        return exit::BAD_INPUT;
    }
    if args.driver == "madsim" && scenario.explore.is_some() {
        eprintln!(
            "{}: a scenario with [explore] runs on the kernel only (its choices are the explorer's, not madsim's); drop --driver madsim",
            scenario.file
        );
        return exit::BAD_INPUT;
    }
    // A build that cannot run the driver says so before any file is made.
    if args.driver == "madsim" {
        if let Some(why) = madsim_missing(&registry.program_name(), Sockets::Simulated) {
            eprintln!("{why}");
            return exit::BAD_INPUT;
        }
    }
    // A run of processes that cannot start is refused before any file is
    // made.
    if args.process.bin.is_some() {
        if let Err(e) = crate::process::precheck(&scenario, &args.process, seed) {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    }
    // A format that does not exist is refused before any file is made.
    let exports = match crate::export::parse_exports(&args.export) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let window = match args
        .export_window
        .as_deref()
        .map(crate::export::Window::parse)
        .transpose()
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let title = format!("{} seed {seed}", scenario.meta.name);
    // A scenario file is never an output: writing it would destroy it.
    let scenario_file = args
        .scenario
        .as_deref()
        .map(std::path::Path::new)
        .filter(|p| p.is_file());
    // `--html FILE`: its window parsed and its file checked writable now,
    // before any output is created (so a refused page leaves the others
    // untouched); the file is emptied once they are, and the page written
    // with the report, once the run is over.
    let mut html = match crate::html::Html::prepare(&args.html) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    // The HTML page is one of the outputs too: no two may be one file.
    let page: Vec<(&str, &std::path::Path)> = args
        .html
        .html
        .as_deref()
        .map(|p| ("the HTML report", p))
        .into_iter()
        .collect();
    let mode = match crate::export::fanout(
        scenario_file.map(|p| ("the scenario", p)),
        args.trace.as_ref(),
        args.history.as_ref(),
        &exports,
        &page,
        window,
        &title,
    ) {
        Ok(sinks) if sinks.is_empty() => TraceMode::Off,
        Ok(sinks) => TraceMode::Stream(Box::new(sinks)),
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(Err(e)) = html.as_ref().map(crate::html::Html::create) {
        eprintln!("{e}");
        return exit::BAD_INPUT;
    }
    let mode = match html.as_mut() {
        Some(h) => h.wrap(mode),
        None => mode,
    };
    if args.process.bin.is_some() {
        return run_processes(registry, &scenario, args, seed, mode, html.as_ref());
    }
    let out = match run_on_driver(registry, &args.driver, &scenario, seed, mode) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    report_and_write(
        &registry.program_name(),
        &scenario,
        &out,
        args,
        seed,
        html.as_ref(),
    )
}

/// The command that replays a run on `driver`, from the kernel's `replay`
/// (`PROGRAM run FILE --seed N`), and a note to print after it and its
/// flags. The command alone, with budget flags added, is one a user can run.
fn replay_on(program: &str, driver: &str, replay: &str) -> (String, String) {
    match driver {
        "kernel" => (replay.to_string(), String::new()),
        "cluster" => (
            replay.replacen(&format!("{program} run"), &format!("{program} cluster"), 1),
            format!(
                " (a real-time run on sockets: rerunning it gives another run; \
                 `{program} run` with this seed replays the simulation)"
            ),
        ),
        d => (format!("{replay} --driver {d}"), String::new()),
    }
}

/// Writes the trace and history if asked, prints the report, and returns the
/// exit code: the same for every driver.
pub fn report_and_exit(
    program: &str,
    scenario: &sim::scenario::Scenario,
    out: &sim::kernel::RunOutput,
    args: &RunArgs,
    seed: u64,
) -> i32 {
    report_and_write(program, scenario, out, args, seed, None)
}

/// `run --bin`: the servers are processes (see `crate::process`). The
/// outputs, the report and the exit code are a run's, plus exit code 5
/// when a node process stopped the run.
fn run_processes(
    registry: &Registry,
    scenario: &sim::scenario::Scenario,
    args: &RunArgs,
    seed: u64,
    mode: TraceMode,
    html: Option<&crate::html::Html>,
) -> i32 {
    let program = registry.program_name();
    let opts = match args.process.options(seed, mode) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let scale = opts.time_scale;
    let ran = match crate::process::run(scenario, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let mut report =
        crate::process::report(scenario, &ran, args.budget.for_scenario(scenario), scale);
    // A process run cannot be re-run: its trace file is the only way to
    // step through it in the TUI.
    let mut m = sim::metric::Metrics::new();
    match &args.trace {
        Some(p) => {
            m.text(
                "tui",
                format!(
                    "{program} tui --trace {}",
                    sim::report::shell_word(&p.to_string_lossy())
                ),
            );
        }
        None => {
            m.text("tui", "run with --trace FILE to keep the trace".to_string())
                .note(format!(
                ", then `{program} tui --trace FILE` steps through this run (it cannot be re-run)"
            ));
        }
    }
    let at = report.metrics.len().min(1);
    report.metrics.splice(at..at, m.into_vec());
    let replay = format!(
        "{}{}",
        sim::report::replay_command(&program, scenario, seed),
        args.process.flags()
    );
    let note = " (processes in real time: rerunning gives another run; the seed fixes the workload and the fault schedule)";
    let failure = ran.failure.as_ref().map(|f| f.message.as_str());
    finish(
        scenario, &ran.out, args, seed, html, report, &replay, note, failure,
    )
}

/// [`report_and_exit`], also writing the HTML report when `html` is given.
fn report_and_write(
    program: &str,
    scenario: &sim::scenario::Scenario,
    out: &sim::kernel::RunOutput,
    args: &RunArgs,
    seed: u64,
    html: Option<&crate::html::Html>,
) -> i32 {
    let report = Report::build_with(scenario, out, args.budget.for_scenario(scenario));
    let replay = sim::report::replay_command(program, scenario, seed);
    let (replay_without_budget, note) = replay_on(program, &args.driver, &replay);
    finish(
        scenario,
        out,
        args,
        seed,
        html,
        report,
        &replay_without_budget,
        &note,
        None,
    )
}

/// Writes the outputs, prints the report and returns the exit code;
/// `failure` is a node process's error, said last (exit code 5).
#[allow(clippy::too_many_arguments)]
fn finish(
    scenario: &sim::scenario::Scenario,
    out: &sim::kernel::RunOutput,
    args: &RunArgs,
    seed: u64,
    html: Option<&crate::html::Html>,
    mut report: Report,
    replay_without_budget: &str,
    note: &str,
    failure: Option<&str>,
) -> i32 {
    report.replay = format!("{replay_without_budget}{}{note}", args.budget.flags());

    // The trace and the exports were streamed to their files as the run
    // went (whatever the run's verdict, so a failing run keeps its
    // evidence). A file that could not be written does not hide the rest:
    // the history is written, the report and the replay command printed,
    // and the error said last, naming the file, with exit code 2.
    let mut errors = Vec::new();
    if let Some(e) = &out.trace_error {
        errors.extend(crate::export::error_lines(e, || {
            let path = args.trace.as_ref().map(|p| format!(" to {}", p.display()));
            format!(
                "error: cannot write the trace{}: {e}{}",
                path.unwrap_or_default(),
                crate::export::PARTIAL_TRACE
            )
        }));
    }
    if let Some(path) = &args.history {
        if let Err(e) = write_raw_lines(path, out.history.jsonl_lines()) {
            errors.push(format!(
                "error: cannot write the history to {}: {e}",
                path.display()
            ));
        }
    }
    if let Some(html) = html {
        if let Err(e) = html.write(&report, out) {
            errors.push(e);
        }
    }
    let code = match failure {
        Some(message) => {
            // The report of the run so far, then what stopped it.
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("the report serializes")
                );
            } else {
                print!("{}", report.render());
            }
            eprintln!(
                "{message}
  rerun it with:
  {}",
                report.replay
            );
            exit::NODE_PROCESS
        }
        None => verdict(scenario, &report, args, seed, replay_without_budget),
    };
    // A schedule that does not replay: the scenario is not the one it was
    // explored with. The run so far is reported; the input is wrong.
    if let Some(e) = out.schedule.as_ref().and_then(|r| r.error.as_ref()) {
        errors.push(format!("error: {e}"));
    }
    for e in &errors {
        eprintln!("{e}");
    }
    if errors.is_empty() {
        code
    } else {
        exit::BAD_INPUT
    }
}

/// Prints the report and what its verdict asks of the user; the verdict's
/// exit code.
fn verdict(
    scenario: &sim::scenario::Scenario,
    report: &Report,
    args: &RunArgs,
    seed: u64,
    replay_without_budget: &str,
) -> i32 {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serializes")
        );
    } else {
        print!("{}", report.render());
    }
    match report.outcome {
        RunOutcome::Pass => exit::PASS,
        RunOutcome::Fail => {
            eprintln!(
                "the hypothesis of {} did not hold with seed {seed}; replay it with:\n  {}",
                scenario.meta.name, report.replay
            );
            exit::FAIL
        }
        RunOutcome::Undecided => {
            eprintln!(
                "the hypothesis of {} is undecided with seed {seed}: nothing failed, but",
                scenario.meta.name
            );
            args.budget
                .explain_undecided(&report.undecided, replay_without_budget, "decide it");
            exit::UNDECIDED
        }
    }
}

/// Writes lines already serialised, one a line (a history of any operation
/// type, in the JSON Lines `chaoslab check` reads).
fn write_raw_lines(path: &PathBuf, lines: impl Iterator<Item = String>) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    for line in lines {
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::replay_on;

    #[test]
    fn the_command_that_decides_a_cluster_run_is_a_command_with_the_note_after_it() {
        let budget = crate::CheckBudgetArgs {
            check_max_steps: Some(5),
            check_max_memory: None,
        };
        let (command, note) =
            replay_on("chaoslab", "cluster", "chaoslab run single/normal --seed 3");
        assert_eq!(command, "chaoslab cluster single/normal --seed 3");
        assert!(note.starts_with(" (a real-time run"));
        assert_eq!(
            budget.decide(&command, "--check-max-steps 50"),
            "chaoslab cluster single/normal --seed 3 --check-max-steps 50"
        );
        let (command, note) = replay_on("chaoslab", "madsim", "chaoslab run x.toml --seed 3");
        assert_eq!(command, "chaoslab run x.toml --seed 3 --driver madsim");
        assert_eq!(note, "");
        let (command, note) = replay_on("lock-service", "cluster", "lock-service run z --seed 3");
        assert_eq!(command, "lock-service cluster z --seed 3");
        assert!(note.contains("`lock-service run` with this seed"), "{note}");
    }
}
