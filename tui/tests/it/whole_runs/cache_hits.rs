//! `cache-hit`, a sometimes property, on whole runs: seen when clients read
//! keys they wrote, not seen when they only write.

use sim::report::Report;

use nodes::cache::CACHE_HIT;

fn run(mix: &str) -> Report {
    let src = format!(
        "[meta]\nname = \"cache/hits\"\nduration = \"3s\"\n\n[system]\nprotocol = \"cache\"\npolicy = \"write-through\"\n\n\
         [topology]\nservers = 2\nclients = 2\n\n[workload]\nrate = 50\nkeys = 3\nmix = {mix}\n"
    );
    super::report("hits.toml", &src, 1).unwrap()
}

fn cache_hit(r: &Report) -> &'static str {
    r.invariants
        .iter()
        .find(|i| i.name == CACHE_HIT)
        .expect("cache declares cache-hit")
        .verdict
        .word()
}

#[test]
fn reads_of_written_keys_hit_the_cache() {
    let r = run("{ get = 0.5, put = 0.5 }");
    assert_eq!(cache_hit(&r), "seen", "{}", r.render());
}

#[test]
fn a_write_only_workload_never_hits_and_fails_nothing() {
    let r = run("{ put = 1.0 }");
    assert_eq!(cache_hit(&r), "not seen", "{}", r.render());
    assert!(r.failures().is_empty(), "{:?}", r.failures());
}
