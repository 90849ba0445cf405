//! Unit tests: the store's eviction and expiry, and cache and database nodes
//! driven by hand, asserting the exact effects they record.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::history::Value;
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId, TimerId};
use sim::time::{ms, secs, Nanos};

use super::*;

const CLIENT: NodeId = NodeId(2);

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn filled(store: &mut Store, keys: &[&str]) -> Vec<Option<String>> {
    let mut r = rng();
    keys.iter()
        .map(|k| {
            store
                .insert(k, Entry::new(int(1), None), &mut r)
                .map(|(victim, _)| victim)
        })
        .collect()
}

// ----- the store -----

#[test]
fn lru_evicts_the_least_recently_used_entry() {
    let mut s = Store::new(2, Eviction::Lru);
    filled(&mut s, &["a", "b"]);
    assert!(matches!(s.get("a", 0), Lookup::Hit(_)));
    assert_eq!(filled(&mut s, &["c"]), vec![Some("b".to_string())]);
    assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec!["a", "c"]);
    assert_eq!(s.evictions, 1);
}

#[test]
fn lfu_evicts_the_least_frequently_used_entry_even_if_recent() {
    let mut s = Store::new(2, Eviction::Lfu);
    filled(&mut s, &["a", "b"]);
    for _ in 0..3 {
        assert!(matches!(s.get("a", 0), Lookup::Hit(_)));
    }
    // b is the most recent insert but the least used.
    assert_eq!(filled(&mut s, &["c"]), vec![Some("b".to_string())]);
}

#[test]
fn fifo_evicts_the_oldest_insert_however_often_it_is_read() {
    let mut s = Store::new(2, Eviction::Fifo);
    filled(&mut s, &["a", "b"]);
    for _ in 0..5 {
        assert!(matches!(s.get("a", 0), Lookup::Hit(_)));
    }
    assert_eq!(filled(&mut s, &["c"]), vec![Some("a".to_string())]);
}

#[test]
fn random_eviction_is_drawn_from_the_seeded_stream_and_respects_capacity() {
    let run = || {
        let mut s = Store::new(8, Eviction::Random);
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let victims = filled(&mut s, &refs);
        assert_eq!(s.len(), 8);
        victims
    };
    let a = run();
    assert_eq!(a, run(), "the same seed evicts the same keys");
    assert_eq!(a.iter().flatten().count(), 92);
}

#[test]
fn an_expired_entry_is_a_miss_once_and_then_gone() {
    let mut s = Store::new(4, Eviction::Lru);
    s.insert("k", Entry::new(int(1), Some(ms(100))), &mut rng());
    assert!(matches!(s.get("k", ms(99)), Lookup::Hit(_)));
    assert_eq!(s.get("k", ms(100)), Lookup::Expired);
    assert_eq!(s.get("k", ms(101)), Lookup::Miss);
    assert_eq!(s.expirations, 1);
}

#[test]
fn a_dirty_entry_never_expires_and_flushes_oldest_first() {
    let mut s = Store::new(4, Eviction::Lru);
    let mut e = Entry::new(int(2), Some(ms(10)));
    e.dirty = Some(5);
    s.insert("b", e, &mut rng());
    let mut e = Entry::new(int(1), Some(ms(10)));
    e.dirty = Some(3);
    s.insert("a", e, &mut rng());
    assert!(matches!(s.get("b", secs(60)), Lookup::Hit(_)));
    let dirty: Vec<(String, u64)> = s
        .oldest_dirty(10)
        .into_iter()
        .map(|(k, _, _, seq)| (k, seq))
        .collect();
    assert_eq!(dirty, vec![("a".into(), 3), ("b".into(), 5)]);
    assert!(
        !s.mark_clean("a", 4),
        "an older flush does not clean a newer write"
    );
    assert!(s.mark_clean("a", 3));
    assert_eq!(s.dirty_len(), 1);
    assert_eq!(s.get("a", secs(60)), Lookup::Expired);
}

// ----- cache and database nodes, by hand -----

