//! `[[faults]]` and `[nemesis]`: the entries as written and the faults they
//! become.

use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::expect::serde_share;
use crate::network::LatencyDist;
use crate::time::{serde_duration, Nanos};

/// The fault verbs, paired: partition/heal, crash/restart, pause/resume,
/// clog/unclog, latency and loss changes, clock skew, fsync-loss/fsync-ok.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    Partition,
    Heal,
    Crash,
    Restart,
    Pause,
    Resume,
    Clog,
    Unclog,
    Latency,
    Loss,
    Clock,
    FsyncLoss,
    FsyncOk,
}

/// Every fault action, in the order the docs list them.
pub const FAULT_ACTIONS: &[FaultAction] = &[
    FaultAction::Partition,
    FaultAction::Heal,
    FaultAction::Crash,
    FaultAction::Restart,
    FaultAction::Pause,
    FaultAction::Resume,
    FaultAction::Clog,
    FaultAction::Unclog,
    FaultAction::Latency,
    FaultAction::Loss,
    FaultAction::Clock,
    FaultAction::FsyncLoss,
    FaultAction::FsyncOk,
];

impl FaultAction {
    pub fn name(self) -> &'static str {
        match self {
            FaultAction::Partition => "partition",
            FaultAction::Heal => "heal",
            FaultAction::Crash => "crash",
            FaultAction::Restart => "restart",
            FaultAction::Pause => "pause",
            FaultAction::Resume => "resume",
            FaultAction::Clog => "clog",
            FaultAction::Unclog => "unclog",
            FaultAction::Latency => "latency",
            FaultAction::Loss => "loss",
            FaultAction::Clock => "clock",
            FaultAction::FsyncLoss => "fsync-loss",
            FaultAction::FsyncOk => "fsync-ok",
        }
    }
}

/// One `[[faults]]` entry as written. Which fields apply depends on `action`;
/// [`Scenario::parse`](super::Scenario::parse) rejects a field that does not apply.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultEntry {
    /// When the fault fires: a time, or (with `when`) the time from which the
    /// trigger is armed (alias `after`).
    pub at: Option<Spanned<String>>,
    /// The event that fires the fault (instead of `at`).
    pub when: Option<Spanned<WhenEntry>>,
    /// With `when`: only events from this time on count (default "0s").
    pub after: Option<Spanned<String>>,
    /// With `when`: how long after the event the fault fires (default "0s":
    /// right after the step in which the event happened).
    pub delay: Option<Spanned<String>>,
    pub action: Spanned<FaultAction>,
    /// crash, restart, pause, resume, clock, fsync-*, and per-node latency/loss/clog.
    pub target: Option<Spanned<String>>,
    /// partition: groups of targets that can talk only among themselves.
    pub groups: Option<Spanned<Vec<Vec<Spanned<String>>>>>,
    /// One-way partition: messages from these to `to` are dropped.
    pub from: Option<Vec<Spanned<String>>>,
    pub to: Option<Vec<Spanned<String>>>,
    /// clog/unclog and per-link latency/loss: two nodes.
    pub link: Option<Spanned<Vec<Spanned<String>>>>,
    /// latency/loss for every link touching a region.
    pub region: Option<Spanned<String>>,
    /// clog/unclog and link changes in one direction only.
    #[serde(default)]
    pub one_way: bool,
    pub latency: Option<LatencyDist>,
    #[serde(default, deserialize_with = "serde_share::option_spanned")]
    pub probability: Option<Spanned<f64>>,
    /// clock: offset such as "-200ms" or "1s".
    pub offset: Option<Spanned<String>>,
    /// clock: rate error, 0.01 = 1% fast.
    pub drift: Option<Spanned<f64>>,
}

