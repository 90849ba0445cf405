//! `--trace FILE` streams: each record is written as the kernel makes it,
//! byte for byte what the recorded trace serialises to, and a trace that
//! cannot be written is a clear error (exit 2), found before the run when
//! the path cannot be opened.

use crate::support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use sim::kernel::TraceMode;
use sim::scenario::Scenario;
use sim::trace::JsonLines;
use support::chaoslab;

/// A writer into memory that the test keeps a handle on while the kernel
/// owns the sink.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The path of this test run's file `name`, in a temp folder of its own.
fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("chaoslab-trace-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

/// A scenario from the repository, by its path from the workspace root.
fn bundled(rel: &str) -> (String, Scenario) {
    let text = std::fs::read_to_string(format!("../{rel}")).unwrap();
    (text.clone(), nodes::parse(rel, &text).unwrap())
}

/// The trace as it was written before it streamed: every record kept, then
/// each serialised to one line.
fn recorded_then_written(s: &Scenario, seed: u64) -> (String, Vec<u8>) {
    let out = nodes::run(s, seed, TraceMode::Record).unwrap();
    let mut bytes = Vec::new();
    for r in out.trace.as_ref().expect("recorded") {
        serde_json::to_writer(&mut bytes, r).unwrap();
        bytes.push(b'\n');
    }
    (out.fingerprint, bytes)
}

fn streamed(s: &Scenario, seed: u64) -> (String, Vec<u8>) {
    let buf = Shared::default();
    let mode = TraceMode::Stream(Box::new(JsonLines::new(buf.clone())));
    let out = nodes::run(s, seed, mode).unwrap();
    assert!(out.trace.is_none(), "a streamed trace is not kept");
    assert!(out.trace_error.is_none(), "{:?}", out.trace_error);
    let bytes = buf.0.lock().unwrap().clone();
    (out.fingerprint, bytes)
}

/// An unfired trigger adds its record when the run finishes: the stream
/// must carry it too.
const UNFIRED: &str =
    "\n[[faults]]\nwhen = { event = \"fault\", action = \"crash\" }\ndelay = \"1s\"\n\
                       action = \"restart\"\ntarget = \"trigger-node\"\n";

#[test]
fn the_streamed_trace_is_byte_for_byte_the_recorded_trace_written_out() {
    let mut cases = Vec::new();
    for rel in [
        "scenarios/single/client-partitioned.toml",
        "scenarios/raft/bug-forget-vote.toml",
    ] {
        cases.push(bundled(rel).1);
    }
    let (normal, _) = bundled("scenarios/single/normal.toml");
    cases.push(nodes::parse("unfired.toml", &(normal + UNFIRED)).unwrap());
    for s in &cases {
        let (fp_recorded, recorded) = recorded_then_written(s, s.meta.seed);
        let (fp_streamed, streamed) = streamed(s, s.meta.seed);
        let off = nodes::run(s, s.meta.seed, TraceMode::Off).unwrap();
        assert_eq!(
            fp_recorded, fp_streamed,
            "{}: streaming changed the run",
            s.file
        );
        assert_eq!(
            off.fingerprint, fp_streamed,
            "{}: tracing changed the run",
            s.file
        );
        assert!(
            recorded.len() > 10_000,
            "{}: a trace worth comparing",
            s.file
        );
        assert!(
            recorded == streamed,
            "{}: the streamed trace ({} bytes) differs from the recorded one ({} bytes)",
            s.file,
            streamed.len(),
            recorded.len()
        );
    }
    let last = String::from_utf8(streamed(&cases[2], 1).1).unwrap();
    assert!(
        last.lines().last().unwrap().contains("never fired"),
        "the unfired trigger's record, made as the run finishes, is the last line"
    );
}

#[test]
fn run_trace_file_holds_what_the_recorded_trace_serialises_to() {
    let rel = "scenarios/single/client-partitioned.toml";
    let (_, s) = bundled(rel);
    let trace = tmp("cli.jsonl");
    chaoslab(&["run", &format!("../{rel}"), "--trace", &trace]).exits(0);
    let written = std::fs::read(&trace).unwrap();
    let (_, recorded) = recorded_then_written(&s, s.meta.seed);
    assert!(
        written == recorded,
        "the file differs from the recorded trace"
    );
}

#[test]
fn a_failing_run_streams_its_whole_trace() {
    let text = "[meta]\nname = \"too-hopeful\"\nduration = \"5s\"\n[system]\nprotocol = \"single\"\n\
                [topology]\nservers = 1\nclients = 2\n[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n1\"\n\
                [expect]\nmin_availability_outside_partition = 1.0\n";
    let file = tmp("too-hopeful.toml");
    std::fs::write(&file, text).unwrap();
    let trace = tmp("too-hopeful.jsonl");
    chaoslab(&["run", &file, "--trace", &trace])
        .exits(1)
        .warns("replay it with");
    let s = nodes::parse(&file, text).unwrap();
    let (_, recorded) = recorded_then_written(&s, 1);
    assert!(std::fs::read(&trace).unwrap() == recorded);
    // A trace that cannot be written does not hide the failure: the history
    // is written, the report and the replay command printed, then the error.
    if std::path::Path::new("/dev/full").exists() {
        let history = tmp("too-hopeful-history.jsonl");
        let ran = chaoslab(&["run", &file, "--trace", "/dev/full", "--history", &history])
            .exits(2)
            .prints("too-hopeful")
            .warns("replay it with")
            .warns("error: cannot write the trace to /dev/full");
        let replay = ran.err.find("replay it with").unwrap();
        let error = ran.err.find("error: cannot write").unwrap();
        assert!(replay < error, "the error comes last:\n{}", ran.err);
        let lines = std::fs::read_to_string(&history).unwrap();
        assert!(
            lines.lines().count() > 10,
            "the history is written:\n{lines}"
        );
    }
}

/// A trace or history path that cannot be opened is refused before the run:
/// no report, and the other file, which a run would have filled, is empty.
#[test]
fn a_trace_or_history_path_that_cannot_be_opened_is_refused_before_the_run() {
    let dir = tmp("no-such-folder");
    for (what, flag, other) in [
        ("trace", "--trace", "--history"),
        ("history", "--history", "--trace"),
    ] {
        let path = format!("{dir}/x/{what}.jsonl");
        let fine = tmp(&format!("refused-{what}-other.jsonl"));
        let ran = chaoslab(&["run", other, &fine, flag, &path])
            .exits(2)
            .warns(&format!("error: cannot write the {what} to {path}"));
        assert!(ran.out.is_empty(), "no run, so no report: {}", ran.out);
        let written = std::fs::read(&fine).map(|b| b.len()).unwrap_or(0);
        assert_eq!(written, 0, "{other} {fine}: the run did not start");
    }
}

#[test]
fn a_full_disk_while_the_trace_streams_is_an_error_not_a_panic() {
    if !std::path::Path::new("/dev/full").exists() {
        println!("skipped: no /dev/full on this system");
        return;
    }
    let ran = chaoslab(&["run", "--trace", "/dev/full"])
        .exits(2)
        .warns("error: cannot write the trace to /dev/full")
        .warns("the file holds only the records written before it");
    assert!(!ran.err.contains("panicked"), "{}", ran.err);
}
