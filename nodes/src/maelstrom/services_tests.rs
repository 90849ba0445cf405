//! Maelstrom's services called by a lab's node (`Lab<N>`), as a learner's
//! node calls them: run through the registry like any scenario, with the
//! services listed in `[system] services`.

use sim::kernel::TraceMode;
use sim::metric::Value as Shown;
use sim::registry::{Catalog, Register};
use sim::report::Report;

use super::reference::LinKvProxy;
use super::*;

/// A lab node that proxies lin-kv's requests to the lin-kv service.
#[derive(Clone, Debug)]
struct OverLinKv(LinKvProxy);

impl Default for OverLinKv {
    fn default() -> Self {
        OverLinKv(LinKvProxy::new("lin-kv", false))
    }
}

impl MaelNode for OverLinKv {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        self.0.on_message(out, msg)
    }
    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

impl LabNode for OverLinKv {
    const PROTOCOL: &'static str = "lab-test-over-lin-kv";
}

/// The same, over the last-write-wins lww-kv service.
#[derive(Clone, Debug)]
struct OverLwwKv(LinKvProxy);

impl Default for OverLwwKv {
    fn default() -> Self {
        OverLwwKv(LinKvProxy::new("lww-kv", false))
    }
}

impl MaelNode for OverLwwKv {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        self.0.on_message(out, msg)
    }
    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

impl LabNode for OverLwwKv {
    const PROTOCOL: &'static str = "lab-test-over-lww-kv";
}

/// Unique ids from the lin-tso timestamp oracle: each `generate` asks
/// lin-tso for a timestamp and hands it out as the id.
#[derive(Clone, Debug, Default)]
struct TsoIds {
    /// Per `ts` request: the client's `generate`.
    pending: std::collections::BTreeMap<u64, Envelope>,
}

impl MaelNode for TsoIds {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if Init::answer(out, &msg).is_some() {
            return;
        }
        match msg.body.kind.as_str() {
            "generate" => {
                let id = out.rpc("lin-tso", Body::new("ts"));
                self.pending.insert(id, msg);
            }
            "ts_ok" => {
                let asked = msg.body.in_reply_to.and_then(|id| self.pending.remove(&id));
                if let (Some(req), Some(ts)) = (asked, msg.body.int("ts")) {
                    out.reply(&req, Body::new("generate_ok").with("id", ts));
                }
            }
            _ => {}
        }
    }
    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

impl LabNode for TsoIds {
    const PROTOCOL: &'static str = "lab-test-tso-ids";
}

/// Runs `system` (the `[system]` lines after `protocol`) on protocol
/// `N::PROTOCOL`: 3 servers, 3 clients, n1 and c1 cut off from 2s to 4s.
fn run<N: LabNode + Send>(system: &str, seed: u64) -> Report {
    let text = format!(
        r#"
[meta]
name = "test"
seed = 1
duration = "8s"

[system]
protocol = "{}"
{system}

[topology]
servers = 3
clients = 3

[network]
latency = {{ dist = "uniform", min = "5ms", max = "15ms" }}

[workload]
rate = 20
timeout = "200ms"
stop = "6s"

[[faults]]
at = "2s"
action = "partition"
groups = [["n1", "c1"], ["n2", "n3", "c2", "c3"]]

[[faults]]
at = "4s"
action = "heal"
"#,
        N::PROTOCOL
    );
    let mut catalog = Catalog::new();
    catalog.add::<Lab<N>>();
    let s = catalog
        .parse("test.toml", &text)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = catalog
        .run(&s, seed, TraceMode::Off)
        .unwrap_or_else(|e| panic!("{e}"));
    Report::build(&s, &out)
}

fn figure<'r>(r: &'r Report, name: &str) -> &'r Shown {
    &r.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no figure {name} in\n{}", r.render()))
        .value
}

fn count(r: &Report, name: &str) -> u64 {
    match figure(r, name) {
        Shown::Count(n) => *n,
        v => panic!("{name} is {v:?}"),
    }
}

fn text(r: &Report, name: &str) -> String {
    match figure(r, name) {
        Shown::Text(t) => t.clone(),
        v => panic!("{name} is {v:?}"),
    }
}

#[test]
fn a_lab_node_over_the_lin_kv_service_is_linearizable_through_a_partition() {
    let r = run::<OverLinKv>("workload = \"lin-kv\"\nservices = [\"lin-kv\"]", 1);
    assert!(r.passed, "{}", r.render());
    assert_eq!(text(&r, "verdict"), "valid");
    assert_eq!(text(&r, "linearizability"), "linearizable");
    assert!(count(&r, "service requests") > 100, "{}", r.render());
    assert_eq!(count(&r, "unroutable"), 0);
    assert!(r.render().contains("services lin-kv"), "{}", r.render());
}