/// A `when = { event = ..., ... }` trigger as written. Which fields apply
/// depends on `event`; [`Scenario::parse`](super::Scenario::parse) rejects a field that does not apply.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WhenEntry {
    pub event: Spanned<String>,
    /// The node the event happens at: its sender for `send`/`deliver`. A name
    /// (`n1`), a role (`coordinator`, matched against the node's role at the
    /// event), or `any` (the default).
    pub node: Option<Spanned<String>>,
    /// `send`/`deliver`: the receiver (a name, a role or `any`).
    pub to: Option<Spanned<String>>,
    /// `send`/`deliver`: the message kind (`AppendEntries`).
    pub kind: Option<Spanned<String>>,
    /// `role`: the role the node takes.
    pub role: Option<Spanned<String>>,
    /// `note`: what the protocol reported (`prepared`).
    pub note: Option<Spanned<String>>,
    /// `fault`: the fault's action (`crash`).
    pub action: Option<Spanned<String>>,
    /// The trigger fires at the count-th matching event (default 1).
    pub count: Option<Spanned<i64>>,
}

/// Checks the form of a trigger's inline table (`{ event = "role", role =
/// "leader" }`) alone, for text typed outside a scenario file (the TUI). The
/// names in it are checked when the scenario holding it is parsed.
pub fn check_when_syntax(table: &str) -> Result<(), String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct One {
        #[allow(dead_code)]
        when: WhenEntry,
    }
    toml::from_str::<One>(&format!("when = {table}"))
        .map(|_| ())
        .map_err(|e| format!("not a trigger: {}", e.message()))
}

/// The events a trigger can wait for: what the kernel already traces.
pub const TRIGGER_EVENTS: &[&str] = &["send", "deliver", "role", "note", "fault"];

/// Which node of an event a trigger accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum NodeMatch {
    Any,
    Node(String),
    /// A node whose role, at the moment of the event, is this.
    Role(String),
}

impl fmt::Display for NodeMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeMatch::Any => f.write_str("any"),
            NodeMatch::Node(n) | NodeMatch::Role(n) => f.write_str(n),
        }
    }
}

/// What a trigger waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TriggerEvent {
    /// A node sends a message (`node` is the sender).
    Send { kind: Option<String>, to: NodeMatch },
    /// A message is handed to its receiver (`node` is the sender, `to` the receiver).
    Deliver { kind: Option<String>, to: NodeMatch },
    /// A node takes a role (`crashed` included).
    Role { role: String },
    /// A node reports a protocol event with `ctx.note(..)`.
    Note { note: String },
    /// A fault is applied (by the schedule, a trigger or the nemesis); `node`
    /// matches the node of a crash, restart, pause or resume.
    Fault { action: FaultAction },
}

/// A checked trigger: the fault fires `delay` after the `count`-th event that
/// matches, counting only events at or after the fault's `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub event: TriggerEvent,
    pub node: NodeMatch,
    pub count: u64,
    pub delay: Nanos,
}

impl Trigger {
    /// The trigger as its inline table, exactly as a scenario file writes it.
    pub fn when_toml(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let name = match &self.event {
            TriggerEvent::Send { .. } => "send",
            TriggerEvent::Deliver { .. } => "deliver",
            TriggerEvent::Role { .. } => "role",
            TriggerEvent::Note { .. } => "note",
            TriggerEvent::Fault { .. } => "fault",
        };
        parts.push(format!("event = \"{name}\""));
        if let TriggerEvent::Fault { action } = &self.event {
            parts.push(format!("action = \"{}\"", action.name()));
        }
        if self.node != NodeMatch::Any {
            parts.push(format!("node = \"{}\"", self.node));
        }
        match &self.event {
            TriggerEvent::Send { kind, to } | TriggerEvent::Deliver { kind, to } => {
                if *to != NodeMatch::Any {
                    parts.push(format!("to = \"{to}\""));
                }
                if let Some(k) = kind {
                    parts.push(format!("kind = \"{k}\""));
                }
            }
            TriggerEvent::Role { role } => parts.push(format!("role = \"{role}\"")),
            TriggerEvent::Note { note } => parts.push(format!("note = \"{note}\"")),
            TriggerEvent::Fault { .. } => {}
        }
        parts.push(format!("count = {}", self.count));
        format!("{{ {} }}", parts.join(", "))
    }
}

