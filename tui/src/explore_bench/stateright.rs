//! The stateright side of `bench explore --vs stateright`: the protocol of
//! this folder's `mod.rs` as a stateright [`Actor`], with the same state
//! ([`Replica`]), the same messages ([`Msg`]) and the same handlers
//! ([`start`], [`Replica::on_write`]), checked by stateright's BFS on its
//! unordered non-duplicating network, one thread, with the same
//! always-property.

use std::borrow::Cow;

use stateright::actor::{Actor, ActorModel, Id, Network, Out};
use stateright::{Checker, Expectation, Model};

use super::{start, Msg, Replica, ACKS_BOUNDED};

/// One server: it knows how many servers there are.
#[derive(Clone, Debug)]
pub struct LwwActor {
    servers: usize,
}

impl Actor for LwwActor {
    type Msg = Msg;
    type State = Replica;
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> Replica {
        let me = usize::from(id);
        let (state, v) = start(me as u32);
        // To every other server, in id order, as the chaoslab node sends.
        for p in (0..self.servers).filter(|&p| p != me) {
            o.send(Id::from(p), Msg::Write(v.0, v.1));
        }
        state
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Replica>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match msg {
            Msg::Write(ts, writer) => {
                if (ts, writer) > state.value {
                    state.to_mut().on_write((ts, writer));
                }
                o.send(src, Msg::Ack);
            }
            Msg::Ack => state.to_mut().acks += 1,
        }
    }
}

/// What stateright's search found.
pub struct Found {
    /// States generated (repeats included, the initial state counted).
    pub states: u64,
    pub unique: u64,
    pub depth: u64,
    pub seconds: f64,
    /// Whether the always-property held everywhere.
    pub held: bool,
}

/// Checks the model with `servers` servers, breadth first, on one thread.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
pub fn check(servers: usize) -> Found {
    let model = ActorModel::<LwwActor, usize, ()>::new(servers, ())
        .actors((0..servers).map(|_| LwwActor { servers }))
        .init_network(Network::new_unordered_nonduplicating([]))
        .property(Expectation::Always, ACKS_BOUNDED, |m, s| {
            // No more acks than peers: acks <= servers - 1.
            s.actor_states.iter().all(|a| (a.acks as usize) < m.cfg)
        });
    let started = std::time::Instant::now();
    let checker = model.checker().threads(1).spawn_bfs().join();
    let seconds = started.elapsed().as_secs_f64();
    Found {
        states: checker.state_count() as u64,
        unique: checker.unique_state_count() as u64,
        depth: checker.max_depth() as u64,
        seconds,
        held: checker.discovery(ACKS_BOUNDED).is_none(),
    }
}
