//! The second driver: the same protocol nodes on madsim, deterministic in
//! simulation (built with `--cfg madsim`) and real on TCP sockets on
//! 127.0.0.1 with real time (built without it).
//!
//! The kernel is one driver of our sans-IO nodes; this is another. It reuses
//! everything in the kernel that is not the event loop: the nodes and their
//! `Ctx`, the network model (partitions, clogs, loss, duplicates, per-link and
//! per-region latency distributions), the fault schedule, the nemesis, the
//! workload, the trace and its fingerprint, the history, the invariant checks
//! and the report. What it replaces is the kernel's event queue and clock:
//!
//! - each scenario node (servers and clients) is a madsim node with its own
//!   address and an async loop that receives messages over madsim's network
//!   (`Endpoint::send_to` / `recv_from`), so a message really travels from
//!   the sender's socket to the receiver's;
//! - timers, client requests and message deliveries wait with
//!   `madsim::time::sleep_until` on the node they belong to, and run that
//!   node's handler when madsim's clock says they are due;
//! - crash and restart are madsim's `kill` and `restart` (the node's tasks,
//!   its pending timers and the deliveries waiting in it die; on restart the
//!   node is rebuilt from its disk, which survives the kill), pause and resume
//!   are madsim's `pause` and `resume`;
//! - what madsim cannot express (per-link latency distributions, regions,
//!   one-way partitions, clogs that hold messages until unclogged, per-link
//!   loss, clock skew and drift, lying fsync) stays in the shared model, which
//!   decides each message's fate and delivery time; madsim's own network
//!   latency is set to almost nothing so that it adds no second latency.
//!
//! A scheduled event is "due" when madsim's clock reaches its time; the step
//! then runs at madsim's clock. In simulation madsim's scheduler and clock are
//! seeded, so a run is a pure function of (scenario, seed), like a kernel run,
//! though not the same run: madsim orders concurrent tasks its own way.
//!
//! Message payloads: the Node API's messages are `Clone + Debug`, with no wire
//! encoding, so the bytes on the socket are a handle into an in-process table
//! of messages in flight. The sockets, their addresses, connections and timing
//! are real; a cluster spread over several processes would need a wire
//! encoding for `Message` (see docs/drivers.md).
//!
//! Without `--cfg madsim` this reads the wall clock (that is what "real" means
//! here); nothing in `sim` or `nodes` does.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use madsim::net::Endpoint;
use madsim::time::{sleep_until, Duration, Instant};

use sim::kernel::{Ev, RunOutput, Sim, TraceMode};
use sim::node::Node;
use sim::protocol::Protocol;
use sim::registry::Spec;
use sim::scenario::{FaultKind, Scenario, ScenarioError};
use sim::time::Nanos;

use crate::Registry;

/// True in a build with `--cfg madsim` (deterministic simulation), false in a
/// build without it (real sockets, real time).
pub const SIMULATED: bool = cfg!(madsim);

/// The tag our messages carry on madsim's endpoints.
const TAG: u64 = 0x6368_616f_736c_6162;

/// How to run.
#[derive(Debug)]
pub struct Options {
    pub seed: u64,
    pub trace: TraceMode,
    /// Real sockets only: simulated seconds per real second (2.0 runs a 10 s
    /// scenario in 5 s of wall time, with every latency and timeout halved).
    pub speed: f64,
}

/// What can stop a run before it starts.
#[derive(Debug)]
pub enum Error {
    Scenario(ScenarioError),
    /// A fault this driver cannot carry out: the scenario file, the line, the fault.
    Refused(String),
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Scenario(e) => write!(f, "{e}"),
            Error::Refused(m) | Error::Io(m) => write!(f, "{m}"),
        }
    }
}

impl From<ScenarioError> for Error {
    fn from(e: ScenarioError) -> Self {
        Error::Scenario(e)
    }
}

