//! A backend: the queueing service of `resilience`, plus an answer to the
//! balancer's health probes.

use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};

use super::{Msg, Refusal};
use crate::resilience::{self, Service};

/// A queueing service behind the balancer. Probes are answered at once, out
/// of band, as a health endpoint that does not queue behind requests is: a
/// backend that is slow or overloaded but alive passes its health check.
#[derive(Clone, Debug)]
pub struct Backend {
    pub service: Service,
    pub probes: u64,
}

fn reply(id: u64, refused: Option<resilience::Refusal>) -> Msg {
    Msg::Reply {
        id,
        refused: refused.map(|r| match r {
            resilience::Refusal::QueueFull => Refusal::QueueFull,
        }),
    }
}

impl Backend {
    pub fn new(config: Arc<resilience::Config>) -> Backend {
        Backend {
            service: Service::new(config),
            probes: 0,
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { id, .. } => self.service.accept(ctx, from, id, reply),
            Msg::Probe { seq } => {
                self.probes += 1;
                ctx.send(from, Msg::ProbeOk { seq });
            }
            Msg::Reply { .. } | Msg::ProbeOk { .. } => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        self.service.finish(ctx, timer, reply);
    }

    pub fn status(&self) -> Status {
        let mut s = self.service.status();
        s.role = "backend";
        s
    }
}
