//! Unit tests: drive servers by hand (a `sim::testing::Harness` each) and
//! assert the exact effects they record, citing the section of the Raft
//! paper each one checks. `cluster` drives whole clusters (a `sim::testing::Net`).

use sim::client::{ClientConfig, RequestId, RetryPolicy, SessionId};
use sim::history::{OpFn, Outcome, Value};
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, Node, NodeId, OpId, Request, TimerId};
use sim::protocol::Violation;
use sim::testing::{sends, Handlers, Harness, Net};
use sim::time::ms;

use super::server::{ELECTION_TIMER, HEARTBEAT_TIMER};
use super::*;

mod checker;
mod clients;
mod cluster;
mod election;
mod log;

const N1: NodeId = NodeId(0);
const N2: NodeId = NodeId(1);

const N3: NodeId = NodeId(2);

/// A server driven by hand: the harness rebuilds it from its disk on restart.
type Solo = Harness<Server>;

impl Handlers<Msg> for Server {
    fn handle_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.on_start(ctx)
    }
    fn handle_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        self.on_message(ctx, from, msg)
    }
    fn handle_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        self.on_timer(ctx, timer)
    }
}

/// Server `id` of `servers` (and `clients` clients), on an empty disk.
fn solo(id: NodeId, servers: usize, clients: usize, params: Params) -> Solo {
    solo_on(id, servers, clients, params, Disk::default())
}

fn solo_on(id: NodeId, servers: usize, clients: usize, params: Params, disk: Disk) -> Solo {
    let cluster = Cluster::new(servers, clients);
    Harness::build_on(cluster, id, disk, move |cluster, id, disk| {
        Server::from_disk(id, cluster, &params, disk)
    })
}

/// A server whose disk already holds `term` and a log with these terms.
fn with_log(id: NodeId, servers: usize, params: Params, term: u64, terms: &[u64]) -> Solo {
    solo_on(id, servers, 0, params, logged(term, terms))
}

/// A disk that holds `term` and a log with these terms, synced.
fn logged(term: u64, terms: &[u64]) -> Disk {
    let mut disk = Disk::default();
    disk.put(("term", 0), term);
    for (i, t) in terms.iter().enumerate() {
        disk.put(("log", i as u64 + 1), entry(*t, i as u64 + 1));
    }
    disk.sync();
    disk
}

/// Three servers of a `Net` (none started), their disks holding a term
/// and a log with these terms each.
fn three(params: Params, disks: [(u64, &[u64]); 3]) -> Net<Raft> {
    let raft = Raft::new(params, Raft::default().client);
    let mut net = Net::new(raft, Cluster::new(3, 0));
    for (i, (term, terms)) in disks.into_iter().enumerate() {
        net = net.with_disk(NodeId(i as u32), logged(term, terms));
    }
    net
}

/// Server `id` of a net.
fn server(net: &Net<Raft>, id: NodeId) -> &Server {
    net.node(id).as_server().expect("a server")
}

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        command: Command::Client {
            id: request_id(NodeId(99), 0, index),
            key: "k".into(),
            f: OpFn::Write(Value::Int(index as i64)),
        }
        .into(),
    }
}

fn vote_request(term: u64, last_index: u64, last_term: u64) -> Msg {
    Msg::RequestVote {
        term,
        last_index,
        last_term,
        pre_vote: false,
    }
}

fn granted(term: u64) -> Msg {
    Msg::RequestVoteReply {
        term,
        granted: true,
        pre_vote: false,
    }
}

/// AppendEntries of heartbeat round 0.
fn append(term: u64, prev_index: u64, prev_term: u64, entries: Vec<Entry>, commit: u64) -> Msg {
    Msg::AppendEntries {
        term,
        prev_index,
        prev_term,
        entries: entries.into(),
        commit,
        round: 0,
    }
}

fn ok_reply(term: u64, match_index: u64) -> Msg {
    ack(term, match_index, 0)
}

/// A successful AppendEntriesReply acknowledging heartbeat round `round`.
fn ack(term: u64, match_index: u64, round: u64) -> Msg {
    Msg::append_ok(term, match_index, round)
}

/// n1 times out and wins term 1 with n2's vote.
fn win_term_1(s: &mut Solo) {
    s.fire(ELECTION_TIMER);
    s.deliver(N2, granted(1));
}

fn log_terms(s: &Server) -> Vec<u64> {
    (1..=s.log().last_index())
        .map(|i| s.log().term_at(i).unwrap())
        .collect()
}

// ---- §8 Client interaction ----

/// The id of request `seq` of client `client`'s incarnation `incarnation`.
fn request_id(client: NodeId, incarnation: u64, seq: u64) -> RequestId {
    RequestId {
        session: SessionId {
            client,
            incarnation,
        },
        seq,
    }
}

#[test]
fn params_parse_from_a_scenario_and_a_misspelt_field_is_an_error_with_its_line() {
    let ok: Params = toml::from_str(
        r#"
election_timeout_min = "100ms"
read_mode = "read-index"
pre_vote = true
"#,
    )
    .unwrap();
    assert_eq!(ok.election_timeout_min, ms(100));
    assert_eq!(ok.read_mode, ReadMode::ReadIndex);
    assert!(ok.pre_vote);
    let err = toml::from_str::<Params>("pre_vot = true\n").unwrap_err();
    assert!(err.to_string().contains("pre_vot"), "{err}");
    let bad = Params {
        heartbeat_interval: ms(200),
        ..Params::default()
    };
    assert_eq!(bad.validate().unwrap_err().0, "heartbeat_interval");
}

#[test]
fn node_status_reports_the_fields_the_tui_shows() {
    let mut s = solo(N1, 1, 0, Params::default());
    s.fire(ELECTION_TIMER);
    let node = RaftNode::Server(s.node.clone());
    assert_eq!(node.role(), "leader");
    let st = node.status();
    let names: Vec<&str> = st.fields.iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        vec!["term", "vote", "leader", "log", "commit", "applied"]
    );
    assert!(ROLES.contains(&node.role()));
}
