//! A bad `[system]` table is refused with the file, line and column, what
//! is wrong and what would be valid: by serde for an unknown key (placed by
//! the TOML parser), by `Spec::new` for a value out of range (placed on the
//! key by the registry); and a fault trigger on a message kind the protocol
//! does not have, by the list `sim::message!` wrote (`Msg::KINDS`).

use chaoslab::sim::registry::Register;
use chaoslab::Registry;
use lock_service::LockService;

/// The error for `zombie-fenced.toml` with `from` replaced by `to`.
fn error(from: &str, to: &str) -> String {
    let mut r = Registry::new();
    r.add::<LockService>();
    let text = include_str!("../scenarios/zombie-fenced.toml");
    assert!(text.contains(from), "{from}");
    let bad = text.replacen(from, to, 1);
    match r.parse("bad.toml", &bad) {
        Ok(_) => panic!("{to} was accepted"),
        Err(e) => e.to_string(),
    }
}

/// Each refusal: what it is, the text of `zombie-fenced.toml` replaced and
/// its replacement, and how the error begins (file, line, column, message).
const REFUSED: &[(&str, &str, &str, &str)] = &[
    (
        "an unknown system key is refused on its line with the valid ones",
        "fencing = true\n",
        "fencing = true\nleese = \"1s\"\n",
        "error: bad.toml:21:1: unknown field `leese`, expected one of `lease_duration`, `work_time`, `fencing`",
    ),
    (
        "a lease under a millisecond is refused on its key",
        "lease_duration = \"500ms\"",
        "lease_duration = \"0\"",
        "error: bad.toml:18:1: [system] lease_duration = \"0s\": must be at least 1ms, e.g. \"500ms\"",
    ),
    (
        "any number of servers but two is refused on servers",
        "servers = 2 ",
        "servers = 3 ",
        "error: bad.toml:23:11: protocol \"lock-service\" runs exactly 2 servers",
    ),
    (
        "a trigger on an unknown message kind is refused with the kinds message wrote",
        "when = { event = \"role\", role = \"holder\" }",
        "when = { event = \"send\", kind = \"Grantt\" }",
        "error: bad.toml:38:33: when: unknown message kind `Grantt`: this protocol's message kinds are \"Acquire\", \"Grant\", \"Release\", \"Write\", \"WriteReply\", \"Read\", \"ReadReply\"",
    ),
];

#[test]
fn each_bad_value_is_refused_at_its_place_saying_what_is_valid() {
    for (what, from, to, begins) in REFUSED {
        let e = error(from, to);
        assert!(e.starts_with(begins), "{what}: {e}");
    }
}
