//! The property watch, end to end: a protocol whose properties are true in
//! windows of time its parameters set.

use serde::Deserialize;

use crate::kernel::TraceMode;
use crate::node::{Cluster, Ctx, Disk, Node, NodeId, Request, Status, TimerId};
use crate::protocol::{Findings, Property, PropertyVerdict, Protocol, Step};
use crate::registry::{Catalog, ParamError, Register, Spec};
use crate::report::Report;
use crate::scenario::{Scenario, ScenarioError};
use crate::time::{ms, Nanos};

/// A protocol whose properties are true in a window of time its
/// parameters set: `up` (eventually) and `blip` (sometimes) hold from
/// `from_ms` until `until_ms`; `calm` (always) breaks from `break_ms`.
/// Its servers tick every 10ms, so there is a check every 10ms.
#[derive(Clone, Debug)]
struct Window {
    from: Nanos,
    until: Nanos,
    broken: Nanos,
    role: &'static str,
    /// Report `up` once, at the first check it is true, and never again.
    once: bool,
    reported: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowParams {
    #[serde(default)]
    from_ms: Option<u64>,
    #[serde(default)]
    until_ms: Option<u64>,
    #[serde(default)]
    break_ms: Option<u64>,
    /// `role = "other"`: the servers report a role `ROLES` lacks.
    #[serde(default)]
    role: String,
    #[serde(default)]
    once: bool,
}

#[derive(Clone, Debug)]
struct Tick;

impl crate::node::Message for Tick {
    fn kind(&self) -> &'static str {
        "Tick"
    }
}

#[derive(Clone, Debug)]
struct Ticker(&'static str);

impl Node for Ticker {
    type Msg = Tick;
    type Op = crate::history::OpFn;
    fn on_start(&mut self, ctx: &mut Ctx<Tick>) {
        ctx.set_timer(TimerId(1), ms(10));
    }
    fn on_message(&mut self, _: &mut Ctx<Tick>, _: NodeId, _: Tick) {}
    fn on_timer(&mut self, ctx: &mut Ctx<Tick>, _: TimerId) {
        ctx.set_timer(TimerId(1), ms(10));
    }
    fn on_request(&mut self, ctx: &mut Ctx<Tick>, req: Request) {
        ctx.complete(req.id, crate::history::Outcome::Fail, None);
    }
    fn role(&self) -> &'static str {
        self.0
    }
    fn status(&self) -> Status {
        Status {
            role: self.0,
            fields: Vec::new(),
        }
    }
}

const PROPERTIES: &[Property] = &[
    Property::always("calm", "nothing breaks"),
    Property::eventually("up", "the window is open"),
    Property::sometimes("blip", "the window is open"),
];

impl Protocol for Window {
    type Node = Ticker;
    fn build(&self, _: NodeId, _: &Cluster, _: &Disk) -> Ticker {
        Ticker(self.role)
    }
    const PROPERTIES: &'static [Property] = PROPERTIES;
    fn check(&mut self, step: Step<'_, Ticker>, out: &mut Findings) {
        let now = step.now;
        let open = self.from <= now && now < self.until;
        if !self.once {
            out.holds("up", open);
        } else if open && !self.reported {
            out.holds("up", true);
            self.reported = true;
        }
        out.holds("blip", open);
        if now >= self.broken {
            out.violated("calm", "it broke");
            if self.once {
                out.violated("up", "it broke too");
            }
        }
    }
}

impl Spec for Window {
    const NAME: &'static str = "window";
    type Params = WindowParams;
    const ROLES: &'static [&'static str] = &["server"];
    fn new(p: WindowParams, _: &Scenario) -> Result<Self, ParamError> {
        let at = |v: Option<u64>| v.map_or(Nanos::MAX, ms);
        Ok(Window {
            from: at(p.from_ms),
            until: at(p.until_ms),
            broken: at(p.break_ms),
            once: p.once,
            reported: false,
            role: if p.role.is_empty() {
                "server"
            } else {
                "leeder"
            },
        })
    }
}

