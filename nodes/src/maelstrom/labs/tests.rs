//! The labs' own sources graded as a learner's would be.

use super::*;
use crate::maelstrom::grade::{grade_lab, Grade};
use crate::maelstrom::LabNode;

#[test]
fn the_broadcast_solution_passes_every_part() {
    let grade = grade_lab::<broadcast_solution::BroadcastNode>(&BROADCAST, &[]);
    assert_eq!(grade.parts.len(), 3);
    assert!(grade.passed(), "{grade}");
}

/// The parts' own seeds are few (a learner's `cargo test` stays quick);
/// the solution must hold well beyond them, or a learner who copies its
/// design meets a part that fails on some seed of theirs.
#[test]
fn the_broadcast_solution_passes_every_part_on_seeds_1_to_50() {
    let kit = on_seeds(&BROADCAST, 1, 50);
    let grade = grade_lab::<broadcast_solution::BroadcastNode>(&kit, &[]);
    assert_eq!(grade.parts.len(), 3);
    for p in &grade.parts {
        assert_eq!(p.seeds, (1, 50));
    }
    assert!(grade.passed(), "{grade}");
}

fn skeleton_grade() -> Grade {
    grade_lab::<broadcast_skeleton::BroadcastNode>(&BROADCAST, &[1, 2])
}

#[test]
fn the_broadcast_skeleton_fails_part_1_with_a_readable_grade() {
    let grade = skeleton_grade();
    let text = grade.render();
    assert!(!grade.passed(), "{text}");
    let part1 = &grade.parts[0];
    assert!(!part1.passed(), "{text}");
    // What broke, and how to see it again: the checker's finding, the
    // target missed, and the replay command of the very seed.
    assert!(text.contains("Part 1 (no faults): FAIL"), "{text}");
    assert!(text.contains("maelstrom-valid violated at"), "{text}");
    assert!(text.contains("lost"), "{text}");
    assert!(
        text.contains("replay: cargo run --offline -- run parts/1-no-faults.toml --seed 1"),
        "{text}"
    );
    assert!(text.contains("MISS lost"), "{text}");
}

#[test]
fn the_sources_name_the_kits_protocol_and_type() {
    assert_eq!(
        <broadcast_skeleton::BroadcastNode as LabNode>::PROTOCOL,
        BROADCAST.protocol
    );
    assert_eq!(
        <broadcast_solution::BroadcastNode as LabNode>::PROTOCOL,
        BROADCAST.protocol
    );
    for src in [BROADCAST.skeleton, BROADCAST.solution] {
        assert!(src.contains(&format!("pub struct {}", BROADCAST.node_type)));
        assert!(!src.contains("todo!") && !src.contains("unimplemented!"));
    }
}

#[test]
fn part_files_are_numbered_and_name_the_graded_protocol() {
    let p = &BROADCAST.parts[1];
    assert_eq!(p.file(), "parts/2-partitions.toml");
    let text = p.scenario("lab-broadcast");
    assert!(text.contains("protocol = \"lab-broadcast\""));
    assert!(!text.contains("\"maelstrom\""));
}

#[test]
#[ignore = "prints the solution's grade: cargo test -p chaoslab-nodes print_the_solution_grade -- --ignored --nocapture"]
fn print_the_solution_grade() {
    let grade = grade_lab::<broadcast_solution::BroadcastNode>(&BROADCAST, &[]);
    println!("{grade}");
}

/// `kit` graded on seeds `from..=to` of every part.
pub(super) fn on_seeds(kit: &Kit, from: u64, to: u64) -> Kit {
    let parts: Vec<Part> = kit
        .parts
        .iter()
        .map(|p| Part {
            seeds: (from, to),
            ..*p
        })
        .collect();
    Kit {
        parts: Box::leak(parts.into_boxed_slice()),
        ..*kit
    }
}

/// A node that floods: on every message it learns, it sends its whole set
/// to every other server, which do the same. Without a cap on the events a
/// run of it grows without end (a reviewer's ate 6.4 GB).
mod flood {
    use std::collections::BTreeSet;

    use crate::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

    #[derive(Clone, Debug, Default)]
    pub struct Flood {
        init: Init,
        messages: BTreeSet<i64>,
    }

    impl LabNode for Flood {
        const PROTOCOL: &'static str = "lab-flood";
    }

    impl Flood {
        fn gossip(&self, out: &mut Out<'_>) {
            let all: Vec<i64> = self.messages.iter().copied().collect();
            for n in self.init.others() {
                out.send(n, Body::new("gossip").with("messages", all.clone()));
            }
        }
    }

