//! Every bundled scenario is a test: it must parse, meet its own hypothesis at
//! its seed, replay to the same fingerprint, and match its report snapshot.

use std::path::Path;

use sim::kernel::TraceMode;
use sim::report::Report;
use sim::scenario::Scenario;

fn load(path: &Path) -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rel = path
        .strip_prefix(root.canonicalize().unwrap())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(path).unwrap();
    nodes::parse(&rel, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, seed: u64) -> Report {
    let out = nodes::run(s, seed, TraceMode::Off).unwrap();
    Report::build(s, &out)
}

#[test]
fn every_scenario_meets_its_hypothesis_and_matches_its_snapshot() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../../../scenarios", "**/*.toml", |path| {
            let s = load(path);
            let report = run(&s, s.meta.seed);
            assert!(
                report.passed,
                "{} does not meet its own hypothesis:\n{}",
                s.file,
                report.render()
            );
            // Name each snapshot by its scenario's path (`single__normal`), so two
            // folders may hold files of the same name.
            let mut named = insta::Settings::clone_current();
            named.set_snapshot_suffix(
                s.file
                    .trim_start_matches("scenarios/")
                    .trim_end_matches(".toml")
                    .replace('/', "__"),
            );
            named.bind(|| insta::assert_snapshot!("report", report.render()));
        });
    });
}

#[test]
fn every_scenario_replays_to_the_same_fingerprint_and_another_seed_differs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty());
    for f in files {
        let s = load(&f.canonicalize().unwrap());
        let a = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
        let b = nodes::run(&s, s.meta.seed, TraceMode::Record).unwrap();
        assert_eq!(
            a.fingerprint, b.fingerprint,
            "{}: same seed, different runs (tracing must not change a run)",
            s.file
        );
        assert_eq!(
            a.history, b.history,
            "{}: same seed, different histories",
            s.file
        );
        // Stepped one event at a time through the handle the TUI uses, the
        // run is the same run.
        let mut stepped = nodes::start(&s, s.meta.seed, TraceMode::Off).unwrap();
        while stepped.advance() {}
        assert_eq!(
            stepped.finish().fingerprint,
            a.fingerprint,
            "{}: stepping changed the run",
            s.file
        );
        // An [explore] scenario samples no latency (the explorer chooses the
        // order): another seed changes only the nodes' and the workload's own
        // draws, which may well give the same run.
        if s.explore.is_some() {
            continue;
        }
        let c = nodes::run(&s, s.meta.seed + 1, TraceMode::Off).unwrap();
        assert_ne!(
            a.fingerprint, c.fingerprint,
            "{}: two seeds gave the same run",
            s.file
        );
    }
}

#[test]
fn the_trace_of_a_run_is_identical_record_for_record() {
    let s = load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/single/client-partitioned.toml")
            .canonicalize()
            .unwrap(),
    );
    let a = nodes::run(&s, 9, TraceMode::Record).unwrap().trace.unwrap();
    let b = nodes::run(&s, 9, TraceMode::Record).unwrap().trace.unwrap();
    assert!(a.len() > 1000);
    assert_eq!(a, b);
}

/// `[expect.measure]` names and bounds are checked against `nodes::metrics`
/// when a scenario is parsed; every figure a bundled scenario's report prints
/// must be on that list with the unit it reports (or no value), or a scenario
/// bounding it would be refused or judged in the wrong unit.
#[test]
fn every_figure_a_report_prints_is_a_known_measure() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut stack = vec![dir];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let s = load(&p.canonicalize().unwrap());
            let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
            let declared = nodes::metrics(&s.protocol);
            if let Err(e) = sim::metric::check_declared(&out.metrics, declared) {
                panic!("{}: {e} (nodes::metrics(\"{}\"))", s.file, s.protocol);
            }
            seen += 1;
        }
    }
    assert!(seen > 0);
}

/// `chaoslab run --json` carries every figure typed: a name, a unit and a
/// value (durations in nanoseconds, ratios as shares, a series as
/// `[time, value]` points), the same figures the report prints.
#[test]
fn run_json_carries_every_figure_typed() {
    let file = "scenarios/cache/expiry-wave.toml";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(["run", file, "--json"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let metrics = json["metrics"].as_array().expect("`metrics` is a list");
    let get = |name: &str| {
        metrics
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no {name:?} in {metrics:?}"))
    };
    let latency = get("db latency max");
    assert_eq!(latency["unit"], "duration");
    assert!(latency["value"].is_u64(), "{latency}");
    let hit = get("hit ratio");
    assert_eq!(hit["unit"], "ratio");
    assert!(
        (0.0..=1.0).contains(&hit["value"].as_f64().unwrap()),
        "{hit}"
    );
    assert_eq!(get("db requests/s peak")["unit"], "rate");
    assert_eq!(get("entries")["unit"], "count");
    assert_eq!(get("cache")["unit"], "text");
    let series = get("db requests per second over time");
    assert_eq!(series["unit"], "series");
    assert_eq!(series["value"]["of"], "rate");
    let points = series["value"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 20);
    assert_eq!(points[5], serde_json::json!([5_000_000_000u64, 260.0]));
    // The same figures, in the same order, as the report in-process.
    let s = load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(file)
            .canonicalize()
            .unwrap(),
    );
    let report = run(&s, s.meta.seed);
    let typed: Vec<sim::metric::Metric> = serde_json::from_value(json["metrics"].clone()).unwrap();
    let names = |ms: &[sim::metric::Metric]| ms.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&typed), names(&report.metrics));
    // (A float read back from text may differ in its last bit: compared as
    // the report prints it.)
    for (a, b) in typed.iter().zip(&report.metrics) {
        let shown = |m: &sim::metric::Metric| (m.value.unit(), m.value.show(b.decimals));
        assert_eq!((shown(a), &a.note, &a.lead), (shown(b), &b.note, &b.lead));
    }
}

/// `scenarios/FILE` with `extra` appended, parsed and run at its own seed.
fn run_with(file: &str, extra: &str) -> Report {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(file)).unwrap() + extra;
    let s = nodes::parse(file, &text).unwrap_or_else(|e| panic!("{e}"));
    run(&s, s.meta.seed)
}

/// `scenarios/FILE` run with `[expect.measure."FIGURE"]` set to `bound`:
/// the report, and that bound's expectation.
fn bounded(file: &str, figure: &str, bound: &str) -> (Report, sim::report::Expectation) {
    let report = run_with(file, &format!("\n[expect.measure.\"{figure}\"]\n{bound}\n"));
    let key = format!("measure.\"{figure}\"");
    let found = report.expectations.iter().find(|e| e.key == key).cloned();
    let e = found.unwrap_or_else(|| panic!("no expectation {key}: {}", report.render()));
    (report, e)
}

/// Nothing in doubt at the end is a count of 0, which `max = 0` bounds.
#[test]
fn nothing_in_doubt_at_the_end_meets_max_zero() {
    let (report, e) = bounded("scenarios/twopc/normal.toml", "in doubt at end", "max = 0");
    assert!(e.held && report.passed, "{e:?}\n{}", report.render());
}

/// A figure with no value this run (no failover, so no failover time)
/// leaves its bound undecided: nothing fails, the run is not a pass.
#[test]
fn a_bound_on_a_figure_with_no_value_is_undecided() {
    let file = "scenarios/replication/dup-replies.toml";
    let (report, e) = bounded(file, "failover time (RTO)", "max = \"2s\"");
    assert!(!e.held && e.undecided, "{e:?}");
    assert_eq!(e.expected, "at most 2s");
    assert_eq!(report.outcome, sim::report::RunOutcome::Undecided);
    let text = report.render();
    assert!(
        text.contains("undecided    measure.\"failover time (RTO)\": the figure has no value in this run (none (no failover))"),
        "{text}"
    );
}
