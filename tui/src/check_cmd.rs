//! `chaoslab check`: judge a history recorded elsewhere, and `chaoslab bench
//! check`: time the checker on the reference corpus and a large synthetic run.
//!
//! Exit codes of `check`: 0 linearizable, 1 not linearizable, 2 bad input
//! (an empty history included), 3 undecided (the time limit, the step budget or
//! the memory cap ran out first; the message names which, and the flag that
//! raises it).
//!
//! With a transactional model (`--model list-append` or `rw-register`), the
//! history is a list of transactions and `check` looks for Elle's anomalies
//! instead (see `txn_check_cmd` and docs/anomalies.md): exit 0 no anomaly, 1
//! anomalies found, 2 bad input. That search has no budget to run out, so it
//! never answers undecided.

// This is the one place that reads the wall clock: a user's --timeout and the
// benchmark figures. The simulator itself never does (see clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sim::check::parse::{parse_history, parse_history_counted, Format};
use sim::check::txn::{Consistency, TxnModel};
use sim::check::{
    check_linearizable, check_weak, show_bytes, svg, synth, validate, Budget, ModelKind,
    UnknownCause, Verdict,
};
use sim::history::History;

pub const EXIT_LINEARIZABLE: i32 = 0;
pub const EXIT_NOT_LINEARIZABLE: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_UNKNOWN: i32 = 3;

/// Check a history file for linearizability and weaker guarantees.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The history: Jepsen/Maelstrom EDN, a porcupine etcd log, or chaoslab
    /// JSON Lines (one operation, or with a transactional model one
    /// transaction, per line).
    pub file: PathBuf,
    /// The object the history ran against: register, cas-register or kv
    /// (checks linearizability); or the transactional workload: list-append or
    /// rw-register (finds Elle's anomalies, G0 to G2, relative to
    /// serializability; see docs/anomalies.md).
    #[arg(long, value_parser = parse_model)]
    pub model: CheckModel,
    /// The file's format: auto, edn, etcd or jsonl.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: Format,
    /// Give up with "undecided" (exit 3) after this long, e.g. 10s, 500ms, 2m
    /// (linearizability only: the transactional check needs no budget).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Search-step budget (deterministic); undecided past it.
    #[arg(long, default_value_t = u64::MAX)]
    pub max_steps: u64,
    /// Memory the search's memo may hold, e.g. 512MiB, 4GiB; undecided past it.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub max_memory: u64,
    /// Also draw the history as an SVG timeline to this file. When it is not
    /// linearizable: only the key that broke, around the operation that could
    /// not be placed, with the operations it conflicts with marked.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// With --svg: draw every operation of every key instead.
    #[arg(long, requires = "svg")]
    pub svg_all: bool,
    /// Print the reports as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// With --model list-append or rw-register: the model the verdict is
    /// relative to: serializable (data dependencies only, the default),
    /// strong-session-serializable (plus each process's order) or
    /// strict-serializable (plus real time).
    #[arg(long, value_parser = parse_consistency)]
    pub consistency: Option<Consistency>,
}

fn parse_consistency(s: &str) -> Result<Consistency, String> {
    Consistency::from_name(s).ok_or_else(|| {
        format!(
            "unknown consistency model {s:?}; valid: {}",
            Consistency::NAMES
        )
    })
}

/// What `check` judges a history against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckModel {
    /// One object per key: the history must be linearizable.
    Object(ModelKind),
    /// Transactions of a workload: the history must show no anomaly.
    Txn(TxnModel),
}

impl std::fmt::Display for CheckModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckModel::Object(m) => m.fmt(f),
            CheckModel::Txn(m) => m.fmt(f),
        }
    }
}

fn parse_model(s: &str) -> Result<CheckModel, String> {
    ModelKind::from_name(s)
        .map(CheckModel::Object)
        .or_else(|| TxnModel::from_name(s).map(CheckModel::Txn))
        .ok_or_else(|| {
            format!(
                "unknown model {s:?}; valid: register, cas-register, kv, list-append, rw-register"
            )
        })
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| format!("unknown format {s:?}; valid: {}", Format::NAMES))
}

/// `s` as a number and the unit after it (`default_unit` when none follows),
/// or `None` when the number does not parse.
fn number_and_unit<'a>(s: &'a str, default_unit: &'a str) -> Option<(f64, &'a str)> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, default_unit),
    };
    Some((num.parse().ok()?, unit))
}

