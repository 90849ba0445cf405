//! Unit tests: the store's eviction and expiry, and cache and database nodes
//! driven by hand, asserting the exact effects they record.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::history::Value;
use sim::node::{Cluster, Disk, Effect, NodeId, TimerId};
use sim::testing::Harness;
use sim::time::{ms, secs, Nanos};

use super::*;

mod database;
mod reads;
mod store;
mod writes;

const CLIENT: NodeId = NodeId(2);

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

// ----- cache and database nodes, by hand -----

/// Node `me` of the database, a cache and four clients, at 1s, built (and
/// rebuilt on restart) from its disk by `build`.
fn bench(me: NodeId, build: impl Fn(&Disk) -> CacheNode + 'static) -> Harness<CacheNode> {
    Harness::build(Cluster::new(2, 4), me, move |_, _, disk| build(disk)).at(secs(1))
}

fn cs(h: &Harness<CacheNode>) -> &CacheServer {
    match &h.node {
        CacheNode::Cache(c) => c,
        _ => panic!("the cache"),
    }
}

fn dbs(h: &Harness<CacheNode>) -> &Database {
    match &h.node {
        CacheNode::Database(d) => d,
        _ => panic!("the database"),
    }
}

fn cl(h: &Harness<CacheNode>) -> &Client {
    match &h.node {
        CacheNode::Client(c) => c,
        _ => panic!("a client"),
    }
}

/// The database, with a 10ms service time and a queue of three.
fn database() -> Harness<CacheNode> {
    bench(DB, |disk| {
        CacheNode::Database(Database::recover(&db_params(), disk))
    })
}

/// The cache n2.
fn cache(params: Params) -> Harness<CacheNode> {
    params.validate().expect("valid params");
    let params = Arc::new(params);
    bench(NodeId(1), move |disk| {
        CacheNode::Cache(CacheServer::new(params.clone(), disk))
    })
}

fn get(c: &mut Harness<CacheNode>, tag: u64, key: &str) -> Vec<(NodeId, Msg)> {
    let fx = c.deliver(
        CLIENT,
        Msg::Get {
            tag,
            key: key.into(),
        },
    );
    fx.sends()
}

fn from_db(c: &mut Harness<CacheNode>, msg: Msg) -> Vec<(NodeId, Msg)> {
    let fx = c.deliver(DB, msg);
    fx.sends()
}

/// The database acknowledges write (or batch) `tag`; returns what the cache sent.
fn db_done(c: &mut Harness<CacheNode>, tag: u64) -> Vec<(NodeId, Msg)> {
    from_db(c, Msg::DbDone { tag })
}

/// The database answers load `tag` with `int(v)`; returns what the cache sent.
fn db_value(c: &mut Harness<CacheNode>, tag: u64, v: i64) -> Vec<(NodeId, Msg)> {
    from_db(c, Msg::DbValue { tag, value: int(v) })
}

/// What the client that asked with `tag` must receive, and nothing else: the
/// value `v`, from `source`.
fn value_to_client(tag: u64, v: i64, source: Source) -> Vec<(NodeId, Msg)> {
    let value = int(v);
    vec![(CLIENT, Msg::Value { tag, value, source })]
}

/// What the client that asked with `tag` must receive on a cache-aside miss,
/// and nothing else: the miss, with the fill lease it was given, if any.
fn miss_to_client(tag: u64, lease: Option<u64>) -> Vec<(NodeId, Msg)> {
    vec![(CLIENT, Msg::Miss { tag, lease })]
}

/// A cache-aside client sets `key` to `int(v)` (with the fill lease it holds).
fn set(c: &mut Harness<CacheNode>, key: &str, v: i64, lease: Option<u64>) {
    let (key, value) = (key.to_string(), int(v));
    c.deliver(CLIENT, Msg::Set { key, value, lease });
}

/// When the cache's entry for `key` expires, if it holds one with a ttl.
fn expiry(c: &Harness<CacheNode>, key: &str) -> Option<Nanos> {
    cs(c).store().peek(key).and_then(|e| e.expires)
}

/// The value the cache holds for `key`, if any.
fn cached(c: &Harness<CacheNode>, key: &str) -> Option<Value> {
    cs(c).store().peek(key).map(|e| e.value.clone())
}

/// The tag of the one load the cache sent the database, and nothing else.
fn load_tag(out: &[(NodeId, Msg)]) -> u64 {
    match out {
        [(DB, Msg::DbRead { tag, .. })] => *tag,
        _ => panic!("one load from the database: {out:?}"),
    }
}

/// The tag of the one write the cache sent the database, and nothing else.
fn write_tag(out: &[(NodeId, Msg)]) -> u64 {
    match out {
        [(DB, Msg::DbWrite { tag, .. })] => *tag,
        _ => panic!("one write to the database: {out:?}"),
    }
}

/// Read-through with concurrent misses coalesced into one load.
fn coalescing() -> Params {
    Params {
        stampede: Stampede::Coalescing,
        ..read_through()
    }
}

fn write_through() -> Params {
    Params {
        policy: Policy::WriteThrough,
        ..Params::default()
    }
}

fn read_through() -> Params {
    Params {
        policy: Policy::ReadThrough,
        ..Params::default()
    }
}

fn db_params() -> Params {
    Params {
        db_service_time: ms(10),
        db_max_queue: 3,
        ..Params::default()
    }
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

fn put(c: &mut Harness<CacheNode>, tag: u64, key: &str, v: i64) -> Vec<(NodeId, Msg)> {
    put_from(c, CLIENT, tag, key, v)
}

/// Client `from` writes `int(v)` to `key`; returns what the cache sent.
fn put_from(
    c: &mut Harness<CacheNode>,
    from: NodeId,
    tag: u64,
    key: &str,
    v: i64,
) -> Vec<(NodeId, Msg)> {
    let (key, value) = (key.to_string(), int(v));
    c.deliver(from, Msg::Put { tag, key, value }).sends()
}
