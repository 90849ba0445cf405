//! The process driver (`chaoslab run SCENARIO --bin PROGRAM`): Maelstrom
//! nodes written in Python (tests/fixtures/maelstrom/, standard library
//! only) pass and fail as they should under chaoslab's faults, and every
//! mistake a learner's node can make stops the run, in bounded time, with
//! a clear error and exit code 5; no process outlives its run.
//!
//! These runs are real time: each lasts a few seconds of wall time, with
//! timeouts generous enough that a loaded machine fails nothing, and
//! verdicts that do not hinge on a few milliseconds.
//!
//! ```sh
//! cargo test -p chaoslab --test it process_driver:: -- --nocapture
//! ```

// These tests time real runs of processes: the wall clock is what they
// measure.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sim::metric::Metric;

const FIXTURES: &str = "tests/fixtures/maelstrom";

/// Whether python3 runs here; the tests skip (saying why) when not.
fn python() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: python3 is not installed, and the fixture nodes are Python scripts");
    }
    found
}

/// One run of `chaoslab run` with processes.
struct Ran {
    code: i32,
    out: String,
    err: String,
    took: Duration,
    stderr_dir: PathBuf,
}

static RUNS: AtomicU32 = AtomicU32::new(0);

/// Runs `scenario` (a fixture) with every server the fixture `node`.
fn run(scenario: &str, node: &str, extra: &[&str]) -> Ran {
    let dir = std::env::temp_dir().join(format!(
        "chaoslab-it-process-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let scenario = format!("{FIXTURES}/{scenario}");
    let bin = format!("{FIXTURES}/{node}");
    let dir_arg = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "run",
        &scenario,
        "--bin",
        &bin,
        "--node-stderr",
        &dir_arg,
        "--json",
    ];
    args.extend_from_slice(extra);
    let start = Instant::now();
    let (code, out, err) = crate::common::chaoslab(&args);
    let ran = Ran {
        code,
        out,
        err,
        took: start.elapsed(),
        stderr_dir: dir,
    };
    ran.no_orphans();
    ran
}

impl Ran {
    #[track_caller]
    fn exits(&self, code: i32) -> &Ran {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.out, self.err
        );
        self
    }

    #[track_caller]
    fn warns(&self, text: &str) -> &Ran {
        assert!(
            self.err.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.err
        );
        self
    }

    /// The report's figures (`--json`).
    fn figures(&self) -> Vec<Metric> {
        let json: serde_json::Value = serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{}", self.out));
        serde_json::from_value(json["metrics"].clone()).expect("metrics read back")
    }

    #[track_caller]
    fn figure(&self, name: &str) -> Metric {
        self.figures()
            .into_iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no figure {name}:\n{}", self.out))
    }

    #[track_caller]
    fn count(&self, name: &str) -> u64 {
        self.figure(name)
            .value
            .as_count()
            .unwrap_or_else(|| panic!("{name} is not a count"))
    }

    /// The pid of every process the run started, by node, from the line
    /// each fixture prints first on its stderr.
    fn pids(&self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        let Ok(files) = std::fs::read_dir(&self.stderr_dir) else {
            return out;
        };
        let mut files: Vec<PathBuf> = files.flatten().map(|f| f.path()).collect();
        files.sort();
        for f in files {
            let node = f.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text.lines() {
                if let Some(pid) = line.strip_prefix("pid ") {
                    out.push((node.clone(), pid.trim().parse().unwrap()));
                }
            }
        }
        out
    }

    /// No process of the run is alive once chaoslab has exited (a killed
    /// process may take a moment to go, on a loaded machine: it is given
    /// 10 seconds).
    #[track_caller]
    fn no_orphans(&self) {
        let start = Instant::now();
        loop {
            let alive: Vec<(String, u32, String)> = self
                .pids()
                .into_iter()
                .filter_map(|(node, pid)| {
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let cmdline = String::from_utf8_lossy(&cmdline).into_owned();
                    cmdline
                        .contains("fixtures/maelstrom")
                        .then_some((node, pid, cmdline))
                })
                .collect();
            if alive.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "processes outlived their run: {alive:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The instants (seconds, the node's monotonic clock) at which the
    /// timer of `node` ticked (fixtures run through wrapped.sh log them).
    fn ticks(&self, node: &str) -> Vec<f64> {
        let text = std::fs::read_to_string(self.stderr_dir.join(format!("{node}.stderr")))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| l.strip_prefix("tick "))
            .map(|t| t.trim().parse().unwrap())
            .collect()
    }

    #[track_caller]
    fn within(&self, limit: Duration) -> &Ran {
        assert!(
            self.took < limit,
            "the run took {:?}, more than {limit:?}",
            self.took
        );
        self
    }
}

impl Drop for Ran {
    /// The stderr folder goes with the run, unless a test failed (it is
    /// kept to look at).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.stderr_dir);
        }
    }
}

