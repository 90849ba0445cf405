//! The processes: starting one per server life, its pipes, its signals.
//!
//! [`Host`] is shared by the driver's loop and every [`ProcessNode`]. A
//! node starts its process when it is handed its first message (`init`:
//! only then does it know its name), writes each envelope it is handed to
//! the process's stdin as one line (a writer thread per process, so a
//! process that stops reading never blocks the run), and kills the
//! process with SIGKILL when the kernel drops it (a crash, or the end of
//! the run). A reader thread per process stamps each line the process
//! prints with the wall-clock instant it arrived and hands it to the
//! driver's loop, which injects it into the run at that instant's virtual
//! time. Stderr goes straight to a file per node.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nodes::maelstrom::{Envelope, MaelNode, Out};

/// The most lines one node may print within one second of wall time; a
/// node that prints more is flooding (a loop without a pause): it is
/// killed and the run stops.
pub const FLOOD_LINES_PER_SECOND: u64 = 10_000;

/// The longest line a node may print (1 MiB, its newline not counted).
pub const LINE_BYTES_MAX: usize = 1 << 20;

/// The most lines the processes may have printed that the driver's loop
/// has not taken in yet; more is a flood too (the node that printed the
/// line over the bound is named). The reader threads never wait for the
/// loop, so the rate above is the node's own, however slow chaoslab is
/// (a trace written to a slow disk); this bound keeps memory bounded.
pub const BACKLOG_LINES_MAX: u64 = 200_000;

/// The most bytes of such lines (256 MiB).
pub const BACKLOG_BYTES_MAX: u64 = 256 << 20;

/// What a reader thread heard from one process life.
#[derive(Debug)]
pub struct Heard {
    /// The server's name (`n1`).
    pub node: String,
    /// Which process (see [`Host::spawn`]): lines of a killed one are
    /// dropped.
    pub gen: u64,
    /// When it arrived (wall clock).
    pub at: Instant,
    pub what: What,
    /// The bytes this counts in the backlog.
    bytes: u64,
}

