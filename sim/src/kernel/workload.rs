//! The workload: each client issues operations and completes them.

use rand::Rng;
use rand_distr::Distribution;

use super::output::{describe_op, outcome_name, show_value};
use super::{Ev, OpMeta, Sim};
use crate::history::{Op, OpFn, Outcome, Value};
use crate::node::{Node, NodeId, OpId, Request};
use crate::protocol::Protocol;
use crate::time::Nanos;
use crate::trace::TraceEvent;

impl<'s, P: Protocol> Sim<'s, P> {
    pub(super) fn think_time(&mut self) -> Nanos {
        (self.think.sample(&mut self.work_rng) * 1e9) as Nanos
    }

    pub(super) fn issue(&mut self, client: u32) {
        let c = client as usize - self.cluster.servers().len();
        if self.now >= self.scenario.workload_stop() || self.clients[c].open.is_some() {
            return;
        }
        if self.nodes[client as usize].is_none() {
            let next = self.now.saturating_add(self.think_time());
            self.push(next, Ev::Issue { client });
            return;
        }
        if self.slots[client as usize].paused {
            self.slots[client as usize].held.push(Ev::Issue { client });
            return;
        }
        let w = &self.scenario.workload;
        let key_index = match &self.zipf {
            Some(z) => z.sample(&mut self.work_rng) as u32 - 1,
            None => self.work_rng.gen_range(0..*w.keys.get_ref()),
        };
        let mix = w.mix.get_ref();
        let shares = [mix.get, mix.put, mix.cas, mix.append, mix.delete];
        let total: f64 = shares.iter().sum();
        let mut pick = self.work_rng.gen::<f64>() * total;
        let mut which = 0;
        for (i, s) in shares.iter().enumerate() {
            if pick < *s {
                which = i;
                break;
            }
            pick -= s;
            which = i;
        }
        let f = match which {
            0 => OpFn::Read,
            1 => OpFn::Write(Value::Int(self.fresh_value())),
            2 => {
                let expected = match self.clients[c].last_seen.get(&key_index) {
                    Some(v) => Value::Int(*v),
                    None => Value::Nil,
                };
                OpFn::Cas {
                    expected,
                    new: Value::Int(self.fresh_value()),
                }
            }
            3 => OpFn::Append(Value::Int(self.fresh_value())),
            _ => OpFn::Delete,
        };
        let key = format!("k{key_index}");
        let op_index = self.history.ops.len();
        let process = self.cluster.process_of(NodeId(client));
        let cut_off = self.cut_off(client);
        self.history.ops.push(Op {
            process,
            key: key.clone(),
            f: f.clone(),
            output: None,
            outcome: Outcome::Info,
            call_ns: self.now,
            return_ns: None,
            found_other: false,
        });
        self.op_meta.push(OpMeta {
            client: NodeId(client),
            in_partition: self.partition_since.is_some(),
            cut_off,
            done_ns: None,
            served: false,
        });
        self.clients[c].open = Some(op_index);
        self.fp.u64(0x49 ^ (self.now << 8));
        self.fp.u64(op_index as u64 ^ ((client as u64) << 40));
        if self.trace.is_some() {
            let description = describe_op(&key, &f);
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

    fn fresh_value(&mut self) -> i64 {
        self.next_value += 1;
        self.next_value
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
        let entry = &mut self.history.ops[idx];
        entry.outcome = outcome;
        entry.return_ns = (outcome != Outcome::Info).then_some(self.now);
        if outcome == Outcome::Ok {
            if let Some(v) = &output {
                entry.output = Some(v.clone());
            } else if entry.f == OpFn::Read {
                entry.output = Some(Value::Nil);
            }
            let key_index: u32 = entry.key[1..].parse().unwrap_or(0);
            let seen = match (&entry.f, &entry.output) {
                (OpFn::Read, Some(Value::Int(v))) => Some(*v),
                (OpFn::Write(Value::Int(v)), _) => Some(*v),
                (
                    OpFn::Cas {
                        new: Value::Int(v), ..
                    },
                    _,
                ) => Some(*v),
                _ => None,
            };
            if let Some(v) = seen {
                self.clients[c].last_seen.insert(key_index, v);
            }
        }
        self.op_meta[idx].done_ns = Some(self.now);
        self.op_meta[idx].served = served;
        self.fp.u64(0x43 ^ (self.now << 8));
        self.fp.u64(idx as u64 ^ ((outcome as u64) << 56));
        if self.trace.is_some() {
            let out = self.history.ops[idx]
                .output
                .as_ref()
                .map(show_value)
                .unwrap_or_default();
            let found_other = self.history.ops[idx].found_other;
            self.record(|cl| TraceEvent::Complete {
                node: cl.name_arc(NodeId(client)),
                op: idx as u64,
                outcome: outcome_name(outcome),
                output: out,
                found_other,
            });
        }
        let next = self.now.saturating_add(self.think_time());
        self.push(next, Ev::Issue { client });
    }
}
