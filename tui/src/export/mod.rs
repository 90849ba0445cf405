//! Exports of a run for the viewers people already use (docs/export.md):
//! Chrome's Trace Event Format JSON for Perfetto and chrome://tracing, and
//! ShiViz's vector-clock log for its Lamport diagram.
//!
//! Each export is a [`TraceSink`]: it is written as the run goes, from the
//! same records `--trace` writes, so an export keeps memory bounded by what
//! is in flight (open messages, open operations), not by the run's length.
//! [`Fanout`] hands every record to several sinks when `--trace` and one or
//! more `--export` are given together.

mod perfetto;
pub(crate) mod read;
mod shiviz;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sim::trace::{TraceRecord, TraceSink};

pub use perfetto::Perfetto;
pub use shiviz::{Shiviz, SHIVIZ_REGEX};

/// The formats `--export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Chrome's Trace Event Format (JSON object form): Perfetto, chrome://tracing.
    Perfetto,
    /// ShiViz's log: a parsing regex, then per event a host line with a
    /// vector clock and an event line.
    Shiviz,
}

impl Format {
    /// The names a user may give, as `--help` and the errors list them.
    pub const NAMES: &'static str = "perfetto, shiviz";

    pub fn parse(name: &str) -> Result<Format, String> {
        match name {
            "perfetto" => Ok(Format::Perfetto),
            "shiviz" => Ok(Format::Shiviz),
            other => Err(format!(
                "error: unknown export format `{other}`: valid formats are {} \
                 (usage: --export FORMAT FILE)",
                Format::NAMES
            )),
        }
    }

    /// What the file is, for messages: "the Perfetto export".
    pub fn what(self) -> &'static str {
        match self {
            Format::Perfetto => "the Perfetto export",
            Format::Shiviz => "the ShiViz export",
        }
    }

    /// A sink writing this format to `out`; `title` names the run (the
    /// scenario and seed) where the format has room for it.
    pub fn sink<W: Write + Send + 'static>(self, out: W, title: &str) -> Box<dyn TraceSink> {
        match self {
            Format::Perfetto => Box::new(Perfetto::new(out, title)),
            Format::Shiviz => Box::new(Shiviz::new(out, title)),
        }
    }
}

/// One `--export FORMAT FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub format: Format,
    pub path: PathBuf,
}

/// The `--export` values as clap collects them (FORMAT FILE pairs, flat).
pub fn parse_exports(values: &[String]) -> Result<Vec<Export>, String> {
    values
        .chunks(2)
        .map(|pair| match pair {
            [format, path] => Ok(Export {
                format: Format::parse(format)?,
                path: PathBuf::from(path),
            }),
            _ => Err("error: --export takes two values: FORMAT FILE".to_string()),
        })
        .collect()
}

/// What a node's name says it is. chaoslab names servers `n1..nN` and
/// clients `c1..cK` (`sim::node::Cluster`); anything else (a trace from
/// another tool: `n007`, a number past [`MAX_NODE_NUMBER`]) is kept apart,
/// in order of appearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NodeKind {
    Server(u32),
    Client(u32),
    Other,
}

pub(crate) fn node_kind(name: &str) -> NodeKind {
    // One spelling per number (`n7`, never `n07`), so that two names are
    // never one track; numbers small enough for every track id.
    let number = |rest: &str| {
        rest.parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_NODE_NUMBER && rest == n.to_string())
    };
    if let Some(n) = name.strip_prefix('n').and_then(number) {
        NodeKind::Server(n)
    } else if let Some(n) = name.strip_prefix('c').and_then(number) {
        NodeKind::Client(n)
    } else {
        NodeKind::Other
    }
}

/// The largest `N` of a node `nN` or `cN` taken for a server or client;
/// past it a name is [`NodeKind::Other`].
pub(crate) const MAX_NODE_NUMBER: u32 = 99_999;

