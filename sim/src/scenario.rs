//! Scenario files: TOML that says which system to run, on what topology and
//! network, under which workload and faults, and what the run is expected to show.
//!
//! Every error a user can cause names the file, the line and column, the field,
//! what was wrong and what would be valid. Parsing is in two passes: this module
//! reads every section but the protocol's own parameters in `[system]`, which the
//! protocol reads itself with [`parse_system`] so that its errors carry positions
//! too.

use std::fmt;
use std::ops::Range;

use indexmap::IndexMap;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::client::{ClientConfig, RetryPolicy};
use crate::network::LatencyDist;
use crate::time::{fmt_duration, parse_duration, serde_duration, Nanos};

/// A user-facing error in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The source line the error points at, and the caret under it.
    pub excerpt: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.excerpt.is_empty() {
            write!(f, "\n{}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error at byte range `span` of `src`.
    pub fn at(file: &str, src: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = src[..start].matches('\n').count() + 1;
        let column = src[line_start..start].chars().count() + 1;
        let text = &src[line_start..line_end];
        let width = src[start..span.end.clamp(start, line_end)]
            .chars()
            .count()
            .max(1);
        let gutter = line.to_string().len();
        let excerpt = format!(
            "{:gutter$} |\n{line} | {text}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(column - 1),
            "^".repeat(width),
        );
        ScenarioError {
            file: file.to_string(),
            line,
            column,
            excerpt,
            message: message.into(),
        }
    }

    fn from_toml(file: &str, src: &str, e: toml::de::Error) -> Self {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => Self::at(file, src, span, message),
            None => ScenarioError {
                file: file.to_string(),
                line: 1,
                column: 1,
                excerpt: String::new(),
                message,
            },
        }
    }
}

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
    /// The times of the run the protocol's `[system]` parameters name (a
    /// quorum join's `at`, `converge_by`), set by [`Scenario::check_run_times`]
    /// from the protocol's own list of such fields.
    pub system_times: Vec<Nanos>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The lesson in docs/ this scenario belongs to.
    #[serde(default)]
    pub lesson: Option<String>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How much virtual time the run lasts.
    #[serde(with = "serde_duration")]
    pub duration: Nanos,
    /// The most events the run may process before it is stopped (and fails):
    /// a bound so that no scenario can run for ever.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Search steps the linearizability check may take before it answers
    /// "undecided" (default: [`DEFAULT_CHECK_MAX_STEPS`]). A step count, so the
    /// verdict is the same on every machine.
    #[serde(default)]
    pub check_max_steps: Option<u64>,
    /// Memory the linearizability search may hold, e.g. "2GiB" or a number
    /// of bytes (default 1GiB).
    #[serde(default)]
    pub check_max_memory: Option<Spanned<Size>>,
}

/// The linearizability search's default step budget for a run.
pub const DEFAULT_CHECK_MAX_STEPS: u64 = 10_000_000;
/// The linearizability search's default memory cap for a run: 1 GiB.
pub const DEFAULT_CHECK_MAX_MEMORY: u64 = 1 << 30;

impl Meta {
    /// The step budget of this scenario's linearizability check.
    pub fn check_steps(&self) -> u64 {
        self.check_max_steps.unwrap_or(DEFAULT_CHECK_MAX_STEPS)
    }
    /// Sets the memory cap, written as a size a person reads ("4GiB") when
    /// that is exact, else as a number of bytes.
    pub fn set_check_max_memory(&mut self, bytes: u64) {
        let shown = fmt_size(bytes);
        let size = if parse_size(&shown) == Ok(bytes) {
            Size::Text(shown)
        } else {
            Size::Bytes(i64::try_from(bytes).unwrap_or(i64::MAX))
        };
        self.check_max_memory = Some(Spanned::new(0..0, size));
    }

    /// The memory cap of this scenario's linearizability check, in bytes.
    pub fn check_memory(&self) -> u64 {
        self.check_max_memory
            .as_ref()
            .and_then(|m| m.get_ref().bytes().ok())
            .unwrap_or(DEFAULT_CHECK_MAX_MEMORY)
    }
}

/// A memory size in a scenario: a number of bytes (`1073741824`) or a text
/// with a unit (`"1GiB"`, see [`parse_size`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Size {
    Bytes(i64),
    Text(String),
}