/// The error a scenario whose `[expect]` table is `expect` is refused with.
fn expect_err(expect: &str) -> ScenarioError {
    let src = source("", &format!("[expect]\n{expect}\n"));
    catalog().parse("window.toml", &src).unwrap_err()
}

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.add::<Window>();
    c
}

/// A 3s run of three servers; `system` and `rest` add to it.
fn source(system: &str, rest: &str) -> String {
    format!(
        "[meta]\nname = \"window\"\nduration = \"3s\"\n\n[system]\nprotocol = \"window\"\n{system}\n[topology]\nservers = 3\nclients = 0\n\n{rest}"
    )
}

fn run(system: &str, rest: &str) -> Report {
    let c = catalog();
    let s = c.parse("window.toml", &source(system, rest)).unwrap();
    Report::build(&s, &c.run(&s, 1, TraceMode::Off).unwrap())
}

fn verdict(r: &Report, name: &str) -> PropertyVerdict {
    r.invariants
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no property {name}"))
        .verdict
        .clone()
}

/// The detail of the named property's violation (it must be violated).
fn violation(r: &Report, name: &str) -> String {
    let PropertyVerdict::Violated { detail } = verdict(r, name) else {
        panic!("{name} is not violated:\n{}", r.render())
    };
    detail
}

fn word(r: &Report, name: &str) -> &'static str {
    r.invariants
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.verdict.word())
        .unwrap()
}

#[test]
fn without_faults_the_run_is_quiet_from_the_start() {
    let r = run("from_ms = 100\n", "");
    assert_eq!(
        verdict(&r, "up"),
        PropertyVerdict::Held { at: Some(ms(100)) }
    );
    assert_eq!(verdict(&r, "blip"), PropertyVerdict::Seen { at: ms(100) });
    assert_eq!(verdict(&r, "calm"), PropertyVerdict::Held { at: None });
    assert!(r.passed, "{}", r.render());
    assert!(r
        .render()
        .contains("[ok] up                       eventually: held at 100ms"));
}

#[test]
fn never_true_in_a_quiet_period_as_long_as_the_settle_time_is_violated() {
    // 3s of quiet, settle time 2s (the default).
    let r = run("", "");
    assert!(matches!(
        verdict(&r, "up"),
        PropertyVerdict::Violated { .. }
    ));
    assert_eq!(verdict(&r, "blip"), PropertyVerdict::NotSeen);
    assert!(!r.passed);
    assert_eq!(r.failures(), ["up violated"]);
    // Not seen fails nothing by itself.
    let r = run("", "[expect]\nviolated = [\"up\"]\n");
    assert!(r.passed, "{}", r.render());
}

#[test]
fn a_quiet_period_shorter_than_the_settle_time_is_undecided() {
    let heal = "[[faults]]\nat = \"0s\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"n2\", \"n3\"]]\n\n[[faults]]\nat = \"2s\"\naction = \"heal\"\n";
    let r = run("", heal);
    let PropertyVerdict::Undecided { reason } = verdict(&r, "up") else {
        panic!("{}", r.render())
    };
    assert!(reason.contains("only 1s of quiet time"), "{reason}");
    assert!(r.passed, "undecided is never a failure: {}", r.render());
    // A shorter settle time decides it.
    let r = run("", &format!("[expect]\nsettle_time = \"500ms\"\n\n{heal}"));
    assert_eq!(word(&r, "up"), "violated");
}

