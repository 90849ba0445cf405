//! The log protocol's parameters and its figures.

use super::*;

#[test]
fn the_report_figures_end_with_the_log_checkers_own() {
    let ours = &METRICS[METRICS.len() - sim::check::log::FIGURES.len()..];
    assert_eq!(ours, sim::check::log::FIGURES);
}

#[test]
fn acks_must_be_0_1_or_all_and_the_servers_must_add_up() {
    let p = Params {
        acks: AcksSpec::Number(2),
        ..Params::default()
    };
    let (field, msg) = p.check(6, 1).unwrap_err();
    assert_eq!(field, "acks");
    assert!(msg.contains("must be 0, 1 or \"all\""), "{msg}");
    let (field, msg) = Params::default().check(5, 1).unwrap_err();
    assert_eq!(field, "brokers");
    assert!(msg.contains("set servers = 6"), "{msg}");
    let c = Params::default().check(6, 1).unwrap();
    assert_eq!(c.acks, Acks::All);
}

#[test]
fn min_insync_replicas_cannot_exceed_the_replicas() {
    let p = Params {
        min_insync_replicas: 4,
        ..Params::default()
    };
    let (field, _) = p.check(6, 1).unwrap_err();
    assert_eq!(field, "min_insync_replicas");
}

#[test]
fn the_group_fields_are_checked_with_their_names() {
    let p = Params {
        group: Some("g".into()),
        commit: Some("sometimes".into()),
        ..Params::default()
    };
    let (field, msg) = p.check(6, 1).unwrap_err();
    assert_eq!(field, "commit");
    assert!(msg.contains("\"before\", \"after\" or \"atomic\""), "{msg}");
    let p = Params {
        group: Some("g".into()),
        commit: Some("before".into()),
        commit_interval: Some(sim::time::ms(500)),
        ..Params::default()
    };
    assert_eq!(p.check(6, 1).unwrap_err().0, "commit_interval");
    let p = Params {
        group: Some("g".into()),
        max_buffered: Some(5),
        max_poll_records: Some(10),
        ..Params::default()
    };
    assert_eq!(p.check(6, 1).unwrap_err().0, "max_poll_records");
    // A group field without a group would do nothing: refused, by name.
    let p = Params {
        dedup: Some(true),
        ..Params::default()
    };
    let (field, msg) = p.check(6, 1).unwrap_err();
    assert_eq!(field, "dedup");
    assert!(msg.contains("no group is set"), "{msg}");
    let p = Params {
        group: Some(String::new()),
        ..Params::default()
    };
    assert_eq!(p.check(6, 1).unwrap_err().0, "group");
}
