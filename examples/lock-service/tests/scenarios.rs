//! Every scenario in `scenarios/` is a test: it parses, meets its own
//! hypothesis at its seed, replays to the same fingerprint, and matches its
//! report snapshot in `snapshots/`. The sweeps hold the protocol to its
//! claims on 200 seeds.

use std::path::Path;

use chaoslab::sim::kernel::TraceMode;
use chaoslab::sim::registry::Register;
use chaoslab::sim::report::Report;
use chaoslab::sim::scenario::Scenario;
use chaoslab::Registry;
use lock_service::{LockService, MUTUAL_EXCLUSION};

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add::<LockService>();
    r
}

/// Reads `scenarios/NAME.toml`, named in messages by its path in this crate.
fn load(r: &Registry, path: &Path) -> Scenario {
    let name = path.file_name().unwrap().to_string_lossy();
    let text = std::fs::read_to_string(path).unwrap();
    r.parse(&format!("scenarios/{name}"), &text)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn scenario(r: &Registry, name: &str) -> Scenario {
    load(
        r,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
    )
}

fn report(r: &Registry, s: &Scenario, seed: u64) -> Report {
    Report::build(s, &r.run(s, seed, TraceMode::Off).unwrap())
}

#[test]
fn every_scenario_meets_its_hypothesis_and_matches_its_snapshot() {
    let r = registry();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../scenarios", "*.toml", |path| {
            let s = load(&r, path);
            let report = report(&r, &s, s.meta.seed);
            assert!(
                report.passed,
                "{} does not meet its own hypothesis:\n{}",
                s.file,
                report.render()
            );
            insta::assert_snapshot!("report", report.render());
        });
    });
}

#[test]
fn every_scenario_replays_to_the_same_fingerprint_and_another_seed_differs() {
    let r = registry();
    for name in [
        "zombie-fenced",
        "zombie-unfenced",
        "lock-server-restart",
        "nemesis-fenced",
    ] {
        let s = scenario(&r, name);
        let a = r.run(&s, s.meta.seed, TraceMode::Off).unwrap();
        let b = r.run(&s, s.meta.seed, TraceMode::Record).unwrap();
        assert_eq!(
            a.fingerprint, b.fingerprint,
            "{name}: same seed, another run"
        );
        let c = r.run(&s, s.meta.seed + 1, TraceMode::Off).unwrap();
        assert_ne!(
            a.fingerprint, c.fingerprint,
            "{name}: the seed changes nothing"
        );
    }
}

/// How many of seeds 1..=200 meet the hypothesis, and how many break
/// mutual exclusion.
fn sweep(r: &Registry, name: &str) -> (usize, usize) {
    let s = scenario(r, name);
    let (mut passed, mut broken) = (0, 0);
    for seed in 1..=200 {
        let out = r.run(&s, seed, TraceMode::Off).unwrap();
        broken += out
            .violations
            .iter()
            .any(|(_, v)| v.invariant == MUTUAL_EXCLUSION) as usize;
        passed += Report::build(&s, &out).passed as usize;
    }
    (passed, broken)
}

#[test]
fn with_fencing_no_seed_of_1_to_200_breaks_anything() {
    let r = registry();
    for name in ["zombie-fenced", "lock-server-restart", "nemesis-fenced"] {
        assert_eq!(sweep(&r, name), (200, 0), "{name}");
    }
}

#[test]
fn without_fencing_the_zombie_breaks_mutual_exclusion_on_every_seed_of_1_to_200() {
    let r = registry();
    assert_eq!(sweep(&r, "zombie-unfenced"), (200, 200));
}
