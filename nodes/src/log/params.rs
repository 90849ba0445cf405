//! `[system]` for `protocol = "log"`, and its checked form.

use serde::Deserialize;
use sim::time::{fmt_duration, ms, Nanos};

/// The most partitions a topic may have: each is a log on every replica.
pub const MAX_PARTITIONS: u32 = 64;
/// The most sends a producer may keep waiting for a free request slot.
pub const MAX_BUFFERED: usize = 10_000;

/// What a producer waits for before it counts a send as done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// Nothing: the send is done when it leaves the producer.
    None,
    /// The leader wrote it.
    Leader,
    /// Every in-sync replica wrote it (and there were at least
    /// `min_insync_replicas` of them).
    All,
}

impl Acks {
    pub fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// When a consumer group's member commits a batch's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitPoint {
    /// Commit, then process: a crash between loses the batch.
    Before,
    /// Process, then commit: a crash between processes it again.
    After,
    /// Write the output and the offset in one step.
    Atomic,
}

impl CommitPoint {
    pub fn name(self) -> &'static str {
        match self {
            CommitPoint::Before => "before",
            CommitPoint::After => "after",
            CommitPoint::Atomic => "atomic",
        }
    }
}

/// `acks` as the scenario writes it: `0`, `1`, `"0"`, `"1"` or `"all"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum AcksSpec {
    Number(i64),
    Word(String),
}

/// `[system]` for `protocol = "log"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Brokers, `n2..`: every partition's replicas live on them.
    pub brokers: u32,
    /// Producers, after the brokers.
    pub producers: u32,
    /// Consumers, after the producers; each reads every partition.
    pub consumers: u32,
    pub partitions: u32,
    /// Replicas per partition (at most `brokers`).
    pub replication_factor: u32,
    pub acks: AcksSpec,
    /// With `acks = "all"`, the leader refuses a send while fewer replicas
    /// than this are in sync.
    pub min_insync_replicas: u32,
    /// When no in-sync replica is left, elect an out-of-sync one (and lose
    /// what it lacks) rather than leave the partition without a leader.
    pub unclean_leader_election: bool,
    /// Producer id and sequence numbers: the leader drops a retry it already
    /// wrote and refuses one that would land out of order.
    pub idempotent: bool,
    /// Requests a producer keeps open at once.
    pub max_in_flight: u32,
    /// How many times a send is sent again (on a timeout or an error)
    /// before the producer gives up on it.
    pub retries: u32,
    #[serde(with = "sim::time::serde_duration")]
    pub request_timeout: Nanos,
    /// Sends per second, per producer (evenly spaced).
    pub send_rate: f64,
    /// How often a follower fetches from its leader, and a consumer polls.
    #[serde(with = "sim::time::serde_duration")]
    pub fetch_interval: Nanos,
    /// A follower that has not caught up with its leader for this long
    /// leaves the in-sync set.
    #[serde(with = "sim::time::serde_duration")]
    pub replica_lag_time: Nanos,
    /// The controller counts a broker dead after this long without a heartbeat.
    #[serde(with = "sim::time::serde_duration")]
    pub session_timeout: Nanos,
    /// The consumers form this consumer group (coordinated by `n1`); unset,
    /// each consumer reads every partition from its start on its own.
    pub group: Option<String>,
    // The fields below apply only to a group; unset, they take the
    // defaults `check` states, and set without `group` they are refused
    // (they would silently do nothing).
    /// When a group member commits: "before" processing a batch, "after"
    /// it (the default), or "atomic" (the output and the offset in one
    /// write).
    pub commit: Option<String>,
    /// The sink keeps the key of every message it applied and drops a
    /// repeat (an idempotent consumer). Default false.
    pub dedup: Option<bool>,
    /// The coordinator refuses a commit from an old generation (turn off to
    /// see a zombie move the offset back). Default true.
    pub fence_zombies: Option<bool>,
    /// How long a group member takes to process one message. Default 0.
    #[serde(with = "sim::time::serde_duration::option")]
    pub processing_time: Option<Nanos>,
    /// With `commit = "after"`, a member commits a partition at most this
    /// often (Kafka's auto-commit interval); 0 (the default): after every
    /// batch.
    #[serde(with = "sim::time::serde_duration::option")]
    pub commit_interval: Option<Nanos>,
    /// The most messages a group member holds fetched but not processed.
    /// Default 500.
    pub max_buffered: Option<u32>,
    /// The most messages a group member processes (and commits) at once.
    /// Default 10.
    pub max_poll_records: Option<u32>,
    /// Every `poison_every`-th message a producer sends (its Nth, 2Nth, ...)
    /// is poison: processing it always fails. Default 0: none.
    pub poison_every: Option<u64>,
    /// A member gives a message that failed `max_attempts` times up to a
    /// dead letter partition (written through the brokers) and commits past
    /// it. Default false: it retries for ever.
    pub dlq: Option<bool>,
    /// With `dlq`, the processing attempts before a message is dead-lettered.
    /// Default 3.
    pub max_attempts: Option<u32>,
    /// A bug flag: a member that fails to process a message logs it and
    /// goes on without it (Kafka Connect's `errors.tolerance = all` with no
    /// dead letter queue, or a catch-and-log handler). Default false.
    pub skip_poison: Option<bool>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            brokers: 3,
            producers: 1,
            consumers: 1,
            partitions: 1,
            replication_factor: 3,
            acks: AcksSpec::Word("all".into()),
            min_insync_replicas: 1,
            unclean_leader_election: false,
            idempotent: false,
            max_in_flight: 5,
            retries: 10,
            request_timeout: ms(100),
            send_rate: 100.0,
            fetch_interval: ms(20),
            replica_lag_time: ms(300),
            session_timeout: ms(300),
            group: None,
            commit: None,
            dedup: None,
            fence_zombies: None,
            processing_time: None,
            commit_interval: None,
            max_buffered: None,
            max_poll_records: None,
            poison_every: None,
            dlq: None,
            max_attempts: None,
            skip_poison: None,
        }
    }
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    pub brokers: u32,
    pub producers: u32,
    pub consumers: u32,
    pub partitions: u32,
    pub replication_factor: u32,
    pub acks: Acks,
    pub min_insync_replicas: u32,
    pub unclean_leader_election: bool,
    pub idempotent: bool,
    pub max_in_flight: u32,
    pub retries: u32,
    pub request_timeout: Nanos,
    /// Time between two sends of one producer.
    pub send_every: Nanos,
    pub fetch_interval: Nanos,
    pub replica_lag_time: Nanos,
    pub session_timeout: Nanos,
    pub group: Option<String>,
    pub commit: CommitPoint,
    pub dedup: bool,
    pub fence_zombies: bool,
    pub processing_time: Nanos,
    pub commit_interval: Nanos,
    pub max_buffered: u32,
    pub max_poll_records: u32,
    /// Every this-many-th message of a producer is poison; 0: none.
    pub poison_every: u64,
    pub dlq: bool,
    pub max_attempts: u32,
    pub skip_poison: bool,
    /// When producers stop sending (`[workload] stop`, else the end).
    pub stop: Nanos,
}