/// A node's world: one context per call, effects collected.
struct Rig {
    rng: ChaCha8Rng,
    disk: Disk,
    cluster: Cluster,
    now: Nanos,
    /// The node's clocks (perfect unless a test steps or drifts them).
    clock: Clock,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            rng: rng(),
            disk: Disk::default(),
            cluster: Cluster::new(2, 4),
            now: secs(1),
            clock: Clock::default(),
        }
    }

    fn on<T>(&mut self, me: NodeId, f: impl FnOnce(&mut Ctx<Msg>) -> T) -> (T, Vec<Effect<Msg>>) {
        let mut effects = Vec::new();
        let mut ctx = Ctx::new(
            me,
            self.now,
            self.clock,
            &mut self.rng,
            &mut self.disk,
            &self.cluster,
            &mut effects,
        );
        let t = f(&mut ctx);
        (t, effects)
    }
}

fn sent(effects: &[Effect<Msg>]) -> Vec<(NodeId, Msg)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

fn cache(params: Params) -> CacheServer {
    params.validate().expect("valid params");
    CacheServer::new(Arc::new(params), &Disk::default())
}

fn get(r: &mut Rig, c: &mut CacheServer, tag: u64, key: &str) -> Vec<(NodeId, Msg)> {
    let (_, fx) = r.on(NodeId(1), |ctx| {
        c.on_message(
            ctx,
            CLIENT,
            Msg::Get {
                tag,
                key: key.into(),
            },
        )
    });
    sent(&fx)
}

fn from_db(r: &mut Rig, c: &mut CacheServer, msg: Msg) -> Vec<(NodeId, Msg)> {
    let (_, fx) = r.on(NodeId(1), |ctx| c.on_message(ctx, DB, msg));
    sent(&fx)
}

fn read_through() -> Params {
    Params {
        policy: Policy::ReadThrough,
        ..Params::default()
    }
}

/// Fills `k1` through a read-through cache and returns the database tag.
fn fill(r: &mut Rig, c: &mut CacheServer, tag: u64) {
    let out = get(r, c, tag, "k1");
    let [(DB, Msg::DbRead { tag: db, .. })] = out.as_slice() else {
        panic!("a miss asks the database: {out:?}");
    };
    let db = *db;
    from_db(
        r,
        c,
        Msg::DbValue {
            tag: db,
            value: int(7),
        },
    );
}

#[test]
fn a_ttl_is_elapsed_time_on_the_caches_monotonic_clock_not_its_wall_clock() {
    // TTLs are durations: a wall clock stepped forward by a minute expires
    // nothing, and a clock running 50% fast expires the entry after 2s of
    // its own time, 1.33s of true time.
    let mut r = Rig::new();
    let mut c = cache(Params {
        ttl: Some(secs(2)),
        ..read_through()
    });
    r.clock = r.clock.set(r.now, None, Some(0.5));
    fill(&mut r, &mut c, 1);
    r.clock = r.clock.set(r.now, Some(secs(60) as i64), None);
    r.now += ms(1_300);
    let out = get(&mut r, &mut c, 2, "k1");
    assert!(
        matches!(
            out.as_slice(),
            [(
                CLIENT,
                Msg::Value {
                    source: Source::Cache,
                    ..
                }
            )]
        ),
        "a wall-clock step or 1.95s of fast clock expired the entry: {out:?}"
    );
    r.now += ms(50);
    let out = get(&mut r, &mut c, 3, "k1");
    assert!(
        matches!(out.as_slice(), [(DB, Msg::DbRead { .. })]),
        "2.02s of the cache's clock went by and the 2s entry still served: {out:?}"
    );
}

#[test]
fn read_through_loads_a_miss_from_the_database_and_then_hits() {
    let mut r = Rig::new();
    let mut c = cache(read_through());
    let out = get(&mut r, &mut c, 1, "k1");
    let [(DB, Msg::DbRead { tag, key })] = out.as_slice() else {
        panic!("a miss asks the database: {out:?}");
    };
    assert_eq!(key, "k1");
    let out = from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *tag,
            value: int(7),
        },
    );
    assert_eq!(
        out,
        vec![(
            CLIENT,
            Msg::Value {
                tag: 1,
                value: int(7),
                source: Source::Database
            }
        )]
    );
    let out = get(&mut r, &mut c, 2, "k1");
    assert_eq!(
        out,
        vec![(
            CLIENT,
            Msg::Value {
                tag: 2,
                value: int(7),
                source: Source::Cache
            }
        )]
    );
    assert_eq!(
        (c.stats().hits, c.stats().misses, c.stats().loads),
        (1, 1, 1)
    );
}

