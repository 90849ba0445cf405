//! References inside a scenario: node names, regions, roles and targets.

use std::ops::Range;

use toml::Spanned;

use super::error::{quoted_or_none, ScenarioError};
use super::faults::{NodeMatch, Target};
use super::parse::ProtocolEvents;
use crate::time::Nanos;

pub(super) struct NodeNames {
    pub(super) servers: u32,
    pub(super) clients: u32,
}

impl NodeNames {
    pub(super) fn index(&self, name: &str) -> Option<u32> {
        let (prefix, num) = name.split_at(name.len().min(1));
        let n: u32 = num.parse().ok()?;
        match prefix {
            "n" if (1..=self.servers).contains(&n) => Some(n - 1),
            "c" if (1..=self.clients).contains(&n) => Some(self.servers + n - 1),
            _ => None,
        }
    }
    fn describe_short(&self) -> String {
        if self.clients == 0 {
            format!("n1..n{}", self.servers)
        } else {
            format!("n1..n{}, c1..c{}", self.servers, self.clients)
        }
    }
    pub(super) fn describe(&self) -> String {
        let clients = if self.clients == 0 {
            "no clients".to_string()
        } else {
            format!("clients c1..c{}", self.clients)
        };
        format!(
            "this scenario has servers n1..n{} and {clients}",
            self.servers
        )
    }
}

pub(super) struct RefCheck<'a> {
    pub(super) names: &'a NodeNames,
    pub(super) regions: &'a [&'a str],
    pub(super) roles: &'a [&'static str],
    pub(super) events: &'a ProtocolEvents,
    /// The protocol's services and their role: never a fault's target.
    pub(super) services: super::parse::Services,
    pub(super) protocol: &'a str,
    pub(super) duration: Nanos,
    /// The event of the entry being checked, if it has a trigger: the
    /// targets `trigger-node` and `trigger-to` need one.
    pub(super) trigger_event: std::cell::Cell<Option<&'static str>>,
    pub(super) file: &'a str,
    pub(super) src: &'a str,
}

/// The targets [`RefCheck::target`] accepts with `allow`, for messages: the
/// list a user reads must be the list the parser takes. `trigger`: the entry
/// has a `when`, so the trigger's own nodes may be named too.
pub(super) fn target_words(allow: &[&str], trigger: bool) -> String {
    let mut words = vec![
        "a node (n1, c2)".to_string(),
        "a region".into(),
        "a role".into(),
        "\"minority-of-<role>\"".into(),
    ];
    for (word, shown) in [
        ("random", "\"random\""),
        ("all", "\"all\""),
        ("downed", "\"crashed\"/\"paused\""),
        ("rest", "\"rest\""),
    ] {
        if allow.contains(&word) {
            words.push(shown.into());
        }
    }
    if trigger {
        words.push("\"trigger-node\"/\"trigger-to\"".into());
    }
    words.join(", ")
}