impl Params {
    /// The checked form for a scenario with `servers` servers, or `(field, message)`.
    pub fn check(&self, servers: usize, stop: Nanos) -> Result<Config, (&'static str, String)> {
        let acks = match &self.acks {
            AcksSpec::Number(0) => Acks::None,
            AcksSpec::Number(1) => Acks::Leader,
            AcksSpec::Word(w) if w == "0" => Acks::None,
            AcksSpec::Word(w) if w == "1" => Acks::Leader,
            AcksSpec::Word(w) if w == "all" || w == "-1" => Acks::All,
            other => {
                let shown = match other {
                    AcksSpec::Number(n) => n.to_string(),
                    AcksSpec::Word(w) => format!("{w:?}"),
                };
                return Err((
                    "acks",
                    format!("acks = {shown}: must be 0, 1 or \"all\", e.g. acks = \"all\""),
                ));
            }
        };
        if self.brokers == 0 || self.producers == 0 || self.consumers == 0 {
            return Err((
                "brokers",
                "brokers, producers and consumers must each be at least 1, e.g. brokers = 3".into(),
            ));
        }
        // Summed wide: three u32 counts near their maximum must not wrap
        // into a small total that matches `servers`.
        let want = 1 + self.brokers as usize + self.producers as usize + self.consumers as usize;
        if servers != want {
            return Err((
                "brokers",
                format!(
                    "a controller, {} broker(s), {} producer(s) and {} consumer(s) are {want} servers, but [topology] servers = {servers}; set servers = {want}",
                    self.brokers, self.producers, self.consumers
                ),
            ));
        }
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return Err((
                "partitions",
                format!(
                    "partitions = {}: must be between 1 and {MAX_PARTITIONS}",
                    self.partitions
                ),
            ));
        }
        if self.replication_factor == 0 || self.replication_factor > self.brokers {
            return Err((
                "replication_factor",
                format!(
                    "replication_factor = {}: must be between 1 and brokers ({})",
                    self.replication_factor, self.brokers
                ),
            ));
        }
        if self.min_insync_replicas == 0 || self.min_insync_replicas > self.replication_factor {
            return Err((
                "min_insync_replicas",
                format!(
                    "min_insync_replicas = {}: must be between 1 and replication_factor ({})",
                    self.min_insync_replicas, self.replication_factor
                ),
            ));
        }
        if self.max_in_flight == 0 || self.max_in_flight > 100 {
            return Err((
                "max_in_flight",
                format!(
                    "max_in_flight = {}: must be between 1 and 100",
                    self.max_in_flight
                ),
            ));
        }
        if !(self.send_rate > 0.0 && self.send_rate <= 10_000.0) {
            return Err((
                "send_rate",
                format!(
                    "send_rate = {}: must be above 0 and at most 10000 sends per second",
                    self.send_rate
                ),
            ));
        }
        for (name, value, example) in [
            ("request_timeout", self.request_timeout, "100ms"),
            ("fetch_interval", self.fetch_interval, "20ms"),
            ("replica_lag_time", self.replica_lag_time, "300ms"),
            ("session_timeout", self.session_timeout, "300ms"),
        ] {
            crate::check_period(name, value, "", example)?;
        }
        if self.replica_lag_time <= self.fetch_interval {
            return Err((
                "replica_lag_time",
                format!(
                    "replica_lag_time = \"{}\" must be longer than fetch_interval = \"{}\": a follower fetching on time would leave the in-sync set",
                    fmt_duration(self.replica_lag_time),
                    fmt_duration(self.fetch_interval)
                ),
            ));
        }
        if self.group.is_none() {
            for (field, set) in [
                ("commit", self.commit.is_some()),
                ("dedup", self.dedup.is_some()),
                ("fence_zombies", self.fence_zombies.is_some()),
                ("processing_time", self.processing_time.is_some()),
                ("commit_interval", self.commit_interval.is_some()),
                ("max_buffered", self.max_buffered.is_some()),
                ("max_poll_records", self.max_poll_records.is_some()),
                ("poison_every", self.poison_every.is_some()),
                ("dlq", self.dlq.is_some()),
                ("max_attempts", self.max_attempts.is_some()),
                ("skip_poison", self.skip_poison.is_some()),
            ] {
                if set {
                    return Err((
                        field,
                        format!("{field} applies only to a consumer group, and no group is set: add group = \"NAME\" (e.g. group = \"billing\") or remove {field}"),
                    ));
                }
            }
        }
        let commit_text = self.commit.as_deref().unwrap_or("after");
        let dedup = self.dedup.unwrap_or(false);
        let fence_zombies = self.fence_zombies.unwrap_or(true);
        let processing_time = self.processing_time.unwrap_or(0);
        let commit_interval = self.commit_interval.unwrap_or(0);
        let max_buffered = self.max_buffered.unwrap_or(500);
        let max_poll_records = self.max_poll_records.unwrap_or(10);
        let commit = match commit_text {
            "before" => CommitPoint::Before,
            "after" => CommitPoint::After,
            "atomic" => CommitPoint::Atomic,
            other => {
                return Err((
                    "commit",
                    format!("commit = {other:?}: must be \"before\", \"after\" or \"atomic\", e.g. commit = \"after\""),
                ))
            }
        };
        if self.group.as_deref() == Some("") {
            return Err((
                "group",
                "group = \"\": a consumer group needs a name, e.g. group = \"billing\"; leave group out for consumers without one".into(),
            ));
        }
        if max_buffered == 0 || max_buffered > 100_000 {
            return Err((
                "max_buffered",
                format!(
                    "max_buffered = {}: must be between 1 and 100000",
                    max_buffered
                ),
            ));
        }
        if max_poll_records == 0 || max_poll_records > max_buffered {
            return Err((
                "max_poll_records",
                format!(
                    "max_poll_records = {}: must be between 1 and max_buffered ({})",
                    max_poll_records, max_buffered
                ),
            ));
        }
        if processing_time > sim::time::NANOS_PER_MILLI * 10_000 {
            return Err((
                "processing_time",
                format!(
                    "processing_time = \"{}\": must be at most 10s per message",
                    fmt_duration(processing_time)
                ),
            ));
        }
        let poison_every = self.poison_every.unwrap_or(0);
        let dlq = self.dlq.unwrap_or(false);
        let max_attempts = self.max_attempts.unwrap_or(3);
        if self.max_attempts.is_some() && !dlq {
            return Err((
                "max_attempts",
                "max_attempts applies only with a dead letter queue (without one a member retries a failing message for ever): add dlq = true or remove max_attempts".into(),
            ));
        }
        if max_attempts == 0 || max_attempts > 1000 {
            return Err((
                "max_attempts",
                format!("max_attempts = {max_attempts}: must be between 1 and 1000"),
            ));
        }
        let skip_poison = self.skip_poison.unwrap_or(false);
        if skip_poison && (dlq || commit == CommitPoint::Atomic) {
            return Err((
                "skip_poison",
                "skip_poison = true drops a failing message from its batch's effect; it cannot go with dlq = true (which gives the message to the queue instead) nor with commit = \"atomic\" (whose write must start at the committed offset): remove one".into(),
            ));
        }
        // Dead letters are written with acks = "all" whatever `acks` says
        // (see the broker), which holds a write only if it is on at least
        // min_insync_replicas brokers: with one, the leader alone can
        // acknowledge a dead letter it then loses in a crash, after the
        // member committed past it.
        if dlq && (self.replication_factor < 2 || self.min_insync_replicas < 2) {
            return Err((
                "dlq",
                format!(
                    "dlq = true needs replication_factor >= 2 and min_insync_replicas >= 2 (here {} and {}): a member commits past a dead letter once the brokers acknowledge it, so the dead letter must survive a broker crash, which takes a copy on a second broker before the acknowledgement",
                    self.replication_factor, self.min_insync_replicas
                ),
            ));
        }
        if commit_interval > 0 && commit != CommitPoint::After {
            return Err((
                "commit_interval",
                format!(
                    "commit_interval = \"{}\" applies only to commit = \"after\" (commit = {:?} commits every batch); remove it or set commit = \"after\"",
                    fmt_duration(commit_interval),
                    commit_text
                ),
            ));
        }
        Ok(Config {
            group: self.group.clone(),
            commit,
            dedup,
            fence_zombies,
            processing_time,
            commit_interval,
            max_buffered,
            max_poll_records,
            poison_every,
            dlq,
            max_attempts,
            skip_poison,
            brokers: self.brokers,
            producers: self.producers,
            consumers: self.consumers,
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            acks,
            min_insync_replicas: self.min_insync_replicas,
            unclean_leader_election: self.unclean_leader_election,
            idempotent: self.idempotent,
            max_in_flight: self.max_in_flight,
            retries: self.retries,
            request_timeout: self.request_timeout,
            send_every: ((1e9 / self.send_rate).round() as Nanos).max(1),
            fetch_interval: self.fetch_interval,
            replica_lag_time: self.replica_lag_time,
            session_timeout: self.session_timeout,
            stop,
        })
    }
}