    impl MaelNode for Flood {
        fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
            if let Some(init) = Init::answer(out, &msg) {
                self.init = init;
                return;
            }
            match msg.body.kind.as_str() {
                "topology" => out.reply(&msg, Body::new("topology_ok")),
                "broadcast" => {
                    self.messages.extend(msg.body.int("message"));
                    out.reply(&msg, Body::new("broadcast_ok"));
                    self.gossip(out);
                }
                "read" => {
                    let all: Vec<i64> = self.messages.iter().copied().collect();
                    out.reply(&msg, Body::new("read_ok").with("messages", all));
                }
                "gossip" => {
                    self.messages
                        .extend(msg.body.ints("messages").unwrap_or_default());
                    self.gossip(out);
                }
                _ => {}
            }
        }

        fn on_timer(&mut self, _out: &mut Out<'_>, _timer: u64) {}

        fn fields(&self) -> Vec<(&'static str, String)> {
            Vec::new()
        }

        fn clone_node(&self) -> Box<dyn MaelNode> {
            Box::new(self.clone())
        }
    }
}

#[test]
fn a_flooding_node_is_cut_short_by_max_events_and_fails_readably() {
    // Each part's `[meta] max_events` stops the flood; the test finishing
    // at all (in memory, in seconds) is half of what it shows. Parts 1 and
    // 2 only: with 25 servers (part 3) every event queues 24 messages, and
    // the cap still lets the queue reach gigabytes first (docs/labs.md says
    // so; a bound on queued messages is not built), too much for a test.
    let kit = on_seeds(&BROADCAST, 1, 1);
    let kit = Kit {
        parts: &kit.parts[..2],
        ..kit
    };
    let grade = grade_lab::<flood::Flood>(&kit, &[]);
    let text = grade.render();
    for part in &grade.parts {
        assert!(!part.passed(), "{text}");
        let finding = part.failures[0].finding.join("\n");
        assert!(
            finding.contains("stopped at") && finding.contains("after [meta] max_events = "),
            "part {}: {finding}",
            part.number
        );
    }
    assert!(
        text.contains("replay: cargo run --offline -- run parts/2-partitions.toml --seed 1"),
        "{text}"
    );
}

/// A node that panics on its first `read`.
mod panics {
    use crate::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

    #[derive(Clone, Debug, Default)]
    pub struct Panics;

    impl LabNode for Panics {
        const PROTOCOL: &'static str = "lab-panics";
    }

    impl MaelNode for Panics {
        fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
            if Init::answer(out, &msg).is_some() {
                return;
            }
            match msg.body.kind.as_str() {
                "read" => panic!("no reads here"),
                "topology" => out.reply(&msg, Body::new("topology_ok")),
                "broadcast" => out.reply(&msg, Body::new("broadcast_ok")),
                _ => {}
            }
        }

        fn on_timer(&mut self, _out: &mut Out<'_>, _timer: u64) {}

        fn fields(&self) -> Vec<(&'static str, String)> {
            Vec::new()
        }

        fn clone_node(&self) -> Box<dyn MaelNode> {
            Box::new(self.clone())
        }
    }
}

#[test]
fn a_panicking_node_fails_its_seeds_and_the_grade_goes_on() {
    let kit = on_seeds(&BROADCAST, 1, 2);
    let grade = grade_lab::<panics::Panics>(&kit, &[1, 2]);
    let text = grade.render();
    // Both parts were graded: the first panic did not end the grade.
    assert_eq!(grade.parts.len(), 2, "{text}");
    for part in &grade.parts {
        assert_eq!(part.failures.len(), 2, "{text}");
        for (fail, seed) in part.failures.iter().zip(1..) {
            assert_eq!(fail.seed, seed);
            assert_eq!(
                fail.finding,
                vec!["your node panicked: no reads here"],
                "{text}"
            );
        }
    }
    assert!(text.contains("seed 2 FAILED:\n    your node panicked: no reads here\n    replay: cargo run --offline -- run parts/2-partitions.toml --seed 2"), "{text}");
}

/// The solutions over seeds 1 to 500 on every part: a correct node must
/// not miss a target on a plausible seed (a floor the workload itself can
/// push it under is a false alarm). Slow in a debug build: run with
/// `cargo test --release -p chaoslab-nodes the_solutions_pass_on_seeds_1_to_500 -- --ignored`.
#[test]
#[ignore = "a 500-seed sweep of every lab's solution (slow): run with --ignored --release"]
fn the_solutions_pass_on_seeds_1_to_500() {
    let grades = [
        grade_lab::<broadcast_solution::BroadcastNode>(&on_seeds(&BROADCAST, 1, 500), &[]),
        grade_lab::<kafka_solution::KafkaNode>(&on_seeds(&KAFKA, 1, 500), &[]),
        grade_lab::<txn_rw_register_solution::TxnNode>(&on_seeds(&TXN_RW_REGISTER, 1, 500), &[]),
        grade_lab::<lin_kv_solution::LinKvNode>(&on_seeds(&LIN_KV, 1, 500), &[]),
    ];
    for g in &grades {
        println!("{g}");
    }
    let failed: Vec<String> = grades
        .iter()
        .filter(|g| !g.passed())
        .map(|g| g.render())
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
