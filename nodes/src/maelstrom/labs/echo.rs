//! The echo lab (Gossip Glomers challenge 1): part 1 on a healthy
//! network, part 2 with message loss.

use super::{Kit, Part};
use crate::maelstrom::ops::WorkloadKind;

/// The echo skeleton, as `chaoslab lab new echo` writes it.
pub mod echo_skeleton {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("echo_skeleton.rs");
}

/// chaoslab's echo solution (`chaoslab lab new echo --solution`).
pub mod echo_solution {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("echo_solution.rs");
}

pub const ECHO: Kit = Kit {
    workload: WorkloadKind::Echo,
    node_type: "EchoNode",
    protocol: "lab-echo",
    parts: &[
        Part {
            number: 1,
            name: "no faults",
            about: "3 nodes, a healthy network: every echo is answered with its own payload (Gossip Glomers 1)",
            text: include_str!("echo-1.toml"),
            seeds: (1, 5),
        },
        Part {
            number: 2,
            name: "message loss",
            about: "3 nodes, 10% of messages lost: requests time out, but no answer is ever wrong",
            text: include_str!("echo-2.toml"),
            seeds: (1, 5),
        },
    ],
    skeleton: include_str!("echo_skeleton.rs"),
    solution: include_str!("echo_solution.rs"),
};

#[cfg(test)]
mod tests {
    use super::super::checks;
    use super::*;

    #[test]
    fn the_echo_solution_passes_every_part() {
        checks::solution_passes::<echo_solution::EchoNode>(&ECHO);
    }

    #[test]
    fn the_echo_solution_passes_every_part_on_seeds_1_to_50() {
        checks::solution_passes_on_seeds_1_to_50::<echo_solution::EchoNode>(&ECHO);
    }

    #[test]
    fn the_echo_skeleton_fails_part_1_with_a_readable_grade() {
        checks::skeleton_fails_part_1::<echo_skeleton::EchoNode>(
            &ECHO,
            &[
                "maelstrom-valid violated at",
                "malformed replies",
                "MISS malformed replies",
            ],
        );
    }

    #[test]
    fn the_echo_sources_name_the_kits_protocol_and_type() {
        checks::sources_name_the_kit::<echo_skeleton::EchoNode, echo_solution::EchoNode>(&ECHO);
    }
}