/// What a fault targets: resolved to nodes when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Target {
    Node(String),
    /// A node whose reported role has this name (`leader`, `primary`, ...): the
    /// first live server with it.
    Role(String),
    /// The node with this role plus as many other servers as make a minority
    /// (`minority-of-leader`: in 5 servers, the leader and one other).
    MinorityOf(String),
    /// Every node of a region.
    Region(String),
    /// One live server drawn from the fault stream.
    Random,
    /// Every crashed node (for restart) or paused node (for resume).
    Downed,
    /// In a partition: every server not named in another group.
    Rest,
    /// Every server.
    All,
    /// In a triggered fault: the node of the event that fired the trigger
    /// (a message's sender; the node of a role change, note or fault).
    TriggerNode,
    /// In a triggered fault: the receiver of the message that fired it.
    TriggerTo,
}

/// Where a latency or loss change applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Scope {
    Everywhere,
    Node(Target),
    Link(Target, Target),
    Region(String),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum FaultKind {
    Partition {
        groups: Vec<Vec<Target>>,
    },
    PartitionOneWay {
        from: Vec<Target>,
        to: Vec<Target>,
    },
    Heal,
    Crash(Target),
    Restart(Target),
    Pause(Target),
    Resume(Target),
    Clog {
        a: Target,
        b: Target,
        one_way: bool,
    },
    Unclog {
        a: Target,
        b: Target,
        one_way: bool,
    },
    Latency {
        scope: Scope,
        latency: LatencyDist,
        one_way: bool,
    },
    Loss {
        scope: Scope,
        probability: f64,
        one_way: bool,
    },
    /// Sets a node's clocks from the instant it fires (see `sim::node::Clock`):
    /// `offset_ns` steps the wall clock to true time plus it (`None`: the wall
    /// clock reads on continuously); `drift` is the rate error of both clocks
    /// from then on (`None`: unchanged).
    Clock {
        target: Target,
        offset_ns: Option<i64>,
        drift: Option<f64>,
    },
    FsyncLoss(Target),
    FsyncOk(Target),
}

/// A scheduled fault, checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fault {
    /// When the fault fires; with a trigger, the time from which the trigger
    /// counts events.
    pub at: Nanos,
    pub kind: FaultKind,
    /// The entry's line in the scenario file, for the trace.
    pub line: usize,
    /// The event that fires the fault, if it is not fired by time.
    pub when: Option<Trigger>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Nemesis {
    /// Mean time between faults (exponentially distributed).
    #[serde(with = "serde_duration")]
    pub interval: Nanos,
    /// Mean time a fault lasts before it is undone (uniform in 0.5x..1.5x).
    #[serde(with = "serde_duration")]
    pub fault_duration: Nanos,
    /// The kinds to draw from: partition, crash, pause, clog, loss, clock
    /// (servers), client-crash (a client crashes and restarts as a new
    /// session).
    #[serde(default = "default_nemesis_kinds")]
    pub kinds: Vec<Spanned<String>>,
    #[serde(default, with = "serde_duration")]
    pub start: Nanos,
    /// After this no new faults; every fault is undone: the quiet phase.
    #[serde(default, with = "serde_duration::option")]
    pub stop: Option<Nanos>,
    /// The most servers down (crashed or paused) at once (default: a minority).
    pub max_down: Option<u32>,
}

pub const NEMESIS_KINDS: &[&str] = &[
    "partition",
    "crash",
    "pause",
    "clog",
    "loss",
    "clock",
    "client-crash",
];

fn default_nemesis_kinds() -> Vec<Spanned<String>> {
    NEMESIS_KINDS
        .iter()
        .map(|k| Spanned::new(0..0, k.to_string()))
        .collect()
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Node(n) | Target::Role(n) | Target::Region(n) => f.write_str(n),
            Target::MinorityOf(r) => write!(f, "minority-of-{r}"),
            Target::Random => f.write_str("random"),
            Target::Downed => f.write_str("crashed"),
            Target::Rest => f.write_str("rest"),
            Target::All => f.write_str("all"),
            Target::TriggerNode => f.write_str("trigger-node"),
            Target::TriggerTo => f.write_str("trigger-to"),
        }
    }
}
