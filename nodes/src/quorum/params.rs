//! The quorum store's `[system]` parameters: N, W, R, the ring, the
//! coordinator, repair, and the membership changes.

use serde::{Deserialize, Serialize};
use sim::time::{ms, serde_duration, Nanos};

use super::Versioning;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadRepair {
    Off,
    /// Answer the client, then write the newest version to stale replicas.
    Async,
    /// Write the newest version to the stale replicas that replied, and answer
    /// only once they acknowledged.
    Blocking,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coordinator {
    Preferred,
    Random,
}

/// A membership change: `node` joins (or leaves) the ring at `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub node: String,
    #[serde(with = "serde_duration")]
    pub at: Nanos,
}

/// The `[system]` fields of [`Params`] that name a time of the run (not a
/// wait such as `sloppy_after`): each must fall inside the run, and a shrink
/// must not end before it.
pub const RUN_TIMES: &[&str] = &["joins.at", "leaves.at", "converge_by"];

/// `[system]` for `protocol = "quorum"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Replicas per key.
    pub n: usize,
    /// Acknowledgements a write waits for.
    pub w: usize,
    /// Replies a read waits for.
    pub r: usize,
    /// Tokens per server on the ring.
    pub vnodes: u32,
    /// Let stand-ins beyond the preference list accept requests (hinted handoff).
    pub sloppy: bool,
    pub versioning: Versioning,
    pub read_repair: ReadRepair,
    /// How often each server compares Merkle trees with the replicas it
    /// shares keys with (off when absent).
    #[serde(with = "serde_duration::option")]
    pub anti_entropy_interval: Option<Nanos>,
    pub coordinator: Coordinator,
    /// With `sloppy`, how long a coordinator waits for the preference list
    /// before it asks stand-ins.
    #[serde(with = "serde_duration")]
    pub sloppy_after: Nanos,
    /// How long a coordinator waits before it answers "unavailable".
    #[serde(with = "serde_duration")]
    pub coordinator_timeout: Nanos,
    /// How often a server offers its hints (and keys it no longer owns) to
    /// their owners.
    #[serde(with = "serde_duration")]
    pub handoff_interval: Nanos,
    /// Servers that start outside the ring and join it at a time.
    pub joins: Vec<Change>,
    /// Servers that leave the ring at a time (they keep running and hand
    /// their keys over).
    pub leaves: Vec<Change>,
    /// Liveness: by this time every replica of every key must hold the same
    /// versions and no hint may be left (the `convergence` invariant).
    #[serde(with = "serde_duration::option")]
    pub converge_by: Option<Nanos>,

    /// Bug: read repair takes the *oldest* reply for the truth and writes it
    /// over the replicas that differ, without a version check.
    pub read_repair_writes_older: bool,
    /// Bug: stand-ins keep their hints and never hand them back.
    pub hint_never_delivered: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            n: 3,
            w: 2,
            r: 2,
            vnodes: 64,
            sloppy: false,
            versioning: Versioning::Lww,
            read_repair: ReadRepair::Off,
            anti_entropy_interval: None,
            coordinator: Coordinator::Preferred,
            sloppy_after: ms(30),
            coordinator_timeout: ms(200),
            handoff_interval: ms(200),
            joins: Vec::new(),
            leaves: Vec::new(),
            converge_by: None,
            read_repair_writes_older: false,
            hint_never_delivered: false,
        }
    }
}