#[test]
fn without_protection_every_concurrent_miss_queries_the_database() {
    let mut r = Rig::new();
    let mut c = cache(read_through());
    let loads: usize = (1..=3)
        .map(|t| {
            get(&mut r, &mut c, t, "hot")
                .iter()
                .filter(|(to, _)| *to == DB)
                .count()
        })
        .sum();
    assert_eq!(loads, 3);
}

#[test]
fn coalescing_sends_one_load_and_answers_every_waiter() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        stampede: Stampede::Coalescing,
        ..read_through()
    });
    let first = get(&mut r, &mut c, 1, "hot");
    assert!(get(&mut r, &mut c, 2, "hot").is_empty());
    assert!(get(&mut r, &mut c, 3, "hot").is_empty());
    let [(DB, Msg::DbRead { tag, .. })] = first.as_slice() else {
        panic!("{first:?}");
    };
    let out = from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *tag,
            value: int(1),
        },
    );
    let tags: Vec<u64> = out
        .iter()
        .map(|(_, m)| match m {
            Msg::Value { tag, .. } => *tag,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tags, vec![1, 2, 3]);
    assert_eq!(c.stats().coalesced, 2);
}

#[test]
fn a_load_that_a_write_overtook_is_answered_but_not_stored() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteThrough,
        ..Params::default()
    });
    let load = get(&mut r, &mut c, 1, "k");
    let (_, fx) = r.on(NodeId(1), |ctx| {
        c.on_message(
            ctx,
            NodeId(3),
            Msg::Put {
                tag: 9,
                key: "k".into(),
                value: int(2),
            },
        )
    });
    let write = sent(&fx);
    let [(DB, Msg::DbWrite { tag: wtag, .. })] = write.as_slice() else {
        panic!("{write:?}");
    };
    let [(DB, Msg::DbRead { tag: rtag, .. })] = load.as_slice() else {
        panic!("{load:?}");
    };
    from_db(&mut r, &mut c, Msg::DbDone { tag: *wtag });
    assert_eq!(c.store().peek("k").map(|e| e.value.clone()), Some(int(2)));
    // The load read the old value before the write landed.
    from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *rtag,
            value: int(1),
        },
    );
    assert_eq!(
        c.store().peek("k").map(|e| e.value.clone()),
        Some(int(2)),
        "the older value must not replace the written one"
    );
}

#[test]
fn write_through_a_load_sent_after_the_write_started_is_answered_but_not_stored() {
    // The load leaves after the write (so it carries the write's generation)
    // but reads the database before the write lands; the network is not
    // FIFO, so its answer can arrive after the write's acknowledgement.
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteThrough,
        ..Params::default()
    });
    let write = put(&mut r, &mut c, 1, "k", 2);
    let [(DB, Msg::DbWrite { tag: wtag, .. })] = write.as_slice() else {
        panic!("{write:?}");
    };
    let load = get(&mut r, &mut c, 2, "k");
    let [(DB, Msg::DbRead { tag: rtag, .. })] = load.as_slice() else {
        panic!("{load:?}");
    };
    from_db(&mut r, &mut c, Msg::DbDone { tag: *wtag });
    let out = from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *rtag,
            value: int(1),
        },
    );
    assert_eq!(
        out,
        vec![(
            CLIENT,
            Msg::Value {
                tag: 2,
                value: int(1),
                source: Source::Database
            }
        )],
        "the reader that asked before the acknowledgement gets what the database said"
    );
    assert_eq!(
        c.store().peek("k").map(|e| e.value.clone()),
        Some(int(2)),
        "the acknowledged write stays in the cache"
    );
}

