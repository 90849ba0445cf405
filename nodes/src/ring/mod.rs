//! # Consistent hashing
//!
//! Karger et al., "Consistent Hashing and Random Trees" (STOC 1997), as Dynamo
//! uses it (DeCandia et al., "Dynamo: Amazon's Highly Available Key-value
//! Store", SOSP 2007, §4.2 and §4.3).
//!
//! Keys and nodes are hashed onto the same circle of 2^64 positions. Each
//! physical node owns `vnodes` positions (its *virtual nodes*, tokens hashed from
//! `"n3#0"`, `"n3#1"`, ...). A key belongs to the first token clockwise from its
//! own hash; its *preference list* is the first N **distinct physical** nodes met
//! walking clockwise from there (a node's second token does not count twice).
//!
//! What it buys: when a node joins or leaves, only the keys on the arcs its
//! tokens cover move, about 1/(nodes) of them, where `hash(key) % nodes` moves
//! almost every key. What virtual nodes buy: with one token per node the arcs
//! are very unequal and so is the load; with many tokens each node's share
//! averages out. What it cannot buy: a single hot key lives on one preference
//! list whatever the ring looks like.
//!
//! The hash is fixed and written out here (FNV-1a 64 followed by the splitmix64
//! finaliser, which spreads FNV's weak low bits), so placements are the same on
//! every machine and in every release.

use std::collections::BTreeSet;

use sim::node::NodeId;

/// FNV-1a 64 of `bytes`, then the splitmix64 finaliser.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The position of a key on the ring.
pub fn key_hash(key: &str) -> u64 {
    hash(key.as_bytes())
}

/// A ring: every token of every member, sorted by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    tokens: Vec<(u64, NodeId)>,
    members: BTreeSet<NodeId>,
    vnodes: u32,
}

impl Ring {
    /// A ring of `members` with `vnodes` tokens each. Node `NodeId(i)` is named
    /// `n{i+1}`, and its tokens are the hashes of `"n{i+1}#{v}"`.
    pub fn new(members: impl IntoIterator<Item = NodeId>, vnodes: u32) -> Ring {
        let vnodes = vnodes.max(1);
        let members: BTreeSet<NodeId> = members.into_iter().collect();
        let mut tokens: Vec<(u64, NodeId)> = members
            .iter()
            .flat_map(|&n| {
                (0..vnodes).map(move |v| (hash(format!("n{}#{v}", n.0 + 1).as_bytes()), n))
            })
            .collect();
        tokens.sort_unstable();
        Ring {
            tokens,
            members,
            vnodes,
        }
    }

    pub fn members(&self) -> &BTreeSet<NodeId> {
        &self.members
    }

    pub fn vnodes(&self) -> u32 {
        self.vnodes
    }

    /// The tokens of `node`, in ring order.
    pub fn tokens_of(&self, node: NodeId) -> Vec<u64> {
        self.tokens
            .iter()
            .filter(|(_, n)| *n == node)
            .map(|(t, _)| *t)
            .collect()
    }

    /// Every member once, in the order met walking clockwise from `key`'s hash.
    pub fn walk(&self, key: &str) -> Vec<NodeId> {
        self.walk_from(key_hash(key), self.members.len())
    }

    /// The first `n` distinct physical nodes clockwise from `key`'s hash.
    pub fn preference_list(&self, key: &str, n: usize) -> Vec<NodeId> {
        self.walk_from(key_hash(key), n)
    }

    /// The first token at or after position `h` (wrapping around) owns `h`.
    pub fn owner_of_hash(&self, h: u64) -> Option<NodeId> {
        if self.tokens.is_empty() {
            return None;
        }
        let i = self.tokens.partition_point(|(t, _)| *t < h) % self.tokens.len();
        Some(self.tokens[i].1)
    }

    fn walk_from(&self, h: u64, n: usize) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(n);
        if self.tokens.is_empty() {
            return out;
        }
        let start = self.tokens.partition_point(|(t, _)| *t < h);
        for i in 0..self.tokens.len() {
            if out.len() >= n {
                break;
            }
            let node = self.tokens[(start + i) % self.tokens.len()].1;
            if !out.contains(&node) {
                out.push(node);
            }
        }
        out
    }
}

/// The synthetic keys the ring statistics are computed over.
pub fn synthetic_keys(count: usize) -> impl Iterator<Item = String> {
    (0..count).map(|i| format!("key-{i}"))
}

