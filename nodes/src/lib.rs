//! chaoslab's protocols, each a sans-IO state machine driven by `sim`, and the
//! registry that runs a scenario with the protocol it names.

pub mod cache;
pub mod kv;
pub mod ping;
pub mod quorum;
pub mod raft;
pub mod replication;
pub mod ring;
pub mod single;
pub mod twopc;

use sim::kernel::{RunOutput, Running, Sim, TraceMode};
use sim::protocol::Protocol;
use sim::scenario::{ProtocolEvents, ProtocolInfo, Scenario, ScenarioError};

/// The one list of protocols: `name => (its module's ROLES, how it is built
/// from a scenario)`. Every entry point below goes through it, so adding a
/// protocol is one line here (other helpers and workers keep their own
/// branches of this list; when merging, keep both sides).
macro_rules! protocols {
    ($mac:ident ! ($($args:tt)*)) => {
        $mac!($($args)* ;
            "single" => (single::ROLES, single::Single::from_scenario),
            "raft" => (raft::ROLES, raft::from_scenario),
            "ping" => (ping::ROLES, ping::Ping::from_scenario),
            "twopc" => (twopc::ROLES, twopc::Twopc::from_scenario),
            "quorum" => (quorum::ROLES, quorum::from_scenario),
            "cache" => (cache::ROLES, cache::from_scenario),
            "replication" => (replication::ROLES, replication::from_scenario),
        )
    };
}

macro_rules! names {
    (; $($name:literal => ($roles:expr, $build:expr),)*) => { &[$($name),*] };
}

macro_rules! roles_of {
    ($protocol:expr ; $($name:literal => ($roles:expr, $build:expr),)*) => {
        match $protocol {
            $($name => $roles.to_vec(),)*
            _ => Vec::new(),
        }
    };
}

/// Builds the named protocol from the scenario and hands it to `$body`.
macro_rules! with_protocol {
    ($s:expr, |$p:ident| $body:expr ; $($name:literal => ($roles:expr, $build:expr),)*) => {
        match $s.protocol.as_str() {
            $($name => {
                let $p = $build($s)?;
                $body
            })*
            other => unreachable!("Scenario::parse accepted unknown protocol {other}"),
        }
    };
}

/// Every protocol a scenario can name in `[system] protocol`.
pub const PROTOCOLS: &[&str] = protocols!(names!());

/// The roles a protocol's nodes report (fault targets may name them); every
/// protocol has clients.
pub fn roles(protocol: &str) -> Vec<&'static str> {
    let mut r: Vec<&'static str> = protocols!(roles_of!(protocol));
    if !r.contains(&"client") {
        r.push("client");
    }
    r
}

/// The message kinds and notes a protocol's nodes produce, where listed, so
/// that a fault trigger naming one that cannot happen is refused.
pub fn events(protocol: &str) -> ProtocolEvents {
    let (messages, notes): (&[&str], &[&str]) = match protocol {
        "raft" => (raft::MESSAGES, raft::NOTES),
        "twopc" => (twopc::MESSAGES, twopc::NOTES),
        "replication" => (replication::MESSAGES, replication::NOTES),
        _ => return ProtocolEvents::default(),
    };
    ProtocolEvents {
        messages: Some(messages.to_vec()),
        notes: Some(notes.to_vec()),
    }
}

/// Parses a scenario file's text: every section, the protocol's own
/// parameters included, so a bad file is refused before anything runs.
pub fn parse(file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    let info = ProtocolInfo {
        protocols: PROTOCOLS,
        roles: &roles,
        events: &events,
    };
    let scenario = Scenario::parse(file, src, &info)?;
    protocols!(with_protocol!(&scenario, |_p| ()));
    Ok(scenario)
}

/// Runs a parsed scenario with `seed`.
pub fn run(s: &Scenario, seed: u64, trace: TraceMode) -> Result<RunOutput, ScenarioError> {
    Ok(protocols!(with_protocol!(s, |p| go(s, p, seed, trace))))
}

fn go<P: Protocol>(s: &Scenario, p: P, seed: u64, trace: TraceMode) -> RunOutput {
    Sim::new(s, p, seed, trace).run()
}

/// A driver other than the kernel (madsim, real sockets): it is handed the
/// protocol a scenario names, already built, and runs it its own way.
pub trait Driver {
    type Out;
    fn drive<P>(self, s: &Scenario, p: P) -> Self::Out
    where
        P: Protocol + Send + 'static,
        P::Node: Send,
        <P::Node as sim::node::Node>::Msg: Send;
}

/// Builds the protocol `s` names and hands it to `driver`.
pub fn drive<D: Driver>(s: &Scenario, driver: D) -> Result<D::Out, ScenarioError> {
    Ok(protocols!(with_protocol!(s, |p| driver.drive(s, p))))
}

/// Starts a run that the caller steps with [`Running::advance`] (the TUI).
pub fn start<'s>(
    s: &'s Scenario,
    seed: u64,
    trace: TraceMode,
) -> Result<Box<dyn Running + 's>, ScenarioError> {
    Ok(protocols!(with_protocol!(
        s,
        |p| Box::new(Sim::new(s, p, seed, trace)) as Box<dyn Running + 's>
    )))
}
