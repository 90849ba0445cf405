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

#[test]
fn an_unknown_system_key_is_refused_on_its_line_with_the_valid_ones() {
    let e = error("fencing = true\n", "fencing = true\nleese = \"1s\"\n");
    assert!(
        e.starts_with("error: bad.toml:21:1: unknown field `leese`, expected one of `lease_duration`, `work_time`, `fencing`"),
        "{e}"
    );
}

#[test]
fn a_lease_under_a_millisecond_is_refused_on_its_key() {
    let e = error("lease_duration = \"500ms\"", "lease_duration = \"0\"");
    assert!(
        e.starts_with("error: bad.toml:18:1: [system] lease_duration = \"0s\": must be at least 1ms, e.g. \"500ms\""),
        "{e}"
    );
}

#[test]
fn any_number_of_servers_but_two_is_refused_on_servers() {
    let e = error("servers = 2 ", "servers = 3 ");
    assert!(
        e.starts_with("error: bad.toml:23:11: protocol \"lock-service\" runs exactly 2 servers"),
        "{e}"
    );
}

#[test]
fn a_trigger_on_an_unknown_message_kind_is_refused_with_the_kinds_message_wrote() {
    let e = error(
        "when = { event = \"role\", role = \"holder\" }",
        "when = { event = \"send\", kind = \"Grantt\" }",
    );
    assert!(
        e.starts_with("error: bad.toml:38:33: when: unknown message kind `Grantt`: this protocol's message kinds are \"Acquire\", \"Grant\", \"Release\", \"Write\", \"WriteReply\", \"Read\", \"ReadReply\""),
        "{e}"
    );
}