#[test]
fn coalescing_does_not_join_a_load_sent_before_a_completed_write() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        stampede: Stampede::Coalescing,
        ..read_through()
    });
    let first = get(&mut r, &mut c, 1, "k");
    let [(DB, Msg::DbRead { tag: old_load, .. })] = first.as_slice() else {
        panic!("{first:?}");
    };
    let write = put(&mut r, &mut c, 2, "k", 2);
    let [(DB, Msg::DbWrite { tag: wtag, .. })] = write.as_slice() else {
        panic!("{write:?}");
    };
    from_db(&mut r, &mut c, Msg::DbDone { tag: *wtag });
    // A read that starts after the write was acknowledged must not wait for
    // a load that may have read the database before the write.
    let out = get(&mut r, &mut c, 3, "k");
    let [(DB, Msg::DbRead { tag: new_load, .. })] = out.as_slice() else {
        panic!("a read after the write sends its own load: {out:?}");
    };
    assert_eq!(c.stats().coalesced, 0);
    let out = from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *old_load,
            value: int(1),
        },
    );
    assert_eq!(
        out,
        vec![(
            CLIENT,
            Msg::Value {
                tag: 1,
                value: int(1),
                source: Source::Database
            }
        )],
        "only the reader that was there before the write gets the old value"
    );
    let out = from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *new_load,
            value: int(2),
        },
    );
    assert!(
        matches!(out.as_slice(), [(CLIENT, Msg::Value { tag: 3, value, .. })] if *value == int(2))
    );
}

#[test]
fn cache_aside_set_is_blind_so_an_old_value_lands_after_the_delete() {
    // Facebook's memcache paper §3.2.1: the race leases close.
    let mut r = Rig::new();
    let mut c = cache(Params {
        ttl: Some(secs(2)),
        ..Params::default()
    });
    assert_eq!(
        get(&mut r, &mut c, 1, "k"),
        vec![(
            CLIENT,
            Msg::Miss {
                tag: 1,
                lease: None
            }
        )]
    );
    r.on(NodeId(1), |ctx| {
        c.on_message(
            ctx,
            NodeId(3),
            Msg::Del {
                tag: 2,
                key: "k".into(),
            },
        )
    });
    r.on(NodeId(1), |ctx| {
        c.on_message(
            ctx,
            CLIENT,
            Msg::Set {
                key: "k".into(),
                value: int(1),
                lease: None,
            },
        )
    });
    let e = c.store().peek("k").expect("the stale value is cached");
    assert_eq!((e.value.clone(), e.expires), (int(1), Some(secs(3))));
}

fn put(r: &mut Rig, c: &mut CacheServer, tag: u64, key: &str, v: i64) -> Vec<(NodeId, Msg)> {
    let (_, fx) = r.on(NodeId(1), |ctx| {
        c.on_message(
            ctx,
            CLIENT,
            Msg::Put {
                tag,
                key: key.into(),
                value: int(v),
            },
        )
    });
    sent(&fx)
}

fn flush_tick(r: &mut Rig, c: &mut CacheServer) -> Vec<(NodeId, Msg)> {
    let (_, fx) = r.on(NodeId(1), |ctx| c.on_timer(ctx, TimerId(1)));
    sent(&fx)
}

#[test]
fn write_back_acknowledges_at_once_and_flushes_oldest_first_in_batches() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        batch_size: 2,
        ..Params::default()
    });
    for (t, k) in [(1, "a"), (2, "b"), (3, "c")] {
        assert_eq!(
            put(&mut r, &mut c, t, k, t as i64),
            vec![(CLIENT, Msg::Written { tag: t })],
            "acknowledged from memory, nothing sent to the database"
        );
    }
    assert_eq!(c.stats().dirty, 3);
    let out = flush_tick(&mut r, &mut c);
    let [(DB, Msg::DbBatch { tag, items, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    let keys: Vec<&str> = items.iter().map(|(k, _, _, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["a", "b"]);
    assert!(
        flush_tick(&mut r, &mut c).is_empty(),
        "one batch in flight at a time"
    );
    from_db(&mut r, &mut c, Msg::DbDone { tag: *tag });
    assert_eq!(c.stats().dirty, 1);
    assert!(c.holds_dirty("c", 3) && !c.holds_dirty("a", 1));
}

#[test]
fn write_back_names_the_dirty_values_a_newer_write_absorbed() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        ..Params::default()
    });
    put(&mut r, &mut c, 1, "k", 10);
    put(&mut r, &mut c, 2, "k", 11);
    put(&mut r, &mut c, 3, "k", 12);
    let out = flush_tick(&mut r, &mut c);
    let [(DB, Msg::DbBatch { items, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(items, &vec![("k".to_string(), int(12), vec![10, 11], 3)]);
}

#[test]
fn write_back_flushes_a_dirty_victim_at_once_and_serves_it_meanwhile() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        capacity: 1,
        ..Params::default()
    });
    put(&mut r, &mut c, 1, "a", 1);
    let out = put(&mut r, &mut c, 2, "b", 2);
    assert!(matches!(
        out.as_slice(),
        [(DB, Msg::DbBatch { items, .. }), (CLIENT, Msg::Written { tag: 2 })]
            if items == &vec![("a".to_string(), int(1), vec![], 1)]
    ));
    assert_eq!(
        get(&mut r, &mut c, 3, "a"),
        vec![(
            CLIENT,
            Msg::Value {
                tag: 3,
                value: int(1),
                source: Source::Cache
            }
        )]
    );
}

