//! `chaoslab run`: one scenario, one seed, a report, and an exit code.

use std::io::Write;
use std::path::PathBuf;

use sim::kernel::TraceMode;
use sim::report::Report;

use crate::exit;
use crate::scenarios;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A scenario file, or the name of a bundled scenario (see `chaoslab list`).
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
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &RunArgs) -> i32 {
    let scenario = match scenarios::load(args.scenario.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.0);
            return exit::BAD_INPUT;
        }
    };
    let seed = args.seed.unwrap_or(scenario.meta.seed);
    let mode = if args.trace.is_some() {
        TraceMode::Record
    } else {
        TraceMode::Off
    };
    let out = match nodes::run(&scenario, seed, mode) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let report = Report::build(&scenario, &out);

    // Written before anything is judged, so a failing run keeps its evidence.
    if let Some(path) = &args.trace {
        let records = out.trace.as_deref().unwrap_or(&[]);
        if let Err(e) = write_lines(path, records.iter()) {
            eprintln!("error: cannot write the trace to {}: {e}", path.display());
            return exit::BAD_INPUT;
        }
    }
    if let Some(path) = &args.history {
        if let Err(e) = write_lines(path, out.history.ops.iter()) {
            eprintln!("error: cannot write the history to {}: {e}", path.display());
            return exit::BAD_INPUT;
        }
    }

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serializes")
        );
    } else {
        print!("{}", report.render());
    }
    if report.passed {
        exit::PASS
    } else {
        eprintln!(
            "the hypothesis of {} did not hold with seed {seed}; replay it with:\n  {}",
            scenario.meta.name, report.replay
        );
        exit::FAIL
    }
}

fn write_lines<T: serde::Serialize>(
    path: &PathBuf,
    items: impl Iterator<Item = T>,
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    for item in items {
        serde_json::to_writer(&mut w, &item)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}
