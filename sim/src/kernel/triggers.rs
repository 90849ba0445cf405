//! Triggers: `[[faults]]` entries that fire on an event of the run.

use super::{Ev, Sim};
use crate::node::{Node, NodeId};
use crate::protocol::Protocol;
use crate::scenario::{NodeMatch, TriggerEvent};
use crate::trace::TraceEvent;

/// An event a trigger may be waiting for (see [`TriggerEvent`]).
pub(super) enum Seen<'a> {
    Send {
        from: u32,
        to: u32,
        kind: &'a str,
    },
    Deliver {
        from: u32,
        to: u32,
        kind: &'a str,
    },
    Role {
        node: u32,
        role: &'a str,
    },
    Note {
        node: u32,
        note: &'a str,
    },
    Fault {
        action: &'a str,
        node: Option<u32>,
        description: &'a str,
    },
}

impl<'s, P: Protocol> Sim<'s, P> {
    /// Applies `[[faults]]` entry `i`, with the nodes of its trigger's event.
    pub(super) fn apply_indexed(&mut self, i: usize) {
        let fault = &self.scenario.faults[i];
        self.firing = self.fired_by[i];
        self.apply_fault(fault);
        self.firing = (None, None);
    }

    /// The role node `i` has right now (the last one traced if it is down).
    fn role_now(&self, i: u32) -> &'static str {
        self.nodes[i as usize]
            .as_ref()
            .map_or(self.slots[i as usize].role, |n| n.role())
    }

    fn node_matches(&self, m: &NodeMatch, i: u32) -> bool {
        match m {
            NodeMatch::Any => true,
            NodeMatch::Node(name) => self.cluster.name(NodeId(i)) == name,
            NodeMatch::Role(role) => self.role_now(i) == role,
        }
    }

    fn trigger_matches(&self, when: &TriggerEvent, node: &NodeMatch, seen: &Seen) -> bool {
        match (when, seen) {
            (
                TriggerEvent::Send { kind, to },
                Seen::Send {
                    from,
                    to: t,
                    kind: k,
                },
            )
            | (
                TriggerEvent::Deliver { kind, to },
                Seen::Deliver {
                    from,
                    to: t,
                    kind: k,
                },
            ) => {
                kind.as_deref().is_none_or(|want| want == *k)
                    && self.node_matches(node, *from)
                    && self.node_matches(to, *t)
            }
            (TriggerEvent::Role { role }, Seen::Role { node: i, role: r }) => {
                role == r && self.node_matches(node, *i)
            }
            (TriggerEvent::Note { note }, Seen::Note { node: i, note: n }) => {
                note == n && self.node_matches(node, *i)
            }
            (
                TriggerEvent::Fault { action },
                Seen::Fault {
                    action: a, node: i, ..
                },
            ) => {
                action.name() == *a
                    && match (node, i) {
                        (NodeMatch::Any, _) => true,
                        (_, Some(i)) => self.node_matches(node, *i),
                        (_, None) => false,
                    }
            }
            _ => false,
        }
    }

    /// Counts `seen` against every armed trigger; fires those it completes.
    /// (Called at every send, delivery and role change: with no trigger
    /// armed, as in most runs, it is one comparison, inlined.)
    #[inline]
    pub(super) fn observe(&mut self, seen: Seen) {
        if self.unfired != 0 {
            self.observe_armed(seen);
        }
    }

    #[inline(never)]
    fn observe_armed(&mut self, seen: Seen) {
        for k in 0..self.triggers.len() {
            let (i, count, fired) = self.triggers[k];
            let fault = &self.scenario.faults[i];
            let Some(when) = &fault.when else { continue };
            if fired || self.now < fault.at || !self.trigger_matches(&when.event, &when.node, &seen)
            {
                continue;
            }
            let count = count + 1;
            self.triggers[k].1 = count;
            if count < when.count {
                continue;
            }
            self.triggers[k].2 = true;
            self.unfired -= 1;
            self.fp.u64(0x47 ^ (self.now << 8));
            self.fp.u64(fault.line as u64);
            if self.trace.is_some() {
                let event = self.describe_seen(&seen);
                let (line, delay, text) = (fault.line, when.delay, when.when_toml());
                self.record(|_| TraceEvent::Trigger {
                    line,
                    when: text,
                    event,
                    matched: count,
                    delay,
                });
            }
            self.fired_by[i] = match seen {
                Seen::Send { from, to, .. } | Seen::Deliver { from, to, .. } => {
                    (Some(from), Some(to))
                }
                Seen::Role { node, .. } | Seen::Note { node, .. } => (Some(node), None),
                Seen::Fault { node, .. } => (node, None),
            };
            if when.delay == 0 {
                self.due_now.push(i);
            } else {
                self.push(self.now.saturating_add(when.delay), Ev::Fault(i));
            }
        }
    }

    fn describe_seen(&self, seen: &Seen) -> String {
        let name = |i: u32| self.cluster.name(NodeId(i)).to_string();
        match seen {
            Seen::Send { from, to, kind } => {
                format!("send {} -> {} {kind}", name(*from), name(*to))
            }
            Seen::Deliver { from, to, kind } => {
                format!("deliver {} -> {} {kind}", name(*from), name(*to))
            }
            Seen::Role { node, role } => format!("role {} -> {role}", name(*node)),
            Seen::Note { node, note } => format!("note {} {note}", name(*node)),
            Seen::Fault {
                action,
                description,
                ..
            } => format!("fault {action} {description}"),
        }
    }
}