/// What one membership change moved, over a set of keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Movement {
    pub keys: usize,
    /// Keys whose first owner changed on the ring.
    pub ring_moved: usize,
    /// Keys whose preference list (of `n`) changed at all.
    pub ring_replicas_changed: usize,
    /// Keys whose owner changed under `hash(key) % members`.
    pub mod_moved: usize,
}

/// The keys that move from `before` to `after`, on the ring and under mod-N
/// hashing of the same members (in id order).
pub fn movement(before: &Ring, after: &Ring, n: usize, keys: usize) -> Movement {
    let mod_owner = |ring: &Ring, h: u64| {
        let m: Vec<NodeId> = ring.members.iter().copied().collect();
        (!m.is_empty()).then(|| m[(h % m.len() as u64) as usize])
    };
    let mut mv = Movement {
        keys,
        ring_moved: 0,
        ring_replicas_changed: 0,
        mod_moved: 0,
    };
    for k in synthetic_keys(keys) {
        let h = key_hash(&k);
        if before.owner_of_hash(h) != after.owner_of_hash(h) {
            mv.ring_moved += 1;
        }
        if before.walk_from(h, n) != after.walk_from(h, n) {
            mv.ring_replicas_changed += 1;
        }
        if mod_owner(before, h) != mod_owner(after, h) {
            mv.mod_moved += 1;
        }
    }
    mv
}

/// Keys owned per member (first owner only) over `keys` synthetic keys:
/// (max, mean).
pub fn balance(ring: &Ring, keys: usize) -> (usize, f64) {
    let mut per: std::collections::BTreeMap<NodeId, usize> =
        ring.members.iter().map(|&m| (m, 0)).collect();
    for k in synthetic_keys(keys) {
        if let Some(o) = ring.owner_of_hash(key_hash(&k)) {
            *per.entry(o).or_default() += 1;
        }
    }
    let max = per.values().copied().max().unwrap_or(0);
    let mean = if per.is_empty() {
        0.0
    } else {
        keys as f64 / per.len() as f64
    };
    (max, mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u32) -> Vec<NodeId> {
        (0..n).map(NodeId).collect()
    }

    #[test]
    fn the_hash_is_fixed_on_every_machine() {
        // FNV-1a 64 of "" is the offset basis; the finaliser then mixes it.
        assert_eq!(hash(b""), {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            h ^ (h >> 31)
        });
        assert_eq!(hash(b"k1"), hash(b"k1"));
        assert_ne!(hash(b"k1"), hash(b"k2"));
    }

    #[test]
    fn the_preference_list_is_the_first_n_distinct_physical_nodes_clockwise() {
        let ring = Ring::new(ids(5), 8);
        for key in ["k0", "k1", "k2", "hot"] {
            let h = key_hash(key);
            let start = ring.tokens.partition_point(|(t, _)| *t < h);
            // Walk the tokens by hand, skipping nodes already taken.
            let mut want = Vec::new();
            for i in 0..ring.tokens.len() {
                let n = ring.tokens[(start + i) % ring.tokens.len()].1;
                if !want.contains(&n) {
                    want.push(n);
                }
            }
            want.truncate(3);
            let got = ring.preference_list(key, 3);
            assert_eq!(got, want);
            assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 3);
            assert_eq!(got[0], ring.owner_of_hash(h).unwrap());
        }
    }

    #[test]
    fn a_preference_list_never_holds_more_nodes_than_the_ring() {
        let ring = Ring::new(ids(2), 16);
        assert_eq!(ring.preference_list("k1", 3).len(), 2);
    }

    #[test]
    fn adding_a_sixth_node_moves_about_a_sixth_of_the_keys_and_mod_n_most() {
        let before = Ring::new(ids(5), 128);
        let after = Ring::new(ids(6), 128);
        let mv = movement(&before, &after, 3, 10_000);
        let ring_share = mv.ring_moved as f64 / mv.keys as f64;
        let mod_share = mv.mod_moved as f64 / mv.keys as f64;
        assert!(
            (0.12..0.22).contains(&ring_share),
            "ring moved {ring_share}"
        );
        assert!(mod_share > 0.75, "mod-N moved {mod_share}");
    }

    #[test]
    fn more_virtual_nodes_balance_the_load() {
        let (max1, mean) = balance(&Ring::new(ids(8), 1), 10_000);
        let (max256, _) = balance(&Ring::new(ids(8), 256), 10_000);
        assert!(max256 < max1);
        assert!((max256 as f64) < mean * 1.3, "max {max256} mean {mean}");
    }
}
