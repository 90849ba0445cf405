//! Anti-entropy (Dynamo §4.7): two replicas compare Merkle trees of the keys
//! they share and exchange the versions in the leaves that differ.

use std::collections::BTreeSet;

use rand::Rng;
use sim::node::{Ctx, NodeId};
use sim::time::Nanos;

use super::{Msg, Server, Sibling, MERKLE_LEAVES};
use crate::ring::{hash, key_hash};

impl Server {
    /// The keys this node shares with `peer` on the current ring.
    pub(super) fn shared_with(&self, now: Nanos, peer: NodeId) -> Vec<&String> {
        let ring = self.timeline.at(now);
        self.store
            .keys()
            .filter(|k| ring.preference_list(k, self.params.n).contains(&peer))
            .collect()
    }

    pub(super) fn leaf_of(key: &str) -> usize {
        (key_hash(key) >> 60) as usize % MERKLE_LEAVES
    }

    /// The Merkle tree's leaves over the keys shared with `peer`: each leaf
    /// hashes the (key, versions) pairs that fall in it, in key order. The
    /// root is the hash of the leaves; both sides compare leaf by leaf.
    pub(in crate::quorum) fn merkle_leaves(&self, now: Nanos, peer: NodeId) -> Vec<u64> {
        let mut leaves = vec![0u64; MERKLE_LEAVES];
        for k in self.shared_with(now, peer) {
            let l = Self::leaf_of(k);
            let h = hash(format!("{k}{:?}", self.store[k]).as_bytes());
            leaves[l] = hash(&[leaves[l].to_le_bytes(), h.to_le_bytes()].concat());
        }
        leaves
    }

    pub(super) fn start_anti_entropy(&mut self, ctx: &mut Ctx<Msg>) {
        let ring = self.timeline.at(ctx.now());
        let mut peers: BTreeSet<NodeId> = BTreeSet::new();
        for k in self.store.keys() {
            peers.extend(ring.preference_list(k, self.params.n));
        }
        peers.remove(&self.me);
        if peers.is_empty() {
            return;
        }
        let i = ctx.rng().gen_range(0..peers.len());
        let peer = *peers.iter().nth(i).expect("index in range");
        let leaves = self.merkle_leaves(ctx.now(), peer);
        ctx.send(peer, Msg::Tree { leaves });
    }

    pub(super) fn leaf_data(
        &self,
        now: Nanos,
        peer: NodeId,
        leaves: &[u32],
    ) -> Vec<(String, Vec<Sibling>)> {
        self.shared_with(now, peer)
            .into_iter()
            .filter(|k| leaves.contains(&(Self::leaf_of(k) as u32)))
            .map(|k| (k.clone(), self.store[k].clone()))
            .collect()
    }

    pub(super) fn on_tree(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, theirs: Vec<u64>) {
        let mine = self.merkle_leaves(ctx.now(), from);
        let root = |l: &[u64]| hash(&l.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>());
        if root(&mine) == root(&theirs) {
            return;
        }
        let differ: Vec<u32> = (0..MERKLE_LEAVES)
            .filter(|&i| mine.get(i) != theirs.get(i))
            .map(|i| i as u32)
            .collect();
        let data = self.leaf_data(ctx.now(), from, &differ);
        ctx.send(
            from,
            Msg::Leaves {
                leaves: differ,
                data,
                reply: true,
            },
        );
    }

    pub(super) fn on_leaves(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        leaves: Vec<u32>,
        data: Vec<(String, Vec<Sibling>)>,
        reply: bool,
    ) {
        let ring = self.timeline.at(ctx.now()).clone();
        for (k, sibs) in &data {
            if ring.preference_list(k, self.params.n).contains(&self.me)
                && self.apply(ctx, k, sibs, false)
            {
                self.stats.anti_entropy_repairs += 1;
            }
        }
        if reply {
            let data = self.leaf_data(ctx.now(), from, &leaves);
            ctx.send(
                from,
                Msg::Leaves {
                    leaves,
                    data,
                    reply: false,
                },
            );
        }
    }
}