#[test]
fn a_database_that_does_not_answer_makes_the_cache_answer_unavailable() {
    let mut r = Rig::new();
    let mut c = cache(read_through());
    let out = get(&mut r, &mut c, 1, "k");
    let [(DB, Msg::DbRead { tag, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    let (_, fx) = r.on(NodeId(1), |ctx| c.on_timer(ctx, TimerId(16 + tag)));
    assert_eq!(
        sent(&fx),
        vec![(
            CLIENT,
            Msg::Unavailable {
                tag: 1,
                maybe_applied: false
            }
        )]
    );
}

#[test]
fn early_expiration_also_refreshes_an_entry_a_write_installed() {
    // A written entry was never loaded, so it has no load time of its own;
    // the head start assumes a load costs at least the database's service time.
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteThrough,
        stampede: Stampede::EarlyExpiration,
        ttl: Some(secs(10)),
        ..Params::default()
    });
    let out = put(&mut r, &mut c, 1, "k", 5);
    let [(DB, Msg::DbWrite { tag, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    from_db(&mut r, &mut c, Msg::DbDone { tag: *tag });
    let expires = c.store().peek("k").and_then(|e| e.expires).expect("a ttl");
    r.now = expires - 1_000; // 1us before expiry
    let out = get(&mut r, &mut c, 2, "k");
    assert!(
        matches!(out.as_slice(), [(DB, Msg::DbRead { .. })]),
        "{out:?}"
    );
    assert_eq!(c.stats().early_refreshes, 1);
}

#[test]
fn early_expiration_refreshes_a_hit_close_to_expiry_but_not_a_fresh_one() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        stampede: Stampede::EarlyExpiration,
        early_beta: 100.0,
        ttl: Some(secs(10)),
        ..read_through()
    });
    let out = get(&mut r, &mut c, 1, "k");
    let [(DB, Msg::DbRead { tag, .. })] = out.as_slice() else {
        panic!("{out:?}");
    };
    r.now += ms(10); // the load took 10ms; the entry expires at 1s + 10ms + 10s.
    from_db(
        &mut r,
        &mut c,
        Msg::DbValue {
            tag: *tag,
            value: int(1),
        },
    );
    // Far from expiry: a head start of 10ms x 100 x -ln(rand) almost never
    // reaches 10s.
    r.now += secs(1);
    assert!(matches!(
        get(&mut r, &mut c, 2, "k").as_slice(),
        [(CLIENT, Msg::Value { .. })]
    ));
    // 2ms before expiry, nearly every draw does.
    r.now = secs(11) + ms(8);
    let out = get(&mut r, &mut c, 3, "k");
    assert!(
        matches!(out.as_slice(), [(DB, Msg::DbRead { .. })]),
        "{out:?}"
    );
    assert_eq!(c.stats().early_refreshes, 1);
}

#[test]
fn background_refresh_reloads_read_entries_before_expiry_and_lets_cold_ones_go() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        stampede: Stampede::BackgroundRefresh,
        ttl: Some(secs(2)),
        refresh_ahead: ms(500),
        ..read_through()
    });
    for (t, k) in [(1, "hot"), (2, "cold")] {
        let out = get(&mut r, &mut c, t, k);
        let [(DB, Msg::DbRead { tag, .. })] = out.as_slice() else {
            panic!("{out:?}");
        };
        from_db(
            &mut r,
            &mut c,
            Msg::DbValue {
                tag: *tag,
                value: int(1),
            },
        );
    }
    get(&mut r, &mut c, 3, "hot");
    r.now += ms(1500);
    let (_, fx) = r.on(NodeId(1), |ctx| c.on_timer(ctx, TimerId(2)));
    let out = sent(&fx);
    assert!(
        matches!(out.as_slice(), [(DB, Msg::DbRead { key, .. })] if key == "hot"),
        "{out:?}"
    );
    assert_eq!(c.stats().background_refreshes, 1);
}

