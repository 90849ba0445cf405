//! chaoslab's protocols, each a sans-IO state machine driven by `sim`, and the
//! registry that runs a scenario with the protocol it names.

pub mod kv;
pub mod ping;
pub mod raft;
pub mod single;
pub mod twopc;

use sim::kernel::{RunOutput, Running, Sim, TraceMode};
use sim::protocol::Protocol;
use sim::scenario::{ProtocolInfo, Scenario, ScenarioError};

/// Every protocol a scenario can name in `[system] protocol`.
pub const PROTOCOLS: &[&str] = &["single", "raft", "ping", "twopc"];

/// The roles a protocol's nodes report (fault targets may name them).
pub fn roles(protocol: &str) -> Vec<&'static str> {
    let mut r: Vec<&'static str> = match protocol {
        "single" => single::ROLES.to_vec(),
        "ping" => ping::ROLES.to_vec(),
        // Raft lists "client" among its roles already.
        "raft" => raft::ROLES
            .iter()
            .copied()
            .filter(|r| *r != "client")
            .collect(),
        "twopc" => twopc::ROLES.to_vec(),
        _ => Vec::new(),
    };
    r.push("client");
    r
}

/// Parses a scenario file's text: every section, the protocol's own
/// parameters included, so a bad file is refused before anything runs.
pub fn parse(file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    let info = ProtocolInfo {
        protocols: PROTOCOLS,
        roles: &roles,
    };
    let scenario = Scenario::parse(file, src, &info)?;
    check_params(&scenario)?;
    Ok(scenario)
}

fn check_params(s: &Scenario) -> Result<(), ScenarioError> {
    match s.protocol.as_str() {
        "single" => single::Single::from_scenario(s).map(|_| ()),
        "ping" => ping::Ping::from_scenario(s).map(|_| ()),
        "raft" => raft::from_scenario(s).map(|_| ()),
        "twopc" => twopc::Twopc::from_scenario(s).map(|_| ()),
        other => unreachable!("Scenario::parse accepted unknown protocol {other}"),
    }
}

/// Runs a parsed scenario with `seed`.
pub fn run(s: &Scenario, seed: u64, trace: TraceMode) -> Result<RunOutput, ScenarioError> {
    Ok(match s.protocol.as_str() {
        "single" => go(s, single::Single::from_scenario(s)?, seed, trace),
        "ping" => go(s, ping::Ping::from_scenario(s)?, seed, trace),
        "raft" => go(s, raft::from_scenario(s)?, seed, trace),
        "twopc" => go(s, twopc::Twopc::from_scenario(s)?, seed, trace),
        other => unreachable!("Scenario::parse accepted unknown protocol {other}"),
    })
}

fn go<P: Protocol>(s: &Scenario, p: P, seed: u64, trace: TraceMode) -> RunOutput {
    Sim::new(s, p, seed, trace).run()
}

/// Starts a run that the caller steps with [`Running::advance`] (the TUI).
pub fn start<'s>(
    s: &'s Scenario,
    seed: u64,
    trace: TraceMode,
) -> Result<Box<dyn Running + 's>, ScenarioError> {
    Ok(match s.protocol.as_str() {
        "single" => Box::new(Sim::new(s, single::Single::from_scenario(s)?, seed, trace)),
        "ping" => Box::new(Sim::new(s, ping::Ping::from_scenario(s)?, seed, trace)),
        "twopc" => Box::new(Sim::new(s, twopc::Twopc::from_scenario(s)?, seed, trace)),
        other => unreachable!("Scenario::parse accepted unknown protocol {other}"),
    })
}