/// Checks that every fault of the scenario can be carried out by this driver;
/// the first one that cannot is refused with its file and line. Today every
/// fault kind maps (see docs/drivers.md); the match is exhaustive so that a new
/// fault kind must be decided here before it compiles.
pub fn check_supported(s: &Scenario, program: &str) -> Result<(), Error> {
    for f in &s.faults {
        let refused: Option<&str> = match &f.kind {
            FaultKind::Partition { .. }
            | FaultKind::PartitionOneWay { .. }
            | FaultKind::Heal
            | FaultKind::Crash(_)
            | FaultKind::Restart(_)
            | FaultKind::Pause(_)
            | FaultKind::Resume(_)
            | FaultKind::Clog { .. }
            | FaultKind::Unclog { .. }
            | FaultKind::Latency { .. }
            | FaultKind::Loss { .. }
            | FaultKind::Clock { .. }
            | FaultKind::FsyncLoss(_)
            | FaultKind::FsyncOk(_) => None,
        };
        if let Some(why) = refused {
            return Err(Error::Refused(format!(
                "error: {}:{}: the madsim driver cannot carry out this fault: {why}\n  \
                 run it on the kernel instead: {program} run {}",
                s.file, f.line, s.file
            )));
        }
    }
    Ok(())
}

/// Runs the scenario on madsim (simulated, with `--cfg madsim`) or on real
/// sockets (without it) and returns what the kernel would: the same
/// `RunOutput`, judged by the same report. `registry` is the one that
/// parsed the scenario.
pub fn run(registry: &Registry, s: &Scenario, opts: Options) -> Result<RunOutput, Error> {
    check_supported(s, &registry.program_name())?;
    registry.drive(s, opts)
}

/// [`run`] for protocol `P`: the function the registry keeps for `P`.
pub fn drive<P>(s: &Scenario, opts: Options) -> Result<RunOutput, Error>
where
    P: Spec + Send,
    P::Node: Send,
    Msg<P>: Send,
{
    check_supported(s, sim::report::DEFAULT_PROGRAM)?;
    if !(opts.speed > 0.0 && opts.speed.is_finite()) {
        return Err(Error::Io(format!(
            "error: --speed must be a positive number, not {}",
            opts.speed
        )));
    }
    let p = sim::registry::build::<P>(s)?;
    // The tasks madsim runs must be 'static; the scenario lives as long as
    // the process (one small copy per run).
    let scenario: &'static Scenario = Box::leak(Box::new(s.clone()));
    let sim = Sim::new(scenario, p, opts.seed, opts.trace);
    let speed = if SIMULATED { 1.0 } else { opts.speed };
    Ok(runtime::block_on(
        opts.seed,
        controller(sim, scenario, speed),
    ))
}

type Msg<P> = <<P as Protocol>::Node as Node>::Msg;

/// A message on its way: the kernel decided its delivery time; madsim carries it.
struct Flight<M> {
    at: Nanos,
    from: usize,
    to: usize,
    /// The receiver has it (its loop now waits for the delivery time).
    received: bool,
    ev: Ev<M>,
}

/// Where a waiting event lives: on its node (so a kill ends it and a pause
/// holds it), or on the controller (faults, the nemesis, and anything for a
/// node that is down).
#[derive(Clone, Copy)]
#[cfg_attr(not(madsim), allow(dead_code))]
enum Place {
    Node(usize),
    Controller,
}

enum Action<M> {
    Wake {
        on: Place,
        at: Nanos,
        ev: Ev<M>,
    },
    Send {
        from: Arc<Endpoint>,
        to: SocketAddr,
        handle: u64,
    },
    Kill(usize),
    Restart(usize),
    Pause(usize),
    Resume(usize),
}

struct World<P: Protocol> {
    sim: Option<Sim<'static, P>>,
    end: Nanos,
    origin: Instant,
    speed: f64,
    flights: BTreeMap<u64, Flight<Msg<P>>>,
    next_flight: u64,
    endpoints: Vec<Option<(Arc<Endpoint>, SocketAddr)>>,
    /// (up, paused) per node as madsim last saw it.
    up: Vec<(bool, bool)>,
    scheduled: Vec<(Nanos, Ev<Msg<P>>)>,
    #[cfg(madsim)]
    ids: Vec<madsim::task::NodeId>,
    #[cfg(madsim)]
    controller: Option<madsim::task::NodeId>,
}

type Shared<P> = Arc<Mutex<World<P>>>;

fn lock<P: Protocol>(w: &Shared<P>) -> MutexGuard<'_, World<P>> {
    w.lock()
        .expect("a driver task panicked while holding the world")
}

impl<P: Protocol> World<P> {
    /// Virtual time now: madsim's clock (or the wall clock times the speed).
    fn now(&self) -> Nanos {
        let real = self.origin.elapsed().as_nanos() as Nanos;
        if self.speed == 1.0 {
            real
        } else {
            (real as f64 * self.speed) as Nanos
        }
    }

