//! The database node: one request at a time, durable writes, and the
//! order of write-back flushes.

use super::*;

#[test]
fn the_database_serves_one_request_at_a_time_so_the_queue_adds_latency() {
    let mut db = database();
    for tag in 1..=3 {
        let fx = db.deliver(
            CLIENT,
            Msg::DbRead {
                tag,
                key: "k".into(),
            },
        );
        let timers = fx
            .iter()
            .filter(|e| matches!(e, Effect::SetTimer { .. }))
            .count();
        assert_eq!(
            timers,
            usize::from(tag == 1),
            "only the first starts service"
        );
    }
    assert_eq!(dbs(&db).queue_len(), 3);
    let fx = db.deliver(
        CLIENT,
        Msg::DbRead {
            tag: 4,
            key: "k".into(),
        },
    );
    assert_eq!(fx.sends(), vec![(CLIENT, Msg::DbBusy { tag: 4 })]);
    for expect in 1..=3u64 {
        db.now += ms(10);
        let fx = db.fire(TimerId(1));
        assert_eq!(
            fx.sends(),
            vec![(
                CLIENT,
                Msg::DbValue {
                    tag: expect,
                    value: Value::Nil
                }
            )]
        );
    }
    assert_eq!(
        dbs(&db).stats.latency_max,
        ms(30),
        "the third waited for two others"
    );
    assert_eq!(dbs(&db).stats.rejected, 1);
}

#[test]
fn the_database_keeps_acknowledged_writes_across_a_restart() {
    let mut db = database();
    db.deliver(
        NodeId(1),
        Msg::DbBatch {
            tag: 1,
            boot: 1,
            items: vec![("k3".into(), int(5), vec![4], 1)],
        },
    );
    let fx = db.fire(TimerId(1));
    assert_eq!(fx.sends(), vec![(NodeId(1), Msg::DbDone { tag: 1 })]);
    db.restart();
    let again = dbs(&db);
    assert_eq!(again.value("k3"), int(5));
    assert!(again.covers("k3", 4) && again.covers("k3", 5) && !again.covers("k3", 3));
}

/// Sends one write-back batch to the database and serves it.
fn batch(
    db: &mut Harness<CacheNode>,
    from: NodeId,
    boot: u64,
    items: Vec<(String, Value, Vec<i64>, u64)>,
) {
    db.deliver(
        from,
        Msg::DbBatch {
            tag: 1,
            boot,
            items,
        },
    );
    db.advance(ms(10));
    db.fire(TimerId(1));
}

#[test]
fn the_database_skips_a_flush_item_older_than_one_it_applied_from_the_same_cache() {
    // The network is not FIFO and a flush that timed out is sent again: a
    // cache's older write to a key can reach the database after its newer one.
    let mut db = database();
    let n2 = NodeId(1);
    batch(&mut db, n2, 1, vec![("k1".into(), int(7), vec![6], 5)]);
    batch(&mut db, n2, 1, vec![("k1".into(), int(3), vec![], 2)]);
    assert_eq!(dbs(&db).value("k1"), int(7), "the older item must not win");
    assert!(
        dbs(&db).covers("k1", 3),
        "the skipped value still reached the database"
    );
    // A duplicate of the newest item is harmless.
    batch(&mut db, n2, 1, vec![("k1".into(), int(7), vec![6], 5)]);
    assert_eq!(dbs(&db).value("k1"), int(7));
    assert_eq!(dbs(&db).stats.flush_items_skipped, 2);
    // A late item from the cache's previous life loses to its new life.
    batch(&mut db, n2, 2, vec![("k1".into(), int(9), vec![], 1)]);
    batch(&mut db, n2, 1, vec![("k1".into(), int(8), vec![], 6)]);
    assert_eq!(dbs(&db).value("k1"), int(9));
    // The order survives a restart of the database.
    db.restart();
    batch(&mut db, n2, 2, vec![("k1".into(), int(4), vec![], 1)]);
    assert_eq!(dbs(&db).value("k1"), int(9));
    // Another cache's flush is not ordered against this one's: last wins.
    batch(
        &mut db,
        NodeId(2),
        1,
        vec![("k1".into(), int(1), vec![], 1)],
    );
    assert_eq!(dbs(&db).value("k1"), int(1));
}