#[test]
fn a_correct_echo_node_passes() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "echo.py", &[]);
    r.exits(0).within(Duration::from_secs(30));
    assert_eq!(r.count("echo mismatches"), 0);
    assert!(r.count("requests") >= 40, "{}", r.out);
    let driver = r.figure("driver");
    assert!(
        driver.note.contains("not bit-for-bit reproducible"),
        "{driver:?}"
    );
    let pids = r.pids();
    assert_eq!(pids.len(), 3, "one process per server: {pids:?}");
    let maelstrom = r.figure("maelstrom").value.show(0);
    assert!(maelstrom.contains("process"), "{maelstrom}");
}

#[test]
fn a_correct_broadcast_node_passes_without_faults() {
    if !python() {
        return;
    }
    let r = run("broadcast-none.toml", "broadcast.py", &[]);
    r.exits(0);
    assert_eq!(r.count("lost"), 0);
    assert!(r.count("acknowledged") >= 5);
}

#[test]
fn a_correct_broadcast_node_passes_under_a_partition() {
    if !python() {
        return;
    }
    let r = run("broadcast-partition.toml", "broadcast.py", &[]);
    r.exits(0);
    assert_eq!(r.count("lost"), 0);
}

#[test]
fn a_correct_broadcast_node_passes_a_crash_and_restart() {
    if !python() {
        return;
    }
    let r = run("broadcast-crash.toml", "broadcast.py", &[]);
    r.exits(0);
    assert_eq!(r.count("lost"), 0);
    // The crash killed n2's process and the restart started another,
    // which was given init again (it answered: the run passed).
    let n2: Vec<u32> = r
        .pids()
        .into_iter()
        .filter(|(n, _)| n == "n2")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(n2.len(), 2, "two lives of n2: {n2:?}");
    assert_ne!(n2[0], n2[1]);
    let log = std::fs::read_to_string(r.stderr_dir.join("n2.stderr")).unwrap();
    assert_eq!(
        log.matches("init: I am n2").count(),
        2,
        "each life of n2 got init:\n{log}"
    );
}

#[test]
fn a_correct_broadcast_node_passes_a_pause_and_resume() {
    if !python() {
        return;
    }
    let r = run("broadcast-pause.toml", "broadcast.py", &[]);
    r.exits(0);
    assert_eq!(r.count("lost"), 0);
    // SIGSTOP and SIGCONT, not a crash: n2 ran as one process.
    let n2 = r.pids().into_iter().filter(|(n, _)| n == "n2").count();
    assert_eq!(n2, 1);
}

/// The largest gap between two ticks of a timer that ticks every 100ms.
fn largest_gap(ticks: &[f64]) -> f64 {
    ticks.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

#[test]
fn a_node_started_by_a_wrapper_script_is_paused_as_a_whole() {
    if !python() {
        return;
    }
    // wrapped.sh starts broadcast.py as its child (no exec), as many a
    // run.sh does: SIGSTOP must reach the child too. Its timer (every
    // 100ms) logs each tick; the pause (0.5s to 1s) shows as a gap.
    let r = run(
        "broadcast-pause.toml",
        "wrapped.sh",
        &["--bin-arg", "broadcast.py"],
    );
    r.exits(0);
    assert_eq!(r.count("lost"), 0);
    let n2 = r.ticks("n2");
    assert!(n2.len() >= 10, "n2's timer ticked: {n2:?}");
    let gap = largest_gap(&n2);
    assert!(
        gap >= 0.4,
        "n2's timer ran on during its 0.5s pause (largest gap {gap:.3}s): {n2:?}"
    );
}

#[test]
fn a_crash_kills_a_node_started_by_a_wrapper_script_and_its_children() {
    if !python() {
        return;
    }
    // The node lingers after its stdin closes (only a signal ends it) and
    // runs under a shell: the crash must kill the first life of n2, shell
    // and python both (`run` checks that no process outlives the run).
    let r = run(
        "broadcast-crash.toml",
        "wrapped.sh",
        &["--bin-arg", "broadcast.py"],
    );
    r.exits(0);
    assert_eq!(r.count("lost"), 0);
    let n2 = r.pids().into_iter().filter(|(n, _)| n == "n2").count();
    assert_eq!(n2, 2, "two lives of n2");
}

#[test]
fn a_broadcast_that_sends_once_loses_values_under_a_partition() {
    if !python() {
        return;
    }
    // The same node passes on a healthy network ...
    let healthy = run("broadcast-none.toml", "broadcast_once.py", &[]);
    healthy.exits(0);
    assert_eq!(healthy.count("lost"), 0);
    // ... and the partition drops what it sends once, for good.
    let r = run("broadcast-partition.toml", "broadcast_once.py", &[]);
    r.exits(1);
    assert!(r.count("lost") >= 1, "{}", r.out);
    let verdict = r.figure("verdict").value.show(0);
    assert!(verdict.contains("lost"), "{verdict}");
    r.warns("did not hold");
}

#[test]
fn a_node_that_never_answers_init_is_named_within_the_timeout() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "silent.py", &["--init-timeout", "2"]);
    r.exits(5)
        .within(Duration::from_secs(20))
        .warns("did not answer init within 2s (--init-timeout)")
        .warns("silent.py")
        .warns("never answering");
}

