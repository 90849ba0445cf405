//! The labs `chaoslab lab new` writes: per workload, the parts a node is
//! graded on (scenario files the lab carries), a skeleton node for the
//! learner to finish, and chaoslab's own solution.
//!
//! The skeleton and the solution are compiled here, as the lab compiles
//! them, so the workspace's tests grade both through the same function a
//! lab's test calls ([`super::grade`]): the solution must pass every part
//! and the skeleton must fail with a readable grade. Their source is
//! written as a lab's `src/lib.rs` would be (paths through the `chaoslab`
//! crate); here a local `chaoslab` module stands in for that crate.
//!
//! The parts follow Maelstrom's challenges (fly.io's Gossip Glomers):
//! part 1 on a healthy network (challenge 3b), part 2 with partitions
//! (3c), part 3 against the efficiency targets of challenge 3d
//! (<https://fly.io/dist-sys/3d/>: 25 nodes, 100ms links, 100 operations
//! a second; messages per operation below 30, median latency below
//! 400ms, maximum latency below 600ms).

use super::ops::WorkloadKind;

/// What the lab's sources see as `chaoslab::nodes`.
mod chaoslab {
    pub use crate as nodes;
}

/// The broadcast skeleton, as `chaoslab lab new broadcast` writes it.
pub mod broadcast_skeleton {
    #[allow(unused_imports)]
    use super::chaoslab;
    include!("broadcast_skeleton.rs");
}

/// chaoslab's broadcast solution, as `chaoslab lab new broadcast
/// --solution` writes it.
pub mod broadcast_solution {
    #[allow(unused_imports)]
    use super::chaoslab;
    include!("broadcast_solution.rs");
}

/// One graded part: a scenario run over a range of seeds.
#[derive(Clone, Copy, Debug)]
pub struct Part {
    pub number: u32,
    /// Short name (`partitions`): the file is `parts/N-NAME.toml`, with
    /// spaces as dashes.
    pub name: &'static str,
    /// What the part asks, in a sentence.
    pub about: &'static str,
    /// The scenario, with `protocol = "maelstrom"`: [`Part::scenario`]
    /// names the graded protocol instead.
    pub text: &'static str,
    /// The seeds, both ends included.
    pub seeds: (u64, u64),
}

impl Part {
    /// The file the lab carries it in, relative to the lab's folder.
    pub fn file(&self) -> String {
        format!("parts/{}-{}.toml", self.number, self.name.replace(' ', "-"))
    }

    /// The scenario for `protocol`.
    pub fn scenario(&self, protocol: &str) -> String {
        self.text.replacen(
            "protocol = \"maelstrom\"",
            &format!("protocol = \"{protocol}\""),
            1,
        )
    }
}

/// A lab: its workload, its parts, and the sources it starts from.
#[derive(Clone, Copy, Debug)]
pub struct Kit {
    pub workload: WorkloadKind,
    /// The node type's name in the sources (`BroadcastNode`).
    pub node_type: &'static str,
    /// The protocol name the lab registers (`lab-broadcast`).
    pub protocol: &'static str,
    pub parts: &'static [Part],
    /// `src/lib.rs` for the learner: compiles, answers `init`, fails the grade.
    pub skeleton: &'static str,
    /// `src/lib.rs` that passes every part.
    pub solution: &'static str,
}

/// Every lab there is.
pub const KITS: &[Kit] = &[
    BROADCAST,
    ECHO,
    UNIQUE_IDS,
    G_COUNTER,
    KAFKA,
    TXN_RW_REGISTER,
    LIN_KV,
];

/// The lab of workload `name` (`broadcast`), if there is one.
pub fn kit(name: &str) -> Option<&'static Kit> {
    KITS.iter().find(|k| k.workload.name() == name)
}

pub const BROADCAST: Kit = Kit {
    workload: WorkloadKind::Broadcast,
    node_type: "BroadcastNode",
    protocol: "lab-broadcast",
    parts: &[
        Part {
            number: 1,
            name: "no faults",
            about: "5 nodes, a healthy network: every broadcast message reaches every node (Gossip Glomers 3b)",
            text: include_str!("broadcast-1.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 2,
            name: "partitions",
            about: "5 nodes, the network partitioned twice: no acknowledged message is lost once it heals (Gossip Glomers 3c)",
            text: include_str!("broadcast-2.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 3,
            name: "efficiency",
            about: "25 nodes, 100ms links, 100 operations a second: messages per operation below 30, median latency below 400ms, maximum below 600ms (Gossip Glomers 3d)",
            text: include_str!("broadcast-3.toml"),
            seeds: (1, 20),
        },
    ],
    skeleton: include_str!("broadcast_skeleton.rs"),
    solution: include_str!("broadcast_solution.rs"),
};

mod kafka;
mod lin_kv;
mod txn_rw_register;
pub use kafka::{kafka_skeleton, kafka_solution, KAFKA};
pub use lin_kv::{lin_kv_skeleton, lin_kv_solution, LIN_KV};
pub use txn_rw_register::{txn_rw_register_skeleton, txn_rw_register_solution, TXN_RW_REGISTER};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod checks;
pub mod echo;
pub mod g_counter;
pub mod unique_ids;
pub use echo::ECHO;
pub use g_counter::G_COUNTER;
pub use unique_ids::UNIQUE_IDS;
