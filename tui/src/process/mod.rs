//! The process driver: Maelstrom nodes in any language, under chaoslab's
//! network model and faults (`chaoslab run SCENARIO --bin ./node.py`).
//!
//! Maelstrom runs a node as a process that reads messages on stdin and
//! prints messages on stdout, one JSON object a line. This driver does the
//! same with a scenario of protocol `maelstrom`: every server life is one
//! process of the program `--bin` names; the clients, the harness (`init`,
//! `topology`), the workload, the checkers, the network model (latency
//! distributions, loss, partitions, clogs), the fault schedule and the
//! nemesis, the trace and the report are the kernel's, unchanged.
//!
//! How it plugs in. The kernel's [`Sim`] runs the protocol, whose servers
//! host a [`ProcessNode`] each ([`Maelstrom::with_builder`]). Handing the
//! node an envelope writes it to the process's stdin. What the process
//! prints comes back on its own time, not as an answer to a handler: the
//! driver's loop (this file) owns the clock, steps each event the kernel
//! scheduled when the wall clock reaches its virtual time (`take_scheduled`
//! and `step_at`, as the madsim driver does), and in between takes the
//! lines the processes print, each stamped with the instant it arrived,
//! and injects it into the run at that instant's virtual time
//! (`Sim::step_node_at`, then `Server::emit`, which sends it through the
//! network model as a handler's send would be).
//!
//! Faults map onto the processes: a crash drops the node, whose process is
//! killed with SIGKILL; a restart builds a new node, whose process is
//! started afresh and gets `init` again; a pause stops the process with
//! SIGSTOP (and the kernel holds its deliveries), a resume continues it
//! with SIGCONT (and the held deliveries are written). Every process is
//! killed when the run ends, on an error, on a panic (the nodes are
//! dropped as the stack unwinds), and on Linux even if chaoslab itself is
//! killed (`PR_SET_PDEATHSIG`, which covers the process chaoslab started,
//! not its children). Each process leads its own process group and every
//! signal goes to the group, so a wrapper script's children are stopped,
//! continued and killed with it. Clock and fsync faults are refused: a
//! process reads its machine's clock and disk, not chaoslab's.
//!
//! What it gives up: determinism. The processes run in real time (scaled
//! by `--time-scale`), so when a line arrives depends on the machine; the
//! same seed gives the same workload and fault schedule, not the same run.
//! The report says so. Before the clock starts, every first process must
//! answer `init`, as Maelstrom waits for its nodes, so a slow start-up
//! does not eat into the scenario.
//!
//! What a node can do wrong, each a clear error naming the node, the
//! program and what happened, after the report of the run so far, exit
//! code 5: no `init_ok` within `--init-timeout`; a line that is not a
//! Maelstrom message (or not from itself); exiting by itself (its exit
//! status and the tail of its stderr); printing more than
//! [`FLOOD_LINES_PER_SECOND`] lines within a second.
//!
//! This module reads the wall clock and spawns threads and processes; it
//! lives in the `tui` crate for that reason, and nothing in `sim` or
//! `nodes` does either.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod args;
mod host;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nodes::maelstrom::{Envelope, MaelNode, Maelstrom, MaelstromNode};
use sim::kernel::{Ev, RunOutput, Sim, TraceMode};
use sim::report::{Expectation, Report, RunOutcome};
use sim::scenario::Scenario;
use sim::time::{fmt_duration, Nanos};

pub use args::ProcessArgs;
pub use host::{tail, BACKLOG_LINES_MAX, FLOOD_LINES_PER_SECOND, LINE_BYTES_MAX};
use host::{Heard, Host, Inbox, ProcessNode, What};

/// How long a process may take to answer `init` by default (wall time).
pub const INIT_TIMEOUT_DEFAULT_S: f64 = 10.0;

/// Lines of a node's stderr an error shows.
const TAIL_LINES: usize = 10;

/// How to run.
#[derive(Debug)]
pub struct Options {
    /// The program (`./node.py`), as found on disk.
    pub bin: PathBuf,
    /// The program as the user wrote it.
    pub shown: String,
    pub args: Vec<String>,
    pub seed: u64,
    pub trace: TraceMode,
    /// Virtual seconds per wall second.
    pub time_scale: f64,
    /// How long a process may take to answer `init`, wall time.
    pub init_timeout: Duration,
    /// Where each node's stderr goes (`n1.stderr`, ...).
    pub stderr_dir: PathBuf,
}

