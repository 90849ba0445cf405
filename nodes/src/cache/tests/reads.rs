//! Reads through a cache: misses, TTLs on the monotonic clock, stampede
//! protection, early expiration and refresh, leases, and the cache-aside
//! client.

use super::*;

/// Fills `k1` with 7 through a read-through cache.
fn fill(c: &mut Harness<CacheNode>, tag: u64) {
    let load = load_tag(&get(c, tag, "k1"));
    db_value(c, load, 7);
}

#[test]
fn a_ttl_is_elapsed_time_on_the_caches_monotonic_clock_not_its_wall_clock() {
    // TTLs are durations: a wall clock stepped forward by a minute expires
    // nothing, and a clock running 50% fast expires the entry after 2s of
    // its own time, 1.33s of true time.
    let mut c = cache(Params {
        ttl: Some(secs(2)),
        ..read_through()
    });
    c.clock = c.clock.set(c.now, None, Some(0.5));
    fill(&mut c, 1);
    c.clock = c.clock.set(c.now, Some(secs(60) as i64), None);
    c.now += ms(1_300);
    let out = get(&mut c, 2, "k1");
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
    c.now += ms(50);
    let out = get(&mut c, 3, "k1");
    assert!(
        matches!(out.as_slice(), [(DB, Msg::DbRead { .. })]),
        "2.02s of the cache's clock went by and the 2s entry still served: {out:?}"
    );
}

#[test]
fn read_through_loads_a_miss_from_the_database_and_then_hits() {
    let mut c = cache(read_through());
    let out = get(&mut c, 1, "k1");
    let [(DB, Msg::DbRead { tag, key })] = out.as_slice() else {
        panic!("a miss asks the database: {out:?}");
    };
    assert_eq!(key, "k1");
    let out = db_value(&mut c, *tag, 7);
    assert_eq!(out, value_to_client(1, 7, Source::Database));
    let out = get(&mut c, 2, "k1");
    assert_eq!(out, value_to_client(2, 7, Source::Cache));
    assert_eq!(
        (
            cs(&c).stats().hits,
            cs(&c).stats().misses,
            cs(&c).stats().loads
        ),
        (1, 1, 1)
    );
}

#[test]
fn without_protection_every_concurrent_miss_queries_the_database() {
    let mut c = cache(read_through());
    let loads: usize = (1..=3)
        .map(|t| {
            get(&mut c, t, "hot")
                .iter()
                .filter(|(to, _)| *to == DB)
                .count()
        })
        .sum();
    assert_eq!(loads, 3);
}