    /// The instant at which virtual time `at` is due.
    fn instant(&self, at: Nanos) -> Instant {
        let real = if self.speed == 1.0 {
            at
        } else {
            (at as f64 / self.speed) as Nanos
        };
        self.origin + Duration::from_nanos(real)
    }

    /// After a step: map what changed onto madsim, and turn what the kernel
    /// scheduled into actions.
    fn plan(&mut self) -> Vec<Action<Msg<P>>> {
        let mut actions = Vec::new();
        let Some(sim) = self.sim.as_mut() else {
            return actions;
        };
        if SIMULATED {
            for i in 0..self.up.len() {
                let now = sim.node_up(i);
                let was = self.up[i];
                if now == was {
                    continue;
                }
                self.up[i] = now;
                match (was.0, now.0) {
                    (true, false) => {
                        actions.push(Action::Kill(i));
                        // Its socket is gone; what was in flight to it (or not
                        // yet sent by it) goes to the controller, where the
                        // kernel drops it as sent to (or by) a crashed node.
                        self.endpoints[i] = None;
                        let lost: Vec<u64> = self
                            .flights
                            .iter()
                            .filter(|(_, f)| f.to == i || (f.from == i && !f.received))
                            .map(|(h, _)| *h)
                            .collect();
                        for h in lost {
                            let f = self.flights.remove(&h).expect("listed");
                            actions.push(Action::Wake {
                                on: Place::Controller,
                                at: f.at,
                                ev: f.ev,
                            });
                        }
                        continue;
                    }
                    (false, true) => actions.push(Action::Restart(i)),
                    _ => {}
                }
                match (was.1, now.1) {
                    (false, true) => actions.push(Action::Pause(i)),
                    (true, false) => actions.push(Action::Resume(i)),
                    _ => {}
                }
            }
        }
        sim.take_scheduled(&mut self.scheduled);
        for (at, ev) in self.scheduled.drain(..) {
            let on = match &ev {
                Ev::Deliver { from, to, .. } => {
                    let (from, to) = (*from as usize, *to as usize);
                    match (&self.endpoints[from], &self.endpoints[to]) {
                        (Some((ep, _)), Some((_, addr))) if sim.node_up(from).0 => {
                            self.next_flight += 1;
                            let handle = self.next_flight;
                            actions.push(Action::Send {
                                from: ep.clone(),
                                to: *addr,
                                handle,
                            });
                            self.flights.insert(
                                handle,
                                Flight {
                                    at,
                                    from,
                                    to,
                                    received: false,
                                    ev,
                                },
                            );
                            continue;
                        }
                        // A sender or receiver without a socket (crashed, or
                        // restarting): the kernel decides the message's fate.
                        _ => Place::Controller,
                    }
                }
                // The workload's next operation for a client lives on the
                // controller, not on the client: it belongs to the workload,
                // which outlives the client process. On the client a kill
                // would end it, and a restarted client would never be given
                // another operation (the kernel re-issues to a client that
                // is down, and holds an issue for one that is paused).
                Ev::Issue { .. } => Place::Controller,
                Ev::Timer { node, .. } => {
                    let i = *node as usize;
                    if sim.node_up(i).0 {
                        Place::Node(i)
                    } else {
                        Place::Controller
                    }
                }
                _ => Place::Controller,
            };
            actions.push(Action::Wake { on, at, ev });
        }
        actions
    }
}

/// Runs one event that came due, then carries out what it caused.
fn step<P>(w: &Shared<P>, ev: Ev<Msg<P>>)
where
    P: Protocol + Send + 'static,
    P::Node: Send,
    Msg<P>: Send,
{
    let actions = {
        let mut g = lock(w);
        let now = g.now().min(g.end);
        let Some(sim) = g.sim.as_mut() else {
            return;
        };
        if !sim.step_at(now, ev) {
            return; // `[meta] max_events` reached: the run is over
        }
        g.plan()
    };
    carry_out(w, actions);
}