/// A run that was carried out, to its end or to the error that stopped it.
pub struct Ran {
    pub out: RunOutput,
    /// What a node did wrong, if the run stopped for it.
    pub failure: Option<Failure>,
    pub stderr_dir: PathBuf,
}

/// What a node did wrong.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `init`, `not-json`, `too-long`, `wrong-src`, `exited`, `flood`,
    /// `spawn`: a stable name.
    pub kind: &'static str,
    pub node: String,
    /// When (virtual time).
    pub at: Nanos,
    /// The whole message, for the terminal.
    pub message: String,
    /// One line, for the report.
    pub short: String,
}

/// What can be refused before any output file is made: the scenario (not
/// of protocol `maelstrom`, or explored), the program (no such file), the
/// flags.
pub fn precheck(s: &Scenario, args: &ProcessArgs, seed: u64) -> Result<(), String> {
    let opts = args.options(seed, TraceMode::Off)?;
    refuse(s, &opts)?;
    let declared = sim::registry::build::<Maelstrom>(s).map_err(|e| e.to_string())?;
    if let Some(bug) = &declared.inner.config.bug {
        return Err(format!(
            "error: {}: bug = \"{bug}\" is a flag of chaoslab's reference nodes; with --bin your program serves, so remove the line (or run without --bin)",
            s.file
        ));
    }
    Ok(())
}

fn refuse(s: &Scenario, opts: &Options) -> Result<(), String> {
    if s.protocol != "maelstrom" {
        return Err(format!(
            "error: {}: --bin runs Maelstrom nodes, so the scenario must say protocol = \"maelstrom\" in [system], not \"{}\" (see scenarios/labs/)",
            s.file, s.protocol
        ));
    }
    if s.explore.is_some() || s.schedule.is_some() {
        return Err(format!(
            "error: {}: a scenario with [explore] or [schedule] replays the explorer's choices on the kernel; it cannot run processes (drop --bin)",
            s.file
        ));
    }
    if !(TIME_SCALE_MIN..=TIME_SCALE_MAX).contains(&opts.time_scale) {
        return Err(format!(
            "error: --time-scale must be a number of virtual seconds per real second from {TIME_SCALE_MIN} to {TIME_SCALE_MAX}, not {:?}",
            opts.time_scale
        ));
    }
    // A clock fault sets the clock chaoslab's nodes read; a process reads
    // its machine's clock, which chaoslab cannot set. Fsync faults act on
    // the simulated disk, which a process does not use. Accepting them
    // would report faults that did nothing.
    for f in &s.faults {
        let what = match &f.kind {
            sim::scenario::FaultKind::Clock { .. } => "clock",
            sim::scenario::FaultKind::FsyncLoss(_) => "fsync-loss",
            sim::scenario::FaultKind::FsyncOk(_) => "fsync-ok",
            _ => continue,
        };
        return Err(format!(
            "error: {}:{}: [[faults]] action = \"{what}\" cannot act on a node that is a process (it reads its machine's clock and disk, not chaoslab's); with --bin the faults are {}; remove the entry (or run without --bin)",
            s.file,
            f.line,
            PROCESS_FAULTS.join(", ")
        ));
    }
    if let Some(n) = &s.nemesis {
        let bad: Vec<&str> = n
            .kinds
            .iter()
            .map(|k| k.get_ref().as_str())
            .filter(|k| *k == "clock")
            .collect();
        if !bad.is_empty() {
            let listed = n.kinds.iter().any(|k| k.span() != (0..0));
            let fix = if listed {
                "remove \"clock\" from [nemesis] kinds".to_string()
            } else {
                let kinds: Vec<String> = sim::scenario::NEMESIS_KINDS
                    .iter()
                    .filter(|k| **k != "clock")
                    .map(|k| format!("\"{k}\""))
                    .collect();
                format!(
                    "the default kinds include it: list them in [nemesis], kinds = [{}]",
                    kinds.join(", ")
                )
            };
            return Err(format!(
                "error: {}: [nemesis] kind \"clock\" cannot act on a node that is a process (it reads its machine's clock, not chaoslab's); {fix} (or run without --bin)",
                s.file
            ));
        }
    }
    Ok(())
}