/// `512MiB`, `4GiB`, `1.5GB`, `800M`, or a plain number of bytes. Binary and
/// decimal units are both read as binary (1 GB = 1 GiB): this is a cap, not a
/// measurement.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("bad size {s:?}; write e.g. 512MiB, 4GiB or 1073741824");
    let (n, unit) = number_and_unit(t, "").ok_or_else(bad)?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = n * scale as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// `10s`, `500ms`, `2m`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("bad duration {s:?}; write e.g. 10s, 500ms or 2m");
    let (n, unit) = number_and_unit(s, "s").ok_or_else(bad)?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(crate) fn replay_command(program: &str, args: &CheckArgs) -> String {
    let consistency = args
        .consistency
        .map(|c| format!(" --consistency {c}"))
        .unwrap_or_default();
    format!(
        "{program} check {} --model {}{consistency}",
        args.file.display(),
        args.model
    )
}

/// Runs `chaoslab check`; returns the process exit code.
/// `program` names the command line in the commands it prints.
pub fn run(program: &str, args: &CheckArgs) -> i32 {
    let model = match args.model {
        CheckModel::Object(m) => m,
        CheckModel::Txn(m) => return crate::txn_check_cmd::run(program, args, m),
    };
    if let Some(c) = args.consistency {
        eprintln!(
            "--consistency {c} applies to transaction histories; expected --model list-append or rw-register, or no --consistency with --model {model}"
        );
        return EXIT_BAD_INPUT;
    }
    let text = match read_text(&args.file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let (history, skipped, other) = match parse_history_counted(&text, args.format, model) {
        Ok(p) => (p.history, p.skipped_lines, p.other_events),
        Err(e) => {
            eprintln!(
                "{}:{}: {}; expected {}",
                args.file.display(),
                e.line,
                e.problem,
                e.expected
            );
            return EXIT_BAD_INPUT;
        }
    };
    // A file with no event at all is not a history (an empty or truncated
    // file, the wrong file): there is nothing to judge. A run whose only
    // events are the nemesis's is a history, trivially linearizable.
    if history.ops.is_empty() && other == 0 {
        eprintln!(
            "{}: the history has no operations; expected at least one client operation (an invocation and its completion). An empty file proves nothing",
            args.file.display()
        );
        return EXIT_BAD_INPUT;
    }
    if let Err(e) = validate(&history, model) {
        eprintln!("{}: {e}", args.file.display());
        return EXIT_BAD_INPUT;
    }

    let started = Instant::now();
    let deadline = started + args.timeout;
    let expired = move || Instant::now() >= deadline;
    let budget = Budget {
        max_steps: args.max_steps,
        expired: Some(&expired),
        max_memo_bytes: args.max_memory,
    };
    let lin = check_linearizable(&history, model, budget);
    let lin_elapsed = started.elapsed();
    let weak = check_weak(&history);

    let violation = match &lin.verdict {
        Verdict::NotLinearizable { explanation } => Some(explanation),
        _ => None,
    };
    if let Some(path) = &args.svg {
        let title = format!(
            "{} ({} model): {}",
            args.file.display(),
            args.model,
            short_verdict(&lin.verdict)
        );
        if let Err(e) = std::fs::write(path, svg::render(&history, &title, violation, args.svg_all))
        {
            eprintln!("{}: cannot write the SVG: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
    }

    if args.json {
        let out = serde_json::json!({ "file": args.file.display().to_string(), "skipped_lines": skipped, "linearizability": lin, "weak": weak });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!(
            "{}: {} operation(s), {} client(s)",
            args.file.display(),
            history.ops.len(),
            clients(&history)
        );
        if skipped > 0 {
            println!("skipped {skipped} line(s) that are not history lines");
        }
        println!("{lin}");
        println!(
            "checked in {:.3} s (search memo at most {})",
            lin_elapsed.as_secs_f64(),
            show_bytes(lin.memo_bytes_peak)
        );
        println!("{weak}");
        if let Some(path) = &args.svg {
            println!("timeline: {}", path.display());
        }
    }
    match lin.verdict {
        Verdict::Linearizable => EXIT_LINEARIZABLE,
        Verdict::NotLinearizable { .. } => {
            eprintln!(
                "not linearizable; reproduce with: {}",
                replay_command(program, args)
            );
            EXIT_NOT_LINEARIZABLE
        }
        Verdict::Unknown { cause, .. } => {
            eprintln!("{}", unknown_hint(program, args, cause));
            EXIT_UNKNOWN
        }
    }
}

/// The history file as text; on failure the message is printed and the
/// exit code returned.
pub(crate) fn read_text(path: &Path) -> Result<String, i32> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            eprintln!(
                "{}: not UTF-8 text (byte {}); expected a text history file",
                path.display(),
                e.utf8_error().valid_up_to()
            );
            EXIT_BAD_INPUT
        }),
        Err(e) => {
            eprintln!("{}: cannot read: {e}", path.display());
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// What to do about an undecided verdict: the flag that raises the limit that
/// actually stopped the search.
fn unknown_hint(program: &str, args: &CheckArgs, cause: UnknownCause) -> String {
    let replay = replay_command(program, args);
    match cause {
        UnknownCause::Steps => format!(
            "undecided: the step budget (--max-steps {}) ran out; retry with a larger one: {replay} --max-steps {}",
            args.max_steps,
            args.max_steps.saturating_mul(10)
        ),
        UnknownCause::Memory => format!(
            "undecided: the search memo reached --max-memory {}; retry with more memory if the machine has it: {replay} --max-memory {}GiB",
            show_bytes(args.max_memory),
            (args.max_memory.saturating_mul(4) >> 30).max(1)
        ),
        UnknownCause::Deadline => format!(
            "undecided: the time limit (--timeout {}s) passed; retry with a longer one: {replay} --timeout {}s",
            args.timeout.as_secs_f64(),
            args.timeout.as_secs().max(1) * 10
        ),
        UnknownCause::Unsupported => format!(
            "undecided: the history has operations the {} model does not know; choose another --model",
            args.model
        ),
    }
}

fn short_verdict(v: &Verdict) -> &'static str {
    match v {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable { .. } => "NOT linearizable",
        Verdict::Unknown { .. } => "undecided",
    }
}

fn clients(h: &History) -> usize {
    let mut ps: Vec<u64> = h.ops.iter().map(|o| o.process).collect();
    ps.sort_unstable();
    ps.dedup();
    ps.len()
}

/// Times the transactional checker on generated histories of 100 000
/// transactions: serial ones of both workloads (no anomaly expected, also
/// with real-time edges), and a list-append one whose reads each miss their last element (a graph
/// full of cycles). Returns how many verdicts were wrong.
fn bench_txn() -> usize {
    use sim::check::txn::{
        check_txn, check_txn_against, synth::serializable_history, Mop, ReadValue,
    };
    let mut wrong = 0;
    for model in TxnModel::ALL {
        let h = serializable_history(model, 42, 100_000, 1_000, 50);
        let (t, report) = time(|| check_txn(&h, model));
        if !report.is_valid() {
            wrong += 1;
            eprintln!("WRONG VERDICT generated {model}: anomalies in a serializable history");
        }
        println!(
            "  txn {model}: {} transactions, 1000 keys, 50 processes, {} edges, no anomaly: {:.4} s",
            h.txns.len(),
            report.edges.ww + report.edges.wr + report.edges.rw,
            t.as_secs_f64()
        );
    }
    let h = serializable_history(TxnModel::ListAppend, 42, 100_000, 1_000, 50);
    let (t, report) =
        time(|| check_txn_against(&h, TxnModel::ListAppend, Consistency::StrictSerializable));
    if !report.is_valid() {
        wrong += 1;
        eprintln!("WRONG VERDICT generated list-append: anomalies in a serial history under strict-serializable");
    }
    println!(
        "  txn list-append, strict-serializable: {} transactions, {} real-time edges, no anomaly: {:.4} s",
        h.txns.len(),
        report.edges.realtime,
        t.as_secs_f64()
    );
    let mut h = serializable_history(TxnModel::ListAppend, 42, 100_000, 10, 50);
    for txn in &mut h.txns {
        for m in &mut txn.mops {
            if let Mop::Read {
                value: ReadValue::List(l),
                ..
            } = m
            {
                l.pop();
            }
        }
    }
    let (t, report) = time(|| check_txn(&h, TxnModel::ListAppend));
    if report.is_valid() {
        wrong += 1;
        eprintln!("WRONG VERDICT generated list-append with stale reads: no anomaly found");
    }
    let kinds: Vec<String> = report
        .counts
        .iter()
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    println!(
        "  txn list-append, every read missing its last element: {} transactions, 10 keys: {}: {:.4} s",
        h.txns.len(),
        kinds.join(", "),
        t.as_secs_f64()
    );
    wrong
}

/// Options of `chaoslab bench check`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchCheckArgs {
    /// The reference corpus (the folder holding verdicts.tsv).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
}

