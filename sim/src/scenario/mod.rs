//! Scenario files: TOML that says which system to run, on what topology and
//! network, under which workload and faults, and what the run is expected to show.
//!
//! Every error a user can cause names the file, the line and column, the field,
//! what was wrong and what would be valid. Parsing is in two passes: this module
//! reads every section but the protocol's own parameters in `[system]`, which the
//! protocol reads itself with [`parse_system`] so that its errors carry positions
//! too.
//!
//! One concern per file: `error` (the user-facing error), the sections as
//! written (`meta`, `system` with `[topology]` and `[network]`, `workload`,
//! `faults` with `[nemesis]`, `expect`), `parse` (the checks of every section),
//! `refs` and `fault_refs` (references to nodes, regions, roles and
//! triggers), `spans` (where a value is written) and `write` (back to TOML).

use crate::time::Nanos;

mod error;
mod expect;
mod explore;
mod fault_refs;
mod faults;
mod meta;
mod parse;
mod refs;
mod spans;
mod system;
mod workload;
mod write;

pub use error::ScenarioError;
pub use expect::{
    check_share, measure_known, parse_pacelc, serde_share, BoundValue, Expect, Fraction,
    MeasureBound,
};
pub use explore::{with_schedule, Choice, Explore, Issue, Schedule};
pub use faults::{
    check_when_syntax, Fault, FaultAction, FaultEntry, FaultKind, Nemesis, NodeMatch, Scope,
    Target, Trigger, TriggerEvent, WhenEntry, FAULT_ACTIONS, NEMESIS_KINDS, TRIGGER_EVENTS,
};
pub use meta::{
    fmt_size, parse_memory_budget, parse_size, Meta, Size, DEFAULT_CHECK_MAX_MEMORY,
    DEFAULT_CHECK_MAX_STEPS, DEFAULT_MAX_EVENTS, MIN_CHECK_MAX_MEMORY,
};
pub use parse::{ProtocolEvents, ProtocolInfo, Services, MAX_CLIENTS, MAX_SERVERS};
pub use spans::key_span;
pub use system::{parse_system, Network, RegionLatency, Topology};
pub use workload::{KeyDist, OpMix, Workload, MAX_CLIENT_ATTEMPTS, MIN_CLIENT_TIMEOUT};
pub use write::{exact_duration, show};

/// A whole scenario, parsed and checked.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Where it came from (a path, or `<built-in>`), for errors and replay commands.
    pub file: String,
    /// The TOML text, kept so protocols can parse their parameters from it.
    pub source: String,
    pub meta: Meta,
    pub protocol: String,
    pub topology: Topology,
    pub network: Network,
    pub workload: Workload,
    pub faults: Vec<Fault>,
    pub nemesis: Option<Nemesis>,
    pub expect: Expect,
    /// The bounds of `chaoslab explore`, if the scenario sets them.
    pub explore: Option<Explore>,
    /// The exact choices of one explored run: `chaoslab run` then replays
    /// them instead of sampling (needs `[explore]`).
    pub schedule: Option<Schedule>,
    /// The times of the run the protocol's `[system]` parameters name (a
    /// quorum join's `at`, `converge_by`), set by [`Scenario::check_run_times`]
    /// from the protocol's own list of such fields.
    pub system_times: Vec<Nanos>,
}

impl Scenario {
    /// The latest time of the run this scenario names: its last fault,
    /// `all_clients_ok_after`, the workload's and the nemesis's start and
    /// stop, and the `[system]` parameters the protocol declares as times of
    /// the run ([`Scenario::check_run_times`]). A shortened run (a shrink)
    /// must not end before it.
    pub fn latest_named_time(&self) -> Nanos {
        // A triggered fault fires no earlier than its `after` plus its delay.
        let earliest = |f: &Fault| f.at.saturating_add(f.when.as_ref().map_or(0, |w| w.delay));
        let mut times = vec![self.faults.iter().map(earliest).max().unwrap_or(0)];
        times.extend(self.expect.all_clients_ok_after);
        times.push(self.workload.start);
        times.extend(self.workload.stop);
        if let Some(n) = &self.nemesis {
            times.push(n.start);
            times.extend(n.stop);
        }
        times.extend(self.system_times.iter().copied());
        times.into_iter().max().unwrap_or(0)
    }

    pub fn servers(&self) -> usize {
        *self.topology.servers.get_ref() as usize
    }
    pub fn clients(&self) -> usize {
        self.topology.clients as usize
    }
    /// When clients stop starting operations.
    pub fn workload_stop(&self) -> Nanos {
        self.workload
            .stop
            .unwrap_or(self.meta.duration)
            .min(self.meta.duration)
    }
}