fn carry_out<P>(w: &Shared<P>, actions: Vec<Action<Msg<P>>>)
where
    P: Protocol + Send + 'static,
    P::Node: Send,
    Msg<P>: Send,
{
    for a in actions {
        match a {
            Action::Wake { on, at, ev } => {
                let w2 = w.clone();
                let due = lock(w).instant(at);
                runtime::spawn_on(w, on, async move {
                    wait_until(due).await;
                    step(&w2, ev);
                });
            }
            Action::Send { from, to, handle } => {
                madsim::task::spawn(async move {
                    // A failed send is a lost packet; the flight stays in the
                    // table and the kernel never hears of it, like a message
                    // dropped by a real network without a trace.
                    let _ = from.send_to(to, TAG, &handle.to_le_bytes()).await;
                });
            }
            Action::Kill(i) => runtime::kill(w, i),
            Action::Restart(i) => runtime::restart(w, i),
            Action::Pause(i) => runtime::pause(w, i),
            Action::Resume(i) => runtime::resume(w, i),
        }
    }
}

/// A node's life on the network: bind its socket, then take in messages and
/// deliver each when the kernel's model says it arrives. Runs again after
/// every restart.
async fn serve<P>(w: Shared<P>, i: usize, bind: SocketAddr)
where
    P: Protocol + Send + 'static,
    P::Node: Send,
    Msg<P>: Send,
{
    let ep = match Endpoint::bind(bind).await {
        Ok(ep) => Arc::new(ep),
        Err(e) => panic!("node {i} cannot bind {bind}: {e}"),
    };
    let addr = ep.local_addr().expect("a bound endpoint has an address");
    lock(&w).endpoints[i] = Some((ep.clone(), addr));
    // madsim's endpoint waits at least a millisecond after taking each message
    // from its mailbox, so one receiving loop takes in at most a thousand
    // messages a second. Several loops wait on the mailbox at once.
    for _ in 1..RECEIVERS {
        madsim::task::spawn(receive(w.clone(), ep.clone()));
    }
    receive(w, ep).await;
}

/// Receiving loops per node (see `serve`).
const RECEIVERS: usize = 64;

async fn receive<P>(w: Shared<P>, ep: Arc<Endpoint>)
where
    P: Protocol + Send + 'static,
    P::Node: Send,
    Msg<P>: Send,
{
    let mut buf = [0u8; 8];
    loop {
        let Ok((len, _)) = ep.recv_from(TAG, &mut buf).await else {
            return;
        };
        if len != 8 {
            continue;
        }
        let handle = u64::from_le_bytes(buf);
        let due = {
            let mut g = lock(&w);
            let Some(f) = g.flights.get_mut(&handle) else {
                continue;
            };
            f.received = true;
            let at = f.at;
            g.instant(at)
        };
        let w2 = w.clone();
        madsim::task::spawn(async move {
            wait_until(due).await;
            let flight = lock(&w2).flights.remove(&handle);
            if let Some(f) = flight {
                step(&w2, f.ev);
            }
        });
    }
}

/// The run: start every node's socket, start the kernel's run, carry out what
/// it scheduled, and at the scenario's duration finish it.
async fn controller<P>(sim: Sim<'static, P>, s: &'static Scenario, speed: f64) -> RunOutput
where
    P: Protocol + Send + 'static,
    P::Node: Send,
    Msg<P>: Send,
{
    let n = sim.cluster().len();
    let w: Shared<P> = Arc::new(Mutex::new(World {
        sim: Some(sim),
        end: s.meta.duration,
        origin: Instant::now(),
        speed,
        flights: BTreeMap::new(),
        next_flight: 0,
        endpoints: vec![None; n],
        up: vec![(true, false); n],
        scheduled: Vec::new(),
        #[cfg(madsim)]
        ids: Vec::new(),
        #[cfg(madsim)]
        controller: None,
    }));
    runtime::create_nodes(&w, n);
    // Every node binds its socket before the run starts.
    while lock(&w).endpoints.iter().any(|e| e.is_none()) {
        madsim::time::sleep(Duration::from_millis(1)).await;
    }
    let actions = {
        let mut g = lock(&w);
        g.origin = Instant::now();
        g.sim.as_mut().expect("not finished").start();
        g.plan()
    };
    carry_out(&w, actions);
    let end = lock(&w).instant(s.meta.duration) + Duration::from_nanos(1);
    sleep_until(end).await;
    let mut g = lock(&w);
    let mut sim = g.sim.take().expect("finished once");
    if sim.stopped_early().is_none() {
        sim.end_at(s.meta.duration);
    }
    g.flights.clear();
    drop(g);
    sim.finish()
}

