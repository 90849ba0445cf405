//! What every kit's sources must show, shared by the kits' tests: the
//! solution passes every part, on the parts' seeds and on seeds 1 to 50;
//! the skeleton fails part 1 with a grade that says what broke and how to
//! replay it; both name the kit's protocol and node type.

use super::{Kit, Part};
use crate::maelstrom::grade::{grade_lab, Grade};
use crate::maelstrom::LabNode;

/// `kit` graded on seeds `from..=to` of every part.
pub fn on_seeds(kit: &Kit, from: u64, to: u64) -> Kit {
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

/// The solution `N` passes every part of `kit` on the parts' own seeds.
pub fn solution_passes<N: LabNode + Send>(kit: &Kit) -> Grade {
    let grade = grade_lab::<N>(kit, &[]);
    assert_eq!(grade.parts.len(), kit.parts.len());
    assert!(grade.passed(), "{grade}");
    grade
}

/// The parts' own seeds are few (a learner's `cargo test` stays quick);
/// the solution must hold well beyond them, or a learner who copies its
/// design meets a part that fails on some seed of theirs.
pub fn solution_passes_on_seeds_1_to_50<N: LabNode + Send>(kit: &Kit) {
    let wide = on_seeds(kit, 1, 50);
    let grade = grade_lab::<N>(&wide, &[]);
    assert_eq!(grade.parts.len(), kit.parts.len());
    for p in &grade.parts {
        assert_eq!(p.seeds, (1, 50));
    }
    assert!(grade.passed(), "{grade}");
}

/// The skeleton `N` fails part 1 of `kit` (graded on its first two seeds)
/// with a readable grade: the part's FAIL line, each of `says` (what the
/// checker found, the target missed), and the replay command of the
/// part's first seed. Returns the rendered grade.
pub fn skeleton_fails_part_1<N: LabNode + Send>(kit: &Kit, says: &[&str]) -> String {
    let first = kit.parts[0];
    let kit = on_seeds(kit, first.seeds.0, first.seeds.0 + 1);
    let grade = grade_lab::<N>(&kit, &[1]);
    let text = grade.render();
    assert!(!grade.passed(), "{text}");
    assert!(!grade.parts[0].passed(), "{text}");
    assert!(
        text.contains(&format!("Part 1 ({}): FAIL", first.name)),
        "{text}"
    );
    for s in says {
        assert!(text.contains(s), "the grade should say {s:?}:\n{text}");
    }
    let replay = format!(
        "replay: cargo run --offline -- run {} --seed {}",
        first.file(),
        first.seeds.0
    );
    assert!(text.contains(&replay), "{text}");
    text
}

/// Both sources name the kit's protocol and node type, and leave nothing
/// to panic on (`todo!`, `unimplemented!`).
pub fn sources_name_the_kit<S: LabNode, T: LabNode>(kit: &Kit) {
    assert_eq!(S::PROTOCOL, kit.protocol);
    assert_eq!(T::PROTOCOL, kit.protocol);
    assert_eq!(kit.protocol, format!("lab-{}", kit.workload.name()));
    for src in [kit.skeleton, kit.solution] {
        assert!(src.contains(&format!("pub struct {}", kit.node_type)));
        assert!(!src.contains("todo!") && !src.contains("unimplemented!"));
    }
    for p in kit.parts {
        let text = p.scenario(kit.protocol);
        assert!(text.contains(&format!("protocol = \"{}\"", kit.protocol)));
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("max_events = ")),
            "{}: cap the events",
            p.file()
        );
    }
}