fn db_params() -> Params {
    Params {
        db_service_time: ms(10),
        db_max_queue: 3,
        ..Params::default()
    }
}

#[test]
fn the_database_serves_one_request_at_a_time_so_the_queue_adds_latency() {
    let mut r = Rig::new();
    let mut db = Database::recover(&db_params(), &r.disk);
    for tag in 1..=3 {
        let (_, fx) = r.on(DB, |ctx| {
            db.on_message(
                ctx,
                CLIENT,
                Msg::DbRead {
                    tag,
                    key: "k".into(),
                },
            )
        });
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
    assert_eq!(db.queue_len(), 3);
    let (_, fx) = r.on(DB, |ctx| {
        db.on_message(
            ctx,
            CLIENT,
            Msg::DbRead {
                tag: 4,
                key: "k".into(),
            },
        )
    });
    assert_eq!(sent(&fx), vec![(CLIENT, Msg::DbBusy { tag: 4 })]);
    for expect in 1..=3u64 {
        r.now += ms(10);
        let (_, fx) = r.on(DB, |ctx| db.on_timer(ctx, TimerId(1)));
        assert_eq!(
            sent(&fx),
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
        db.stats.latency_max,
        ms(30),
        "the third waited for two others"
    );
    assert_eq!(db.stats.rejected, 1);
}

#[test]
fn the_database_keeps_acknowledged_writes_across_a_restart() {
    let mut r = Rig::new();
    let mut db = Database::recover(&db_params(), &r.disk);
    r.on(DB, |ctx| {
        db.on_message(
            ctx,
            NodeId(1),
            Msg::DbBatch {
                tag: 1,
                boot: 1,
                items: vec![("k3".into(), int(5), vec![4], 1)],
            },
        )
    });
    let (_, fx) = r.on(DB, |ctx| db.on_timer(ctx, TimerId(1)));
    assert_eq!(sent(&fx), vec![(NodeId(1), Msg::DbDone { tag: 1 })]);
    let again = Database::recover(&db_params(), &r.disk);
    assert_eq!(again.value("k3"), int(5));
    assert!(again.covers("k3", 4) && again.covers("k3", 5) && !again.covers("k3", 3));
}

/// Sends one write-back batch to the database and serves it.
fn batch(
    r: &mut Rig,
    db: &mut Database,
    from: NodeId,
    boot: u64,
    items: Vec<(String, Value, Vec<i64>, u64)>,
) {
    r.on(DB, |ctx| {
        db.on_message(
            ctx,
            from,
            Msg::DbBatch {
                tag: 1,
                boot,
                items,
            },
        )
    });
    r.now += ms(10);
    r.on(DB, |ctx| db.on_timer(ctx, TimerId(1)));
}

#[test]
fn the_database_skips_a_flush_item_older_than_one_it_applied_from_the_same_cache() {
    // The network is not FIFO and a flush that timed out is sent again: a
    // cache's older write to a key can reach the database after its newer one.
    let mut r = Rig::new();
    let mut db = Database::recover(&db_params(), &r.disk);
    let n2 = NodeId(1);
    batch(
        &mut r,
        &mut db,
        n2,
        1,
        vec![("k1".into(), int(7), vec![6], 5)],
    );
    batch(
        &mut r,
        &mut db,
        n2,
        1,
        vec![("k1".into(), int(3), vec![], 2)],
    );
    assert_eq!(db.value("k1"), int(7), "the older item must not win");
    assert!(
        db.covers("k1", 3),
        "the skipped value still reached the database"
    );
    // A duplicate of the newest item is harmless.
    batch(
        &mut r,
        &mut db,
        n2,
        1,
        vec![("k1".into(), int(7), vec![6], 5)],
    );
    assert_eq!(db.value("k1"), int(7));
    assert_eq!(db.stats.flush_items_skipped, 2);
    // A late item from the cache's previous life loses to its new life.
    batch(
        &mut r,
        &mut db,
        n2,
        2,
        vec![("k1".into(), int(9), vec![], 1)],
    );
    batch(
        &mut r,
        &mut db,
        n2,
        1,
        vec![("k1".into(), int(8), vec![], 6)],
    );
    assert_eq!(db.value("k1"), int(9));
    // The order survives a restart of the database.
    let mut again = Database::recover(&db_params(), &r.disk);
    batch(
        &mut r,
        &mut again,
        n2,
        2,
        vec![("k1".into(), int(4), vec![], 1)],
    );
    assert_eq!(again.value("k1"), int(9));
    // Another cache's flush is not ordered against this one's: last wins.
    batch(
        &mut r,
        &mut again,
        NodeId(2),
        1,
        vec![("k1".into(), int(1), vec![], 1)],
    );
    assert_eq!(again.value("k1"), int(1));
}

#[test]
fn invalid_parameters_name_their_field() {
    let bad = [
        (
            Params {
                capacity: 0,
                ..Params::default()
            },
            "capacity",
        ),
        (
            Params {
                stampede: Stampede::Coalescing,
                ..Params::default()
            },
            "stampede",
        ),
        (
            Params {
                policy: Policy::ReadThrough,
                stampede: Stampede::BackgroundRefresh,
                ttl: Some(secs(1)),
                refresh_ahead: secs(1),
                ..Params::default()
            },
            "refresh_ahead",
        ),
        (
            Params {
                ttl_jitter: ms(5),
                ..Params::default()
            },
            "ttl_jitter",
        ),
    ];
    for (p, field) in bad {
        assert_eq!(p.validate().map_err(|(f, _)| f), Err(field));
    }
}

#[test]
fn workload_keys_map_to_their_own_disk_rows() {
    assert_eq!(key_index("k17"), 17);
    assert!(key_index("user:1") >= 1 << 63);
    assert_ne!(key_index("user:1"), key_index("user:2"));
}

#[test]
fn a_newer_write_supersedes_an_evicted_entry_waiting_for_its_flush() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        policy: Policy::WriteBack,
        capacity: 1,
        ..Params::default()
    });
    put(&mut r, &mut c, 1, "a", 1);
    put(&mut r, &mut c, 2, "b", 2); // evicts a: its flush is in flight
    put(&mut r, &mut c, 3, "a", 3); // evicts b, supersedes the evicted a
    let e = c.store().peek("a").expect("a is back in the store");
    assert_eq!((e.value.clone(), e.absorbed.clone()), (int(3), vec![1]));
    assert_eq!(
        get(&mut r, &mut c, 4, "a"),
        vec![(
            CLIENT,
            Msg::Value {
                tag: 4,
                value: int(3),
                source: Source::Cache
            }
        )]
    );
    assert!(c.holds_dirty("a", 1) && c.holds_dirty("a", 3) && c.holds_dirty("b", 2));
}