/// The fault actions a run of processes carries out.
const PROCESS_FAULTS: &[&str] = &[
    "partition",
    "heal",
    "crash",
    "restart",
    "pause",
    "resume",
    "clog",
    "unclog",
    "latency",
    "loss",
];

/// The bounds of `--time-scale`.
pub const TIME_SCALE_MIN: f64 = 1e-3;
pub const TIME_SCALE_MAX: f64 = 1e3;

/// Runs scenario `s` (protocol `maelstrom`) with every server a process of
/// `opts.bin`. An `Err` is a run that could not start (the scenario, the
/// program, the flags): bad input.
pub fn run(s: &Scenario, opts: Options) -> Result<Ran, String> {
    refuse(s, &opts)?;
    let mut declared = sim::registry::build::<Maelstrom>(s).map_err(|e| e.to_string())?;
    let mut config = (*declared.inner.config).clone();
    if let Some(bug) = &config.bug {
        return Err(format!(
            "error: {}: bug = \"{bug}\" is a flag of chaoslab's reference nodes; with --bin your program serves, so remove the line (or run without --bin)",
            s.file
        ));
    }
    std::fs::create_dir_all(&opts.stderr_dir).map_err(|e| {
        format!(
            "error: cannot create the folder for the nodes' stderr, {}: {e}",
            opts.stderr_dir.display()
        )
    })?;
    config.node = format!("process {}", opts.shown);
    let (host, heard) = Host::new(
        opts.bin.clone(),
        opts.shown.clone(),
        opts.args.clone(),
        opts.stderr_dir.clone(),
    );
    let for_nodes = host.clone();
    declared.inner = Maelstrom::with_builder(config, move |_| {
        Box::new(ProcessNode::new(for_nodes.clone())) as Box<dyn MaelNode>
    });
    let scenario: &Scenario = s;
    let sim = Sim::new(scenario, declared, opts.seed, opts.trace);
    let mut driver = Driver {
        sim,
        host: host.clone(),
        heard,
        queue: BTreeMap::new(),
        seq: 0,
        origin: Instant::now(),
        scale: opts.time_scale,
        init_timeout: opts.init_timeout,
        end: s.meta.duration,
        paused: Vec::new(),
        scratch: Vec::new(),
        late: None,
    };
    // Whatever happens below (an error, a panic), no process outlives the
    // run: the guard kills what is still alive.
    let _guard = KillAll(host.clone());
    let failure = driver.run()?;
    let Driver { mut sim, .. } = driver;
    if failure.is_none() && sim.stopped_early().is_none() {
        sim.end_at(s.meta.duration);
    }
    // Finishing drops the nodes, which kills their processes.
    let out = sim.finish();
    host.kill_all();
    Ok(Ran {
        out,
        failure,
        stderr_dir: opts.stderr_dir,
    })
}

/// Kills every process of the host when dropped.
struct KillAll(Arc<Host>);

impl Drop for KillAll {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}

type Proto = sim::registry::Declared<Maelstrom>;

struct Driver<'s> {
    sim: Sim<'s, Proto>,
    host: Arc<Host>,
    heard: Inbox,
    /// The kernel's events, by (virtual time, order scheduled).
    queue: BTreeMap<(Nanos, u64), Ev<Envelope>>,
    seq: u64,
    /// Wall time at virtual time 0.
    origin: Instant,
    scale: f64,
    init_timeout: Duration,
    end: Nanos,
    /// Per server index: whether its process is paused, as last carried out.
    paused: Vec<bool>,
    scratch: Vec<(Nanos, Ev<Envelope>)>,
    /// A failure found after a step (a restarted process that could not
    /// start), which stops the run at the loop's next turn.
    late: Option<Failure>,
}

