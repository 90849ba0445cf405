//! Messages: sending through the network model, holding, dropping and
//! delivering.

use std::sync::Arc;

use rand::Rng;

use super::triggers::Seen;
use super::{Ev, Msg, Sim};
use crate::network::DropReason;
use crate::node::{Message, Node, NodeId};
use crate::protocol::Protocol;
use crate::trace::TraceEvent;

impl<'s, P: Protocol> Sim<'s, P> {
    /// Traces an event on the link `from -> to`, made from both ends' names.
    fn record_link(
        &mut self,
        from: u32,
        to: u32,
        event: impl FnOnce(Arc<str>, Arc<str>) -> TraceEvent,
    ) {
        self.record(|c| event(c.name_arc(NodeId(from)), c.name_arc(NodeId(to))));
    }

    pub(super) fn send(&mut self, from: u32, to: u32, msg: Msg<P>) {
        if to as usize >= self.nodes.len() {
            panic!("node {from} sent to node {to}, which does not exist: a protocol bug");
        }
        self.next_msg += 1;
        let id = self.next_msg;
        self.counters.sent += 1;
        let kind = msg.kind();
        self.fp.u64(0x53 ^ (self.now << 8));
        self.fp
            .u64(((from as u64) << 40) ^ ((to as u64) << 20) ^ id);
        self.fp.bytes(kind.as_bytes());
        if self.trace.is_some() {
            let detail = format!("{msg:?}");
            self.record_link(from, to, |from, to| TraceEvent::Send {
                from,
                to,
                id,
                msg: kind,
                detail,
            });
        }
        self.observe(Seen::Send { from, to, kind });
        let (f, t) = (from as usize, to as usize);
        if self.net.is_cut(f, t) {
            self.drop_msg(from, to, id, kind, DropReason::Partition);
            return;
        }
        let link = self.net.link(f, t);
        if self.x.is_some() {
            // Exploring: loss and duplication are the explorer's choices.
            if link.clogged {
                self.hold(from, to, id, kind, "clogged");
                self.clogged.push((from, to, id, msg));
            } else {
                self.schedule_delivery(from, to, id, msg);
            }
            return;
        }
        if link.loss > 0.0 && self.net_rng.gen::<f64>() < link.loss {
            self.drop_msg(from, to, id, kind, DropReason::Loss);
            return;
        }
        let dup = link.duplicate > 0.0 && self.net_rng.gen::<f64>() < link.duplicate;
        if link.clogged {
            self.hold(from, to, id, kind, "clogged");
            if dup {
                self.counters.duplicated += 1;
                self.clogged.push((from, to, id, msg.clone()));
            }
            self.clogged.push((from, to, id, msg));
            return;
        }
        if dup {
            self.counters.duplicated += 1;
            self.schedule_delivery(from, to, id, msg.clone());
        }
        self.schedule_delivery(from, to, id, msg);
    }

    #[inline]
    pub(super) fn schedule_delivery(&mut self, from: u32, to: u32, id: u64, msg: Msg<P>) {
        if self.x.is_some() {
            // Exploring: due at its earliest, and to be delivered by its
            // latest; FIFO links are kept in order by the explorer.
            let (lo, hi) = self.window(from, to);
            let slot = self.push(
                self.now.saturating_add(lo),
                Ev::Deliver { from, to, id, msg },
            );
            self.note_latest(slot, self.now.saturating_add(hi));
            return;
        }
        let fifo = self.net.fifo;
        let link = self.net.link_mut(from as usize, to as usize);
        let mut at = self
            .now
            .saturating_add(link.latency.sample(&mut self.net_rng));
        if fifo {
            at = at.max(link.last_delivery);
            link.last_delivery = at;
        }
        self.push(at, Ev::Deliver { from, to, id, msg });
    }

    fn hold(&mut self, from: u32, to: u32, id: u64, kind: &'static str, reason: &'static str) {
        self.fp.u64(0x48 ^ id);
        self.record_link(from, to, |from, to| TraceEvent::Hold {
            from,
            to,
            id,
            msg: kind,
            reason,
        });
    }

    pub(super) fn drop_msg(
        &mut self,
        from: u32,
        to: u32,
        id: u64,
        kind: &'static str,
        reason: DropReason,
    ) {
        match reason {
            DropReason::Partition => self.counters.dropped_partition += 1,
            DropReason::Loss => self.counters.dropped_loss += 1,
            DropReason::DestinationCrashed | DropReason::SenderCrashed => {
                self.counters.dropped_crashed += 1
            }
        }
        self.fp.u64(0x44 ^ (self.now << 8));
        self.fp.u64(id ^ ((reason as u64) << 60));
        self.record_link(from, to, |from, to| TraceEvent::Drop {
            from,
            to,
            id,
            msg: kind,
            reason: reason.as_str(),
        });
    }

    pub(super) fn deliver(&mut self, from: u32, to: u32, id: u64, msg: Msg<P>) {
        let kind = msg.kind();
        if self.nodes[to as usize].is_none() {
            return self.drop_msg(from, to, id, kind, DropReason::DestinationCrashed);
        }
        if self.nodes[from as usize].is_none() {
            return self.drop_msg(from, to, id, kind, DropReason::SenderCrashed);
        }
        if self.net.is_cut(from as usize, to as usize) {
            return self.drop_msg(from, to, id, kind, DropReason::Partition);
        }
        if self.slots[to as usize].paused {
            self.hold(from, to, id, kind, "paused");
            self.slots[to as usize]
                .held
                .push(Ev::Deliver { from, to, id, msg });
            return;
        }
        self.counters.delivered += 1;
        self.fp.u64(0x52 ^ (self.now << 8));
        self.fp.u64(id);
        self.record_link(from, to, |from, to| TraceEvent::Deliver {
            from,
            to,
            id,
            msg: kind,
        });
        self.observe(Seen::Deliver { from, to, kind });
        self.run_handler(to, |node, ctx| node.on_message(ctx, NodeId(from), msg));
    }
}