/// Virtual nanoseconds as the Trace Event Format's microseconds. A `f64`
/// holds a run of days to the nanosecond, and serde_json prints it back as
/// the shortest decimal that reads as the same number, so `155765742` ns is
/// written `155765.742`.
pub(crate) fn micros(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Virtual nanoseconds as seconds with every digit: `5.009796009s`.
pub(crate) fn seconds(ns: u64) -> String {
    format!("{}.{:09}s", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// `--export-window FROM..TO`: the part of the run an export shows, both
/// ends included (`4s..6s`, `4s..`, `..500ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: u64,
    pub to: Option<u64>,
}

impl Window {
    pub fn parse(text: &str) -> Result<Window, String> {
        let usage = "write FROM..TO with durations of virtual time, e.g. 4s..6s, 4s.. or ..500ms";
        let (from, to) = text
            .split_once("..")
            .ok_or_else(|| format!("error: --export-window `{text}`: {usage}"))?;
        let bound = |s: &str| -> Result<Option<u64>, String> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            sim::time::parse_duration(s)
                .map(Some)
                .map_err(|e| format!("error: --export-window `{text}`: {e}"))
        };
        let window = Window {
            from: bound(from)?.unwrap_or(0),
            to: bound(to)?,
        };
        if window.to.is_some_and(|to| to < window.from) {
            return Err(format!(
                "error: --export-window `{text}` ends before it starts: {usage}"
            ));
        }
        Ok(window)
    }

    fn holds(&self, t: u64) -> bool {
        t >= self.from && self.to.is_none_or(|to| t <= to)
    }
}

/// Hands a sink only the records inside a [`Window`]. A message sent
/// before the window and delivered in it shows as a delivery without an
/// arrow, an operation invoked before it as a completion alone.
pub struct Windowed {
    window: Window,
    sink: Box<dyn TraceSink>,
}

impl Windowed {
    pub fn new(window: Window, sink: Box<dyn TraceSink>) -> Self {
        Windowed { window, sink }
    }
}

impl TraceSink for Windowed {
    fn record(&mut self, record: TraceRecord) {
        if self.window.holds(record.t) {
            self.sink.record(record);
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.sink.finish()
    }
}

/// A sink with the message that names it if it fails.
struct Named {
    /// "the trace to FILE", "the Perfetto export to FILE".
    what: String,
    /// Said after the error: what the file holds then.
    after: &'static str,
    sink: Box<dyn TraceSink>,
}

/// Every error met by the sinks of a [`Fanout`], each a whole line that
/// names its file; carried out of the kernel inside the one `io::Error` a
/// stream sink may return.
#[derive(Debug)]
pub struct SinkErrors(pub Vec<String>);

impl std::fmt::Display for SinkErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for SinkErrors {}

/// Hands each record to several sinks (`--trace` and `--export` together).
/// A sink that fails stops writing (as [`sim::trace::JsonLines`] does) and
/// the others go on; [`TraceSink::finish`] returns every failure, each
/// naming its file, as one [`SinkErrors`].
#[derive(Default)]
pub struct Fanout {
    sinks: Vec<Named>,
}

impl Fanout {
    pub fn new() -> Self {
        Fanout::default()
    }

    /// Adds a sink; `what` names it in an error ("the trace to FILE"), and
    /// `after` is said after the error.
    pub fn add(&mut self, what: String, after: &'static str, sink: Box<dyn TraceSink>) {
        self.sinks.push(Named { what, after, sink });
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl TraceSink for Fanout {
    fn record(&mut self, record: TraceRecord) {
        let Some((last, rest)) = self.sinks.split_last_mut() else {
            return;
        };
        for named in rest {
            named.sink.record(record.clone());
        }
        last.sink.record(record);
    }

    fn finish(&mut self) -> io::Result<()> {
        let errors: Vec<String> = self
            .sinks
            .iter_mut()
            .filter_map(|named| {
                named
                    .sink
                    .finish()
                    .err()
                    .map(|e| format!("error: cannot write {}: {e}{}", named.what, named.after))
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(io::Error::other(SinkErrors(errors)))
        }
    }
}

/// The lines to print for a stream sink's error: each of a [`Fanout`]'s
/// errors, or `fallback` for an error of another sink.
pub fn error_lines(e: &io::Error, fallback: impl FnOnce() -> String) -> Vec<String> {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<SinkErrors>())
    {
        Some(all) => all.0.clone(),
        None => vec![fallback()],
    }
}

/// What a file written as the run went holds after a write error.
pub const PARTIAL_TRACE: &str = " (the file holds only the records written before it, and may end \
     in the middle of one)";
pub const PARTIAL_EXPORT: &str = " (the file holds only what was written before it, and is not a \
     complete export: the viewer may refuse it)";

/// `chaoslab export TRACE --to FORMAT FILE`: converts a saved `--trace`
/// file into an export, record by record.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// A trace written by `chaoslab run --trace FILE` (JSON Lines).
    pub trace: PathBuf,
    /// The format and the file to write (perfetto or shiviz); may be given twice.
    #[arg(long = "to", num_args = 2, value_names = ["FORMAT", "FILE"], required = true,
          action = clap::ArgAction::Append)]
    pub to: Vec<String>,
    /// The run's name in the Perfetto export (`run --export` writes the
    /// scenario and seed, "raft/leader-minority seed 1"); default: the trace
    /// file's path.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Export only this part of the run, FROM..TO in virtual time (`4s..6s`,
    /// `4s..`, `..500ms`), as `run --export-window` does.
    #[arg(long, value_name = "FROM..TO")]
    pub window: Option<String>,
}

pub fn run(args: &ExportArgs) -> i32 {
    use crate::exit;
    let exports = match parse_exports(&args.to) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let window = match args.window.as_deref().map(Window::parse).transpose() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let input = match read::TraceFile::open(&args.trace) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| args.trace.display().to_string());
    let mut sink = match fanout(
        Some(("the trace", &args.trace)),
        None,
        None,
        &exports,
        &[],
        window,
        &title,
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let mut bad = None;
    let mut last_t = 0;
    let (mut records, mut shown) = (0u64, 0u64);
    // The reader refuses a bad line, records out of time order and an empty
    // file, each naming the file and line.
    for item in input {
        match item {
            Ok((_, r)) => {
                last_t = r.t;
                records += 1;
                shown += u64::from(window.is_none_or(|w| w.holds(r.t)));
                sink.record(r);
            }
            Err(e) => {
                bad = Some(e);
                break;
            }
        }
    }
    if bad.is_none() && shown == 0 {
        bad = Some(format!(
            "error: --window {}: no record of {} is inside it ({} records, the last at {}): \
             there is nothing to export",
            args.window.as_deref().unwrap_or(""),
            args.trace.display(),
            records,
            seconds(last_t)
        ));
    }
    let finished = sink.finish();
    if let Some(e) = bad {
        eprintln!("{e}");
        // No export of a bad trace is left behind looking like a good one.
        let removed: Vec<String> = exports
            .iter()
            .filter(|x| {
                std::fs::symlink_metadata(&x.path).is_ok_and(|m| m.file_type().is_file())
                    && std::fs::remove_file(&x.path).is_ok()
            })
            .map(|x| x.path.display().to_string())
            .collect();
        if !removed.is_empty() {
            eprintln!("nothing was exported: removed {}", removed.join(", "));
        }
        return exit::BAD_INPUT;
    }
    match finished {
        Ok(()) => exit::PASS,
        Err(e) => {
            for line in error_lines(&e, || e.to_string()) {
                eprintln!("{line}");
            }
            exit::BAD_INPUT
        }
    }
}

/// What identifies a file for [`check_outputs`]: the device and inode of
/// a file that exists, else the canonical folder and the name.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    #[cfg(unix)]
    Inode(u64, u64),
    Path(PathBuf),
}