impl Driver<'_> {
    /// The run; the failure that stopped it, if one did. An `Err` is a
    /// program that could not be started.
    fn run(&mut self) -> Result<Option<Failure>, String> {
        self.sim.start();
        if let Some((_, e)) = self.host.spawn_error() {
            return Err(e);
        }
        self.paused = vec![false; self.sim.cluster().servers().len()];
        self.take_scheduled();
        // Every first process answers `init` before the clock starts, as
        // Maelstrom waits for its nodes: a slow start-up (an interpreter,
        // a JVM) does not eat into the scenario's time.
        while !self.host.all_answered_init() {
            if let Some(f) = self.init_overdue() {
                return Ok(Some(f));
            }
            let wait = self.init_deadline().map_or(Duration::from_millis(10), |d| {
                d.saturating_duration_since(Instant::now())
            });
            match self.heard.recv_timeout(wait) {
                Ok(h) => {
                    if let Some(f) = self.hear(h, Some(0))? {
                        return Ok(Some(f));
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("the host holds a sender"),
            }
        }
        self.origin = Instant::now();
        loop {
            if let Some(f) = self.late.take() {
                return Ok(Some(f));
            }
            let next = self.queue.keys().next().map(|k| k.0);
            let Some(next) = next.filter(|t| *t <= self.end) else {
                // Nothing more is scheduled before the end: the run ends
                // when the wall clock reaches its duration, taking what the
                // processes print until then.
                let end = self.wall(self.end);
                if Instant::now() >= end {
                    // Lines that arrived by the end but were not taken in
                    // yet (the loop was behind) are part of the run: a
                    // final reply among them must not be dropped.
                    while let Ok(h) = self.heard.recv_timeout(Duration::ZERO) {
                        if h.at > end {
                            break;
                        }
                        if let Some(f) = self.hear(h, None)? {
                            return Ok(Some(f));
                        }
                    }
                    return Ok(None);
                }
                if let Some(f) = self.wait_until(end)? {
                    return Ok(Some(f));
                }
                continue;
            };
            let due = self.wall(next);
            if Instant::now() < due {
                if let Some(f) = self.wait_until(due)? {
                    return Ok(Some(f));
                }
                continue;
            }
            let ((t, _), ev) = self.queue.pop_first().expect("peeked");
            if !self.sim.step_at(t, ev) {
                return Ok(None); // `[meta] max_events`: the run is over
            }
            self.after_step()?;
        }
    }

    /// Takes what the processes print until wall time `until` (or an
    /// overdue `init`); a failure stops the run.
    fn wait_until(&mut self, until: Instant) -> Result<Option<Failure>, String> {
        let now = Instant::now();
        if let Some(f) = self.init_overdue() {
            return Ok(Some(f));
        }
        let wake = match self.init_deadline() {
            Some(d) => d.min(until),
            None => until,
        };
        match self.heard.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(h) => {
                let at = self.virtual_at(h.at);
                // Events due before the line arrived come first (the loop
                // may be behind the wall clock).
                while let Some(((t, _), _)) = self.queue.first_key_value() {
                    if *t > at || *t > self.end {
                        break;
                    }
                    let ((t, _), ev) = self.queue.pop_first().expect("peeked");
                    if !self.sim.step_at(t, ev) {
                        return Ok(None);
                    }
                    self.after_step()?;
                }
                self.hear(h, None)
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => unreachable!("the host holds a sender"),
        }
    }

    /// What a process printed, injected into the run (at virtual time
    /// `at`, else at the time it arrived).
    fn hear(&mut self, h: Heard, at: Option<Nanos>) -> Result<Option<Failure>, String> {
        if !self.host.is_current(&h.node, h.gen) {
            return Ok(None); // a killed process's last words
        }
        let at = at
            .unwrap_or_else(|| self.virtual_at(h.at))
            .max(self.sim.now())
            .min(self.end);
        let line = match h.what {
            What::Line(line) => line,
            What::Eof => return Ok(Some(self.exited(&h.node, h.gen))),
            What::Flood(None) => {
                self.host.kill(h.gen);
                return Ok(Some(self.fail(
                    "flood",
                    &h.node,
                    format!(
                        "printed more than {FLOOD_LINES_PER_SECOND} lines within one second (the bound on lines per node), so it was killed; a node sends only what its protocol needs (a loop that prints without waiting?)"
                    ),
                    "printed more than the bound on lines per second",
                )));
            }
            What::Flood(Some(waiting)) => {
                self.host.kill(h.gen);
                return Ok(Some(self.fail(
                    "flood",
                    &h.node,
                    format!(
                        "printed while {waiting} lines of the nodes were waiting for chaoslab to take them in (the bound is {BACKLOG_LINES_MAX} lines or 256 MiB), so it was killed; a node sends only what its protocol needs (a loop that prints without waiting?)"
                    ),
                    "printed past the bound on lines waiting",
                )));
            }
            What::TooLong(head) => {
                return Ok(Some(self.fail(
                    "too-long",
                    &h.node,
                    format!(
                        "printed a line longer than {} bytes, which begins:\n  {head}",
                        LINE_BYTES_MAX
                    ),
                    "printed a line longer than the bound",
                )))
            }
        };
        if line.trim().is_empty() {
            return Ok(None); // a blank line says nothing
        }
        let env = match Envelope::from_line(&line) {
            Ok(e) => e,
            Err(why) => {
                return Ok(Some(self.fail(
                    "not-json",
                    &h.node,
                    format!(
                        "printed a line that is not a Maelstrom message:\n  {}\n  {why}\n  (debugging output belongs on stderr, which goes to {})",
                        shorten(&line),
                        self.host.stderr_file(&h.node).display()
                    ),
                    "printed a line that is not a Maelstrom message",
                )))
            }
        };
        if env.src != h.node {
            return Ok(Some(self.fail(
                "wrong-src",
                &h.node,
                format!(
                    "printed a message whose src is {:?}; a node sends as itself, src = its node_id from init ({:?}):\n  {}",
                    env.src,
                    h.node,
                    shorten(&line)
                ),
                "printed a message whose src is not its own name",
            )));
        }
        // The harness takes an `init_ok` only as the reply to its `init`
        // (msg_id 1), so only that one counts as answering.
        if env.body.kind == "init_ok" && env.body.in_reply_to == Some(1) {
            self.host.answered_init(h.gen);
        }
        let index = self
            .sim
            .cluster()
            .by_name(&h.node)
            .expect("a process runs for a server of the run")
            .index();
        let stepped = self.sim.step_node_at(at, index, |node, ctx| {
            if let MaelstromNode::Server(s) = node {
                s.emit(ctx, vec![env]);
            }
        });
        if stepped {
            self.after_step()?;
        }
        Ok(None)
    }

    /// After a step: take what it scheduled, and bring the processes in
    /// line with the kernel's view (a pause stops one, a resume continues
    /// it; a crash or restart is done by dropping and building the node).
    fn after_step(&mut self) -> Result<(), String> {
        self.take_scheduled();
        if self.late.is_none() {
            if let Some((node, e)) = self.host.spawn_error() {
                // A restart whose process could not start (the program
                // was removed mid-run): the run so far is reported.
                let what = format!(
                    "could not be started again: {}",
                    e.trim_start_matches("error: ")
                );
                self.late = Some(self.fail("spawn", &node, what, "could not be started again"));
            }
        }
        for i in 0..self.paused.len() {
            let (up, paused) = self.sim.node_up(i);
            let want = up && paused;
            if want != self.paused[i] {
                self.paused[i] = want;
                let name = self.sim.cluster().name(sim::node::NodeId(i as u32));
                self.host.set_paused(name, want);
            }
        }
        Ok(())
    }

    fn take_scheduled(&mut self) {
        self.sim.take_scheduled(&mut self.scratch);
        for (t, ev) in self.scratch.drain(..) {
            self.seq += 1;
            self.queue.insert((t, self.seq), ev);
        }
    }

    /// Wall time at virtual time `t`.
    fn wall(&self, t: Nanos) -> Instant {
        // The time scale is bounded and so is a scenario's duration, but
        // a far-off instant saturates rather than panics.
        let far = Duration::from_secs(100 * 365 * 24 * 3600);
        let d = Duration::try_from_secs_f64(t as f64 / 1e9 / self.scale).unwrap_or(far);
        self.origin
            .checked_add(d)
            .or_else(|| self.origin.checked_add(far))
            .unwrap_or(self.origin)
    }

    /// Virtual time at wall time `at`.
    fn virtual_at(&self, at: Instant) -> Nanos {
        let real = at.saturating_duration_since(self.origin).as_secs_f64();
        (real * self.scale * 1e9) as Nanos
    }

    /// When the process waiting longest for its `init_ok` runs out of time.
    fn init_deadline(&self) -> Option<Instant> {
        self.host
            .oldest_without_init()
            .map(|(_, since)| since.checked_add(self.init_timeout).unwrap_or(since))
    }

    fn init_overdue(&mut self) -> Option<Failure> {
        let (node, since) = self.host.oldest_without_init()?;
        if since.elapsed() < self.init_timeout {
            return None;
        }
        Some(self.fail(
            "init",
            &node,
            format!(
                "did not answer init within {} (--init-timeout): a node must reply to {{\"type\":\"init\",\"msg_id\":1,...}} with {{\"src\":\"{node}\",\"dest\":\"c0\",\"body\":{{\"type\":\"init_ok\",\"in_reply_to\":1}}}} on stdout (one line, flushed; init_ok must carry in_reply_to: 1)",
                fmt_secs(self.init_timeout)
            ),
            "did not answer init in time",
        ))
    }

    /// A process closed its stdout: it exited by itself (chaoslab kills
    /// only nodes it has already dropped).
    fn exited(&mut self, node: &str, gen: u64) -> Failure {
        let status = self.host.exit_status(gen, Duration::from_secs(2));
        let how = match status {
            Some(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(c), _) => format!("exited by itself with exit status {c}"),
                (None, Some(sig)) => format!("was ended by signal {sig} (not one chaoslab sent)"),
                _ => format!("exited by itself ({s})"),
            },
            None => "closed its stdout (it may still run; it was killed)".to_string(),
        };
        self.host.kill(gen);
        self.fail(
            "exited",
            node,
            format!("{how}: a node runs until chaoslab kills it"),
            "exited by itself",
        )
    }

    /// A failure of `node`: the message names the node, the program, the
    /// virtual time and the tail of its stderr.
    fn fail(&mut self, kind: &'static str, node: &str, what: String, short: &str) -> Failure {
        let at = self.sim.now();
        let tail = self.host.stderr_tail(node, TAIL_LINES);
        let file = self.host.stderr_file(node);
        let mut message = format!(
            "error: node {node} ({}) {what}\n  at {} of virtual time",
            self.host.shown,
            fmt_duration(at)
        );
        if tail.is_empty() {
            message.push_str(&format!("\n  its stderr ({}) is empty", file.display()));
        } else {
            message.push_str(&format!(
                "\n  the last lines of its stderr ({}):",
                file.display()
            ));
            for l in tail {
                message.push_str(&format!("\n    | {l}"));
            }
        }
        Failure {
            kind,
            node: node.to_string(),
            at,
            message,
            short: format!("{node} {short}"),
        }
    }
}

