//! Raft's `[system]` parameters: timeouts, the optional extensions (PreVote,
//! CheckQuorum, read modes) and the bug flags.

use serde::{Deserialize, Serialize};
use sim::time::{fmt_duration, ms, serde_duration, Nanos};

/// How the leader answers reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// A read is a log entry like a write: linearizable, and as slow.
    Log,
    /// ReadIndex (dissertation §6.4): note the commit index, confirm
    /// leadership with a round of heartbeats, answer once applied that far.
    ReadIndex,
    /// Lease reads (dissertation §6.4.1): answer alone while a lease, renewed by
    /// heartbeat rounds, holds by the leader's monotonic clock.
    Lease,
}

/// The shortest `heartbeat_interval` a scenario may set; the election timeout
/// must be at least twice it.
pub const MIN_HEARTBEAT: Nanos = crate::MIN_PERIOD;

/// Raft's `[system]` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(with = "serde_duration")]
    pub election_timeout_min: Nanos,
    #[serde(with = "serde_duration")]
    pub election_timeout_max: Nanos,
    #[serde(with = "serde_duration")]
    pub heartbeat_interval: Nanos,
    /// A server asks whether it could win before it starts an election, so a
    /// server returning from a partition does not disrupt the cluster.
    pub pre_vote: bool,
    /// A leader that has not heard from a majority for an election timeout
    /// steps down.
    pub check_quorum: bool,
    pub read_mode: ReadMode,
    /// How long a lease lasts from the start of a confirmed heartbeat round
    /// (default: the minimum election timeout).
    #[serde(with = "serde_duration::option")]
    pub lease_duration: Option<Nanos>,
    /// The most entries one AppendEntries carries. With 1, a new leader's
    /// no-op never travels with the older entries before it, which is what
    /// lets the Figure 8 bug show.
    pub max_entries_per_message: usize,
    /// The assumed bound on clock drift (0.1 = every clock runs at most 10%
    /// fast or slow); leases are shortened by it, to `election_timeout_min x
    /// (1 - max_clock_drift) / (1 + max_clock_drift)`.
    pub max_clock_drift: f64,

    /// Bug: count replicas of entries from older terms to commit them (the
    /// Figure 8 counterexample).
    pub commit_old_terms_by_counting: bool,
    /// Bug: the vote is not persisted, so a restarted server can vote twice in
    /// one term.
    pub forget_vote_on_restart: bool,
    /// Bug: leases are not shortened by the clock drift bound.
    pub lease_reads_without_clock_bound: bool,
    /// Bug: followers append without checking the previous entry.
    pub skip_log_check: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            election_timeout_min: ms(150),
            election_timeout_max: ms(300),
            heartbeat_interval: ms(50),
            pre_vote: false,
            check_quorum: false,
            read_mode: ReadMode::Log,
            lease_duration: None,
            max_entries_per_message: 64,
            max_clock_drift: 0.1,
            commit_old_terms_by_counting: false,
            forget_vote_on_restart: false,
            lease_reads_without_clock_bound: false,
            skip_log_check: false,
        }
    }
}

impl Params {
    /// Checks the parameters against each other; the message names the field
    /// and what would be valid.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        // A heartbeat every nanosecond (or an election every few) makes a
        // run do a round of messages per nanosecond of virtual time: minutes
        // of wall time and gigabytes before `max_events` stops it. Real Raft
        // deployments use tens of milliseconds; a millisecond is the floor.
        if self.heartbeat_interval < MIN_HEARTBEAT {
            return Err((
                "heartbeat_interval",
                format!(
                    "heartbeat_interval = \"{}\": must be at least {} and below election_timeout_min, e.g. \"50ms\"",
                    fmt_duration(self.heartbeat_interval),
                    fmt_duration(MIN_HEARTBEAT)
                ),
            ));
        }
        if self.election_timeout_min < 2 * MIN_HEARTBEAT {
            return Err((
                "election_timeout_min",
                format!(
                    "election_timeout_min = \"{}\": must be at least {} (above heartbeat_interval), e.g. \"150ms\"",
                    fmt_duration(self.election_timeout_min),
                    fmt_duration(2 * MIN_HEARTBEAT)
                ),
            ));
        }
        if self.election_timeout_max < self.election_timeout_min {
            return Err((
                "election_timeout_max",
                "election_timeout_max must be at least election_timeout_min".into(),
            ));
        }
        if self.heartbeat_interval == 0 || self.heartbeat_interval >= self.election_timeout_min {
            return Err((
                "heartbeat_interval",
                "heartbeat_interval must be above 0 and below election_timeout_min, or followers time out between heartbeats".into(),
            ));
        }
        if self.max_entries_per_message == 0 {
            return Err((
                "max_entries_per_message",
                "max_entries_per_message must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.max_clock_drift) {
            return Err((
                "max_clock_drift",
                "max_clock_drift must be at least 0.0 and below 1.0 (0.1 = 10%)".into(),
            ));
        }
        Ok(())
    }
}