#[test]
fn a_node_whose_init_ok_lacks_in_reply_to_never_answers_init() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "init_no_reply.py", &["--init-timeout", "2"]);
    r.exits(5)
        .within(Duration::from_secs(20))
        .warns("did not answer init within 2s")
        .warns("init_ok must carry in_reply_to: 1");
}

#[test]
fn a_node_that_answers_every_echo_with_an_error_fails() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "errors.py", &[]);
    r.exits(1).warns("did not hold");
    assert!(r.count("unanswered") >= 40, "{}", r.out);
}

#[test]
fn a_node_that_prints_a_line_that_is_not_json_is_shown_the_line() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "garbage.py", &[]);
    r.exits(5)
        .within(Duration::from_secs(20))
        .warns("printed a line that is not a Maelstrom message")
        .warns("got an echo: ")
        .warns("debugging output belongs on stderr");
    let json: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(
        json["outcome"], "fail",
        "the report of the run so far fails"
    );
}

#[test]
fn a_node_that_exits_is_shown_with_its_status_and_stderr() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "exits.py", &[]);
    r.exits(5)
        .within(Duration::from_secs(20))
        .warns("exited by itself with exit status 1")
        .warns("RuntimeError: the third echo breaks this node");
}

#[test]
fn a_node_that_floods_is_killed_and_named() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "flood.py", &[]);
    r.exits(5)
        .within(Duration::from_secs(20))
        .warns("printed more than 10000 lines within one second");
}