/// Sleeps until `due` exactly. madsim's `sleep_until` (like tokio's) sleeps at
/// least a millisecond, which would add up to a millisecond to every message
/// and timer due sooner; resetting the deadline lifts that floor.
async fn wait_until(due: Instant) {
    let mut sleep = Box::pin(sleep_until(due));
    sleep.as_mut().reset(due);
    sleep.await;
}

fn address(i: usize) -> SocketAddr {
    if SIMULATED {
        // One simulated host per node: 10.0.x.y, port 1.
        let k = i + 1;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, (k >> 8) as u8, k as u8)), 1)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
    }
}

#[cfg(madsim)]
mod runtime {
    //! madsim in simulation: seeded scheduler and clock, one madsim node per
    //! scenario node, kill/restart/pause/resume on them.
    use super::*;
    use madsim::runtime::{Handle, Runtime};

    pub fn block_on<F: std::future::Future>(seed: u64, f: F) -> F::Output {
        let mut config = madsim::Config::default();
        // The kernel's model samples every message's latency (per link and
        // region); madsim's own network adds only a nanosecond.
        config.net.send_latency = Duration::from_nanos(1)..Duration::from_nanos(2);
        config.net.packet_loss_rate = 0.0;
        let rt = Runtime::with_seed_and_config(seed, config);
        rt.block_on(f)
    }

    pub fn create_nodes<P>(w: &Shared<P>, n: usize)
    where
        P: Protocol + Send + 'static,
        P::Node: Send,
        Msg<P>: Send,
    {
        let handle = Handle::current();
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let bind = address(i);
            let name = lock(w)
                .sim
                .as_ref()
                .expect("not finished")
                .cluster()
                .name(sim::node::NodeId(i as u32))
                .to_string();
            let w2 = w.clone();
            let node = handle
                .create_node()
                .name(name)
                .ip(bind.ip())
                .init(move || serve(w2.clone(), i, bind))
                .build();
            ids.push(node.id());
        }
        let controller = handle.create_node().name("controller").build();
        let mut g = lock(w);
        g.ids = ids;
        g.controller = Some(controller.id());
    }

    pub fn spawn_on<P, F>(w: &Shared<P>, on: Place, f: F)
    where
        P: Protocol,
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let id = {
            let g = lock(w);
            match on {
                Place::Node(i) => g.ids[i],
                Place::Controller => g.controller.expect("created"),
            }
        };
        Handle::current()
            .get_node(id)
            .expect("every node was created")
            .spawn(f);
    }

    fn id<P: Protocol>(w: &Shared<P>, i: usize) -> madsim::task::NodeId {
        lock(w).ids[i]
    }

    pub fn kill<P: Protocol>(w: &Shared<P>, i: usize) {
        Handle::current().kill(id(w, i));
    }
    pub fn restart<P: Protocol>(w: &Shared<P>, i: usize) {
        Handle::current().restart(id(w, i));
    }
    pub fn pause<P: Protocol>(w: &Shared<P>, i: usize) {
        Handle::current().pause(id(w, i));
    }
    pub fn resume<P: Protocol>(w: &Shared<P>, i: usize) {
        Handle::current().resume(id(w, i));
    }
}

#[cfg(not(madsim))]
mod runtime {
    //! Real sockets and real time: one tokio thread, one TCP endpoint per node
    //! on 127.0.0.1. Crash, restart, pause and resume are the kernel model's
    //! (a crashed node's handlers stop running and its timers go stale; a
    //! paused node's deliveries and timers are held), since there is no
    //! process per node to kill.
    use super::*;

    pub fn block_on<F: std::future::Future>(_seed: u64, f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(f)
    }

    pub fn create_nodes<P>(w: &Shared<P>, n: usize)
    where
        P: Protocol + Send + 'static,
        P::Node: Send,
        Msg<P>: Send,
    {
        for i in 0..n {
            tokio::spawn(serve(w.clone(), i, address(i)));
        }
    }

    pub fn spawn_on<P, F>(_w: &Shared<P>, _on: Place, f: F)
    where
        P: Protocol,
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(f);
    }

    pub fn kill<P: Protocol>(_w: &Shared<P>, _i: usize) {}
    pub fn restart<P: Protocol>(_w: &Shared<P>, _i: usize) {}
    pub fn pause<P: Protocol>(_w: &Shared<P>, _i: usize) {}
    pub fn resume<P: Protocol>(_w: &Shared<P>, _i: usize) {}
}