/// `path`'s identity, or `None` when it is not a regular file (a device
/// such as /dev/null, a pipe: writing one twice destroys nothing) or its
/// folder does not exist (creating it fails with its own message).
fn identity(path: &Path) -> Option<Identity> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => None,
        #[cfg(unix)]
        Ok(meta) => {
            use std::os::unix::fs::MetadataExt;
            Some(Identity::Inode(meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        Ok(_) => path.canonicalize().ok().map(Identity::Path),
        Err(_) => {
            let name = path.file_name()?;
            let folder = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Some(Identity::Path(folder.canonicalize().ok()?.join(name)))
        }
    }
}

/// Refuses, before anything is written, two outputs that are one file, or
/// an output that is the `input` file: writing one would empty the other.
/// Each output is (what it is, "the trace", and its path); the input the
/// same ("the trace", for `chaoslab export`).
pub fn check_outputs(
    input: Option<(&str, &Path)>,
    outputs: &[(&str, &Path)],
) -> Result<(), String> {
    let ids: Vec<Option<Identity>> = outputs.iter().map(|(_, p)| identity(p)).collect();
    if let Some((what_in, path_in)) = input {
        if let Some(id_in) = identity(path_in) {
            if let Some((what, path)) = outputs
                .iter()
                .zip(&ids)
                .find_map(|(o, id)| (id.as_ref() == Some(&id_in)).then_some(o))
            {
                return Err(format!(
                    "error: {what} would be written to {}, which is {what_in} it is made from \
                     ({}): writing it would destroy it; give {what} another file \
                     (nothing was written)",
                    path.display(),
                    path_in.display()
                ));
            }
        }
    }
    for (j, id) in ids.iter().enumerate() {
        let Some(id) = id else { continue };
        if let Some(i) = ids[..j].iter().position(|other| other.as_ref() == Some(id)) {
            let ((first, first_path), (second, second_path)) = (outputs[i], outputs[j]);
            return Err(format!(
                "error: {first} ({}) and {second} ({}) are the same file: give each output \
                 its own file (nothing was written)",
                first_path.display(),
                second_path.display()
            ));
        }
    }
    Ok(())
}

/// Creates every output, each `(what, path)`, for writing from its start:
/// first checks that each can be opened, without emptying any (a file made
/// by that check is removed again if another cannot be opened), then
/// empties them all. So a path that cannot be written is an error before
/// the run, and leaves the other files as they were.
pub fn create_outputs(outputs: &[(&str, &Path)]) -> Result<Vec<std::fs::File>, String> {
    let mut made = Vec::new();
    for (what, path) in outputs {
        let existed = std::fs::symlink_metadata(path).is_ok();
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path);
        match opened {
            Ok(_) if !existed => made.push(*path),
            Ok(_) => {}
            Err(e) => {
                for made in made {
                    let _ = std::fs::remove_file(made);
                }
                return Err(format!(
                    "error: cannot write {what} to {}: {e}",
                    path.display()
                ));
            }
        }
    }
    outputs
        .iter()
        .map(|(what, path)| {
            std::fs::File::create(path)
                .map_err(|e| format!("error: cannot write {what} to {}: {e}", path.display()))
        })
        .collect()
}