#[test]
fn a_service_not_listed_is_not_there_and_the_report_says_where_requests_went() {
    let r = run::<OverLinKv>("workload = \"lin-kv\"", 1);
    // Each request that reached a node went on to a name nobody has.
    assert!(count(&r, "unroutable") > 50, "{}", r.render());
    assert_eq!(r.ops.ok, 0, "no request is ever answered");
    // Unanswered requests may have happened: no verdict against them.
    assert_eq!(text(&r, "verdict"), "valid");
}

#[test]
fn a_lab_node_over_lww_kv_reads_stale_values_and_fails_lin_kv() {
    for seed in 1..=3 {
        let r = run::<OverLwwKv>("workload = \"lin-kv\"\nservices = [\"lww-kv\"]", seed);
        assert!(!r.passed, "seed {seed}: {}", r.render());
        assert!(
            text(&r, "linearizability").starts_with("not linearizable"),
            "seed {seed}: {}",
            r.render()
        );
    }
}

#[test]
fn unique_ids_from_lin_tso_are_unique_through_a_partition() {
    let r = run::<TsoIds>("workload = \"unique-ids\"\nservices = [\"lin-tso\"]", 1);
    assert!(r.passed, "{}", r.render());
    assert_eq!(count(&r, "duplicate ids"), 0);
    assert!(count(&r, "ids generated") > 100, "{}", r.render());
    assert!(count(&r, "service requests") >= count(&r, "ids generated"));
}

#[test]
fn a_service_name_maelstrom_does_not_have_is_refused_with_the_valid_ones() {
    let mut catalog = Catalog::new();
    catalog.add::<Lab<OverLinKv>>();
    let text = "[meta]\nname = \"t\"\nduration = \"8s\"\n\n[system]\nprotocol = \"lab-test-over-lin-kv\"\nworkload = \"lin-kv\"\nservices = [\"lin-kvv\"]\n\n[topology]\nservers = 3\nclients = 1\n\n[workload]\nstop = \"6s\"\n";
    let err = catalog.parse("t.toml", text).unwrap_err().to_string();
    assert!(err.contains("services"), "{err}");
    assert!(err.contains("\"lin-kvv\""), "{err}");
    assert!(err.contains("\"seq-kv\""), "{err}");
}

/// Services never fail: `random`, `all`, the nemesis (every kind) and a
/// trigger fired by a service pick servers and clients only, over many
/// seeds. (A fault that names a service is refused when the scenario is
/// read: see tui/tests/fixtures/invalid/maelstrom-*.)
#[test]
fn random_all_triggers_and_the_nemesis_never_reach_a_service() {
    let text = r#"
[meta]
name = "test"
duration = "6s"

[system]
protocol = "lab-test-over-lin-kv"
workload = "lin-kv"
services = ["lin-kv"]

[topology]
servers = 3
clients = 2

[workload]
rate = 20
timeout = "200ms"
stop = "5s"

[nemesis]
interval = "300ms"
fault_duration = "400ms"
stop = "5s"

[[faults]]
at = "1s"
action = "crash"
target = "random"

[[faults]]
at = "1.5s"
action = "restart"
target = "crashed"

[[faults]]
at = "2s"
action = "pause"
target = "random"

[[faults]]
at = "2.2s"
action = "clog"
link = ["random", "all"]

[[faults]]
at = "2.4s"
action = "unclog"
link = ["random", "all"]

[[faults]]
at = "2.5s"
action = "resume"
target = "paused"

[[faults]]
at = "3s"
action = "crash"
target = "trigger-node"
when = { event = "send", node = "service" }
"#;
    let mut catalog = Catalog::new();
    catalog.add::<Lab<OverLinKv>>();
    let s = catalog
        .parse("test.toml", text)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut faults = 0;
    for seed in 1..=20 {
        let out = catalog
            .run(&s, seed, TraceMode::Record)
            .unwrap_or_else(|e| panic!("{e}"));
        let service = out.cluster.by_name("lin-kv").expect("the service runs");
        assert!(out.cluster.is_service(service));
        assert!(
            out.statuses[service.index()].is_some(),
            "seed {seed}: the service is down at the end"
        );
        for r in out.trace.as_deref().unwrap_or_default() {
            if let sim::trace::TraceEvent::Fault { description, .. } = &r.event {
                faults += 1;
                assert!(
                    !description.contains("lin-kv"),
                    "seed {seed}: a fault reached the service: {description}"
                );
            }
        }
        assert!(out
            .nemesis_log
            .iter()
            .all(|f| !format!("{f:?}").contains("lin-kv")));
    }
    assert!(
        faults > 100,
        "the nemesis and the schedule did fault: {faults}"
    );
}