#[test]
fn coalescing_sends_one_load_and_answers_every_waiter() {
    let mut c = cache(coalescing());
    let first = get(&mut c, 1, "hot");
    assert!(get(&mut c, 2, "hot").is_empty());
    assert!(get(&mut c, 3, "hot").is_empty());
    let tag = load_tag(&first);
    let out = db_value(&mut c, tag, 1);
    let tags: Vec<u64> = out
        .iter()
        .map(|(_, m)| match m {
            Msg::Value { tag, .. } => *tag,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tags, vec![1, 2, 3]);
    assert_eq!(cs(&c).stats().coalesced, 2);
}

#[test]
fn a_database_that_does_not_answer_makes_the_cache_answer_unavailable() {
    let mut c = cache(read_through());
    let tag = load_tag(&get(&mut c, 1, "k"));
    let fx = c.fire(TimerId(16 + tag));
    assert_eq!(
        fx.sends(),
        vec![(
            CLIENT,
            Msg::Unavailable {
                tag: 1,
                maybe_applied: false
            }
        )]
    );
}

/// A read of "k" (with `tag`) makes the cache send one load to the
/// database and nothing else: the first early refresh.
fn assert_refreshed_early(c: &mut Harness<CacheNode>, tag: u64) {
    load_tag(&get(c, tag, "k"));
    assert_eq!(cs(c).stats().early_refreshes, 1);
}

#[test]
fn early_expiration_also_refreshes_an_entry_a_write_installed() {
    // A written entry was never loaded, so it has no load time of its own;
    // the head start assumes a load costs at least the database's service time.
    let mut c = cache(Params {
        policy: Policy::WriteThrough,
        stampede: Stampede::EarlyExpiration,
        ttl: Some(secs(10)),
        ..Params::default()
    });
    let tag = write_tag(&put(&mut c, 1, "k", 5));
    db_done(&mut c, tag);
    let expires = expiry(&c, "k").expect("a ttl");
    c.now = expires - 1_000; // 1us before expiry
    assert_refreshed_early(&mut c, 2);
}

#[test]
fn early_expiration_refreshes_a_hit_close_to_expiry_but_not_a_fresh_one() {
    let mut c = cache(Params {
        stampede: Stampede::EarlyExpiration,
        early_beta: 100.0,
        ttl: Some(secs(10)),
        ..read_through()
    });
    let tag = load_tag(&get(&mut c, 1, "k"));
    c.now += ms(10); // the load took 10ms; the entry expires at 1s + 10ms + 10s.
    db_value(&mut c, tag, 1);
    // Far from expiry: a head start of 10ms x 100 x -ln(rand) almost never
    // reaches 10s.
    c.now += secs(1);
    assert!(matches!(
        get(&mut c, 2, "k").as_slice(),
        [(CLIENT, Msg::Value { .. })]
    ));
    // 2ms before expiry, nearly every draw does.
    c.now = secs(11) + ms(8);
    assert_refreshed_early(&mut c, 3);
}

#[test]
fn background_refresh_reloads_read_entries_before_expiry_and_lets_cold_ones_go() {
    let mut c = cache(Params {
        stampede: Stampede::BackgroundRefresh,
        ttl: Some(secs(2)),
        refresh_ahead: ms(500),
        ..read_through()
    });
    for (t, k) in [(1, "hot"), (2, "cold")] {
        let tag = load_tag(&get(&mut c, t, k));
        db_value(&mut c, tag, 1);
    }
    get(&mut c, 3, "hot");
    c.now += ms(1500);
    let fx = c.fire(TimerId(2));
    let out = fx.sends();
    assert!(
        matches!(out.as_slice(), [(DB, Msg::DbRead { key, .. })] if key == "hot"),
        "{out:?}"
    );
    assert_eq!(cs(&c).stats().background_refreshes, 1);
}

#[test]
fn ttl_jitter_spreads_expiries_over_ttl_to_ttl_plus_jitter() {
    let mut c = cache(Params {
        ttl: Some(secs(5)),
        ttl_jitter: secs(5),
        ..Params::default()
    });
    let mut expiries = Vec::new();
    for i in 0..50 {
        let key = format!("k{i}");
        set(&mut c, &key, 1, None);
        expiries.push(expiry(&c, &key).unwrap());
    }
    let (lo, hi) = (c.now + secs(5), c.now + secs(10));
    assert!(expiries.iter().all(|e| (lo..=hi).contains(e)));
    let spread = expiries.iter().max().unwrap() - expiries.iter().min().unwrap();
    assert!(spread > secs(3), "50 draws over 5s spread: {spread}");
}

#[test]
fn a_cache_aside_client_reads_the_database_on_a_miss_then_fills_the_cache() {
    use sim::client::{ClientConfig, RetryPolicy};
    use sim::history::{OpFn, Outcome};
    use sim::node::{OpId, Request};

    let params = Arc::new(Params::default());
    let config = ClientConfig {
        timeout: ms(500),
        retry: RetryPolicy::None,
    };
    let mut client = bench(CLIENT, move |_| {
        CacheNode::Client(Client::new(params.clone(), config.clone(), NodeId(1)))
    });
    let req = Request {
        id: OpId(1),
        key: "k2".into(),
        f: OpFn::Read,
    };
    let fx = client.request(req);
    assert!(matches!(
        fx.sends().as_slice(),
        [(NodeId(1), Msg::Get { .. })]
    ));
    let Msg::Get { tag, .. } = fx.sends()[0].1.clone() else {
        unreachable!()
    };
    let fx = client.deliver(NodeId(1), Msg::Miss { tag, lease: None });
    let out = fx.sends();
    let [(DB, Msg::DbRead { tag, key })] = out.as_slice() else {
        panic!("a miss goes to the database: {out:?}");
    };
    assert_eq!(key, "k2");
    let tag = *tag;
    let fx = client.deliver(DB, Msg::DbValue { tag, value: int(4) });
    assert_eq!(
        fx.sends(),
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
    assert_eq!(cl(&client).stats.db_reads, 1);
}

#[test]
fn a_lease_lets_one_miss_fill_and_a_delete_revokes_it() {
    // memcache at Facebook §3.2.1: the lease closes cache-aside's race.
    let mut c = cache(Params {
        leases: true,
        ..Params::default()
    });
    assert_eq!(get(&mut c, 1, "k"), miss_to_client(1, Some(1)));
    assert_eq!(
        get(&mut c, 2, "k"),
        miss_to_client(2, None),
        "one lease per key at a time"
    );
    // A write deletes the key: the lease is revoked, the old fill refused.
    c.deliver(
        NodeId(3),
        Msg::Del {
            tag: 3,
            key: "k".into(),
        },
    );
    set(&mut c, "k", 1, Some(1));
    assert!(cs(&c).store().peek("k").is_none());
    assert_eq!(cs(&c).stats().fills_refused, 1);
    assert_eq!(get(&mut c, 4, "k"), miss_to_client(4, Some(2)));
    set(&mut c, "k", 2, None);
    assert!(cs(&c).store().peek("k").is_none(), "no lease, no fill");
    set(&mut c, "k", 2, Some(2));
    assert_eq!(cached(&c, "k"), Some(int(2)));
}
