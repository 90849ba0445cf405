//! Replication's `[system]` parameters: the mode, read routing, fencing,
//! and the failure detector's timing.

use serde::{Deserialize, Serialize};
use sim::time::{fmt_duration, ms, serde_duration, Nanos};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Sync,
    Async,
    SemiSync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadRouting {
    Primary,
    Replicas,
    ReadYourWrites,
}

/// `[system]` for `protocol = "replication"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub mode: Mode,
    /// With `semi-sync`: how many replicas must hold a write before it is
    /// acknowledged.
    pub semi_sync_acks: usize,
    pub reads: ReadRouting,
    /// Epochs as fencing tokens, and the primary's lease.
    pub fencing: bool,
    #[serde(with = "serde_duration")]
    pub heartbeat_interval: Nanos,
    /// How long the primary may be silent before the monitor fails it over.
    #[serde(with = "serde_duration")]
    pub heartbeat_timeout: Nanos,
    /// How long a lease lasts from the heartbeat that earned it (default:
    /// half the heartbeat timeout).
    #[serde(with = "serde_duration::option")]
    pub lease: Option<Nanos>,
    /// The assumed bound on clock drift (0.1 = clocks run at most 10% off).
    /// The primary counts its lease as `lease * (1 - max_clock_drift)` on
    /// its own clock, so a clock running that slow still ends it within
    /// `lease`; the monitor, whose clock may run that fast, waits at least
    /// `heartbeat_timeout / (1 + max_clock_drift)`.
    pub max_clock_drift: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            mode: Mode::Async,
            semi_sync_acks: 1,
            reads: ReadRouting::Primary,
            fencing: true,
            heartbeat_interval: ms(50),
            heartbeat_timeout: ms(500),
            lease: None,
            max_clock_drift: 0.1,
        }
    }
}

impl Params {
    pub fn lease(&self) -> Nanos {
        self.lease.unwrap_or(self.heartbeat_timeout / 2)
    }
    /// The lease as the primary times it on its own clock: shortened by the
    /// drift bound.
    pub fn lease_local(&self) -> Nanos {
        (self.lease() as f64 * (1.0 - self.max_clock_drift)) as Nanos
    }
    /// How long the monitor waits for answers to its probe.
    pub fn probe_window(&self) -> Nanos {
        2 * self.heartbeat_interval
    }

    /// Checks the parameters against each other and the number of servers
    /// (at least 3: `Spec::SERVERS`); the message names the field and what
    /// would be valid.
    pub fn validate(&self, servers: usize) -> Result<(), (&'static str, &'static str, String)> {
        let replicas = servers.saturating_sub(2);
        if self.semi_sync_acks == 0 || self.semi_sync_acks > replicas {
            return Err((
                "system",
                "semi_sync_acks",
                format!("semi_sync_acks must be between 1 and the {replicas} replica(s) (servers minus the primary and the monitor)"),
            ));
        }
        // Every server and the monitor tick once per heartbeat_interval, so
        // a nanosecond interval is a round of messages per nanosecond of
        // virtual time; the floor is Raft's. The timeout and the lease are
        // longer than the interval (below), so they are bounded with it.
        crate::check_period(
            "heartbeat_interval",
            self.heartbeat_interval,
            "and below heartbeat_timeout",
            "50ms",
        )
        .map_err(|(f, m)| ("system", f, m))?;
        if self.heartbeat_timeout <= self.heartbeat_interval {
            return Err((
                "system",
                "heartbeat_timeout",
                format!(
                    "heartbeat_timeout = \"{}\": must be longer than heartbeat_interval ({}), or every server looks dead between two heartbeats",
                    fmt_duration(self.heartbeat_timeout),
                    fmt_duration(self.heartbeat_interval)
                ),
            ));
        }
        let lease = self.lease();
        if lease <= self.heartbeat_interval || lease >= self.heartbeat_timeout {
            return Err((
                "system",
                "lease",
                format!(
                    "lease must be longer than heartbeat_interval ({}) and shorter than heartbeat_timeout ({}), so that it is renewed in time and ends before the monitor can promote another primary",
                    fmt_duration(self.heartbeat_interval),
                    fmt_duration(self.heartbeat_timeout)
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.max_clock_drift) {
            return Err((
                "system",
                "max_clock_drift",
                "max_clock_drift must be at least 0.0 and below 1.0 (0.1 = 10%)".into(),
            ));
        }
        let p = self.max_clock_drift;
        if self.fencing && lease as f64 * (1.0 + p) >= self.heartbeat_timeout as f64 {
            return Err((
                "system",
                "max_clock_drift",
                format!(
                    "with fencing, lease ({}) x (1 + max_clock_drift) must be shorter than heartbeat_timeout ({}): a monitor whose clock runs max_clock_drift fast could promote another primary before the lease ends; lower the lease or max_clock_drift, or raise heartbeat_timeout",
                    fmt_duration(lease),
                    fmt_duration(self.heartbeat_timeout)
                ),
            ));
        }
        Ok(())
    }
}