impl Size {
    /// The size in bytes, as a memory budget (see [`parse_memory_budget`]).
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            Size::Bytes(n) => parse_memory_budget(&n.to_string()),
            Size::Text(t) => parse_memory_budget(t),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: a number of bytes or a text such as \"512MiB\" or \"2GiB\"")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Size, E> {
                Ok(Size::Bytes(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                i64::try_from(v)
                    .map(Size::Bytes)
                    .map_err(|_| E::custom(format!("{v} bytes is too large")))
            }
            fn visit_str<E>(self, v: &str) -> Result<Size, E> {
                Ok(Size::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The smallest memory budget the linearizability search accepts: less
/// cannot hold a search of any size, and the checker counts its memo in MiB.
pub const MIN_CHECK_MAX_MEMORY: u64 = 1 << 20;

/// A memory budget for the linearizability search: a size ([`parse_size`])
/// of at least 1MiB.
pub fn parse_memory_budget(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes < MIN_CHECK_MAX_MEMORY {
        return Err(format!(
            "`{text}` is too small for the search's memory: write at least 1MiB (the default is 1GiB)"
        ));
    }
    Ok(bytes)
}

/// A size such as "512MiB", "2GiB", "4GB" or "1048576" (bytes). Decimal (KB,
/// MB, GB) and binary (KiB, MiB, GiB) units are both accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("`{text}` is not a size: write e.g. \"512MiB\" or \"2GiB\"");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KiB" => 1024.0,
        "KB" => 1e3,
        "M" | "MiB" => 1024.0 * 1024.0,
        "MB" => 1e6,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "GB" => 1e9,
        "T" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "TB" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = n * scale;
    if bytes >= u64::MAX as f64 {
        return Err(format!(
            "`{text}` is too large: a size is at most 16EiB (e.g. \"64GiB\")"
        ));
    }
    if bytes < 1.0 {
        return Err(format!("`{text}`: a size must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

/// A size in bytes as a person reads it: "1GiB", "512MiB", "1500B".
pub fn fmt_size(bytes: u64) -> String {
    for (unit, scale) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    for (unit, scale) in [("GiB", 1u64 << 30), ("MiB", 1 << 20)] {
        if bytes >= scale {
            return format!("{:.1}{unit}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes}B")
}

pub const DEFAULT_MAX_EVENTS: u64 = 200_000_000;

fn default_max_events() -> u64 {
    DEFAULT_MAX_EVENTS
}

fn default_seed() -> u64 {
    1
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub servers: Spanned<u32>,
    #[serde(default)]
    pub clients: u32,
    /// Region name to the nodes in it. Nodes not named sit in no region and use
    /// the network's default latency.
    #[serde(default)]
    pub regions: IndexMap<String, Vec<Spanned<String>>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default = "default_latency")]
    pub latency: LatencyDist,
    #[serde(default = "zero_prob", deserialize_with = "serde_share::spanned")]
    pub loss: Spanned<f64>,
    #[serde(default = "zero_prob", deserialize_with = "serde_share::spanned")]
    pub duplicate: Spanned<f64>,
    /// Every link delivers in order (TCP-like); otherwise jitter reorders.
    #[serde(default)]
    pub fifo: bool,
    /// Latency between regions (symmetric), overriding `latency`.
    #[serde(default)]
    pub region_latency: Vec<RegionLatency>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency: default_latency(),
            loss: Spanned::new(0..0, 0.0),
            duplicate: Spanned::new(0..0, 0.0),
            fifo: false,
            region_latency: Vec::new(),
        }
    }
}

fn zero_prob() -> Spanned<f64> {
    Spanned::new(0..0, 0.0)
}

fn default_latency() -> LatencyDist {
    LatencyDist::Uniform {
        min: 1_000_000,
        max: 3_000_000,
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionLatency {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub latency: LatencyDist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyDist {
    Uniform,
    Zipf,
}

/// The share of each kind of operation; they need not sum to one.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpMix {
    #[serde(default)]
    pub get: f64,
    #[serde(default)]
    pub put: f64,
    #[serde(default)]
    pub cas: f64,
    #[serde(default)]
    pub append: f64,
    #[serde(default)]
    pub delete: f64,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            get: 0.5,
            put: 0.5,
            cas: 0.0,
            append: 0.0,
            delete: 0.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Operations per second each client starts (the mean of an exponential
    /// think time); a client waits for its open operation before the next.
    #[serde(default = "default_rate")]
    pub rate: Spanned<f64>,
    #[serde(default = "default_keys")]
    pub keys: Spanned<u32>,
    #[serde(default = "default_key_dist")]
    pub key_dist: KeyDist,
    /// The zipf exponent when `key_dist = "zipf"` (1.0 is classic zipf).
    #[serde(default = "default_zipf")]
    pub zipf_exponent: Spanned<f64>,
    #[serde(default = "default_mix")]
    pub mix: Spanned<OpMix>,
    /// How long one attempt waits for a reply.
    #[serde(default = "default_timeout", with = "serde_duration")]
    pub timeout: Nanos,
    #[serde(default = "default_retry")]
    pub retry: RetryPolicy,
    #[serde(default, with = "serde_duration")]
    pub start: Nanos,
    /// When clients stop starting operations (default: the run's duration).
    #[serde(default, with = "serde_duration::option")]
    pub stop: Option<Nanos>,
}

fn default_mix() -> Spanned<OpMix> {
    Spanned::new(0..0, OpMix::default())
}
fn default_rate() -> Spanned<f64> {
    Spanned::new(0..0, 10.0)
}
fn default_keys() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}
fn default_key_dist() -> KeyDist {
    KeyDist::Uniform
}
fn default_zipf() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}
fn default_timeout() -> Nanos {
    500_000_000
}

/// The shortest `[workload] timeout` a scenario may set (see the check in
/// `Scenario::parse`): shorter attempts only burn events.
pub const MIN_CLIENT_TIMEOUT: Nanos = crate::time::NANOS_PER_MICRO * 100;
/// The most attempts a client's retry policy may make for one operation.
pub const MAX_CLIENT_ATTEMPTS: u32 = 1_000;
fn default_retry() -> RetryPolicy {
    RetryPolicy::None
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            rate: default_rate(),
            keys: default_keys(),
            key_dist: KeyDist::Uniform,
            zipf_exponent: default_zipf(),
            mix: Spanned::new(0..0, OpMix::default()),
            timeout: default_timeout(),
            retry: RetryPolicy::None,
            start: 0,
            stop: None,
        }
    }
}

impl Workload {
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            timeout: self.timeout,
            retry: self.retry.clone(),
        }
    }
}

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
/// [`Scenario::parse`] rejects a field that does not apply.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultEntry {
    /// When the fault fires: a time, or (with `when`) the time from which the
    /// trigger is armed (alias `after`).
    #[serde(default)]
    pub at: Option<Spanned<String>>,
    /// The event that fires the fault (instead of `at`).
    #[serde(default)]
    pub when: Option<Spanned<WhenEntry>>,
    /// With `when`: only events from this time on count (default "0s").
    #[serde(default)]
    pub after: Option<Spanned<String>>,
    /// With `when`: how long after the event the fault fires (default "0s":
    /// right after the step in which the event happened).
    #[serde(default)]
    pub delay: Option<Spanned<String>>,
    pub action: Spanned<FaultAction>,
    /// crash, restart, pause, resume, clock, fsync-*, and per-node latency/loss/clog.
    #[serde(default)]
    pub target: Option<Spanned<String>>,
    /// partition: groups of targets that can talk only among themselves.
    #[serde(default)]
    pub groups: Option<Spanned<Vec<Vec<Spanned<String>>>>>,
    /// One-way partition: messages from these to `to` are dropped.
    #[serde(default)]
    pub from: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub to: Option<Vec<Spanned<String>>>,
    /// clog/unclog and per-link latency/loss: two nodes.
    #[serde(default)]
    pub link: Option<Spanned<Vec<Spanned<String>>>>,
    /// latency/loss for every link touching a region.
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// clog/unclog and link changes in one direction only.
    #[serde(default)]
    pub one_way: bool,
    #[serde(default)]
    pub latency: Option<LatencyDist>,
    #[serde(default, deserialize_with = "serde_share::option_spanned")]
    pub probability: Option<Spanned<f64>>,
    /// clock: offset such as "-200ms" or "1s".
    #[serde(default)]
    pub offset: Option<Spanned<String>>,
    /// clock: rate error, 0.01 = 1% fast.
    #[serde(default)]
    pub drift: Option<Spanned<f64>>,
}

/// A `when = { event = ..., ... }` trigger as written. Which fields apply
/// depends on `event`; [`Scenario::parse`] rejects a field that does not apply.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WhenEntry {
    pub event: Spanned<String>,
    /// The node the event happens at: its sender for `send`/`deliver`. A name
    /// (`n1`), a role (`coordinator`, matched against the node's role at the
    /// event), or `any` (the default).
    #[serde(default)]
    pub node: Option<Spanned<String>>,
    /// `send`/`deliver`: the receiver (a name, a role or `any`).
    #[serde(default)]
    pub to: Option<Spanned<String>>,
    /// `send`/`deliver`: the message kind (`AppendEntries`).
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// `role`: the role the node takes.
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// `note`: what the protocol reported (`prepared`).
    #[serde(default)]
    pub note: Option<Spanned<String>>,
    /// `fault`: the fault's action (`crash`).
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// The trigger fires at the count-th matching event (default 1).
    #[serde(default)]
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
    #[serde(default)]
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

/// The hypothesis: what the run must show. Every field is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Invariants that must be violated in this run (a bug-flag scenario). Every
    /// other invariant must hold.
    #[serde(default)]
    pub violated: Vec<String>,
    /// `true`: the history must be linearizable; `false`: it must not be.
    pub linearizable: Option<bool>,
    /// Availability (share of operations that succeeded) of clients cut off from
    /// a majority of servers, during partitions.
    #[serde(default)]
    pub max_availability_during_partition: Option<Spanned<Fraction>>,
    #[serde(default)]
    pub min_availability_during_partition: Option<Spanned<Fraction>>,
    /// Availability of operations started while no partition was in force.
    #[serde(default)]
    pub min_availability_outside_partition: Option<Spanned<Fraction>>,
    #[serde(default)]
    pub max_availability_outside_partition: Option<Spanned<Fraction>>,
    #[serde(default, with = "serde_duration::option")]
    pub max_p99_latency: Option<Nanos>,
    #[serde(default, with = "serde_duration::option")]
    pub max_p50_latency: Option<Nanos>,
    /// At least this many operations completed `ok`.
    pub min_ok_ops: Option<u64>,
    /// The PACELC class the run must show, e.g. "PC/EL" (either half may be
    /// "-" to leave it free, e.g. "PA/-").
    pub pacelc: Option<Spanned<String>>,
    /// Reads that returned a value older than a write that had completed before
    /// the read began.
    pub max_stale_reads: Option<u64>,
    pub min_stale_reads: Option<u64>,
    /// Acknowledged writes that no later read can explain.
    pub max_lost_writes: Option<u64>,
    pub min_lost_writes: Option<u64>,
    /// Reads by a client that missed that client's own earlier write.
    pub max_read_your_writes_violations: Option<u64>,
    pub min_read_your_writes_violations: Option<u64>,
    /// Reads by a client older than what that client had already read.
    pub max_monotonic_reads_violations: Option<u64>,
    pub min_monotonic_reads_violations: Option<u64>,
    /// Liveness: every client completes an `ok` operation after this time.
    #[serde(default, with = "serde_duration::option")]
    pub all_clients_ok_after: Option<Nanos>,
    /// Bounds on the protocol's own figures, by the name the report prints
    /// them under: `[expect.measure."leaders elected"] min = 2`. The figure's
    /// leading number (or duration) is compared.
    #[serde(default)]
    pub measure: IndexMap<String, MeasureBound>,
}

/// A share between 0 and 1, written as a number (`0.3`) or a percentage
/// (`"30%"`). [`Scenario::parse`] refuses anything else, so [`Fraction::get`]
/// of a parsed scenario's fraction never fails.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Fraction {
    Number(f64),
    Percent(String),
}