#[test]
fn a_fault_that_never_heals_leaves_eventually_undecided() {
    for fault in [
        "action = \"partition\"\ngroups = [[\"n1\"], [\"n2\", \"n3\"]]",
        "action = \"crash\"\ntarget = \"n2\"",
        "action = \"pause\"\ntarget = \"n2\"",
        "action = \"clog\"\nlink = [\"n1\", \"n2\"]",
    ] {
        let r = run("", &format!("[[faults]]\nat = \"1s\"\n{fault}\n"));
        assert_eq!(word(&r, "up"), "undecided", "{fault}");
        assert!(r.passed, "{fault}: {}", r.render());
        // Even one that held before the fault.
        let r = run(
            "from_ms = 100\n",
            &format!("[[faults]]\nat = \"1s\"\n{fault}\n"),
        );
        assert_eq!(word(&r, "up"), "undecided", "{fault}");
    }
    // A nemesis that never stops.
    let r = run(
        "from_ms = 100\n",
        "[nemesis]\ninterval = \"500ms\"\nfault_duration = \"200ms\"\nkinds = [\"partition\"]\n",
    );
    assert_eq!(word(&r, "up"), "undecided");
}

#[test]
fn held_before_a_fault_but_not_after_it_has_not_held() {
    // True from 100ms to 300ms; n2 down from 500ms to 800ms; quiet
    // from 800ms to 3s (2.2s, past the settle time): never true there.
    let faults = "[[faults]]\nat = \"500ms\"\naction = \"crash\"\ntarget = \"n2\"\n\n[[faults]]\nat = \"800ms\"\naction = \"restart\"\ntarget = \"n2\"\n";
    let r = run("from_ms = 100\nuntil_ms = 300\n", faults);
    let detail = violation(&r, "up");
    assert!(detail.contains("from 800ms"), "{detail}");
    // The sometimes property counts the whole run.
    assert_eq!(verdict(&r, "blip"), PropertyVerdict::Seen { at: ms(100) });
    // True after the restart: held, at its first step there.
    let r = run("from_ms = 900\n", faults);
    assert_eq!(
        verdict(&r, "up"),
        PropertyVerdict::Held { at: Some(ms(900)) }
    );
}

#[test]
fn a_truth_reported_during_a_fault_and_not_repeated_holds_when_the_quiet_period_begins() {
    // `up` is reported true once, at 1.1s, inside a partition that heals
    // at 2s, and never again: the quiet period begins with it true.
    let heal = "[[faults]]\nat = \"1s\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"n2\", \"n3\"]]\n\n[[faults]]\nat = \"2s\"\naction = \"heal\"\n";
    let r = run(
        "from_ms = 1100\nonce = true\n",
        &format!("[expect]\nsettle_time = \"500ms\"\n\n{heal}"),
    );
    assert_eq!(
        verdict(&r, "up"),
        PropertyVerdict::Held { at: Some(ms(2000)) },
        "{}",
        r.render()
    );
    // Reported false last: not held.
    let r = run(
        "from_ms = 1100\nuntil_ms = 1500\n",
        &format!("[expect]\nsettle_time = \"500ms\"\n\n{heal}"),
    );
    assert_eq!(word(&r, "up"), "violated", "{}", r.render());
    // Reported true only by the restarted node's first step (at 805ms,
    // between the servers' 10ms ticks), which runs before the restart
    // ends the fault: held at the restart.
    let r = run(
        "from_ms = 805\nonce = true\n",
        "[[faults]]\nat = \"500ms\"\naction = \"crash\"\ntarget = \"n2\"\n\n[[faults]]\nat = \"805ms\"\naction = \"restart\"\ntarget = \"n2\"\n",
    );
    assert_eq!(
        verdict(&r, "up"),
        PropertyVerdict::Held { at: Some(ms(805)) },
        "{}",
        r.render()
    );
}