impl Config {
    /// The setting in words, for the report.
    pub fn describe(&self) -> String {
        format!(
            "{} partition(s) x {} replicas on {} brokers, acks = {}, min ISR {}, {}unclean election, {}idempotent producer, {} in flight",
            self.partitions,
            self.replication_factor,
            self.brokers,
            self.acks.name(),
            self.min_insync_replicas,
            if self.unclean_leader_election { "" } else { "no " },
            if self.idempotent { "" } else { "non-" },
            self.max_in_flight
        ) + &match &self.group {
            Some(g) => format!(
                "; group {g}, commit {}{}{}",
                self.commit.name(),
                if self.dedup { ", dedup" } else { "" },
                if self.fence_zombies { "" } else { ", zombies not fenced" }
            ) + &if self.poison_every > 0 {
                format!(
                    "; poison_every {}, {}",
                    self.poison_every,
                    if self.dlq {
                        format!("dead letter queue after {} attempt(s)", self.max_attempts)
                    } else if self.skip_poison {
                        "a failing message is skipped".to_string()
                    } else {
                        "no dead letter queue".to_string()
                    }
                )
            } else if self.dlq {
                format!("; dead letter queue after {} attempt(s)", self.max_attempts)
            } else {
                String::new()
            },
            None => String::new(),
        }
    }

