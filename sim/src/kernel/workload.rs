//! The clients' loop: each client asks the protocol's workload for an
//! operation, issues it, completes it, and thinks before the next.

use rand_distr::Distribution;

use super::output::{outcome_name, show_value};
use super::{Ev, Sim};
use crate::history::{Invocation, Outcome, Value};
use crate::node::{Node, NodeId, OpId, Request};
use crate::protocol::Protocol;
use crate::time::Nanos;
use crate::trace::TraceEvent;
use crate::workload::Operation;

impl<'s, P: Protocol> Sim<'s, P> {
    pub(super) fn think_time(&mut self) -> Nanos {
        if self.x.is_some() {
            // Exploring: a client may go on at once, or at any time later.
            return 0;
        }
        (self.think.sample(&mut *self.work_rng) * 1e9) as Nanos
    }

    pub(super) fn issue(&mut self, client: u32) {
        let c = client as usize - self.cluster.servers().len();
        if self.now >= self.scenario.workload_stop()
            || self.clients[c].open.is_some()
            || self.out_of_ops(c)
        {
            return;
        }
        if self.nodes[client as usize].is_none() {
            if self.x.is_some() {
                // Exploring, a client thinks for no time: asking again at
                // once would ask forever at this instant. The operation
                // waits for the client's restart instead.
                self.slots[client as usize].held.push(Ev::Issue { client });
                return;
            }
            let next = self.now.saturating_add(self.think_time());
            self.push(next, Ev::Issue { client });
            return;
        }
        if self.slots[client as usize].paused {
            self.slots[client as usize].held.push(Ev::Issue { client });
            return;
        }
        let (key, f) = self.workload.next(c, &mut *self.work_rng);
        if self.x.is_some() {
            self.note_invoke(client, &key, &f);
        }
        let process = self.cluster.process_of(NodeId(client));
        let cut_off = self.cut_off(client);
        let op_index = self.history.push(
            &key,
            &f,
            Invocation {
                process,
                client: NodeId(client),
                call_ns: self.now,
                in_partition: self.partition_since.is_some(),
                cut_off,
            },
        );
        self.clients[c].open = Some(op_index);
        self.fp.u64(0x49 ^ (self.now << 8));
        self.fp.u64(op_index as u64 ^ ((client as u64) << 40));
        if self.trace.is_some() {
            let description = f.describe(&key);
            self.record(|cl| TraceEvent::Invoke {
                node: cl.name_arc(NodeId(client)),
                op: op_index as u64,
                description,
            });
        }
        let req = Request {
            id: OpId(op_index as u64),
            key,
            f,
        };
        self.run_handler(client, |node, ctx| node.on_request(ctx, req));
    }

    /// Can this client reach fewer than a majority of servers?
    fn cut_off(&self, client: u32) -> bool {
        let reachable = self
            .cluster
            .servers()
            .iter()
            .filter(|s| self.net.connected(client as usize, s.index()))
            .count();
        reachable < self.cluster.majority()
    }

    pub(super) fn complete(
        &mut self,
        client: u32,
        op: OpId,
        outcome: Outcome,
        output: Option<Value>,
        served: bool,
    ) {
        let idx = op.0 as usize;
        let c = client as usize - self.cluster.servers().len();
        if self.clients.get(c).and_then(|s| s.open) != Some(idx) {
            panic!(
                "{} completed op {idx}, which is not its open operation: a protocol bug",
                self.cluster.name(NodeId(client))
            );
        }
        self.clients[c].open = None;
        if self.x.is_some() {
            self.note_complete(idx, &(outcome, &output, served));
        }
        self.history
            .complete(idx, outcome, output, self.now, served);
        if outcome == Outcome::Ok {
            let op = match self.completed_op.as_mut() {
                Some(op) => {
                    self.history.op_into(idx, op);
                    op
                }
                None => self.completed_op.insert(self.history.op(idx)),
            };
            self.workload.completed(c, op);
        }
        self.fp.u64(0x43 ^ (self.now << 8));
        self.fp.u64(idx as u64 ^ ((outcome as u64) << 56));
        if self.trace.is_some() {
            let out = self
                .history
                .output(idx)
                .as_ref()
                .map(show_value)
                .unwrap_or_default();
            let found_other = self.history.found_other(idx);
            self.record(|cl| TraceEvent::Complete {
                node: cl.name_arc(NodeId(client)),
                op: idx as u64,
                outcome: outcome_name(outcome),
                output: out,
                found_other,
            });
        }
        if !self.out_of_ops(c) {
            let next = self.now.saturating_add(self.think_time());
            self.push(next, Ev::Issue { client });
        }
    }
}
