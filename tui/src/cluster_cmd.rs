//! `chaoslab cluster`: the scenario's nodes as a real local cluster, on TCP
//! sockets on 127.0.0.1 and real time, through the madsim driver built
//! without `--cfg madsim`. The fault schedule is applied in real time and the
//! run stops at the scenario's duration (divided by `--speed`).

use crate::exit;
use crate::run_cmd::{madsim_missing, on_madsim, RunArgs, Sockets};

#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// A scenario file, or the name of a bundled scenario (see the `list` command).
    pub scenario: String,
    /// Seed the nodes' and workload's random streams with this instead of the
    /// scenario's `[meta] seed` (real time still makes each run different).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated seconds per real second: `--speed 4` runs a 20 s scenario in
    /// 5 s, with every latency, timeout and fault time divided by 4.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Write every event of the run to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
    /// Write the client history to FILE as JSON Lines, for `chaoslab check`.
    #[arg(long, value_name = "FILE")]
    pub history: Option<std::path::PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub budget: crate::CheckBudgetArgs,
}

pub fn run(registry: &crate::Registry, args: &ClusterArgs) -> i32 {
    let Some(scenario) = registry.load_or_explain(Some(&args.scenario)) else {
        return exit::BAD_INPUT;
    };
    let seed = args.seed.unwrap_or(scenario.meta.seed);
    let run_args = RunArgs {
        scenario: Some(args.scenario.clone()),
        seed: Some(seed),
        trace: args.trace.clone(),
        history: args.history.clone(),
        export: Vec::new(),
        export_window: None,
        json: args.json,
        driver: "cluster".into(),
        budget: args.budget.clone(),
        html: Default::default(),
        process: Default::default(),
    };
    match real(registry, &scenario, seed, args) {
        Ok(out) => crate::run_cmd::report_and_exit(
            &registry.program_name(),
            &scenario,
            &out,
            &run_args,
            seed,
        ),
        Err(e) => {
            eprintln!("{e}");
            exit::BAD_INPUT
        }
    }
}

/// Runs the scenario on real sockets, announcing it first when this build
/// can.
fn real(
    registry: &crate::Registry,
    s: &sim::scenario::Scenario,
    seed: u64,
    args: &ClusterArgs,
) -> Result<sim::kernel::RunOutput, String> {
    if let Some(why) = madsim_missing(&registry.program_name(), Sockets::Real) {
        // Said before the trace file is created: a build that cannot run
        // leaves no empty trace behind.
        return Err(why);
    }
    // Created before the run: a path that cannot be written is refused now.
    // The trace and the history may not be one file.
    let sinks = crate::export::fanout(
        None,
        args.trace.as_ref(),
        args.history.as_ref(),
        &[],
        &[],
        None,
        "",
    )?;
    let trace = if sinks.is_empty() {
        sim::kernel::TraceMode::Off
    } else {
        sim::kernel::TraceMode::Stream(Box::new(sinks))
    };
    eprintln!(
        "chaoslab cluster: {} nodes on 127.0.0.1, real time, {} of scenario at speed {} (about {:.1}s of wall time)",
        s.servers() + s.clients(),
        sim::time::fmt_duration(s.meta.duration),
        args.speed,
        s.meta.duration as f64 / 1e9 / args.speed
    );
    on_madsim(registry, s, seed, trace, args.speed, Sockets::Real)
}