    /// The partitions the brokers keep: the topic's, and the dead letter
    /// partition after them when there is a dead letter queue.
    pub fn log_partitions(&self) -> u32 {
        self.partitions + u32::from(self.dlq)
    }

    /// The dead letter partition, if there is one: it follows the topic's,
    /// and neither producers nor the group's assignor know it.
    pub fn dlq_partition(&self) -> Option<u32> {
        self.dlq.then_some(self.partitions)
    }

    /// Whether processing `value` always fails: it is the Nth, 2Nth, ...
    /// message of its producer's life (see the producer's numbering).
    pub fn is_poison(&self, value: i64) -> bool {
        self.poison_every > 0 && (value.rem_euclid(10_000_000) as u64 + 1) % self.poison_every == 0
    }

    /// The brokers holding partition `p`, its preferred leader first.
    pub fn replicas(&self, p: u32) -> Vec<sim::node::NodeId> {
        (0..self.replication_factor)
            .map(|i| broker_id((p + i) % self.brokers))
            .collect()
    }

    pub fn producer_id(&self, i: u32) -> sim::node::NodeId {
        sim::node::NodeId(1 + self.brokers + i)
    }

    pub fn consumer_id(&self, i: u32) -> sim::node::NodeId {
        sim::node::NodeId(1 + self.brokers + self.producers + i)
    }
}

/// Broker number `b` (0-based) is node `n(b+2)`.
pub fn broker_id(b: u32) -> sim::node::NodeId {
    sim::node::NodeId(1 + b)
}

/// The name of partition `p` of the one topic.
pub fn partition_name(p: u32) -> String {
    format!("t-{p}")
}