/// What a share may be, for a value of another type (`true`).
const SHARE_WORDS: &str =
    "a share: a number between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")";

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SHARE_WORDS)
            }
            fn visit_f64<E>(self, v: f64) -> Result<Fraction, E> {
                Ok(Fraction::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Fraction, E> {
                Ok(Fraction::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Fraction, E> {
                Ok(Fraction::Number(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> Result<Fraction, E> {
                Ok(Fraction::Percent(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with` for a probability written as a share (`0.3`) or a
/// percentage (`"30%"`): the number, checked later against 0..=1 with
/// [`check_share`], or a bad percentage refused here.
pub mod serde_share {
    use super::Fraction;
    use serde::{Deserialize, Deserializer};
    use toml::Spanned;

    fn number<E: serde::de::Error>(f: &Fraction) -> Result<f64, E> {
        match f {
            Fraction::Number(v) => Ok(*v),
            Fraction::Percent(_) => f.value().map_err(E::custom),
        }
    }

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        number(&Fraction::deserialize(d)?)
    }

    pub fn spanned<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<f64>, D::Error> {
        let f = Spanned::<Fraction>::deserialize(d)?;
        Ok(Spanned::new(f.span(), number(f.get_ref())?))
    }

    pub fn option_spanned<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Spanned<f64>>, D::Error> {
        spanned(d).map(Some)
    }
}

/// A probability's problem, if it is not between 0 and 1, in the words of
/// [`Fraction::value`]: "30 is not a share between 0 and 1: for 30 percent
/// write 0.30 or "30%"".
pub fn check_share(v: f64) -> Result<f64, String> {
    Fraction::Number(v).value()
}

impl Fraction {
    /// The share, between 0 and 1, or what is wrong with it.
    pub fn value(&self) -> Result<f64, String> {
        match self {
            Fraction::Number(v) => {
                if (0.0..=1.0).contains(v) {
                    Ok(*v)
                } else if *v > 1.0 && *v <= 100.0 {
                    Err(format!(
                        "{v} is not a share between 0 and 1: for {v} percent write {} or \"{v}%\"",
                        show_share(*v / 100.0)
                    ))
                } else {
                    Err(format!(
                        "{v} is not a share: write a number between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")"
                    ))
                }
            }
            Fraction::Percent(text) => {
                let bad = || {
                    format!("\"{text}\" is not a share: write a number between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")")
                };
                let n: f64 = text
                    .trim()
                    .strip_suffix('%')
                    .ok_or_else(bad)?
                    .trim()
                    .parse()
                    .map_err(|_| bad())?;
                if (0.0..=100.0).contains(&n) {
                    Ok(n / 100.0)
                } else {
                    Err(format!("\"{text}\": a percentage is between 0% and 100%"))
                }
            }
        }
    }

    /// The share of a parsed scenario's fraction.
    pub fn get(f: &Option<Spanned<Fraction>>) -> Option<f64> {
        f.as_ref()
            .map(|f| f.get_ref().value().expect("checked when parsed"))
    }
}

/// 0.3 as "0.30", 0.125 as "0.125": at least two decimals, no float noise.
fn show_share(v: f64) -> String {
    let two = format!("{v:.2}");
    if two.parse::<f64>() == Ok(v) {
        two
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

/// A bound on one protocol figure: a number, or a duration such as "500ms".
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureBound {
    pub min: Option<Spanned<BoundValue>>,
    pub max: Option<Spanned<BoundValue>>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum BoundValue {
    Number(f64),
    Duration(String),
}

impl BoundValue {
    /// The bound as a number (durations in nanoseconds), and whether it is a duration.
    pub fn value(&self) -> Result<(f64, bool), String> {
        match self {
            BoundValue::Number(n) => Ok((*n, false)),
            BoundValue::Duration(d) => parse_duration(d).map(|ns| (ns as f64, true)),
        }
    }
}

/// The document as written, before checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    meta: Meta,
    system: Spanned<toml::Table>,
    topology: Topology,
    #[serde(default)]
    network: Network,
    #[serde(default)]
    workload: Workload,
    #[serde(default)]
    faults: Vec<FaultEntry>,
    #[serde(default)]
    nemesis: Option<Nemesis>,
    #[serde(default)]
    expect: Expect,
}

/// The document seen by a protocol: only `[system]` is read, every other
/// section is skipped (it was checked already).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemDoc<P> {
    system: P,
    #[allow(dead_code)]
    meta: IgnoredAny,
    #[allow(dead_code)]
    topology: IgnoredAny,
    #[allow(dead_code)]
    network: Option<IgnoredAny>,
    #[allow(dead_code)]
    workload: Option<IgnoredAny>,
    #[allow(dead_code)]
    faults: Option<IgnoredAny>,
    #[allow(dead_code)]
    nemesis: Option<IgnoredAny>,
    #[allow(dead_code)]
    expect: Option<IgnoredAny>,
}

/// Parses a protocol's parameters from `[system]`. `P` should be
/// `#[serde(deny_unknown_fields)]` and have a `protocol: String` field, so that
/// a misspelt parameter is an error with its line and the list of valid names.
pub fn parse_system<P: DeserializeOwned>(scenario: &Scenario) -> Result<P, ScenarioError> {
    toml::from_str::<SystemDoc<P>>(&scenario.source)
        .map(|d| d.system)
        .map_err(|e| ScenarioError::from_toml(&scenario.file, &scenario.source, e))
}

/// What [`Scenario::parse`] must know about the protocol to check references.
pub struct ProtocolInfo<'a> {
    /// The protocol names that exist.
    pub protocols: &'a [&'a str],
    /// The roles the named protocol's nodes report (`leader`, `follower`...).
    pub roles: &'a dyn Fn(&str) -> Vec<&'static str>,
    /// The message kinds and the notes (`ctx.note`) the named protocol's
    /// nodes produce, for checking triggers; `None` where unknown (then any
    /// name is accepted, and a trigger that never fires is reported).
    pub events: &'a dyn Fn(&str) -> ProtocolEvents,
}

/// See [`ProtocolInfo::events`].
#[derive(Clone, Debug, Default)]
pub struct ProtocolEvents {
    pub messages: Option<Vec<&'static str>>,
    pub notes: Option<Vec<&'static str>>,
}

impl Scenario {
    /// Parses and checks a scenario. `file` is only used in messages.
    pub fn parse(file: &str, src: &str, info: &ProtocolInfo) -> Result<Scenario, ScenarioError> {
        let doc: Doc = toml::from_str(src).map_err(|e| ScenarioError::from_toml(file, src, e))?;
        let err = |span: Range<usize>, msg: String| ScenarioError::at(file, src, span, msg);

        // [system]
        let protocol = match doc.system.get_ref().get("protocol") {
            Some(toml::Value::String(p)) => p.clone(),
            Some(_) => {
                return Err(err(
                    doc.system.span(),
                    "[system] field `protocol` must be a string".into(),
                ))
            }
            None => {
                return Err(err(
                    doc.system.span(),
                    format!(
                        "[system] needs `protocol`: one of {}",
                        quoted(info.protocols)
                    ),
                ))
            }
        };
        if !info.protocols.contains(&protocol.as_str()) {
            let span = find_value_span(src, "protocol", &protocol).unwrap_or(doc.system.span());
            return Err(err(
                span,
                format!(
                    "unknown protocol `{protocol}`: valid protocols are {}",
                    quoted(info.protocols)
                ),
            ));
        }
        let roles = (info.roles)(&protocol);

        // [meta]
        if doc.meta.max_events == 0 {
            return Err(err(
                key_span(src, "meta", "max_events").unwrap_or(0..0),
                "[meta] max_events must be at least 1".into(),
            ));
        }
        if doc.meta.duration == 0 {
            return Err(err(
                key_span(src, "meta", "duration").unwrap_or(0..0),
                "[meta] duration must be more than 0, e.g. \"30s\"".into(),
            ));
        }

        if doc.meta.check_max_steps == Some(0) {
            return Err(err(
                key_span(src, "meta", "check_max_steps").unwrap_or(0..0),
                format!(
                    "[meta] check_max_steps must be at least 1 (the default is {DEFAULT_CHECK_MAX_STEPS})"
                ),
            ));
        }
        if let Some(m) = &doc.meta.check_max_memory {
            m.get_ref()
                .bytes()
                .map_err(|e| err(m.span(), format!("[meta] check_max_memory: {e}")))?;
        }

        // [topology]
        let servers = *doc.topology.servers.get_ref();
        if servers == 0 || servers > 64 {
            return Err(err(
                doc.topology.servers.span(),
                format!("[topology] servers = {servers}: must be between 1 and 64"),
            ));
        }
        if doc.topology.clients > 256 {
            return Err(err(
                key_span(src, "topology", "clients").unwrap_or(0..0),
                format!(
                    "[topology] clients = {}: must be at most 256",
                    doc.topology.clients
                ),
            ));
        }
        let names = NodeNames {
            servers,
            clients: doc.topology.clients,
        };
        let mut placed = std::collections::BTreeSet::new();
        for (region, members) in &doc.topology.regions {
            for m in members {
                if names.index(m.get_ref()).is_none() {
                    return Err(err(
                        m.span(),
                        format!(
                            "region `{region}` names `{}`, which is not a node: {}",
                            m.get_ref(),
                            names.describe()
                        ),
                    ));
                }
                if !placed.insert(m.get_ref().clone()) {
                    return Err(err(
                        m.span(),
                        format!("`{}` is placed in two regions", m.get_ref()),
                    ));
                }
            }
        }
        let regions: Vec<&str> = doc.topology.regions.keys().map(|s| s.as_str()).collect();

        // [network]
        let check_prob = |p: &Spanned<f64>, what: &str| -> Result<(), ScenarioError> {
            check_share(*p.get_ref()).map_err(|m| err(p.span(), format!("{what} = {m}")))?;
            Ok(())
        };
        check_prob(&doc.network.loss, "[network] loss")?;
        doc.network.latency.validate().map_err(|m| {
            err(
                key_span(src, "network", "latency").unwrap_or(0..0),
                format!("[network] latency: {m}"),
            )
        })?;
        for rl in &doc.network.region_latency {
            // The entry's `from` is the nearest span this entry carries.
            rl.latency.validate().map_err(|m| {
                err(
                    rl.from.span(),
                    format!("[[network.region_latency]] latency: {m}"),
                )
            })?;
        }
        for f in &doc.faults {
            if let Some(l) = &f.latency {
                l.validate()
                    .map_err(|m| err(f.action.span(), format!("latency: {m}")))?;
            }
        }
        check_prob(&doc.network.duplicate, "[network] duplicate")?;
        for rl in &doc.network.region_latency {
            for r in [&rl.from, &rl.to] {
                if !regions.contains(&r.get_ref().as_str()) {
                    return Err(err(
                        r.span(),
                        format!(
                            "unknown region `{}`: the regions in [topology.regions] are {}",
                            r.get_ref(),
                            quoted_or_none(&regions)
                        ),
                    ));
                }
            }
        }

        // [workload]
        let w = &doc.workload;
        let rate = *w.rate.get_ref();
        if !(rate > 0.0 && rate <= 100_000.0) {
            return Err(err(
                w.rate.span(),
                format!("[workload] rate = {rate}: operations per second per client, between 0 and 100000"),
            ));
        }
        if *w.keys.get_ref() == 0 {
            return Err(err(
                w.keys.span(),
                "[workload] keys must be at least 1".into(),
            ));
        }
        let zipf = *w.zipf_exponent.get_ref();
        if !(zipf > 0.0 && zipf <= 10.0) {
            return Err(err(
                w.zipf_exponent.span(),
                format!("[workload] zipf_exponent = {zipf}: must be above 0 and at most 10"),
            ));
        }
        let mix = w.mix.get_ref();
        let shares = [mix.get, mix.put, mix.cas, mix.append, mix.delete];
        if shares.iter().any(|s| !(*s >= 0.0 && s.is_finite())) || shares.iter().sum::<f64>() <= 0.0
        {
            return Err(err(
                w.mix.span(),
                "[workload] mix: shares of get, put, cas, append, delete must be non-negative and not all zero".into(),
            ));
        }
        // Bounds on the client's work: a 1ns timeout with a million retries
        // makes a run send a message per nanosecond of virtual time, and it
        // grows past a gigabyte before `max_events` stops it. No network a
        // scenario can describe answers faster than a microsecond, so an
        // attempt that gives up sooner than that only burns events.
        if w.timeout < MIN_CLIENT_TIMEOUT {
            return Err(err(
                key_span(src, "workload", "timeout").unwrap_or(0..0),
                format!(
                    "[workload] timeout = \"{}\": must be at least {} (one attempt waits that long for a reply), e.g. \"200ms\"",
                    crate::time::fmt_duration(w.timeout),
                    crate::time::fmt_duration(MIN_CLIENT_TIMEOUT)
                ),
            ));
        }
        let retry_span = || key_span(src, "workload", "retry").unwrap_or(0..0);
        match &w.retry {
            RetryPolicy::None => {}
            RetryPolicy::Fixed { attempts, .. } | RetryPolicy::Exponential { attempts, .. }
                if !(1..=MAX_CLIENT_ATTEMPTS).contains(attempts) =>
            {
                return Err(err(
                    retry_span(),
                    format!(
                        "[workload] retry: attempts = {attempts}: must be between 1 and {MAX_CLIENT_ATTEMPTS} (attempts in all, the first included)"
                    ),
                ));
            }
            RetryPolicy::Exponential { base, max, .. } if *base == 0 || max < base => {
                return Err(err(
                    retry_span(),
                    "[workload] retry: exponential backoff needs base above 0 and max at least base, e.g. base = \"10ms\", max = \"1s\"".into(),
                ));
            }
            _ => {}
        }

        // [[faults]]
        let events = (info.events)(&protocol);
        let ctx = RefCheck {
            names: &names,
            regions: &regions,
            roles: &roles,
            events: &events,
            duration: doc.meta.duration,
            trigger_event: std::cell::Cell::new(None),
            file,
            src,
        };
        let mut faults = Vec::with_capacity(doc.faults.len());
        for entry in &doc.faults {
            faults.push(ctx.fault(entry)?);
        }
        faults.sort_by_key(|f| f.at);

        // [nemesis]
        if let Some(n) = &doc.nemesis {
            for k in &n.kinds {
                if !NEMESIS_KINDS.contains(&k.get_ref().as_str()) {
                    return Err(err(
                        k.span(),
                        format!(
                            "unknown nemesis kind `{}`: valid kinds are {}",
                            k.get_ref(),
                            quoted(NEMESIS_KINDS)
                        ),
                    ));
                }
            }
            if n.interval < 1_000_000 || n.fault_duration == 0 {
                return Err(err(
                    key_span(src, "nemesis", "interval").unwrap_or(0..0),
                    "[nemesis] interval must be at least \"1ms\" and fault_duration more than 0"
                        .into(),
                ));
            }
        }

        // [expect]
        if let Some(p) = &doc.expect.pacelc {
            parse_pacelc(p.get_ref()).map_err(|m| err(p.span(), m))?;
        }
        for (name, bound) in &doc.expect.measure {
            for b in [&bound.min, &bound.max].into_iter().flatten() {
                b.get_ref()
                    .value()
                    .map_err(|m| err(b.span(), format!("[expect.measure.\"{name}\"]: {m}")))?;
            }
            if bound.min.is_none() && bound.max.is_none() {
                return Err(err(
                    key_span(src, "expect", "measure").unwrap_or(0..0),
                    format!("[expect.measure.\"{name}\"] needs `min` and/or `max`"),
                ));
            }
        }

        let x = &doc.expect;
        for (field, f) in [
            (
                "max_availability_during_partition",
                &x.max_availability_during_partition,
            ),
            (
                "min_availability_during_partition",
                &x.min_availability_during_partition,
            ),
            (
                "min_availability_outside_partition",
                &x.min_availability_outside_partition,
            ),
            (
                "max_availability_outside_partition",
                &x.max_availability_outside_partition,
            ),
        ] {
            if let Some(f) = f {
                f.get_ref()
                    .value()
                    .map_err(|m| err(f.span(), format!("[expect] {field} = {m}")))?;
            }
        }

        // Times of the run must fall inside it: a fault, a window or a deadline
        // after the end would silently never happen.
        let end = doc.meta.duration;
        let past = |what: &str, at: &str| {
            format!(
                "{what} = \"{at}\" is past the end of the run ([meta] duration = \"{}\"): it would never happen; move it before {} or make the run longer",
                fmt_duration(end),
                fmt_duration(end)
            )
        };
        // (A triggered entry's `after` and `delay` are checked with its trigger.)
        for e in &doc.faults {
            let Some(at_s) = &e.at else { continue };
            let at =
                parse_duration(at_s.get_ref()).map_err(|m| err(at_s.span(), format!("at: {m}")))?;
            if at > end {
                return Err(err(
                    at_s.span(),
                    past(
                        &format!("[[faults]] action \"{}\" at", e.action.get_ref().name()),
                        at_s.get_ref().trim(),
                    ),
                ));
            }
        }
        let w = &doc.workload;
        if w.start >= end {
            return Err(err(
                key_span(src, "workload", "start").unwrap_or(0..0),
                past("[workload] start", &fmt_duration(w.start)),
            ));
        }
        if let Some(stop) = w.stop.filter(|&t| t > end) {
            return Err(err(
                key_span(src, "workload", "stop").unwrap_or(0..0),
                past("[workload] stop", &fmt_duration(stop)),
            ));
        }
        if let Some(stop) = w.stop.filter(|&t| t <= w.start) {
            return Err(err(
                key_span(src, "workload", "stop").unwrap_or(0..0),
                format!(
                    "[workload] stop = \"{}\" is not after start = \"{}\": clients would start no operation",
                    fmt_duration(stop),
                    fmt_duration(w.start)
                ),
            ));
        }
        if let Some(n) = &doc.nemesis {
            if n.start >= end {
                return Err(err(
                    key_span(src, "nemesis", "start").unwrap_or(0..0),
                    past("[nemesis] start", &fmt_duration(n.start)),
                ));
            }
            if let Some(stop) = n.stop.filter(|&t| t > end) {
                return Err(err(
                    key_span(src, "nemesis", "stop").unwrap_or(0..0),
                    past("[nemesis] stop", &fmt_duration(stop)),
                ));
            }
        }
        if let Some(after) = x.all_clients_ok_after.filter(|&t| t >= end) {
            return Err(err(
                key_span(src, "expect", "all_clients_ok_after").unwrap_or(0..0),
                format!(
                    "[expect] all_clients_ok_after = \"{}\" is not before the end of the run ([meta] duration = \"{}\"): no operation could be served after it; move it before {}",
                    fmt_duration(after),
                    fmt_duration(end),
                    fmt_duration(end)
                ),
            ));
        }

        Ok(Scenario {
            file: file.to_string(),
            source: src.to_string(),
            meta: doc.meta,
            protocol,
            topology: doc.topology,
            network: doc.network,
            workload: doc.workload,
            faults,
            nemesis: doc.nemesis,
            expect: doc.expect,
            system_times: Vec::new(),
        })
    }

    /// Checks the `[system]` fields that name a time of the run against its
    /// end, and keeps them for [`Scenario::latest_named_time`]. `fields` is
    /// the protocol's explicit list: `"converge_by"` names a key, and
    /// `"joins.at"` the `at` of every table in the array `joins`. Fields
    /// that are waits (`sloppy_after`) are not times of the run and are not
    /// listed, so they are not checked here.
    pub fn check_run_times(&mut self, fields: &[&str]) -> Result<(), ScenarioError> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            system: Option<SpanTree>,
        }
        let doc: Doc = match toml::from_str(&self.source) {
            Ok(doc) => doc,
            // Scenario::parse already read this text; nothing to add.
            Err(_) => return Ok(()),
        };
        let Some(system) = doc.system else {
            return Ok(());
        };
        let end = self.meta.duration;
        let mut times = Vec::new();
        for field in fields {
            let mut found = Vec::new();
            let path: Vec<&str> = field.split('.').collect();
            system.find(&path, "[system] ", &mut found);
            for (label, text, span) in found {
                let t = parse_duration(&text).map_err(|m| {
                    ScenarioError::at(
                        &self.file,
                        &self.source,
                        span.clone(),
                        format!("{label}: {m}"),
                    )
                })?;
                if t > end {
                    return Err(ScenarioError::at(
                        &self.file,
                        &self.source,
                        span,
                        format!(
                            "{label} = \"{}\" is past the end of the run ([meta] duration = \"{}\"): it would never happen; move it before {} or make the run longer",
                            text.trim(),
                            fmt_duration(end),
                            fmt_duration(end)
                        ),
                    ));
                }
                times.push(t);
            }
        }
        self.system_times = times;
        Ok(())
    }

    /// Refuses an `[expect.measure]` name the protocol does not report, and
    /// turns an old name into the figure's current one. `valid` is every
    /// figure the protocol can print (a figure named `NAME` may also come
    /// numbered, `NAME #2`); `renamed` maps old names, still accepted, to the
    /// figure they now are.
    pub fn resolve_measures(
        &mut self,
        valid: &[&str],
        renamed: &[(&str, &str)],
    ) -> Result<(), ScenarioError> {
        self.check_measures(valid, renamed)?;
        let measure = std::mem::take(&mut self.expect.measure);
        self.expect.measure = measure
            .into_iter()
            .map(|(name, bound)| {
                let name = match renamed.iter().find(|(old, _)| *old == name) {
                    Some((_, new)) => new.to_string(),
                    None => name,
                };
                (name, bound)
            })
            .collect();
        Ok(())
    }

    fn check_measures(
        &self,
        valid: &[&str],
        renamed: &[(&str, &str)],
    ) -> Result<(), ScenarioError> {
        for name in self.expect.measure.keys() {
            if measure_known(name, valid, renamed) {
                continue;
            }
            let span = measure_span(&self.source, name).unwrap_or(0..0);
            let message = if valid.is_empty() {
                format!(
                    "[expect.measure.\"{name}\"]: protocol \"{}\" reports no figures to bound; remove this measure",
                    self.protocol
                )
            } else {
                format!(
                    "[expect.measure.\"{name}\"]: protocol \"{}\" reports no figure of that name; its figures are {}",
                    self.protocol,
                    quoted(valid)
                )
            };
            return Err(ScenarioError::at(&self.file, &self.source, span, message));
        }
        Ok(())
    }

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

/// Is `name` a figure of `valid`, or an old name in `renamed`? A figure
/// printed once per change, listed in `valid` as `NAME #N` besides `NAME`,
/// may also be named with a number (`NAME #2`); other figures may not.
pub fn measure_known(name: &str, valid: &[&str], renamed: &[(&str, &str)]) -> bool {
    let numbered = match name.rsplit_once(" #") {
        Some((base, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            valid.contains(&format!("{base} #N").as_str())
        }
        _ => false,
    };
    !name.ends_with(" #N") && valid.contains(&name)
        || numbered
        || renamed.iter().any(|(old, _)| *old == name)
}

/// Where the measure `name` is written (`[expect.measure."NAME"]`,
/// `[expect.measure.NAME]` or an inline `"NAME" = { ... }`), from the
/// parser's own spans of the `[expect.measure]` keys, so a comment or another
/// table that mentions the name cannot be taken for it.
fn measure_span(src: &str, name: &str) -> Option<Range<usize>> {
    #[derive(Deserialize)]
    struct Doc {
        expect: Option<ExpectKeys>,
    }
    #[derive(Deserialize)]
    struct ExpectKeys {
        measure: Option<IndexMap<Spanned<String>, IgnoredAny>>,
    }
    let doc: Doc = toml::from_str(src).ok()?;
    doc.expect?
        .measure?
        .keys()
        .find(|k| k.get_ref() == name)
        .map(|k| k.span())
}

/// A TOML value with the span of every value in it, so a nested field
/// (`joins[1].at`) can be named by line in an error.
enum SpanTree {
    Table(Vec<(String, Spanned<SpanTree>)>),
    Array(Vec<Spanned<SpanTree>>),
    Str(String),
    Other,
}

impl SpanTree {
    /// Every string at `path` below this value, with its label and span;
    /// arrays are walked element by element.
    fn find(&self, path: &[&str], label: &str, out: &mut Vec<(String, String, Range<usize>)>) {
        match self {
            SpanTree::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let label = format!("{}[{i}]", label.trim_end_matches('.'));
                    find_in(item, path, &format!("{label}."), out);
                }
            }
            SpanTree::Table(entries) => {
                let Some((first, rest)) = path.split_first() else {
                    return;
                };
                for (k, v) in entries {
                    if k == first {
                        find_in(v, rest, &format!("{label}{k}."), out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn find_in(
    v: &Spanned<SpanTree>,
    path: &[&str],
    label: &str,
    out: &mut Vec<(String, String, Range<usize>)>,
) {
    match (v.get_ref(), path.is_empty()) {
        (SpanTree::Str(text), true) => out.push((
            label.trim_end_matches('.').to_string(),
            text.clone(),
            v.span(),
        )),
        (SpanTree::Array(_), _) | (_, false) => v.get_ref().find(path, label, out),
        _ => {}
    }
}

impl<'de> Deserialize<'de> for SpanTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SpanTree;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_str<E>(self, v: &str) -> Result<SpanTree, E> {
                Ok(SpanTree::Str(v.to_string()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<SpanTree, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element::<Spanned<SpanTree>>()? {
                    items.push(x);
                }
                Ok(SpanTree::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<SpanTree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key::<String>()? {
                    entries.push((k, a.next_value::<Spanned<SpanTree>>()?));
                }
                Ok(SpanTree::Table(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits "PC/EL" into its halves; "-" leaves a half free.
pub fn parse_pacelc(s: &str) -> Result<(Option<String>, Option<String>), String> {
    let bad = || {
        format!("pacelc = \"{s}\": write \"PA/EL\", \"PA/EC\", \"PC/EL\" or \"PC/EC\" (use \"-\" for a half you do not constrain, e.g. \"PC/-\")")
    };
    let (p, e) = s.split_once('/').ok_or_else(bad)?;
    let p = match p.trim() {
        "PA" | "PC" => Some(p.trim().to_string()),
        "-" => None,
        _ => return Err(bad()),
    };
    let e = match e.trim() {
        "EL" | "EC" => Some(e.trim().to_string()),
        "-" => None,
        _ => return Err(bad()),
    };
    Ok((p, e))
}

struct NodeNames {
    servers: u32,
    clients: u32,
}

impl NodeNames {
    fn index(&self, name: &str) -> Option<u32> {
        let (prefix, num) = name.split_at(name.len().min(1));
        let n: u32 = num.parse().ok()?;
        match prefix {
            "n" if (1..=self.servers).contains(&n) => Some(n - 1),
            "c" if (1..=self.clients).contains(&n) => Some(self.servers + n - 1),
            _ => None,
        }
    }
    fn describe_short(&self) -> String {
        if self.clients == 0 {
            format!("n1..n{}", self.servers)
        } else {
            format!("n1..n{}, c1..c{}", self.servers, self.clients)
        }
    }
    fn describe(&self) -> String {
        let clients = if self.clients == 0 {
            "no clients".to_string()
        } else {
            format!("clients c1..c{}", self.clients)
        };
        format!(
            "this scenario has servers n1..n{} and {clients}",
            self.servers
        )
    }
}

struct RefCheck<'a> {
    names: &'a NodeNames,
    regions: &'a [&'a str],
    roles: &'a [&'static str],
    events: &'a ProtocolEvents,
    duration: Nanos,
    /// The event of the entry being checked, if it has a trigger: the
    /// targets `trigger-node` and `trigger-to` need one.
    trigger_event: std::cell::Cell<Option<&'static str>>,
    file: &'a str,
    src: &'a str,
}

/// The targets [`RefCheck::target`] accepts with `allow`, for messages: the
/// list a user reads must be the list the parser takes. `trigger`: the entry
/// has a `when`, so the trigger's own nodes may be named too.
fn target_words(allow: &[&str], trigger: bool) -> String {
    let mut words = vec![
        "a node (n1, c2)".to_string(),
        "a region".into(),
        "a role".into(),
        "\"minority-of-<role>\"".into(),
    ];
    for (word, shown) in [
        ("random", "\"random\""),
        ("all", "\"all\""),
        ("downed", "\"crashed\"/\"paused\""),
        ("rest", "\"rest\""),
    ] {
        if allow.contains(&word) {
            words.push(shown.into());
        }
    }
    if trigger {
        words.push("\"trigger-node\"/\"trigger-to\"".into());
    }
    words.join(", ")
}

impl RefCheck<'_> {
    fn err(&self, span: Range<usize>, msg: String) -> ScenarioError {
        ScenarioError::at(self.file, self.src, span, msg)
    }

    fn target(&self, t: &Spanned<String>, allow: &[&str]) -> Result<Target, ScenarioError> {
        let s = t.get_ref().as_str();
        let looks_like_node = s.len() > 1
            && (s.starts_with('n') || s.starts_with('c'))
            && s[1..].chars().all(|c| c.is_ascii_digit());
        if looks_like_node {
            return match self.names.index(s) {
                Some(_) => Ok(Target::Node(s.to_string())),
                None => Err(self.err(
                    t.span(),
                    format!("there is no node `{s}`: {}", self.names.describe()),
                )),
            };
        }
        if s == "trigger-node" || s == "trigger-to" {
            return match self.trigger_event.get() {
                None => Err(self.err(
                    t.span(),
                    format!("target `{s}` names a node of the event that fired this fault's trigger: it needs `when = {{ event = ... }}`"),
                )),
                Some(ev) if s == "trigger-to" && ev != "send" && ev != "deliver" => Err(self.err(
                    t.span(),
                    format!("target `trigger-to` is the receiver of a message: it needs a `send` or `deliver` trigger, not `{ev}` (use \"trigger-node\")"),
                )),
                Some(_) if s == "trigger-node" => Ok(Target::TriggerNode),
                Some(_) => Ok(Target::TriggerTo),
            };
        }
        match s {
            "random" if allow.contains(&"random") => return Ok(Target::Random),
            "crashed" | "paused" if allow.contains(&"downed") => return Ok(Target::Downed),
            "rest" if allow.contains(&"rest") => return Ok(Target::Rest),
            "all" if allow.contains(&"all") => return Ok(Target::All),
            _ => {}
        }
        if self.regions.contains(&s) {
            return Ok(Target::Region(s.to_string()));
        }
        if let Some(role) = s.strip_prefix("minority-of-") {
            if self.roles.contains(&role) {
                return Ok(Target::MinorityOf(role.to_string()));
            }
        }
        if self.roles.contains(&s) {
            return Ok(Target::Role(s.to_string()));
        }
        Err(self.err(
            t.span(),
            format!(
                "unknown target `{s}`: valid targets are {}; this protocol's roles are {}; regions: {}",
                target_words(allow, self.trigger_event.get().is_some()),
                quoted_or_none(self.roles),
                quoted_or_none(self.regions)
            ),
        ))
    }

    fn fault(&self, e: &FaultEntry) -> Result<Fault, ScenarioError> {
        let action = *e.action.get_ref();
        let aspan = e.action.span();
        let line = self.src[..aspan.start].matches('\n').count() + 1;
        let name = action.name();
        let (at, when) = self.timing(e)?;
        self.trigger_event.set(when.as_ref().map(|w| match w.event {
            TriggerEvent::Send { .. } => "send",
            TriggerEvent::Deliver { .. } => "deliver",
            TriggerEvent::Role { .. } => "role",
            TriggerEvent::Note { .. } => "note",
            TriggerEvent::Fault { .. } => "fault",
        }));

        // Which optional fields each action takes.
        let given: Vec<(&str, Option<Range<usize>>)> = vec![
            ("target", e.target.as_ref().map(|t| t.span())),
            ("groups", e.groups.as_ref().map(|g| g.span())),
            (
                "from",
                e.from.as_ref().and_then(|v| v.first()).map(|t| t.span()),
            ),
            (
                "to",
                e.to.as_ref().and_then(|v| v.first()).map(|t| t.span()),
            ),
            ("link", e.link.as_ref().map(|l| l.span())),
            ("region", e.region.as_ref().map(|r| r.span())),
            ("latency", e.latency.as_ref().map(|_| aspan.clone())),
            ("probability", e.probability.as_ref().map(|p| p.span())),
            ("offset", e.offset.as_ref().map(|o| o.span())),
            ("drift", e.drift.as_ref().map(|d| d.span())),
            ("one_way", e.one_way.then(|| aspan.clone())),
        ];
        let allowed: &[&str] = match action {
            FaultAction::Partition => &["groups", "from", "to"],
            FaultAction::Heal => &[],
            FaultAction::Crash
            | FaultAction::Restart
            | FaultAction::Pause
            | FaultAction::Resume
            | FaultAction::FsyncLoss
            | FaultAction::FsyncOk => &["target"],
            FaultAction::Clog | FaultAction::Unclog => &["link", "target", "one_way"],
            FaultAction::Latency => &["latency", "link", "target", "region", "one_way"],
            FaultAction::Loss => &["probability", "link", "target", "region", "one_way"],
            FaultAction::Clock => &["target", "offset", "drift"],
        };
        for (field, span) in &given {
            if let Some(span) = span {
                if !allowed.contains(field) {
                    return Err(self.err(
                        span.clone(),
                        format!(
                            "`{field}` does not apply to action \"{name}\": it takes {}",
                            if allowed.is_empty() {
                                "no other fields".to_string()
                            } else {
                                quoted(allowed)
                            }
                        ),
                    ));
                }
            }
        }
        let need_target = |allow: &[&str]| -> Result<Target, ScenarioError> {
            match &e.target {
                Some(t) => self.target(t, allow),
                None => Err(self.err(
                    aspan.clone(),
                    format!(
                        "action \"{name}\" needs `target`: {}",
                        target_words(allow, self.trigger_event.get().is_some())
                    ),
                )),
            }
        };
        let list = |v: &[Spanned<String>], allow: &[&str]| -> Result<Vec<Target>, ScenarioError> {
            v.iter().map(|t| self.target(t, allow)).collect()
        };
        let scope = || -> Result<Scope, ScenarioError> {
            Ok(match (&e.link, &e.target, &e.region) {
                (Some(l), None, None) => {
                    let (a, b) = self.link(l)?;
                    Scope::Link(a, b)
                }
                (None, Some(t), None) => Scope::Node(self.target(t, &["random"])?),
                (None, None, Some(r)) => {
                    if !self.regions.contains(&r.get_ref().as_str()) {
                        return Err(self.err(
                            r.span(),
                            format!(
                                "unknown region `{}`: regions are {}",
                                r.get_ref(),
                                quoted_or_none(self.regions)
                            ),
                        ));
                    }
                    Scope::Region(r.get_ref().clone())
                }
                (None, None, None) => Scope::Everywhere,
                _ => {
                    return Err(self.err(
                        aspan.clone(),
                        format!("action \"{name}\" takes at most one of `link`, `target`, `region` (none means every link)"),
                    ))
                }
            })
        };

        let kind = match action {
            FaultAction::Partition => match (&e.groups, &e.from, &e.to) {
                (Some(g), None, None) => {
                    let allow = ["rest"];
                    let groups: Vec<Vec<Target>> = g
                        .get_ref()
                        .iter()
                        .map(|grp| list(grp, &allow))
                        .collect::<Result<_, _>>()?;
                    if groups.len() < 2 {
                        return Err(self.err(
                            g.span(),
                            "a partition needs at least two groups, e.g. groups = [[\"n1\"], [\"rest\"]]".into(),
                        ));
                    }
                    self.check_covers(&groups, g.span())?;
                    FaultKind::Partition { groups }
                }
                (None, Some(from), Some(to)) => FaultKind::PartitionOneWay {
                    from: list(from, &[])?,
                    to: list(to, &["rest"])?,
                },
                _ => {
                    return Err(self.err(
                        aspan,
                        "action \"partition\" needs either `groups = [[...], [...]]` or both `from` and `to` (one-way)".into(),
                    ))
                }
            },
            FaultAction::Heal => FaultKind::Heal,
            FaultAction::Crash => FaultKind::Crash(need_target(&["random"])?),
            FaultAction::Restart => FaultKind::Restart(need_target(&["downed", "all"])?),
            FaultAction::Pause => FaultKind::Pause(need_target(&["random"])?),
            FaultAction::Resume => FaultKind::Resume(need_target(&["downed", "all"])?),
            FaultAction::FsyncLoss => FaultKind::FsyncLoss(need_target(&["random", "all"])?),
            FaultAction::FsyncOk => FaultKind::FsyncOk(need_target(&["all"])?),
            FaultAction::Clog | FaultAction::Unclog => {
                let (a, b) = match (&e.link, &e.target) {
                    (Some(l), None) => self.link(l)?,
                    (None, Some(t)) => (self.target(t, &["random"])?, Target::All),
                    _ => {
                        return Err(self.err(
                            aspan,
                            format!("action \"{name}\" needs `link = [\"n1\", \"n2\"]` or `target` (every link of one node)"),
                        ))
                    }
                };
                if action == FaultAction::Clog {
                    FaultKind::Clog { a, b, one_way: e.one_way }
                } else {
                    FaultKind::Unclog { a, b, one_way: e.one_way }
                }
            }
            FaultAction::Latency => {
                let Some(latency) = e.latency.clone() else {
                    return Err(self.err(
                        aspan,
                        "action \"latency\" needs `latency = { dist = \"constant\", value = \"50ms\" }` (or another distribution)".into(),
                    ));
                };
                FaultKind::Latency {
                    scope: scope()?,
                    latency,
                    one_way: e.one_way,
                }
            }
            FaultAction::Loss => {
                let Some(p) = &e.probability else {
                    return Err(self.err(
                        aspan,
                        "action \"loss\" needs `probability`: a share between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")".into(),
                    ));
                };
                let v = check_share(*p.get_ref())
                    .map_err(|m| self.err(p.span(), format!("probability = {m}")))?;
                FaultKind::Loss {
                    scope: scope()?,
                    probability: v,
                    one_way: e.one_way,
                }
            }
            FaultAction::Clock => {
                let target = need_target(&["random", "all"])?;
                let offset_ns = match &e.offset {
                    Some(o) => Some(
                        parse_signed_duration(o.get_ref())
                            .map_err(|m| self.err(o.span(), format!("offset: {m}")))?,
                    ),
                    None => None,
                };
                let drift = match &e.drift {
                    Some(d) => {
                        let v = *d.get_ref();
                        if !(-0.5..=1.0).contains(&v) {
                            return Err(self.err(
                                d.span(),
                                format!("drift = {v}: a rate error between -0.5 and 1.0 (0.01 = 1% fast)"),
                            ));
                        }
                        Some(v)
                    }
                    None => None,
                };
                if e.offset.is_none() && e.drift.is_none() {
                    return Err(self.err(
                        aspan,
                        "action \"clock\" needs `offset` (e.g. \"-200ms\") and/or `drift` (e.g. 0.01); offset = \"0\" with drift = 0.0 resets the clock".into(),
                    ));
                }
                FaultKind::Clock {
                    target,
                    offset_ns,
                    drift,
                }
            }
        };
        Ok(Fault {
            at,
            kind,
            line,
            when,
        })
    }

    fn duration_field(&self, d: &Spanned<String>, field: &str) -> Result<Nanos, ScenarioError> {
        let v =
            parse_duration(d.get_ref()).map_err(|m| self.err(d.span(), format!("{field}: {m}")))?;
        if v > self.duration {
            return Err(self.err(
                d.span(),
                format!(
                    "{field} = \"{}\" is past the end of the run ([meta] duration = \"{}\")",
                    d.get_ref(),
                    show(self.duration)
                ),
            ));
        }
        Ok(v)
    }

    /// The fault's `at`, or its trigger (`when`, `after`, `delay`).
    fn timing(&self, e: &FaultEntry) -> Result<(Nanos, Option<Trigger>), ScenarioError> {
        let aspan = e.action.span();
        let Some(w) = &e.when else {
            for (field, v) in [("after", &e.after), ("delay", &e.delay)] {
                if let Some(v) = v {
                    return Err(self.err(
                        v.span(),
                        format!("`{field}` applies only to a fault with a trigger (`when = {{ event = ... }}`)"),
                    ));
                }
            }
            let Some(at) = &e.at else {
                return Err(self.err(
                    aspan,
                    "a fault needs `at = \"2s\"` or a trigger such as `when = { event = \"role\", role = \"leader\" }`".into(),
                ));
            };
            let at = parse_duration(at.get_ref())
                .map_err(|m| self.err(at.span(), format!("at: {m}")))?;
            return Ok((at, None));
        };
        let after = match (&e.at, &e.after) {
            (Some(a), Some(_)) => {
                return Err(self.err(
                    a.span(),
                    "a triggered fault takes `after` (when the trigger starts counting), not both `at` and `after`".into(),
                ))
            }
            (Some(a), None) | (None, Some(a)) => self.duration_field(a, "after")?,
            (None, None) => 0,
        };
        let delay = match &e.delay {
            Some(d) => self.duration_field(d, "delay")?,
            None => 0,
        };
        if after.saturating_add(delay) > self.duration {
            let span = e.delay.as_ref().map_or(w.span(), |d| d.span());
            return Err(self.err(
                span,
                format!(
                    "after + delay = {} is past the end of the run ([meta] duration = \"{}\"): the fault could never fire",
                    show(after + delay),
                    show(self.duration)
                ),
            ));
        }
        let trigger = self.trigger(w.get_ref(), w.span(), delay)?;
        Ok((after, Some(trigger)))
    }

    fn trigger(
        &self,
        w: &WhenEntry,
        span: Range<usize>,
        delay: Nanos,
    ) -> Result<Trigger, ScenarioError> {
        let ev = w.event.get_ref().as_str();
        let allowed: &[&str] = match ev {
            "send" | "deliver" => &["node", "to", "kind", "count"],
            "role" => &["node", "role", "count"],
            "note" => &["node", "note", "count"],
            "fault" => &["node", "action", "count"],
            _ => {
                return Err(self.err(
                    w.event.span(),
                    format!(
                        "when: unknown event `{ev}`: valid events are {}",
                        quoted(TRIGGER_EVENTS)
                    ),
                ))
            }
        };
        let given = [
            ("node", w.node.as_ref().map(|v| v.span())),
            ("to", w.to.as_ref().map(|v| v.span())),
            ("kind", w.kind.as_ref().map(|v| v.span())),
            ("role", w.role.as_ref().map(|v| v.span())),
            ("note", w.note.as_ref().map(|v| v.span())),
            ("action", w.action.as_ref().map(|v| v.span())),
            ("count", w.count.as_ref().map(|v| v.span())),
        ];
        for (field, s) in given {
            if let Some(s) = s {
                if !allowed.contains(&field) {
                    return Err(self.err(
                        s,
                        format!(
                            "when: `{field}` does not apply to event \"{ev}\": it takes {}",
                            quoted(allowed)
                        ),
                    ));
                }
            }
        }
        let node = match &w.node {
            Some(n) => self.node_match(n, "node")?,
            None => NodeMatch::Any,
        };
        let count = match &w.count {
            Some(c) if *c.get_ref() >= 1 => *c.get_ref() as u64,
            Some(c) => {
                return Err(self.err(
                    c.span(),
                    format!(
                        "when: count = {}: the trigger fires at the count-th matching event, so count is at least 1",
                        c.get_ref()
                    ),
                ))
            }
            None => 1,
        };
        let need = |field: &str, v: &Option<Spanned<String>>, example: &str| match v {
            Some(v) => Ok(v.clone()),
            None => Err(self.err(
                span.clone(),
                format!("when: event \"{ev}\" needs `{field}`, e.g. {example}"),
            )),
        };
        let known =
            |v: &Spanned<String>, field: &str, list: &Option<Vec<&'static str>>, what: &str| {
                match list {
                    Some(list) if !list.contains(&v.get_ref().as_str()) => Err(self.err(
                        v.span(),
                        format!(
                            "when: unknown {field} `{}`: this protocol's {what} are {}",
                            v.get_ref(),
                            quoted_or_none(list)
                        ),
                    )),
                    _ => Ok(v.get_ref().clone()),
                }
            };
        let event = match ev {
            "send" | "deliver" => {
                let kind = match &w.kind {
                    Some(k) => Some(known(
                        k,
                        "message kind",
                        &self.events.messages,
                        "message kinds",
                    )?),
                    None => None,
                };
                let to = match &w.to {
                    Some(t) => self.node_match(t, "to")?,
                    None => NodeMatch::Any,
                };
                if ev == "send" {
                    TriggerEvent::Send { kind, to }
                } else {
                    TriggerEvent::Deliver { kind, to }
                }
            }
            "role" => {
                let r = need("role", &w.role, "role = \"leader\"")?;
                let mut roles: Vec<&str> = self.roles.to_vec();
                roles.push("crashed");
                if !roles.contains(&r.get_ref().as_str()) {
                    return Err(self.err(
                        r.span(),
                        format!(
                            "when: unknown role `{}`: this protocol's roles are {}",
                            r.get_ref(),
                            quoted(&roles)
                        ),
                    ));
                }
                TriggerEvent::Role {
                    role: r.get_ref().clone(),
                }
            }
            "note" => {
                let n = need("note", &w.note, "note = \"prepared\"")?;
                TriggerEvent::Note {
                    note: known(&n, "note", &self.events.notes, "notes")?,
                }
            }
            _ => {
                let a = need("action", &w.action, "action = \"crash\"")?;
                let Some(&action) = FAULT_ACTIONS.iter().find(|x| x.name() == a.get_ref()) else {
                    let names: Vec<&str> = FAULT_ACTIONS.iter().map(|x| x.name()).collect();
                    return Err(self.err(
                        a.span(),
                        format!(
                            "when: unknown fault action `{}`: valid actions are {}",
                            a.get_ref(),
                            quoted(&names)
                        ),
                    ));
                };
                TriggerEvent::Fault { action }
            }
        };
        Ok(Trigger {
            event,
            node,
            count,
            delay,
        })
    }

    /// A trigger's `node` or `to`: a node name, a role, or "any".
    fn node_match(&self, t: &Spanned<String>, field: &str) -> Result<NodeMatch, ScenarioError> {
        let s = t.get_ref().as_str();
        if s == "any" {
            return Ok(NodeMatch::Any);
        }
        if self.names.index(s).is_some() {
            return Ok(NodeMatch::Node(s.to_string()));
        }
        if self.roles.contains(&s) {
            return Ok(NodeMatch::Role(s.to_string()));
        }
        Err(self.err(
            t.span(),
            format!(
                "when: unknown {field} `{s}`: a node ({}), \"any\", or one of this protocol's roles: {}",
                self.names.describe_short(),
                quoted_or_none(self.roles)
            ),
        ))
    }

    fn link(&self, l: &Spanned<Vec<Spanned<String>>>) -> Result<(Target, Target), ScenarioError> {
        match l.get_ref().as_slice() {
            [a, b] => Ok((
                self.target(a, &["random"])?,
                self.target(b, &["random", "all"])?,
            )),
            _ => Err(self.err(
                l.span(),
                "`link` names exactly two nodes, e.g. link = [\"n1\", \"n2\"]".into(),
            )),
        }
    }

    /// Every server must be in some group, unless one group is "rest" or uses
    /// a role (then "rest" is required: which node the role is is only known
    /// when the fault fires).
    fn check_covers(
        &self,
        groups: &[Vec<Target>],
        span: Range<usize>,
    ) -> Result<(), ScenarioError> {
        let has = |p: &dyn Fn(&Target) -> bool| groups.iter().flatten().any(p);
        if has(&|t| matches!(t, Target::Rest)) {
            return Ok(());
        }
        if has(&|t| {
            matches!(
                t,
                Target::Role(_) | Target::MinorityOf(_) | Target::TriggerNode | Target::TriggerTo
            )
        }) {
            return Err(self.err(
                span,
                "a partition that names a role must also have a \"rest\" group: which node the role is becomes known only when the fault fires".into(),
            ));
        }
        let mut covered = vec![false; self.names.servers as usize];
        for t in groups.iter().flatten() {
            match t {
                Target::Node(n) => {
                    if let Some(i) = self.names.index(n) {
                        if let Some(c) = covered.get_mut(i as usize) {
                            *c = true;
                        }
                    }
                }
                Target::Region(_) | Target::All => return Ok(()),
                _ => {}
            }
        }
        let missing: Vec<String> = covered
            .iter()
            .enumerate()
            .filter(|(_, c)| !**c)
            .map(|(i, _)| format!("n{}", i + 1))
            .collect();
        if !missing.is_empty() {
            return Err(self.err(
                span,
                format!(
                    "this partition leaves out {}: put every server in a group, or add a \"rest\" group",
                    missing.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

fn parse_signed_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix('-') {
        Ok(-(parse_duration(rest)? as i64))
    } else {
        Ok(parse_duration(t.strip_prefix('+').unwrap_or(t))? as i64)
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        quoted(items)
    }
}

/// The span of `key = "value"` 's value, found textually (for values read out
/// of a raw table, which carry no span of their own).
fn find_value_span(src: &str, key: &str, value: &str) -> Option<Range<usize>> {
    let needle = format!("\"{value}\"");
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(key) {
            if let Some(i) = line.find(&needle) {
                let start = offset + i + 1;
                return Some(start..start + value.len());
            }
        }
        offset += line.len();
    }
    None
}

/// Where `key = ...` is written inside table `section` (`"workload"`,
/// `"system"`, `"network.region_latency"`), for errors about values that were
/// read without a span of their own. The first match wins.
pub fn key_span(src: &str, section: &str, key: &str) -> Option<Range<usize>> {
    let mut offset = 0;
    let mut current = String::new();
    for line in src.split_inclusive('\n') {
        let lead = line.len() - line.trim_start().len();
        let rest = &line[lead..];
        if rest.starts_with('[') {
            current = rest
                .trim_end()
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        } else if current == section
            && rest.starts_with(key)
            && rest[key.len()..].trim_start().starts_with('=')
        {
            return Some(offset + lead..offset + lead + key.len());
        }
        offset += line.len();
    }
    None
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

/// For messages: how long a duration is, as written back.
pub fn show(ns: Nanos) -> String {
    fmt_duration(ns)
}

/// A duration as a scenario file writes it, exactly: `"1.5s"` where that is
/// exact, else a count of nanoseconds.
pub fn exact_duration(ns: Nanos) -> String {
    let shown = fmt_duration(ns);
    if parse_duration(&shown) == Ok(ns) {
        shown
    } else {
        format!("{ns}ns")
    }
}

fn toml_list(targets: &[Target]) -> String {
    let items: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    format!("[{}]", items.join(", "))
}

fn latency_toml(l: &LatencyDist) -> String {
    match toml::Value::try_from(l) {
        Ok(v) => v.to_string(),
        Err(_) => unreachable!("a latency distribution always serializes"),
    }
}

impl Fault {
    /// This fault as a `[[faults]]` entry that parses back to the same fault.
    pub fn to_toml(&self) -> String {
        let mut lines = vec!["[[faults]]".to_string()];
        match &self.when {
            None => lines.push(format!("at = \"{}\"", exact_duration(self.at))),
            Some(w) => {
                lines.push(format!("when = {}", w.when_toml()));
                if self.at > 0 {
                    lines.push(format!("after = \"{}\"", exact_duration(self.at)));
                }
                if w.delay > 0 {
                    lines.push(format!("delay = \"{}\"", exact_duration(w.delay)));
                }
            }
        }
        let mut add = |k: &str, v: String| lines.push(format!("{k} = {v}"));
        let scope = |add: &mut dyn FnMut(&str, String), scope: &Scope| match scope {
            Scope::Everywhere => {}
            Scope::Node(t) => add("target", format!("\"{t}\"")),
            Scope::Link(a, b) => add("link", toml_list(&[a.clone(), b.clone()])),
            Scope::Region(r) => add("region", format!("\"{r}\"")),
        };
        match &self.kind {
            FaultKind::Partition { groups } => {
                add("action", "\"partition\"".into());
                let gs: Vec<String> = groups.iter().map(|g| toml_list(g)).collect();
                add("groups", format!("[{}]", gs.join(", ")));
            }
            FaultKind::PartitionOneWay { from, to } => {
                add("action", "\"partition\"".into());
                add("from", toml_list(from));
                let to = if to.is_empty() {
                    vec![Target::Rest]
                } else {
                    to.clone()
                };
                add("to", toml_list(&to));
            }
            FaultKind::Heal => add("action", "\"heal\"".into()),
            FaultKind::Crash(t)
            | FaultKind::Restart(t)
            | FaultKind::Pause(t)
            | FaultKind::Resume(t)
            | FaultKind::FsyncLoss(t)
            | FaultKind::FsyncOk(t) => {
                let action = match &self.kind {
                    FaultKind::Crash(_) => "crash",
                    FaultKind::Restart(_) => "restart",
                    FaultKind::Pause(_) => "pause",
                    FaultKind::Resume(_) => "resume",
                    FaultKind::FsyncLoss(_) => "fsync-loss",
                    _ => "fsync-ok",
                };
                add("action", format!("\"{action}\""));
                add("target", format!("\"{t}\""));
            }
            FaultKind::Clog { a, b, one_way } | FaultKind::Unclog { a, b, one_way } => {
                let clog = matches!(self.kind, FaultKind::Clog { .. });
                add(
                    "action",
                    if clog { "\"clog\"" } else { "\"unclog\"" }.into(),
                );
                if *b == Target::All {
                    add("target", format!("\"{a}\""));
                } else {
                    add("link", toml_list(&[a.clone(), b.clone()]));
                }
                if *one_way {
                    add("one_way", "true".into());
                }
            }
            FaultKind::Latency {
                scope: s,
                latency,
                one_way,
            } => {
                add("action", "\"latency\"".into());
                scope(&mut add, s);
                add("latency", latency_toml(latency));
                if *one_way {
                    add("one_way", "true".into());
                }
            }
            FaultKind::Loss {
                scope: s,
                probability,
                one_way,
            } => {
                add("action", "\"loss\"".into());
                scope(&mut add, s);
                add("probability", format!("{probability:?}"));
                if *one_way {
                    add("one_way", "true".into());
                }
            }
            FaultKind::Clock {
                target,
                offset_ns,
                drift,
            } => {
                add("action", "\"clock\"".into());
                add("target", format!("\"{target}\""));
                if let Some(offset_ns) = offset_ns {
                    let sign = if *offset_ns < 0 { "-" } else { "" };
                    add(
                        "offset",
                        format!("\"{sign}{}\"", exact_duration(offset_ns.unsigned_abs())),
                    );
                }
                if let Some(drift) = drift {
                    add("drift", format!("{drift:?}"));
                }
            }
        }
        lines.join("\n") + "\n"
    }
}

impl Scenario {
    /// This scenario as TOML text, with its fault schedule, nemesis, duration,
    /// seed and client count as they are now (after a shrink, say). Comments of
    /// the original are not kept; `header` lines are written as comments first.
    pub fn to_toml(&self, header: &[String]) -> String {
        let mut doc: toml::Table = toml::from_str(&self.source).unwrap_or_default();
        doc.remove("faults");
        doc.remove("nemesis");
        let mut header = header.to_vec();
        if let Some(toml::Value::Table(meta)) = doc.get_mut("meta") {
            meta.insert("duration".into(), exact_duration(self.meta.duration).into());
            // The check's budget, so that a file shrunk with budget flags
            // is decided the same way when it is run on its own.
            if let Some(n) = self.meta.check_max_steps {
                meta.insert(
                    "check_max_steps".into(),
                    toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)),
                );
            }
            if let Some(m) = &self.meta.check_max_memory {
                let v = match m.get_ref() {
                    Size::Bytes(n) => toml::Value::Integer(*n),
                    Size::Text(t) => toml::Value::String(t.clone()),
                };
                meta.insert("check_max_memory".into(), v);
            }
            // A TOML integer holds no more than i64::MAX: a larger seed is
            // left out of the file and given on the command line instead.
            match i64::try_from(self.meta.seed) {
                Ok(seed) => {
                    meta.insert("seed".into(), toml::Value::Integer(seed));
                }
                Err(_) => {
                    meta.remove("seed");
                    header.push(format!(
                        "Seed {} is larger than a TOML integer holds, so it is not in [meta]: run this file with --seed {}.",
                        self.meta.seed, self.meta.seed
                    ));
                }
            }
        }
        if let Some(toml::Value::Table(t)) = doc.get_mut("topology") {
            t.insert(
                "clients".into(),
                toml::Value::Integer(self.topology.clients as i64),
            );
        }
        // Keep [expect] last, after the faults, as hand-written scenarios do.
        let expect = doc.remove("expect");
        let mut out: String = header.iter().map(|h| format!("# {h}\n")).collect();
        if !header.is_empty() {
            out.push('\n');
        }
        out.push_str(&toml::to_string(&doc).unwrap_or_default());
        for f in &self.faults {
            out.push('\n');
            out.push_str(&f.to_toml());
        }
        if let Some(e) = expect {
            let mut t = toml::Table::new();
            t.insert("expect".into(), e);
            out.push('\n');
            out.push_str(&toml::to_string(&t).unwrap_or_default());
        }
        out
    }
}
