//! The registry the command line runs with: protocols added to it, folders of
//! scenarios it lists and finds by name.

use chaoslab::Registry;
use sim::kernel::TraceMode;

fn raft_folder() -> String {
    format!("{}/../scenarios/raft", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_registry_lists_and_loads_the_scenarios_of_its_folders_by_their_path_there() {
    let mut r = Registry::new();
    nodes::register_builtin(&mut r);
    r.scenarios(raft_folder());
    let listed = r.list();
    assert_eq!(listed.len(), 16, "the .toml files of scenarios/raft");
    assert!(listed.iter().any(|l| l.name == "bug-figure-8"));
    assert!(listed.iter().all(|l| !l.name.contains('/')));
    // Without the bundled scenarios, the default is the first one listed.
    assert_eq!(r.default_scenario().as_deref(), Some("bug-figure-8"));
    let s = r
        .load(Some("bug-figure-8"))
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert_eq!(s.protocol, "raft");
    assert_eq!(s.file, "bug-figure-8");
    let default = r.load(None).unwrap_or_else(|e| panic!("{}", e.0));
    assert_eq!(default.meta.name, s.meta.name);
    // The same run as the bundled scenario of the same text.
    let bundled = Registry::builtin()
        .load(Some("raft/bug-figure-8"))
        .unwrap_or_else(|e| panic!("{}", e.0));
    let a = r.run(&s, 3, TraceMode::Off).unwrap();
    let b = Registry::builtin()
        .run(&bundled, 3, TraceMode::Off)
        .unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn an_empty_registry_knows_no_protocol_and_lists_nothing() {
    let r = Registry::new();
    assert!(r.list().is_empty());
    assert!(r.default_scenario().is_none());
    assert!(r.load(None).is_err());
    let text = std::fs::read_to_string(format!("{}/bug-figure-8.toml", raft_folder())).unwrap();
    let e = r.parse("bug-figure-8.toml", &text).unwrap_err();
    assert!(e.message.starts_with("unknown protocol `raft`"), "{e}");
}

#[test]
fn the_builtin_registry_holds_the_bundled_scenarios_and_every_builtin_protocol() {
    let r = Registry::builtin();
    assert_eq!(r.list().len(), chaoslab::scenarios::BUNDLED.len());
    assert_eq!(r.catalog().names(), nodes::builtin().names());
    assert_eq!(
        r.default_scenario().as_deref(),
        Some(chaoslab::scenarios::DEFAULT)
    );
}