#[test]
fn ttl_jitter_spreads_expiries_over_ttl_to_ttl_plus_jitter() {
    let mut r = Rig::new();
    let mut c = cache(Params {
        ttl: Some(secs(5)),
        ttl_jitter: secs(5),
        ..Params::default()
    });
    let mut expiries = Vec::new();
    for i in 0..50 {
        let key = format!("k{i}");
        r.on(NodeId(1), |ctx| {
            c.on_message(
                ctx,
                CLIENT,
                Msg::Set {
                    key: key.clone(),
                    value: int(1),
                    lease: None,
                },
            )
        });
        expiries.push(c.store().peek(&key).and_then(|e| e.expires).unwrap());
    }
    let (lo, hi) = (r.now + secs(5), r.now + secs(10));
    assert!(expiries.iter().all(|e| (lo..=hi).contains(e)));
    let spread = expiries.iter().max().unwrap() - expiries.iter().min().unwrap();
    assert!(spread > secs(3), "50 draws over 5s spread: {spread}");
}

#[test]
fn a_cache_aside_client_reads_the_database_on_a_miss_then_fills_the_cache() {
    use sim::client::{ClientConfig, RetryPolicy};
    use sim::history::{OpFn, Outcome};
    use sim::node::{OpId, Request};

    let mut r = Rig::new();
    let params = Arc::new(Params::default());
    let config = ClientConfig {
        timeout: ms(500),
        retry: RetryPolicy::None,
    };
    let mut client = Client::new(params, config, NodeId(1));
    let req = Request {
        id: OpId(1),
        key: "k2".into(),
        f: OpFn::Read,
    };
    let (_, fx) = r.on(CLIENT, |ctx| client.on_request(ctx, req));
    assert!(matches!(
        sent(&fx).as_slice(),
        [(NodeId(1), Msg::Get { .. })]
    ));
    let Msg::Get { tag, .. } = sent(&fx)[0].1.clone() else {
        unreachable!()
    };
    let (_, fx) = r.on(CLIENT, |ctx| {
        client.on_message(ctx, Msg::Miss { tag, lease: None })
    });
    let out = sent(&fx);
    let [(DB, Msg::DbRead { tag, key })] = out.as_slice() else {
        panic!("a miss goes to the database: {out:?}");
    };
    assert_eq!(key, "k2");
    let tag = *tag;
    let (_, fx) = r.on(CLIENT, |ctx| {
        client.on_message(ctx, Msg::DbValue { tag, value: int(4) })
    });
    assert_eq!(
        sent(&fx),
        vec![(
            NodeId(1),
            Msg::Set {
                key: "k2".into(),
                value: int(4),
                lease: None
            }
        )]
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Complete { outcome: Outcome::Ok, output: Some(v), .. } if *v == int(4)
    )));
    assert_eq!(client.stats.db_reads, 1);
}

