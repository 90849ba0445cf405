//! Raft under a random nemesis, over 500 seeds: no invariant may break and
//! every history must be linearizable (issue: "Confidence"). Seeds run on two
//! threads; each run is still a pure function of its seed.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sim::check::Verdict;
use sim::kernel::TraceMode;
use sim::report::Report;

const SEEDS: u64 = 500;

#[test]
fn raft_keeps_every_invariant_and_stays_linearizable_over_500_nemesis_seeds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/nemesis.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let scenario = nodes::parse("scenarios/raft/nemesis.toml", &text).unwrap();
    let next = AtomicU64::new(1);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > SEEDS {
                    break;
                }
                let out = nodes::run(&scenario, seed, TraceMode::Off).unwrap();
                let report = Report::build(&scenario, &out);
                let mut broke: Vec<String> = report
                    .invariants
                    .iter()
                    .filter(|i| i.violations > 0)
                    .map(|i| format!("{} violated", i.name))
                    .collect();
                match report.consistency.verdict() {
                    Some(Verdict::Linearizable) => {}
                    Some(other) => broke.push(format!("history: {other}")),
                    None => broke.push("history not checked".into()),
                }
                if !broke.is_empty() {
                    failures.lock().unwrap().push((seed, broke));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {SEEDS} seeds failed; replay with `chaoslab run raft/nemesis --seed N`:\n{:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}