/// The shared corpora: `$CHAOSLAB_SHARED`, or `../shared` beside the
/// workspace.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("CHAOSLAB_SHARED") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    }
}

fn default_corpus() -> PathBuf {
    shared_dir().join("reference-histories/porcupine")
}

fn load(corpus: &Path, file: &str, model: ModelKind) -> Result<History, String> {
    let text = std::fs::read_to_string(corpus.join(file)).map_err(|e| format!("{file}: {e}"))?;
    parse_history(&text, Format::Auto, model).map_err(|e| format!("{file}:{}: {e}", e.line))
}

/// Best of three wall-clock timings of `f`.
fn time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("ran at least once"))
}

/// Runs `chaoslab bench check`, printing its figures; returns the exit code
/// (non-zero if a verdict disagrees with the corpus).
pub fn bench_check(args: &BenchCheckArgs) -> i32 {
    let corpus = args.corpus.clone().unwrap_or_else(default_corpus);
    let verdicts = match std::fs::read_to_string(corpus.join("verdicts.tsv")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "{}: cannot read verdicts.tsv: {e}; pass --corpus DIR or set CHAOSLAB_SHARED to the shared folder",
                corpus.display()
            );
            return EXIT_BAD_INPUT;
        }
    };
    let mut etcd = Vec::new();
    let mut kv = Vec::new();
    for line in verdicts.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        let (Some(file), Some(v)) = (cols.next(), cols.next()) else {
            continue;
        };
        let model = if file.starts_with("kv/") {
            ModelKind::Kv
        } else {
            ModelKind::CasRegister
        };
        let history = match load(&corpus, file, model) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_BAD_INPUT;
            }
        };
        let entry = (file.to_string(), v.trim() == "true", model, history);
        if file.starts_with("kv/") {
            kv.push(entry);
        } else {
            etcd.push(entry);
        }
    }
    let mut wrong = 0;
    let mut judge = |file: &str, expected: bool, verdict: &Verdict| {
        let ok = if expected {
            verdict.is_linearizable()
        } else {
            verdict.is_violation()
        };
        if !ok {
            wrong += 1;
            eprintln!(
                "WRONG VERDICT {file}: expected linearizable={expected}, got {}",
                short_verdict(verdict)
            );
        }
    };

    println!("chaoslab bench check (wall clock, best of 3, one thread)");
    let (t, verdicts) = time(|| {
        etcd.iter()
            .map(|(_, _, m, h)| check_linearizable(h, *m, Budget::default()).verdict)
            .collect::<Vec<_>>()
    });
    for ((file, expected, _, _), v) in etcd.iter().zip(&verdicts) {
        judge(file, *expected, v);
    }
    let ops: usize = etcd.iter().map(|e| e.3.ops.len()).sum();
    println!(
        "  etcd: {} histories, {ops} operations: {:.4} s in total (target < 0.3 s)",
        etcd.len(),
        t.as_secs_f64()
    );

    for (file, expected, model, h) in &kv {
        let (t, report) = time(|| check_linearizable(h, *model, Budget::default()));
        judge(file, *expected, &report.verdict);
        println!(
            "  {file}: {} operations, {}: {:.4} s (target < 0.15 s for c50)",
            h.ops.len(),
            short_verdict(&report.verdict),
            t.as_secs_f64()
        );
    }

    let (t_gen, large) = time(|| synth::linearizable_kv_history(42, 100_000, 1_000, 50));
    let (t, report) = time(|| check_linearizable(&large, ModelKind::Kv, Budget::default()));
    judge("generated", true, &report.verdict);
    println!(
        "  generated: {} operations over {} keys, 50 clients, {}: {:.4} s (target < 1 s; generating took {:.3} s)",
        large.ops.len(),
        report.keys_total,
        short_verdict(&report.verdict),
        t.as_secs_f64(),
        t_gen.as_secs_f64()
    );
    let (t_weak, weak) = time(|| check_weak(&large));
    println!(
        "  weak checks on the generated history: {:.4} s ({} stale reads, {} lost writes)",
        t_weak.as_secs_f64(),
        weak.stale_reads,
        weak.lost_writes.len()
    );
    wrong += bench_txn();
    if wrong > 0 {
        eprintln!("{wrong} wrong verdict(s)");
        return EXIT_NOT_LINEARIZABLE;
    }
    EXIT_LINEARIZABLE
}