impl RefCheck<'_> {
    pub(super) fn err(&self, span: Range<usize>, msg: String) -> ScenarioError {
        ScenarioError::at(self.file, self.src, span, msg)
    }

    pub(super) fn target(
        &self,
        t: &Spanned<String>,
        allow: &[&str],
    ) -> Result<Target, ScenarioError> {
        let s = t.get_ref().as_str();
        self.not_a_service(t)?;
        let looks_like_node = s.len() > 1
            && (s.starts_with('n') || s.starts_with('c'))
            && s[1..].chars().all(|c| c.is_ascii_digit());
        if looks_like_node {
            return match self.names.index(s) {
                Some(_) => Ok(Target::Node(s.to_string())),
                None => Err(self.err(
                    t.span(),
                    format!("there is no node `{s}`: {}", self.names.describe()),
                )),
            };
        }
        if s == "trigger-node" || s == "trigger-to" {
            return match self.trigger_event.get() {
                None => Err(self.err(
                    t.span(),
                    format!("target `{s}` names a node of the event that fired this fault's trigger: it needs `when = {{ event = ... }}`"),
                )),
                Some(ev) if s == "trigger-to" && ev != "send" && ev != "deliver" => Err(self.err(
                    t.span(),
                    format!("target `trigger-to` is the receiver of a message: it needs a `send` or `deliver` trigger, not `{ev}` (use \"trigger-node\")"),
                )),
                Some(_) if s == "trigger-node" => Ok(Target::TriggerNode),
                Some(_) => Ok(Target::TriggerTo),
            };
        }
        match s {
            "random" if allow.contains(&"random") => return Ok(Target::Random),
            "crashed" | "paused" if allow.contains(&"downed") => return Ok(Target::Downed),
            "rest" if allow.contains(&"rest") => return Ok(Target::Rest),
            "all" if allow.contains(&"all") => return Ok(Target::All),
            _ => {}
        }
        if self.regions.contains(&s) {
            return Ok(Target::Region(s.to_string()));
        }
        if let Some(role) = s.strip_prefix("minority-of-") {
            if self.roles.contains(&role) {
                return Ok(Target::MinorityOf(role.to_string()));
            }
        }
        if self.roles.contains(&s) {
            return Ok(Target::Role(s.to_string()));
        }
        Err(self.err(
            t.span(),
            format!(
                "unknown target `{s}`: valid targets are {}; this protocol's roles are {}; regions: {}",
                target_words(allow, self.trigger_event.get().is_some()),
                quoted_or_none(self.roles),
                quoted_or_none(self.regions)
            ),
        ))
    }

    /// Refuses a target naming a service (`lin-kv`) or the services' role
    /// (`service`, `minority-of-service`): Maelstrom's services never fail,
    /// so faults reach servers and clients only.
    fn not_a_service(&self, t: &Spanned<String>) -> Result<(), ScenarioError> {
        let s = t.get_ref().as_str();
        let (names, role) = self.services;
        let what = if names.contains(&s) {
            format!("`{s}` is a Maelstrom service")
        } else if role.is_some_and(|r| s == r || s.strip_prefix("minority-of-") == Some(r)) {
            format!(
                "`{s}` names the role of {}'s services ({})",
                self.protocol,
                names.join(", ")
            )
        } else {
            return Ok(());
        };
        Err(self.err(
            t.span(),
            format!(
                "{what}: faults reach servers and clients only; services never fail, as in Maelstrom (target a server such as n1, a client such as c1, or a role such as \"server\")"
            ),
        ))
    }

    /// A trigger's `node` or `to`: a node name, a role, or "any".
    pub(super) fn node_match(
        &self,
        t: &Spanned<String>,
        field: &str,
    ) -> Result<NodeMatch, ScenarioError> {
        let s = t.get_ref().as_str();
        if s == "any" {
            return Ok(NodeMatch::Any);
        }
        if self.names.index(s).is_some() {
            return Ok(NodeMatch::Node(s.to_string()));
        }
        if self.roles.contains(&s) {
            return Ok(NodeMatch::Role(s.to_string()));
        }
        Err(self.err(
            t.span(),
            format!(
                "when: unknown {field} `{s}`: a node ({}), \"any\", or one of this protocol's roles: {}",
                self.names.describe_short(),
                quoted_or_none(self.roles)
            ),
        ))
    }

    pub(super) fn link(
        &self,
        l: &Spanned<Vec<Spanned<String>>>,
    ) -> Result<(Target, Target), ScenarioError> {
        match l.get_ref().as_slice() {
            [a, b] => Ok((
                self.target(a, &["random"])?,
                self.target(b, &["random", "all"])?,
            )),
            _ => Err(self.err(
                l.span(),
                "`link` names exactly two nodes, e.g. link = [\"n1\", \"n2\"]".into(),
            )),
        }
    }

    /// Every server must be in some group, unless one group is "rest" or uses
    /// a role (then "rest" is required: which node the role is is only known
    /// when the fault fires).
    pub(super) fn check_covers(
        &self,
        groups: &[Vec<Target>],
        span: Range<usize>,
    ) -> Result<(), ScenarioError> {
        let has = |p: &dyn Fn(&Target) -> bool| groups.iter().flatten().any(p);
        if has(&|t| matches!(t, Target::Rest)) {
            return Ok(());
        }
        if has(&|t| {
            matches!(
                t,
                Target::Role(_) | Target::MinorityOf(_) | Target::TriggerNode | Target::TriggerTo
            )
        }) {
            return Err(self.err(
                span,
                "a partition that names a role must also have a \"rest\" group: which node the role is becomes known only when the fault fires".into(),
            ));
        }
        let mut covered = vec![false; self.names.servers as usize];
        for t in groups.iter().flatten() {
            match t {
                Target::Node(n) => {
                    if let Some(i) = self.names.index(n) {
                        if let Some(c) = covered.get_mut(i as usize) {
                            *c = true;
                        }
                    }
                }
                Target::Region(_) | Target::All => return Ok(()),
                _ => {}
            }
        }
        let missing: Vec<String> = covered
            .iter()
            .enumerate()
            .filter(|(_, c)| !**c)
            .map(|(i, _)| format!("n{}", i + 1))
            .collect();
        if !missing.is_empty() {
            return Err(self.err(
                span,
                format!(
                    "this partition leaves out {}: put every server in a group, or add a \"rest\" group",
                    missing.join(", ")
                ),
            ));
        }
        Ok(())
    }
}
