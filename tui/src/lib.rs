//! chaoslab as a library: the whole command line (`run`, `list`, `sweep`,
//! `shrink`, `check`, `tui`, `bench`, `cluster`) from one call,
//! [`main`], over a [`Registry`] of protocols and scenarios. An outside
//! crate depends on `chaoslab` alone: `chaoslab::sim` and `chaoslab::nodes`
//! are re-exported.

mod bench;
mod check_cmd;
mod cli;
mod cluster_cmd;
#[cfg(feature = "madsim")]
pub mod driver;
pub mod explore_bench;
mod explore_cmd;
pub mod export;
pub mod html;
mod lab;
pub mod process;
mod registry;
mod run_cmd;
mod scenario_files;
pub mod scenarios;
mod shrink;
mod sweep;
pub mod tui;
mod txn_check_cmd;

pub use cli::main;
pub use nodes;
pub use registry::{Listed, Registry};
pub use sim;

/// Exit codes, documented in `chaoslab --help` and the README.
pub mod exit {
    /// The hypothesis held (and every invariant not expected to break held).
    pub const PASS: i32 = 0;
    /// The hypothesis did not hold, or an invariant broke.
    pub const FAIL: i32 = 1;
    /// Bad input: a scenario, history or flag that cannot be used, or (for
    /// `sweep merge`) files that are not the shards of one sweep.
    pub const BAD_INPUT: i32 = 2;
    /// Undecided: nothing failed, but a check the hypothesis asked for has no
    /// answer (the linearizability search ran out of budget). The message
    /// names the flag that decides it.
    pub const UNDECIDED: i32 = 3;
    /// `run --bin`: a node process stopped the run (it did not answer
    /// init in time, printed a line that is not a Maelstrom message,
    /// exited by itself, or flooded). The report of the run so far is
    /// printed, then the error.
    pub const NODE_PROCESS: i32 = 5;
}

/// `--check-max-steps` and `--check-max-memory`, shared by `run`, `sweep` and
/// `shrink`: the linearizability search's budget, overriding the scenario's
/// `[meta] check_max_steps` / `check_max_memory`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CheckBudgetArgs {
    /// Search steps the linearizability check may take before it answers
    /// "undecided" (default: `[meta] check_max_steps`, else 10000000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub check_max_steps: Option<u64>,
    /// Memory the linearizability search may hold, e.g. 4GiB (default:
    /// `[meta] check_max_memory`, else 1GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_flag)]
    pub check_max_memory: Option<u64>,
}

fn parse_size_flag(s: &str) -> Result<u64, String> {
    sim::scenario::parse_memory_budget(s)
}

impl CheckBudgetArgs {
    /// The budget for runs of `s`: these flags over the scenario's own.
    pub fn for_scenario(&self, s: &sim::scenario::Scenario) -> sim::report::CheckBudget {
        let own = sim::report::CheckBudget::of(s);
        sim::report::CheckBudget {
            max_steps: self.check_max_steps.unwrap_or(own.max_steps),
            max_memory_bytes: self.check_max_memory.unwrap_or(own.max_memory_bytes),
        }
    }

    /// Prints, under a run's undecided verdict, why each check was left
    /// undecided and, where a flag would decide one, the command that does:
    /// `lead` opens that line ("decide it", "decide it first").
    pub fn explain_undecided(
        &self,
        undecided: &[sim::report::Undecided],
        replay: &str,
        lead: &str,
    ) {
        for u in undecided {
            eprintln!("  {}", u.explain());
        }
        if let Some(flag) = undecided.iter().find_map(|u| u.flag.as_ref()) {
            eprintln!("{lead} with:\n  {}", self.decide(replay, flag));
        }
    }

    /// The command that decides an undecided run: `replay` (without these
    /// flags) with these flags, `raise` (`--check-max-steps N`) replacing the
    /// flag of the same name.
    pub fn decide(&self, replay: &str, raise: &str) -> String {
        let name = raise.split(' ').next().unwrap_or(raise);
        let mut keep = self.clone();
        match name {
            "--check-max-steps" => keep.check_max_steps = None,
            "--check-max-memory" => keep.check_max_memory = None,
            _ => {}
        }
        format!("{replay}{} {raise}", keep.flags())
    }

    /// These flags as written on a command line (to replay with them).
    pub fn flags(&self) -> String {
        let mut out = String::new();
        if let Some(n) = self.check_max_steps {
            out.push_str(&format!(" --check-max-steps {n}"));
        }
        if let Some(m) = self.check_max_memory {
            let shown = sim::scenario::fmt_size(m);
            let exact = if sim::scenario::parse_size(&shown) == Ok(m) {
                shown
            } else {
                m.to_string()
            };
            out.push_str(&format!(" --check-max-memory {exact}"));
        }
        out
    }
}
