//! `[system]` for `protocol = "cqrs"`, and its checked form.

use serde::Deserialize;
use sim::time::{ms, Nanos};

/// The most keys the clients write: each is a row of the read model.
pub const MAX_KEYS: u32 = 100_000;

/// Where a client reads after its write.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReadFrom {
    /// The read model as it is: it may not have the client's write yet.
    #[default]
    ReadModel,
    /// The read model, once it has applied the write's version: the read
    /// waits for it (read-your-writes, paid for in latency).
    WaitForVersion,
}

impl ReadFrom {
    pub fn name(self) -> &'static str {
        match self {
            ReadFrom::ReadModel => "read-model",
            ReadFrom::WaitForVersion => "wait-for-version",
        }
    }
}

/// `[system]` for `protocol = "cqrs"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub read: ReadFrom,
    /// How often the projector asks the event store for new events.
    #[serde(with = "sim::time::serde_duration")]
    pub batch_interval: Nanos,
    /// The projector's work per event.
    #[serde(with = "sim::time::serde_duration")]
    pub processing_time: Nanos,
    /// A client's pause between one write-then-read and the next.
    #[serde(with = "sim::time::serde_duration")]
    pub think_time: Nanos,
    /// How long a client waits for its write's or its read's answer before
    /// giving it up and going on (a lost message must not stall it).
    #[serde(with = "sim::time::serde_duration")]
    pub client_timeout: Nanos,
    pub keys: u32,
    /// Bug flag: the projection stamps a row with the time the projector
    /// applied it, not the time in the event, so the read model depends on
    /// something outside the events and a replay builds another one.
    pub projection_uses_arrival_time: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            read: ReadFrom::ReadModel,
            batch_interval: ms(100),
            processing_time: ms(2),
            think_time: ms(50),
            client_timeout: ms(500),
            keys: 10,
            projection_uses_arrival_time: false,
        }
    }
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    pub read: ReadFrom,
    pub batch_interval: Nanos,
    pub processing_time: Nanos,
    pub think_time: Nanos,
    pub client_timeout: Nanos,
    pub keys: u32,
    pub projection_uses_arrival_time: bool,
    /// When the clients stop (`[workload] stop`, else the end).
    pub stop: Nanos,
    /// The end of the run: the rebuild replays the log as of then.
    pub end: Nanos,
}

impl Params {
    /// The checked form, or `(field, message)`.
    pub fn check(&self, stop: Nanos, end: Nanos) -> Result<Config, (&'static str, String)> {
        // The projector polls and the clients loop for the whole run: a
        // nanosecond period is a message per nanosecond.
        crate::check_period("batch_interval", self.batch_interval, "", "100ms")?;
        crate::check_period("think_time", self.think_time, "", "50ms")?;
        crate::check_period(
            "client_timeout",
            self.client_timeout,
            "and longer than a write-then-read takes (a wait-for-version read waits for the projector)",
            "500ms",
        )?;
        if self.keys == 0 || self.keys > MAX_KEYS {
            return Err((
                "keys",
                format!(
                    "keys = {}: must be between 1 and {MAX_KEYS}, e.g. keys = 10",
                    self.keys
                ),
            ));
        }
        Ok(Config {
            read: self.read,
            batch_interval: self.batch_interval,
            processing_time: self.processing_time,
            think_time: self.think_time,
            client_timeout: self.client_timeout,
            keys: self.keys,
            projection_uses_arrival_time: self.projection_uses_arrival_time,
            stop,
            end,
        })
    }
}

impl Config {
    /// In words, for the report.
    pub fn describe(&self) -> String {
        format!(
            "clients read {} after each write; the projector fetches every {}, {} per event{}",
            self.read.name(),
            sim::time::fmt_duration(self.batch_interval),
            sim::time::fmt_duration(self.processing_time),
            if self.projection_uses_arrival_time {
                " (bug: rows stamped with the projection's time)"
            } else {
                ""
            },
        )
    }
}