/// The sinks for `--trace` and each `--export`, every file created now,
/// before the run, so that a path that cannot be written is an error at
/// once and not after a long run. The `--history` file is created with
/// them (and written after the run); `input` is the file the outputs are
/// made from, ("the trace", path) for `chaoslab export`, ("the scenario",
/// path) for `run`, which no output may be. `later` are outputs the caller
/// writes itself (the HTML page): checked against the others, not created.
pub fn fanout(
    input: Option<(&str, &Path)>,
    trace: Option<&PathBuf>,
    history: Option<&PathBuf>,
    exports: &[Export],
    later: &[(&str, &Path)],
    window: Option<Window>,
    title: &str,
) -> Result<Fanout, String> {
    let mut outputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(path) = history {
        outputs.push(("the history", path));
    }
    if let Some(path) = trace {
        outputs.push(("the trace", path));
    }
    for export in exports {
        outputs.push((export.format.what(), &export.path));
    }
    let created = outputs.len();
    outputs.extend_from_slice(later);
    check_outputs(input, &outputs)?;
    let mut files = create_outputs(&outputs[..created])?.into_iter();
    if history.is_some() {
        files.next();
    }
    let mut all = Fanout::new();
    let buffered = |f| io::BufWriter::with_capacity(crate::run_cmd::TRACE_BUFFER, f);
    if let Some(path) = trace {
        let out = buffered(files.next().expect("one file an output"));
        all.add(
            format!("the trace to {}", path.display()),
            PARTIAL_TRACE,
            Box::new(sim::trace::JsonLines::new(out)),
        );
    }
    for export in exports {
        let out = buffered(files.next().expect("one file an output"));
        let sink = export.format.sink(out, title);
        all.add(
            format!("{} to {}", export.format.what(), export.path.display()),
            PARTIAL_EXPORT,
            match window {
                Some(w) => Box::new(Windowed::new(w, sink)),
                None => sink,
            },
        );
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::trace::TraceEvent;
    use std::sync::{Arc, Mutex};

    /// A writer into memory the test keeps a handle on.
    #[derive(Clone, Default)]
    pub(super) struct Shared(pub(super) Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A disk with no room left.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("no space left"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn timer(t: u64) -> TraceRecord {
        TraceRecord {
            t,
            event: TraceEvent::Timer {
                node: "n1".into(),
                timer: 7,
            },
        }
    }

    #[test]
    fn a_fanout_gives_every_sink_every_record_and_names_each_sink_that_failed() {
        let kept = Shared::default();
        let perfetto = Shared::default();
        let mut all = Fanout::new();
        all.add(
            "the trace to t.jsonl".into(),
            PARTIAL_TRACE,
            Box::new(sim::trace::JsonLines::new(kept.clone())),
        );
        all.add(
            "the ShiViz export to full".into(),
            PARTIAL_EXPORT,
            Format::Shiviz.sink(Full, "x"),
        );
        all.add(
            "the Perfetto export to p.json".into(),
            PARTIAL_EXPORT,
            Format::Perfetto.sink(perfetto.clone(), "x"),
        );
        all.record(timer(1));
        all.record(timer(2));
        let e = all.finish().unwrap_err();
        let lines = error_lines(&e, || unreachable!("a fanout's error"));
        assert_eq!(
            lines,
            vec![format!(
                "error: cannot write the ShiViz export to full: no space left{PARTIAL_EXPORT}"
            )]
        );
        assert_eq!(
            kept.0
                .lock()
                .unwrap()
                .iter()
                .filter(|b| **b == b'\n')
                .count(),
            2
        );
        let written = String::from_utf8(perfetto.0.lock().unwrap().clone()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&written).expect("closed on finish");
        assert_eq!(
            json["traceEvents"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["ph"] == "X")
                .count(),
            2
        );
    }

    #[test]
    fn a_window_is_from_to_in_virtual_time_with_either_end_open() {
        let w = Window::parse("4.9s..5300ms").unwrap();
        assert_eq!((w.from, w.to), (4_900_000_000, Some(5_300_000_000)));
        assert!(w.holds(4_900_000_000) && w.holds(5_300_000_000) && !w.holds(5_300_000_001));
        assert_eq!(Window::parse("..1s").unwrap().from, 0);
        assert_eq!(Window::parse("2s..").unwrap().to, None);
        for bad in ["5s", "2s..1s", "x..1s"] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.starts_with("error: --export-window"), "{e}");
        }
    }

    #[test]
    fn an_error_of_another_sink_is_said_as_the_caller_says_it() {
        let e = io::Error::other("disk gone");
        assert_eq!(
            error_lines(&e, || format!("trace: {e}")),
            vec!["trace: disk gone"]
        );
    }

    #[test]
    fn export_flags_name_the_valid_formats_and_node_names_sort_servers_then_clients() {
        let e = parse_exports(&["svg".into(), "x.svg".into()]).unwrap_err();
        assert!(e.contains("`svg`") && e.contains(Format::NAMES), "{e}");
        let ok = parse_exports(&["shiviz".into(), "a".into(), "perfetto".into(), "b".into()]);
        assert_eq!(ok.unwrap().len(), 2);
        assert_eq!(node_kind("n12"), NodeKind::Server(12));
        assert_eq!(node_kind("c3"), NodeKind::Client(3));
        assert_eq!(node_kind("network"), NodeKind::Other);
        assert_eq!(node_kind("n"), NodeKind::Other);
        for other in ["n07", "c+3", "n99999999", "c99999999", "n-1", "c100000"] {
            assert_eq!(node_kind(other), NodeKind::Other, "{other}");
        }
        assert_eq!(node_kind("c99999"), NodeKind::Client(99_999));
        assert_eq!(seconds(5_009_796_009), "5.009796009s");
        assert_eq!(micros(155_765_742), 155_765.742);
    }
}
