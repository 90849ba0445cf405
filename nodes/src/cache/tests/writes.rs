//! Writes: write-through races between loads and writes, cache-aside's
//! blind set, and write-back batches and dirty victims.

use super::*;

/// Write-through: the database acknowledges write `wtag` (of 2 to "k"),
/// then answers load `rtag` with the value from before the write, 1. The
/// cache holds 2 throughout; returns what it sent for the load.
fn ack_then_older_load(c: &mut Harness<CacheNode>, wtag: u64, rtag: u64) -> Vec<(NodeId, Msg)> {
    db_done(c, wtag);
    assert_eq!(cached(c, "k"), Some(int(2)), "the acknowledged write");
    let out = db_value(c, rtag, 1);
    assert_eq!(
        cached(c, "k"),
        Some(int(2)),
        "the older value must not replace the acknowledged write"
    );
    out
}

#[test]
fn a_load_that_a_write_overtook_is_answered_but_not_stored() {
    let mut c = cache(write_through());
    let rtag = load_tag(&get(&mut c, 1, "k"));
    // Another client writes 2; the load read the old value before the write
    // landed.
    let wtag = write_tag(&put_from(&mut c, NodeId(3), 9, "k", 2));
    ack_then_older_load(&mut c, wtag, rtag);
}

#[test]
fn write_through_a_load_sent_after_the_write_started_is_answered_but_not_stored() {
    // The load leaves after the write (so it carries the write's generation)
    // but reads the database before the write lands; the network is not
    // FIFO, so its answer can arrive after the write's acknowledgement.
    let mut c = cache(write_through());
    let wtag = write_tag(&put(&mut c, 1, "k", 2));
    let rtag = load_tag(&get(&mut c, 2, "k"));
    assert_eq!(
        ack_then_older_load(&mut c, wtag, rtag),
        value_to_client(2, 1, Source::Database),
        "the reader that asked before the acknowledgement gets what the database said"
    );
}

#[test]
fn coalescing_does_not_join_a_load_sent_before_a_completed_write() {
    let mut c = cache(coalescing());
    let first = get(&mut c, 1, "k");
    let old_load = load_tag(&first);
    let write = put(&mut c, 2, "k", 2);
    let wtag = write_tag(&write);
    db_done(&mut c, wtag);
    // A read that starts after the write was acknowledged must not wait for
    // a load that may have read the database before the write.
    let out = get(&mut c, 3, "k");
    let new_load = load_tag(&out);
    assert_eq!(cs(&c).stats().coalesced, 0);
    let out = db_value(&mut c, old_load, 1);
    assert_eq!(
        out,
        value_to_client(1, 1, Source::Database),
        "only the reader that was there before the write gets the old value"
    );
    let out = db_value(&mut c, new_load, 2);
    assert!(
        matches!(out.as_slice(), [(CLIENT, Msg::Value { tag: 3, value, .. })] if *value == int(2))
    );
}

#[test]
fn cache_aside_set_is_blind_so_an_old_value_lands_after_the_delete() {
    // Facebook's memcache paper §3.2.1: the race leases close.
    let mut c = cache(Params {
        ttl: Some(secs(2)),
        ..Params::default()
    });
    assert_eq!(get(&mut c, 1, "k"), miss_to_client(1, None));
    c.deliver(
        NodeId(3),
        Msg::Del {
            tag: 2,
            key: "k".into(),
        },
    );
    set(&mut c, "k", 1, None);
    let e = cs(&c).store().peek("k").expect("the stale value is cached");
    assert_eq!((e.value.clone(), e.expires), (int(1), Some(secs(3))));
}

fn flush_tick(c: &mut Harness<CacheNode>) -> Vec<(NodeId, Msg)> {
    let fx = c.fire(TimerId(1));
    fx.sends()
}

#[test]
fn write_back_acknowledges_at_once_and_flushes_oldest_first_in_batches() {
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        batch_size: 2,
        ..Params::default()
    });
    for (t, k) in [(1, "a"), (2, "b"), (3, "c")] {
        assert_eq!(
            put(&mut c, t, k, t as i64),
            vec![(CLIENT, Msg::Written { tag: t })],
            "acknowledged from memory, nothing sent to the database"
        );
    }
    assert_eq!(cs(&c).stats().dirty, 3);
    let out = flush_tick(&mut c);
    let [(DB, Msg::DbBatch { tag, items, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    let keys: Vec<&str> = items.iter().map(|(k, _, _, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["a", "b"]);
    assert!(
        flush_tick(&mut c).is_empty(),
        "one batch in flight at a time"
    );
    db_done(&mut c, *tag);
    assert_eq!(cs(&c).stats().dirty, 1);
    assert!(cs(&c).holds_dirty("c", 3) && !cs(&c).holds_dirty("a", 1));
}

#[test]
fn write_back_names_the_dirty_values_a_newer_write_absorbed() {
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        ..Params::default()
    });
    put(&mut c, 1, "k", 10);
    put(&mut c, 2, "k", 11);
    put(&mut c, 3, "k", 12);
    let out = flush_tick(&mut c);
    let [(DB, Msg::DbBatch { items, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(items, &vec![("k".to_string(), int(12), vec![10, 11], 3)]);
}

/// A write-back cache of one entry, holding a = 1, not yet flushed.
fn one_dirty_entry() -> Harness<CacheNode> {
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        capacity: 1,
        ..Params::default()
    });
    put(&mut c, 1, "a", 1);
    assert!(cs(&c).holds_dirty("a", 1));
    c
}

#[test]
fn write_back_flushes_a_dirty_victim_at_once_and_serves_it_meanwhile() {
    let mut c = one_dirty_entry();
    let out = put(&mut c, 2, "b", 2);
    assert!(matches!(
        out.as_slice(),
        [(DB, Msg::DbBatch { items, .. }), (CLIENT, Msg::Written { tag: 2 })]
            if items == &vec![("a".to_string(), int(1), vec![], 1)]
    ));
    assert_eq!(get(&mut c, 3, "a"), value_to_client(3, 1, Source::Cache));
}

#[test]
fn a_newer_write_supersedes_an_evicted_entry_waiting_for_its_flush() {
    let mut c = one_dirty_entry();
    put(&mut c, 2, "b", 2); // evicts a: its flush is in flight
    put(&mut c, 3, "a", 3); // evicts b, supersedes the evicted a
    let e = cs(&c).store().peek("a").expect("a is back in the store");
    assert_eq!((e.value.clone(), e.absorbed.clone()), (int(3), vec![1]));
    assert_eq!(get(&mut c, 4, "a"), value_to_client(4, 3, Source::Cache));
    assert!(cs(&c).holds_dirty("a", 1) && cs(&c).holds_dirty("a", 3) && cs(&c).holds_dirty("b", 2));
}
