//! `[system]` for `protocol = "outbox"`, and its checked form.

use serde::Deserialize;
use sim::dist::{Dist, DistSpec};
use sim::time::{ms, Nanos};

/// The most events the relay publishes in one poll: each is a message.
pub const MAX_RELAY_BATCH: u32 = 10_000;
/// The longest `publish_delay` and `relay_retry`.
pub const MAX_PUBLISH_DELAY: Nanos = sim::time::secs(60);

/// How the order service gets its events to the broker.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Publish {
    /// Dual write: commit the change, then publish its event. A crash
    /// between the two loses the event.
    CommitThenPublish,
    /// Dual write the other way round: publish, then commit. A change that
    /// then rolls back, or a crash before the commit, leaves a phantom event.
    PublishThenCommit,
    /// The transactional outbox: the event is a row written in the change's
    /// own transaction; a relay publishes unsent rows and marks them sent.
    #[default]
    Outbox,
}

impl Publish {
    pub fn name(self) -> &'static str {
        match self {
            Publish::CommitThenPublish => "commit-then-publish",
            Publish::PublishThenCommit => "publish-then-commit",
            Publish::Outbox => "outbox",
        }
    }
}

/// `[system]` for `protocol = "outbox"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub publish: Publish,
    /// The consumer drops an event whose id it already applied.
    pub dedup: bool,
    /// The work of one transaction before its first write:
    /// `{ dist = "exponential", mean = "5ms" }`.
    pub txn_time: DistSpec,
    /// The time between the two writes: commit and publish (or publish and
    /// commit), or, with the outbox, the relay's publish and its marking
    /// the rows sent. A crash inside it is the crash the lesson is about.
    #[serde(with = "sim::time::serde_duration")]
    pub publish_delay: Nanos,
    /// The share of transactions the validation rule rolls back.
    pub abort_probability: f64,
    /// How long the relay waits between two polls of the outbox table.
    #[serde(with = "sim::time::serde_duration")]
    pub relay_interval: Nanos,
    /// The most unsent rows the relay publishes in one poll.
    pub relay_batch: u32,
    /// How long the relay waits for a published row's acknowledgement
    /// before publishing it again: longer than the broker's round trip.
    #[serde(with = "sim::time::serde_duration")]
    pub relay_retry: Nanos,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            publish: Publish::Outbox,
            dedup: false,
            txn_time: DistSpec {
                dist: Some("exponential".into()),
                mean: Some(ms(5)),
                ..DistSpec::default()
            },
            publish_delay: ms(20),
            abort_probability: 0.1,
            relay_interval: ms(10),
            relay_batch: 100,
            relay_retry: ms(200),
        }
    }
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    pub publish: Publish,
    pub dedup: bool,
    pub txn_time: Dist,
    pub publish_delay: Nanos,
    pub abort_probability: f64,
    pub relay_interval: Nanos,
    pub relay_batch: u32,
    pub relay_retry: Nanos,
    /// When the service stops taking orders (`[workload] stop`, else the end).
    pub stop: Nanos,
}

impl Params {
    /// The checked form, or `(field, message)`.
    pub fn check(&self, stop: Nanos) -> Result<Config, (&'static str, String)> {
        let txn_time = self
            .txn_time
            .check("txn_time")
            .map_err(|e| ("txn_time", e))?;
        if txn_time.mean() < 1_000.0 {
            return Err((
                "txn_time",
                "txn_time: the mean must be at least 1us (the service runs one transaction at a time, back to back), e.g. txn_time = { dist = \"exponential\", mean = \"5ms\" }".into(),
            ));
        }
        let abort_probability = sim::scenario::check_share(self.abort_probability)
            .map_err(|m| ("abort_probability", format!("abort_probability = {m}")))?;
        // The relay polls for as long as the run lasts: a nanosecond period
        // is a poll per nanosecond.
        crate::check_period("relay_interval", self.relay_interval, "", "10ms")?;
        if self.relay_batch == 0 || self.relay_batch > MAX_RELAY_BATCH {
            return Err((
                "relay_batch",
                format!(
                    "relay_batch = {}: must be between 1 and {MAX_RELAY_BATCH}, e.g. relay_batch = 100",
                    self.relay_batch
                ),
            ));
        }
        // A zero window has no crash in it, and a window longer than a
        // minute leaves a run with a handful of orders.
        if self.publish_delay == 0 || self.publish_delay > MAX_PUBLISH_DELAY {
            return Err((
                "publish_delay",
                format!(
                    "publish_delay = \"{}\": must be more than 0 and at most 1m, e.g. publish_delay = \"20ms\"",
                    sim::time::fmt_duration(self.publish_delay)
                ),
            ));
        }
        if self.relay_retry < ms(1) || self.relay_retry > MAX_PUBLISH_DELAY {
            return Err((
                "relay_retry",
                format!(
                    "relay_retry = \"{}\": must be between 1ms and 1m, and longer than the broker's round trip, e.g. relay_retry = \"200ms\"",
                    sim::time::fmt_duration(self.relay_retry)
                ),
            ));
        }
        Ok(Config {
            publish: self.publish,
            dedup: self.dedup,
            txn_time,
            publish_delay: self.publish_delay,
            abort_probability,
            relay_interval: self.relay_interval,
            relay_batch: self.relay_batch,
            relay_retry: self.relay_retry,
            stop,
        })
    }
}

impl Config {
    /// In words, for the report.
    pub fn describe(&self) -> String {
        let consumer = if self.dedup {
            "consumer de-duplicates by event id"
        } else {
            "consumer applies every event it reads"
        };
        let relay = if self.publish == Publish::Outbox {
            format!(
                ", relay polls every {}",
                sim::time::fmt_duration(self.relay_interval)
            )
        } else {
            String::new()
        };
        format!(
            "{}: transactions {}, {} between the two writes, {:.0}% rolled back{relay}; {consumer}",
            self.publish.name(),
            self.txn_time.describe(),
            sim::time::fmt_duration(self.publish_delay),
            self.abort_probability * 100.0,
        )
    }
}
