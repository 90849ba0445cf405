//! The network model: partitions, clogs, FIFO links, loss, duplication and
//! the reasons for drops.

use super::*;

#[test]
fn a_symmetric_partition_drops_both_ways_until_heal() {
    let (out, log) = run(
        &format!("{THREE}[[faults]]\nat = \"250ms\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"rest\"]]\n[[faults]]\nat = \"650ms\"\naction = \"heal\"\n"),
        1,
    );
    for (a, b) in [(0, 1), (1, 0), (0, 2), (2, 0)] {
        let during: Vec<_> = between(&log, a, b)
            .into_iter()
            .filter(|r| r.t > ms(260) && r.t < ms(650))
            .collect();
        assert!(
            during.is_empty(),
            "{a}->{b} delivered during the partition: {during:?}"
        );
        assert!(
            between(&log, a, b).iter().any(|r| r.t > ms(700)),
            "{a}->{b} never recovered"
        );
    }
    // n2 and n3 stay on the same side.
    assert!(between(&log, 1, 2)
        .iter()
        .any(|r| r.t > ms(300) && r.t < ms(600)));
    assert!(out.counters.dropped_partition > 0);
    assert_eq!(out.partition_windows, vec![(ms(250), ms(650))]);
}

#[test]
fn a_one_way_partition_drops_one_direction_only() {
    let (_, log) = run(
        &format!("{THREE}[[faults]]\nat = \"0s\"\naction = \"partition\"\nfrom = [\"n1\"]\nto = [\"n2\"]\n"),
        1,
    );
    assert!(between(&log, 0, 1).is_empty());
    assert!(!between(&log, 1, 0).is_empty());
    assert!(!between(&log, 0, 2).is_empty());
}

#[test]
fn a_clogged_link_holds_messages_and_releases_them_on_unclog() {
    let (out, log) = run(
        &format!("{THREE}[[faults]]\nat = \"150ms\"\naction = \"clog\"\nlink = [\"n1\", \"n2\"]\n[[faults]]\nat = \"550ms\"\naction = \"unclog\"\nlink = [\"n1\", \"n2\"]\n"),
        1,
    );
    let held: Vec<_> = between(&log, 0, 1)
        .into_iter()
        .filter(|r| (2..=5).contains(&r.seq))
        .collect();
    assert_eq!(held.len(), 4, "every held message arrives: {held:?}");
    assert!(held.iter().all(|r| r.t >= ms(550)));
    assert_eq!(
        out.counters.dropped(),
        0,
        "clogging delays, it does not drop"
    );
}

#[test]
fn a_fifo_link_never_reorders_and_a_jittery_one_does() {
    let jitter = "[topology]\nservers = 2\n[network]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"300ms\" }\n";
    let order = |fifo: bool| {
        let (_, log) = run(&format!("{jitter}fifo = {fifo}\n"), 4);
        between(&log, 0, 1)
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    let fifo = order(true);
    assert!(fifo.windows(2).all(|w| w[0] < w[1]), "{fifo:?}");
    let loose = order(false);
    assert!(
        loose.windows(2).any(|w| w[0] > w[1]),
        "no reordering: {loose:?}"
    );
}

#[test]
fn total_loss_drops_everything_and_certain_duplication_doubles_it() {
    let (out, log) = run(&format!("{THREE}loss = 1.0\n"), 1);
    assert!(log.received.is_empty());
    assert_eq!(out.counters.dropped_loss, out.counters.sent);
    let (out, log) = run(&format!("{THREE}duplicate = 1.0\n"), 1);
    assert_eq!(out.counters.duplicated, out.counters.sent);
    // Ticks 1..9 sent 6 messages each and all arrived twice; tick 10's were
    // sent at the last instant and are still in flight when the run ends.
    let early = log.received.iter().filter(|r| r.seq <= 9).count();
    assert_eq!(early, 2 * 9 * 6);
}

#[test]
fn every_drop_in_the_trace_has_a_reason() {
    let (out, _) = run(
        &format!("{THREE}loss = 0.2\n[[faults]]\nat = \"300ms\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"rest\"]]\n[[faults]]\nat = \"400ms\"\naction = \"crash\"\ntarget = \"n2\"\n"),
        1,
    );
    let reasons: std::collections::BTreeSet<&str> = out
        .trace
        .unwrap()
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::Drop { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons.into_iter().collect::<Vec<_>>(),
        vec!["destination-crashed", "loss", "partition"]
    );
}

#[test]
fn minority_of_leader_puts_the_leader_with_a_minority() {
    let body = "[topology]\nservers = 5\n[[faults]]\nat = \"150ms\"\naction = \"partition\"\ngroups = [[\"minority-of-leader\"], [\"rest\"]]\n";
    let (out, log) = run_with(body, 1, 2);
    let trace = out.trace.unwrap();
    assert!(trace.iter().any(|r| matches!(&r.event,
        TraceEvent::Fault { action: "partition", description, .. } if description == "{n1,n3} | {n2,n4,n5}")));
    assert!(between(&log, 2, 0).iter().any(|r| r.t > ms(200)));
    assert!(!between(&log, 2, 1).iter().any(|r| r.t > ms(200)));
}
