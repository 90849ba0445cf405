//! TEMPORARY: runs the scenarios through sim directly until the registry lands.
use lock_service::*;
use serde::Deserialize;
use sim::kernel::{Sim, TraceMode};
use sim::node::Cluster;
use sim::report::Report;
use sim::scenario::{ProtocolEvents, ProtocolInfo, Scenario};

fn parse(path: &str) -> (Scenario, LockService) {
    let src = std::fs::read_to_string(path).unwrap();
    let roles = |_: &str| {
        let mut r = ROLES.to_vec();
        r.push("client");
        r
    };
    let events = |_: &str| ProtocolEvents {
        messages: Some(MESSAGES.to_vec()),
        notes: Some(NOTES.to_vec()),
    };
    let info = ProtocolInfo {
        protocols: &["lock-service"],
        roles: &roles,
        events: &events,
    };
    let mut s = Scenario::parse(path, &src, &info).unwrap_or_else(|e| panic!("{e}"));
    s.resolve_measures(
        &["lock", "tokens granted", "leases expired", "stale writes rejected", "zombie writes accepted"],
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut v: toml::Table = toml::from_str(&src).unwrap();
    let mut sys = v.remove("system").unwrap().as_table().unwrap().clone();
    sys.remove("protocol");
    let params = Params::deserialize(toml::Value::Table(sys)).unwrap();
    params.validate(s.servers()).unwrap();
    let p = LockService::new(params, s.workload.client_config(), &Cluster::new(s.servers(), s.clients()));
    (s, p)
}

fn sweep(path: &str, seeds: std::ops::RangeInclusive<u64>) {
    let mut passed = 0;
    let mut viol = 0;
    let mut failed = vec![];
    for seed in seeds.clone() {
        let (s, p) = parse(path);
        let out = Sim::new(&s, p, seed, TraceMode::Off).run();
        let r = Report::build(&s, &out);
        if r.passed { passed += 1 } else { failed.push(seed) }
        if !out.violations.is_empty() { viol += 1 }
        if seed == *seeds.start() { println!("{}", r.render()); }
    }
    println!("{path}: {passed}/{} passed, {viol} with violations; failed {failed:?}", seeds.count());
}

#[test]
#[ignore]
fn tmp_sweep() {
    let n: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    for f in std::env::var("FILES").unwrap().split(",") {
        sweep(f, 1..=n);
    }
}