/// Lines read from the processes and not yet taken by the driver's loop.
#[derive(Default)]
struct Backlog {
    lines: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

/// The receiving end of what the processes print.
pub struct Inbox {
    rx: Receiver<Heard>,
    backlog: Arc<Backlog>,
}

impl Inbox {
    /// The next thing heard, waiting up to `wait`.
    pub fn recv_timeout(&self, wait: Duration) -> Result<Heard, mpsc::RecvTimeoutError> {
        let h = self.rx.recv_timeout(wait)?;
        use std::sync::atomic::Ordering::Relaxed;
        self.backlog.lines.fetch_sub(1, Relaxed);
        self.backlog.bytes.fetch_sub(h.bytes, Relaxed);
        Ok(h)
    }
}

#[derive(Debug)]
pub enum What {
    /// One line, without its newline.
    Line(String),
    /// Stdout closed: the process exited (or closed it).
    Eof,
    /// More than [`FLOOD_LINES_PER_SECOND`] lines within a second
    /// (`None`), or the backlog passed its bound: the lines waiting.
    Flood(Option<u64>),
    /// A line longer than [`LINE_BYTES_MAX`]: its first bytes.
    TooLong(String),
}

/// One live process.
struct Live {
    node: String,
    child: Child,
    spawned: Instant,
    answered_init: bool,
    /// Stopped with SIGSTOP (a paused node): since when.
    stopped: Option<Instant>,
}

/// What every process of the run shares: how to start one, where its
/// stderr goes, and the live ones.
pub struct Host {
    pub bin: PathBuf,
    /// The program as the user wrote it, for messages.
    pub shown: String,
    pub args: Vec<String>,
    pub stderr_dir: PathBuf,
    heard: Sender<Heard>,
    backlog: Arc<Backlog>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_gen: u64,
    /// By generation.
    live: BTreeMap<u64, Live>,
    /// By node name: its current generation.
    current: BTreeMap<String, u64>,
    /// The first process that could not be started: its node and why.
    spawn_error: Option<(String, String)>,
    /// Lives started per node, for the stderr file's headers.
    lives: BTreeMap<String, u64>,
}

impl Host {
    /// A host for `bin ARGS`, with stderr files in `stderr_dir`, and the
    /// receiving end of what the processes print.
    pub fn new(
        bin: PathBuf,
        shown: String,
        args: Vec<String>,
        stderr_dir: PathBuf,
    ) -> (Arc<Host>, Inbox) {
        // Unbounded, so that a reader never waits for the loop (a flood is
        // told by the node's own rate), with a bound on the backlog.
        let (tx, rx) = mpsc::channel();
        let backlog = Arc::new(Backlog::default());
        let host = Host {
            bin,
            shown,
            args,
            stderr_dir,
            heard: tx,
            backlog: backlog.clone(),
            state: Mutex::new(State::default()),
        };
        (Arc::new(host), Inbox { rx, backlog })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the table as it was: the
        // processes in it must still be killed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stderr file of `node`.
    pub fn stderr_file(&self, node: &str) -> PathBuf {
        self.stderr_dir.join(format!("{node}.stderr"))
    }

    /// Starts a process for server `node`; its generation and stdin, or
    /// `None` (the error is kept for [`Host::spawn_error`]).
    fn spawn(self: &Arc<Self>, node: &str) -> Option<(u64, Sender<String>, u32)> {
        let life = {
            let mut st = self.state();
            let n = st.lives.entry(node.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let path = self.stderr_file(node);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| {
                writeln!(f, "--- chaoslab: {node}, process {life}: {}", self.shown)?;
                Ok(f)
            });
        let stderr = match stderr {
            Ok(f) => f,
            Err(e) => {
                self.fail_spawn(
                    node,
                    format!(
                        "error: cannot write {node}'s stderr to {}: {e}",
                        path.display()
                    ),
                );
                return None;
            }
        };
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        // Its own process group (pgid = its pid): a node started through a
        // wrapper script (`run.sh` that starts `python3 node.py` without
        // exec) is stopped, continued and killed as a whole, children too.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        die_with_parent(&mut cmd);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.fail_spawn(node, format!(
                    "error: cannot start {} for {node}: {e}\n  --bin must name a program that can run (a script needs its #! line and the executable bit: chmod +x {})",
                    self.shown, self.shown
                ));
                return None;
            }
        };
        let pid = child.id();
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let gen = {
            let mut st = self.state();
            st.next_gen += 1;
            let gen = st.next_gen;
            st.live.insert(
                gen,
                Live {
                    node: node.to_string(),
                    child,
                    spawned: Instant::now(),
                    answered_init: false,
                    stopped: None,
                },
            );
            st.current.insert(node.to_string(), gen);
            gen
        };
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name(format!("{node} stdin"))
            .spawn(move || write_lines(stdin, rx))
            .expect("a thread starts");
        let heard = self.heard.clone();
        let backlog = self.backlog.clone();
        let name = node.to_string();
        std::thread::Builder::new()
            .name(format!("{node} stdout"))
            .spawn(move || read_lines(stdout, name, gen, heard, backlog))
            .expect("a thread starts");
        Some((gen, tx, pid))
    }

    fn fail_spawn(&self, node: &str, why: String) {
        let mut st = self.state();
        st.spawn_error.get_or_insert((node.to_string(), why));
    }

    /// Which node's process could not be started and why, if one could
    /// not.
    pub fn spawn_error(&self) -> Option<(String, String)> {
        self.state().spawn_error.clone()
    }

    /// Whether `gen` is the live process of `node` (lines of a killed
    /// process, still in the pipe, are not).
    pub fn is_current(&self, node: &str, gen: u64) -> bool {
        let st = self.state();
        st.current.get(node) == Some(&gen) && st.live.contains_key(&gen)
    }

    /// Notes that process `gen` answered `init`.
    pub fn answered_init(&self, gen: u64) {
        if let Some(l) = self.state().live.get_mut(&gen) {
            l.answered_init = true;
        }
    }

    /// The live process that has waited longest for its `init_ok`: its
    /// node and when it started.
    pub fn oldest_without_init(&self) -> Option<(String, Instant)> {
        self.state()
            .live
            .values()
            .filter(|l| !l.answered_init && l.stopped.is_none())
            .min_by_key(|l| l.spawned)
            .map(|l| (l.node.clone(), l.spawned))
    }

    /// Whether every live process answered `init`.
    pub fn all_answered_init(&self) -> bool {
        self.state()
            .live
            .values()
            .all(|l| l.answered_init || l.stopped.is_some())
    }

    /// Kills process `gen` (SIGKILL) and waits for it.
    pub fn kill(&self, gen: u64) {
        let live = {
            let mut st = self.state();
            let live = st.live.remove(&gen);
            if let Some(l) = &live {
                if st.current.get(&l.node) == Some(&gen) {
                    st.current.remove(&l.node);
                }
            }
            live
        };
        if let Some(mut l) = live {
            // SIGKILL ends a stopped process too; the whole group, so
            // that what a wrapper script started dies with it.
            signal_group(&l.child, libc::SIGKILL);
            let _ = l.child.kill();
            let _ = l.child.wait();
        }
    }

    /// Kills every live process: the end of a run, or an error.
    pub fn kill_all(&self) {
        let gens: Vec<u64> = self.state().live.keys().copied().collect();
        for g in gens {
            self.kill(g);
        }
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the live process of `node`,
    /// to match `paused`.
    pub fn set_paused(&self, node: &str, paused: bool) {
        let mut st = self.state();
        let Some(gen) = st.current.get(node).copied() else {
            return;
        };
        let Some(l) = st.live.get_mut(&gen) else {
            return;
        };
        if l.stopped.is_some() == paused {
            return;
        }
        // The time a process spends stopped does not count against its
        // `init` timeout.
        match l.stopped.take() {
            Some(since) => l.spawned += since.elapsed(),
            None => l.stopped = Some(Instant::now()),
        }
        let signal = if paused { libc::SIGSTOP } else { libc::SIGCONT };
        signal_group(&l.child, signal);
    }

    /// How process `gen` ended, once it has (waiting up to `within`), and
    /// takes it out of the live ones.
    pub fn exit_status(&self, gen: u64, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            {
                let mut st = self.state();
                let l = st.live.get_mut(&gen)?;
                if let Ok(Some(status)) = l.child.try_wait() {
                    let node = l.node.clone();
                    st.live.remove(&gen);
                    if st.current.get(&node) == Some(&gen) {
                        st.current.remove(&node);
                    }
                    return Some(status);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The last `n` lines of `node`'s stderr file.
    pub fn stderr_tail(&self, node: &str, n: usize) -> Vec<String> {
        tail(&self.stderr_file(node), n)
    }
}

/// The last `n` lines of a file (none if it cannot be read).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let mut buf = Vec::new();
    // The tail of a large file is in its last 64 KiB.
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > 1 << 16 {
        use std::io::Seek;
        let _ = f.seek(std::io::SeekFrom::Start(len - (1 << 16)));
    }
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Sends `signal` to the process group of `child` (each node is the
/// leader of its own group), so children of a wrapper script get it too.
fn signal_group(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on the group whose leader is a child we spawned and
    // have not reaped (it is still in `live`, whose entry is removed
    // before the wait), so the group id cannot have been reused.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), signal);
    }
}

/// On Linux, a started process is killed when chaoslab dies, however it
/// dies (even SIGKILL): no orphan keeps running. This covers the process
/// chaoslab started, not its children (a wrapper script's `python3
/// node.py`): those are killed with their group on every other way a run
/// ends (its end, an error, a panic), but not when chaoslab itself is
/// killed with SIGKILL, unless the wrapper `exec`s its program.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches only the child
        // between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// A process's stdin: each line as it comes, flushed once the lines
/// waiting are written. Ends when the node is dropped or the pipe breaks.
fn write_lines(stdin: std::process::ChildStdin, lines: Receiver<String>) {
    // A write to a process that died must fail with EPIPE, not kill
    // chaoslab (whose main restores SIGPIPE's default action): block the
    // signal in this thread, where the write happens.
    // SAFETY: a signal set built by sigemptyset/sigaddset, and this
    // thread's own mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut w = std::io::BufWriter::new(stdin);
    while let Ok(line) = lines.recv() {
        let mut ok = w.write_all(line.as_bytes()).and(w.write_all(b"\n"));
        while let Ok(more) = lines.try_recv() {
            ok = ok.and(w.write_all(more.as_bytes())).and(w.write_all(b"\n"));
        }
        if ok.and(w.flush()).is_err() {
            return;
        }
    }
}

/// A process's stdout: each line, stamped with when it arrived, to the
/// driver's loop; after a flood or a line too long, nothing more is
/// handed over.
fn read_lines(
    stdout: std::process::ChildStdout,
    node: String,
    gen: u64,
    heard: Sender<Heard>,
    backlog: Arc<Backlog>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut r = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut window = Instant::now();
    let mut in_window = 0u64;
    loop {
        line.clear();
        // The line and its newline (and a \r before it).
        let read = (&mut r)
            .take(LINE_BYTES_MAX as u64 + 2)
            .read_until(b'\n', &mut line);
        let at = Instant::now();
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        let what = match read {
            Ok(0) | Err(_) => What::Eof,
            Ok(_) if line.len() > LINE_BYTES_MAX => {
                let head = String::from_utf8_lossy(&line[..200]).into_owned();
                What::TooLong(head)
            }
            Ok(_) => {
                if at.duration_since(window) >= Duration::from_secs(1) {
                    window = at;
                    in_window = 0;
                }
                in_window += 1;
                let waiting = backlog.lines.load(Relaxed);
                let waiting_bytes = backlog.bytes.load(Relaxed);
                if in_window > FLOOD_LINES_PER_SECOND {
                    What::Flood(None)
                } else if waiting >= BACKLOG_LINES_MAX || waiting_bytes >= BACKLOG_BYTES_MAX {
                    What::Flood(Some(waiting))
                } else {
                    What::Line(String::from_utf8_lossy(&line).into_owned())
                }
            }
        };
        let bytes = match &what {
            What::Line(l) => l.len() as u64,
            _ => 0,
        };
        backlog.lines.fetch_add(1, Relaxed);
        backlog.bytes.fetch_add(bytes, Relaxed);
        let last = !matches!(what, What::Line(_));
        let eof = matches!(what, What::Eof);
        let sent = heard.send(Heard {
            node: node.clone(),
            gen,
            at,
            what,
            bytes,
        });
        if sent.is_err() || eof {
            return;
        }
        if last {
            // The driver kills the process now. Until then its stdout
            // stays open (and read, to no one), so that it is not a broken
            // pipe that ends it first and fills its stderr with the wrong
            // story.
            let _ = std::io::copy(&mut r, &mut std::io::sink());
            return;
        }
    }
}

/// A server's node when the node is a process: each envelope it is
/// handed becomes a line on the process's stdin. What the process prints
/// reaches the run through the driver's loop, not through this node's
/// handlers, which therefore send nothing themselves.
pub struct ProcessNode {
    host: Arc<Host>,
    /// The process, once started: its generation, stdin and pid.
    proc: Option<(u64, Sender<String>, u32)>,
    /// The process could not be started (said once, by the host).
    failed: bool,
}

impl ProcessNode {
    pub fn new(host: Arc<Host>) -> ProcessNode {
        ProcessNode {
            host,
            proc: None,
            failed: false,
        }
    }
}

impl std::fmt::Debug for ProcessNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.proc {
            Some((gen, _, pid)) => write!(f, "ProcessNode(pid {pid}, process {gen})"),
            None => f.write_str("ProcessNode(not started)"),
        }
    }
}

impl MaelNode for ProcessNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if self.proc.is_none() && !self.failed {
            self.proc = self.host.spawn(out.me());
            self.failed = self.proc.is_none();
        }
        if let Some((_, stdin, _)) = &self.proc {
            // The writer thread is gone only once the pipe broke: the
            // process died, which the driver learns from its stdout.
            let _ = stdin.send(msg.to_line());
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        match &self.proc {
            Some((_, _, pid)) => vec![("pid", pid.to_string())],
            None => Vec::new(),
        }
    }

    /// A process cannot be copied in the state it is in: the process
    /// driver runs only under `chaoslab run --bin`, which never forks a
    /// run (`explore` does, and takes no `--bin`).
    fn clone_node(&self) -> Box<dyn MaelNode> {
        panic!("a node that is a process cannot be copied (chaoslab explore forks runs; it does not run processes)")
    }
}

impl Drop for ProcessNode {
    /// The kernel drops a node when it crashes and when the run ends: the
    /// process dies with it (SIGKILL).
    fn drop(&mut self) {
        if let Some((gen, _, _)) = self.proc.take() {
            self.host.kill(gen);
        }
    }
}