#[test]
fn a_lease_lets_one_miss_fill_and_a_delete_revokes_it() {
    // memcache at Facebook §3.2.1: the lease closes cache-aside's race.
    let mut r = Rig::new();
    let mut c = cache(Params {
        leases: true,
        ..Params::default()
    });
    let set = |r: &mut Rig, c: &mut CacheServer, v: i64, lease: Option<u64>| {
        r.on(NodeId(1), |ctx| {
            c.on_message(
                ctx,
                CLIENT,
                Msg::Set {
                    key: "k".into(),
                    value: int(v),
                    lease,
                },
            )
        });
    };
    assert_eq!(
        get(&mut r, &mut c, 1, "k"),
        vec![(
            CLIENT,
            Msg::Miss {
                tag: 1,
                lease: Some(1)
            }
        )]
    );
    assert_eq!(
        get(&mut r, &mut c, 2, "k"),
        vec![(
            CLIENT,
            Msg::Miss {
                tag: 2,
                lease: None
            }
        )],
        "one lease per key at a time"
    );
    // A write deletes the key: the lease is revoked, the old fill refused.
    r.on(NodeId(1), |ctx| {
        c.on_message(
            ctx,
            NodeId(3),
            Msg::Del {
                tag: 3,
                key: "k".into(),
            },
        )
    });
    set(&mut r, &mut c, 1, Some(1));
    assert!(c.store().peek("k").is_none());
    assert_eq!(c.stats().fills_refused, 1);
    assert_eq!(
        get(&mut r, &mut c, 4, "k"),
        vec![(
            CLIENT,
            Msg::Miss {
                tag: 4,
                lease: Some(2)
            }
        )]
    );
    set(&mut r, &mut c, 2, None);
    assert!(c.store().peek("k").is_none(), "no lease, no fill");
    set(&mut r, &mut c, 2, Some(2));
    assert_eq!(c.store().peek("k").map(|e| e.value.clone()), Some(int(2)));
}