#[test]
fn a_latency_spike_never_undone_is_a_fault_in_force() {
    for fault in [
        "action = \"latency\"\ntarget = \"n2\"\nlatency = { dist = \"constant\", value = \"700ms\" }",
        "action = \"loss\"\ntarget = \"n2\"\nprobability = 0.5",
    ] {
        let r = run("", &format!("[[faults]]\nat = \"1s\"\n{fault}\n"));
        assert_eq!(word(&r, "up"), "undecided", "{fault}: {}", r.render());
    }
    // Undone, the run is quiet again.
    let r = run(
        "",
        "[network]\nlatency = { dist = \"constant\", value = \"1ms\" }\n\n[[faults]]\nat = \"100ms\"\naction = \"latency\"\ntarget = \"n2\"\nlatency = { dist = \"constant\", value = \"700ms\" }\n\n[[faults]]\nat = \"200ms\"\naction = \"latency\"\ntarget = \"n2\"\nlatency = { dist = \"constant\", value = \"1ms\" }\n",
    );
    let detail = violation(&r, "up");
    assert!(detail.contains("from 200ms"), "{detail}");
}

#[test]
fn a_check_reporting_an_eventually_property_violated_violates_declared_properties() {
    // `once` also has the check call `violated("up", ..)` once it breaks.
    let r = run("from_ms = 100\nonce = true\nbreak_ms = 1000\n", "");
    let detail = violation(&r, "declared-properties");
    assert!(
        detail.starts_with(
            "the check reported \"up\" violated (it broke too), but it is an eventually property"
        ),
        "{detail}"
    );
    // Reported once, not at every step; `up` itself is judged as usual.
    let declared = r
        .invariants
        .iter()
        .find(|i| i.name == "declared-properties")
        .unwrap();
    assert_eq!(declared.violations, 1);
    assert_eq!(
        verdict(&r, "up"),
        PropertyVerdict::Held { at: Some(ms(100)) }
    );
    assert!(
        r.failures()
            .contains(&"declared-properties violated".to_string()),
        "{:?}",
        r.failures()
    );
}

#[test]
fn a_zero_settle_time_and_a_name_both_held_and_violated_are_refused() {
    let e = expect_err("settle_time = \"0s\"");
    assert_eq!((e.line, e.column), (13, 1), "{e}");
    assert!(
        e.message
            .starts_with("[expect] settle_time = \"0s\": the settle time must be longer than 0"),
        "{e}"
    );
    let e = expect_err("violated = [\"up\"]\nheld = [\"up\"]");
    assert_eq!((e.line, e.column), (14, 9), "{e}");
    assert_eq!(
        e.message,
        "[expect] held: \"up\" is also named in violated = [...]; a property cannot be expected both to hold and to be violated: keep it in one list"
    );
}

#[test]
fn always_is_violated_at_the_first_step_it_is_false() {
    let r = run("break_ms = 1000\n", "");
    assert_eq!(
        verdict(&r, "calm"),
        PropertyVerdict::Violated {
            detail: "it broke".into()
        }
    );
    assert_eq!(r.failures()[0], "calm violated");
}

#[test]
fn expect_held_and_seen_demand_the_properties() {
    let r = run(
        "from_ms = 100\n",
        "[expect]\nheld = [\"up\"]\nseen = [\"blip\"]\n",
    );
    assert!(r.passed, "{}", r.render());
    assert_eq!(r.expectations.len(), 2);
    assert_eq!(r.expectations[0].key, "held.\"up\"");
    // Until 0ms: never true.
    let r = run(
        "from_ms = 0\nuntil_ms = 0\n",
        "[expect]\nheld = [\"up\"]\nseen = [\"blip\"]\n",
    );
    assert!(!r.passed);
    let failed = r.failed_checks();
    assert!(failed.contains("seen.\"blip\""), "{failed:?}");
    assert!(failed.contains("held.\"up\""), "{failed:?}");
    // Demanded but undecided: the run is undecided, not failed.
    let r = run(
        "from_ms = 100\n",
        "[expect]\nheld = [\"up\"]\n\n[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n2\"\n",
    );
    assert_eq!(
        r.outcome,
        crate::report::RunOutcome::Undecided,
        "{}",
        r.render()
    );
    assert_eq!(r.undecided.len(), 1);
    assert!(
        r.undecided[0]
            .explain()
            .starts_with("held.\"up\": a fault was still in force"),
        "{}",
        r.undecided[0].explain()
    );
    // An eventually expected violated that held fails the run.
    let r = run("from_ms = 100\n", "[expect]\nviolated = [\"up\"]\n");
    assert!(!r.passed);
    assert!(r.failed_checks().contains("violated.\"up\""));
    // Its row says so: failed in the text, not ok in --json.
    assert!(
        r.render()
            .contains("[!!] up                       eventually: held at 100ms, expected violated"),
        "{}",
        r.render()
    );
    let row = r.invariants.iter().find(|i| i.name == "up").unwrap();
    assert!(!row.ok);
    // Expected violated and violated: ok.
    let r = run("", "[expect]\nviolated = [\"up\"]\n");
    assert!(r.invariants.iter().find(|i| i.name == "up").unwrap().ok);
}