#[test]
fn a_run_that_cannot_start_is_bad_input() {
    if !python() {
        return;
    }
    let r = run("echo.toml", "no-such-node.py", &[]);
    r.exits(2).warns("no such file");
    // A file without the executable bit, or a name not on PATH, is
    // refused before any file is written (the trace is not made).
    refused(
        None,
        &["--bin", &format!("{FIXTURES}/maelnode.py")],
        "the file is not executable",
    );
    refused(
        None,
        &["--bin", "nosuchprog-xyz-chaoslab"],
        "no program of that name on PATH",
    );
    // Only Maelstrom scenarios run processes; the reference nodes' bug
    // flags do not apply to them.
    let (code, _, err) = crate::common::chaoslab(&[
        "run",
        "single/normal",
        "--bin",
        &format!("{FIXTURES}/echo.py"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("protocol = \"maelstrom\""), "{err}");
    let (code, _, err) = crate::common::chaoslab(&[
        "run",
        "labs/bug-broadcast-no-retry",
        "--bin",
        &format!("{FIXTURES}/broadcast.py"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bug = \"no-retry\""), "{err}");
}

/// `chaoslab run` of the echo fixture with `echo.py` and `extra`, or of
/// `scenario` (text) written to a file: it must be refused (exit 2) with
/// an error containing `says`, before any node starts.
#[track_caller]
fn refused(scenario: Option<&str>, extra: &[&str], says: &str) {
    let dir = std::env::temp_dir().join(format!(
        "chaoslab-it-process-refused-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scenario.toml");
    let path = match scenario {
        Some(text) => {
            std::fs::write(&file, text).unwrap();
            file.to_string_lossy().into_owned()
        }
        None => format!("{FIXTURES}/echo.toml"),
    };
    let stderr_dir = dir.join("stderr");
    let bin = format!("{FIXTURES}/echo.py");
    let sd = stderr_dir.to_string_lossy().into_owned();
    let trace = dir.join("trace.jsonl");
    let tr = trace.to_string_lossy().into_owned();
    let mut args = vec!["run", &path, "--node-stderr", &sd, "--trace", &tr];
    if !extra.contains(&"--bin") {
        args.extend_from_slice(&["--bin", &bin]);
    }
    args.extend_from_slice(extra);
    let (code, _, err) = crate::common::chaoslab(&args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(says), "stderr lacks {says:?}:\n{err}");
    assert!(!stderr_dir.exists(), "a refused run made {stderr_dir:?}");
    assert!(!trace.exists(), "a refused run made {trace:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The echo fixture with `more` appended.
fn echo_with(more: &str) -> String {
    let text = std::fs::read_to_string(format!("{FIXTURES}/echo.toml")).unwrap();
    format!("{text}\n{more}\n")
}

#[test]
fn faults_a_process_cannot_have_are_refused() {
    // A clock fault sets chaoslab's clock, which a process does not read;
    // fsync faults act on the simulated disk.
    refused(
        Some(&echo_with(
            "[[faults]]\nat = \"1s\"\naction = \"clock\"\noffset = \"-500ms\"\ntarget = \"n2\"",
        )),
        &[],
        "action = \"clock\" cannot act on a node that is a process",
    );
    refused(
        Some(&echo_with(
            "[[faults]]\nat = \"1s\"\naction = \"fsync-loss\"\ntarget = \"n2\"",
        )),
        &[],
        "action = \"fsync-loss\" cannot act",
    );
    // A nemesis draws clock faults by default: the error lists the kinds
    // to write instead.
    refused(
        Some(&echo_with(
            "[nemesis]\ninterval = \"500ms\"\nfault_duration = \"200ms\"",
        )),
        &[],
        "the default kinds include it: list them in [nemesis], kinds = [\"partition\"",
    );
    refused(
        Some(&echo_with(
            "[nemesis]\ninterval = \"500ms\"\nfault_duration = \"200ms\"\nkinds = [\"pause\", \"clock\"]",
        )),
        &[],
        "remove \"clock\" from [nemesis] kinds",
    );
}

#[test]
fn flag_values_out_of_bounds_are_refused() {
    refused(None, &["--time-scale", "1e-300"], "--time-scale must be");
    refused(None, &["--time-scale", "1e300"], "--time-scale must be");
    refused(None, &["--init-timeout", "1e30"], "--init-timeout must be");
    refused(None, &["--init-timeout", "0"], "--init-timeout must be");
}

#[test]
fn the_trace_and_history_of_a_process_run_read_back() {
    if !python() {
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("chaoslab-it-process-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let history = dir.join("history.jsonl");
    let perfetto = dir.join("trace.json");
    let (t, h) = (
        trace.to_string_lossy().into_owned(),
        history.to_string_lossy().into_owned(),
    );
    let r = run("echo.toml", "echo.py", &["--trace", &t, "--history", &h]);
    r.exits(0);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(
        text.contains("\"echo_ok\""),
        "the trace has the nodes' replies"
    );
    assert!(Path::new(&history).exists());
    let p = perfetto.to_string_lossy().into_owned();
    let (code, _, err) = crate::common::chaoslab(&["export", &t, "--to", "perfetto", &p]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_process_outlives_chaoslab_even_when_it_is_killed() {
    if !python() {
        return;
    }
    // chaoslab itself killed with SIGKILL mid-run (no Drop runs, no
    // unwinding): its node processes die with it, even nodes that do not
    // exit when their stdin closes.
    let dir =
        std::env::temp_dir().join(format!("chaoslab-it-process-killed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args([
            "run",
            &format!("{FIXTURES}/echo.toml"),
            "--bin",
            &format!("{FIXTURES}/lingers.py"),
            "--node-stderr",
            &dir.to_string_lossy(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ran = Ran {
        code: 0,
        out: String::new(),
        err: String::new(),
        took: Duration::ZERO,
        stderr_dir: dir.clone(),
    };
    let start = Instant::now();
    while ran.pids().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the nodes did not start: {:?}",
            ran.pids()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel delivers the parent's death signal at once; give the
    // processes a moment to be reaped by init.
    let start = Instant::now();
    loop {
        let alive: Vec<(String, u32)> = ran
            .pids()
            .into_iter()
            .filter(|(_, pid)| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("fixtures/maelstrom"))
            })
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "outlived a killed chaoslab: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
