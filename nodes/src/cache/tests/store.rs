//! The store alone: eviction by policy, expiry, and dirty entries.

use super::*;

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

/// A store of two fills with a then b, reads a `reads` times and inserts c:
/// the store after, and the entry c evicted.
fn victim_after_reads(eviction: Eviction, reads: usize) -> (Store, Option<String>) {
    let mut s = Store::new(2, eviction);
    filled(&mut s, &["a", "b"]);
    for _ in 0..reads {
        assert!(matches!(s.get("a", 0), Lookup::Hit(_)));
    }
    let mut victims = filled(&mut s, &["c"]);
    assert_eq!(victims.len(), 1);
    (s, victims.remove(0))
}

#[test]
fn lru_evicts_the_least_recently_used_entry() {
    let (s, victim) = victim_after_reads(Eviction::Lru, 1);
    assert_eq!(victim, Some("b".to_string()));
    assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec!["a", "c"]);
    assert_eq!(s.evictions, 1);
}

#[test]
fn lfu_evicts_the_least_frequently_used_entry_even_if_recent() {
    // b is the most recent insert but the least used.
    let (_, victim) = victim_after_reads(Eviction::Lfu, 3);
    assert_eq!(victim, Some("b".to_string()));
}

#[test]
fn fifo_evicts_the_oldest_insert_however_often_it_is_read() {
    let (_, victim) = victim_after_reads(Eviction::Fifo, 5);
    assert_eq!(victim, Some("a".to_string()));
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