#[test]
fn a_node_reporting_an_undeclared_role_violates_declared_roles_and_keeps_its_trace() {
    let c = catalog();
    let s = c
        .parse(
            "window.toml",
            &source("role = \"other\"\nfrom_ms = 100\n", ""),
        )
        .unwrap();
    let out = c.run(&s, 1, TraceMode::Record).unwrap();
    // Once per node and role, not at every step.
    let v: Vec<_> = out.violations.iter().map(|(_, v)| v).collect();
    assert_eq!(v.len(), 3, "{v:?}");
    assert_eq!(v[0].invariant, "declared-roles");
    assert_eq!(
        v[0].detail,
        "n1 reports role \"leeder\", which protocol \"window\" does not declare in Spec::ROLES [\"server\"] \
         (add it there: fault targets and the TUI rely on that list)"
    );
    let trace = out.trace.as_ref().expect("recorded");
    assert!(trace.iter().any(|r| matches!(
        r.event,
        crate::trace::TraceEvent::Violation {
            invariant: "declared-roles",
            ..
        }
    )));
    let report = Report::build(&s, &out);
    assert!(!report.passed);
    assert_eq!(report.failures(), ["declared-roles violated"]);
    let text = report.render();
    assert!(text.contains("[!!] declared-roles"), "{text}");
    assert!(
        text.contains("replay       chaoslab run window.toml --seed 1"),
        "{text}"
    );
    // A scenario may expect it.
    let s = c
        .parse(
            "window.toml",
            &source(
                "role = \"other\"\nfrom_ms = 100\n",
                "[expect]\nviolated = [\"declared-roles\"]\n",
            ),
        )
        .unwrap();
    let report = Report::build(&s, &c.run(&s, 1, TraceMode::Off).unwrap());
    assert!(report.passed, "{}", report.render());
}

#[test]
fn expect_names_are_checked_against_the_properties_and_their_kinds() {
    let c = catalog();
    let e = expect_err("seen = [\"blip\", \"blop\"]");
    assert_eq!(e.line, 13, "{e}");
    assert_eq!(e.column, 17, "{e}");
    assert_eq!(
        e.message,
        "[expect] seen: protocol \"window\" has no property \"blop\"; its sometimes properties are \"blip\""
    );
    let e = expect_err("held = [\"calm\"]");
    assert_eq!(
        e.message,
        "[expect] held: \"calm\" is an always property of protocol \"window\", which held does not take (name it in violated = [...]); its eventually properties are \"up\""
    );
    let e = expect_err("violated = [\"blip\"]");
    assert!(e.message.contains("(name it in seen = [...])"), "{e}");
    assert!(
        e.message.ends_with(
            "its always or eventually properties are \"calm\", \"up\", \"declared-roles\""
        ),
        "{e}"
    );
    // declared-roles may be expected violated.
    c.parse(
        "window.toml",
        &source("", "[expect]\nviolated = [\"declared-roles\"]\n"),
    )
    .unwrap();
}