/// A line as an error shows it: at most 300 characters.
fn shorten(line: &str) -> String {
    if line.chars().count() <= 300 {
        line.to_string()
    } else {
        let head: String = line.chars().take(300).collect();
        format!("{head}... ({} bytes)", line.len())
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{s}s")
    }
}

/// The report of a process run: the kernel's, with what says it was real
/// time, and a failure (if a node did wrong) as a failed expectation.
pub fn report(
    s: &Scenario,
    ran: &Ran,
    budget: sim::report::CheckBudget,
    time_scale: f64,
) -> Report {
    let mut r = Report::build_with(s, &ran.out, budget);
    let mut m = sim::metric::Metrics::new();
    m.text(
        "driver",
        format!("processes in real time (time scale {time_scale})"),
    )
    .note(format!(
        "; not bit-for-bit reproducible: the seed fixes the workload and the fault schedule, not when a process answers. Stderr of each node: {}",
        ran.stderr_dir.display()
    ));
    r.metrics.splice(0..0, m.into_vec());
    if let Some(f) = &ran.failure {
        r.expectations.push(Expectation {
            key: format!("process.{}", f.kind),
            what: "node processes".to_string(),
            expected: "each answers init, prints only Maelstrom messages, runs until killed"
                .to_string(),
            actual: format!("{} at {}", f.short, fmt_duration(f.at)),
            held: false,
            undecided: false,
        });
        r.outcome = RunOutcome::Fail;
        r.passed = false;
    }
    r
}
