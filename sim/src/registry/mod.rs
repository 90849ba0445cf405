//! The open registry of protocols: what a protocol declares about itself
//! ([`Spec`]), and the table of declared protocols that parses, runs and
//! steps scenarios naming them ([`Catalog`]).
//!
//! A protocol is a type. It says its name (what `[system] protocol` names),
//! its parameters (a serde type read from the `[system]` table, unknown
//! fields refused), the roles its nodes report, the message kinds and notes
//! fault triggers may name, the figures `[expect.measure]` may bound, and
//! how it is built from its parameters and the scenario. Everything generic
//! (reading the table, placing an error on the line the TOML parser says,
//! checking the roles nodes report) is written once, here.
//!
//! ```ignore
//! impl Spec for LockService {
//!     const NAME: &'static str = "lock";
//!     type Params = Params; // #[derive(Deserialize)] #[serde(deny_unknown_fields)]
//!     const ROLES: &'static [&'static str] = &["lock-server", "storage"];
//!     fn new(p: Params, s: &Scenario) -> Result<Self, ParamError> {
//!         if p.lease.is_zero() {
//!             return Err(ParamError::field("lease", "lease must be above 0, e.g. \"2s\""));
//!         }
//!         Ok(LockService::from(p, s.workload.client_config()))
//!     }
//! }
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    Visitor,
};
use serde::Deserialize;

use crate::check::Judge;
use crate::kernel::{RunOutput, Running, Sim, StateHash, StateHasher, TraceMode};
use crate::metric::{Figure, Metrics};
use crate::node::{Cluster, Disk, Message, Node, NodeId};
use crate::protocol::{Findings, NodeTable, OpOf, Property, Protocol, Step, DECLARED_ROLES};
use crate::scenario::{ProtocolEvents, ProtocolInfo, Scenario, ScenarioError};
use crate::time::Nanos;
use crate::workload::Workload;

mod declare;

pub use declare::{at_least, key_span, Bench, ParamError, Place, Servers};

/// What a protocol declares about itself, so that a [`Register`] can parse,
/// check, run and show scenarios that name it.
///
/// A protocol, its nodes and its checker state are `Clone` and `Debug`:
/// `chaoslab explore` copies a run at every choice and tells states apart by
/// what they show (so keep `Debug` deterministic: no `HashMap`).
pub trait Spec: Protocol<Node: Clone + fmt::Debug> + Clone + fmt::Debug + Sized + 'static {
    /// The name a scenario gives in `[system] protocol = "NAME"`.
    const NAME: &'static str;
    /// One line saying what the protocol is, for `--help` and listings.
    const ABOUT: &'static str = "";
    /// The `[system]` table's other keys, as a serde type. Make it
    /// `#[serde(deny_unknown_fields)]`: a misspelt key is then refused on
    /// its line, with the list of valid names. Durations: see
    /// `sim::time::serde_duration`. The registry hands it the `[system]`
    /// table without its `protocol` key.
    type Params: DeserializeOwned;
    /// How many servers it runs on: a scenario asking for another number is
    /// refused on its `servers` line, saying why.
    const SERVERS: Servers = Servers::ANY;
    /// Every role `Node::role()` may return (`"leader"`, `"follower"`...);
    /// `"client"` is always allowed. Fault targets may name these roles, and
    /// a node that reports a role not listed violates the always-property
    /// `declared-roles` (a bug in the protocol, not in the scenario).
    const ROLES: &'static [&'static str];
    /// Every `ctx.note` name the nodes record, when listed: a fault trigger
    /// naming another is refused. `None`: any name is accepted, and a
    /// trigger that never fires is reported. (The message kinds a trigger
    /// may name come from the message type: see `Message::kinds`.)
    const NOTES: Option<&'static [&'static str]> = None;
    /// The names of the services the protocol may start (nodes after the
    /// clients, see `Protocol::services`), and the role they report, if
    /// any. A fault naming one (or the role) is refused: faults reach
    /// servers and clients only.
    const SERVICES: (&'static [&'static str], Option<&'static str>) = (&[], None);
    /// The figures the protocol's `Protocol::metrics` reports, by name and
    /// unit: what `[expect.measure."NAME"]` may bound, and with what (a
    /// duration bounds a duration...). A figure reported once per membership
    /// change comes numbered after the first: declare it as `"NAME"` and
    /// `"NAME #N"`.
    const METRICS: &'static [Figure] = &[];
    /// Figures that were renamed, `(old, new)`: scenarios may still bound
    /// them by their old name.
    const RENAMED_MEASURES: &'static [(&'static str, &'static str)] = &[];
    /// The `[system]` fields that are times of the run (`"joins.at"`,
    /// `"converge_by"`), checked against the run's duration.
    const RUN_TIMES: &'static [&'static str] = &[];

    /// Builds the protocol from its parameters and the rest of the scenario
    /// (topology, workload). `Err` says what is wrong and where (see
    /// [`ParamError`]); the registry places it on the line the TOML parser
    /// read it from.
    fn new(params: Self::Params, scenario: &Scenario) -> Result<Self, ParamError>;

    /// The scenario `chaoslab bench` measures this protocol with, if any.
    const BENCH: Option<Bench> = None;

    /// What a node feeds into a state's hash, by which `chaoslab explore`
    /// tells states apart: by default what its `Debug` shows. A protocol
    /// may feed its `Hash` instead (`node.hash(h)`, several times faster),
    /// if `Hash` and `Debug` tell the same states apart: a field `Debug`
    /// leaves out (a cache) must be left out of `Hash` too, and the other
    /// way round. The same holds for the two methods below.
    fn hash_node(node: &Self::Node, h: &mut StateHasher<'_>) {
        h.debug(node)
    }
    /// What a message (in flight, held or clogged) feeds into a state's
    /// hash; by default what its `Debug` shows (see [`Spec::hash_node`]).
    fn hash_message(msg: &<Self::Node as Node>::Msg, h: &mut StateHasher<'_>) {
        h.debug(msg)
    }
    /// What the protocol's checker state (`Protocol::check`'s `&mut
    /// self`) feeds into a state's hash; by default what its `Debug` shows
    /// (see [`Spec::hash_node`]).
    fn hash_checker(&self, h: &mut StateHasher<'_>) {
        h.debug(self)
    }
}

/// Something that protocols can be added to: the CLI's `chaoslab::Registry`,
/// or a bare [`Catalog`].
pub trait Register {
    /// Adds protocol `P`. The `Send` bounds let every driver run it (the
    /// madsim driver runs each node on its own task). Adding two protocols
    /// of the same name is a bug and panics.
    fn add<P>(&mut self) -> &mut Self
    where
        P: Spec + Send,
        P::Node: Send,
        <P::Node as Node>::Msg: Send;
}

/// Reads `P`'s parameters from the scenario's `[system]` table. A serde
/// error (a misspelt key, a wrong type) is placed where the TOML parser
/// found it.
pub fn params<P: Spec>(s: &Scenario) -> Result<P::Params, ScenarioError> {
    crate::scenario::parse_system::<WithoutProtocol<P::Params>>(s).map(|p| p.0)
}

/// Builds `P` from scenario `s`: its parameters, then [`Spec::new`], with
/// errors placed in the file. The protocol comes wrapped in [`Declared`],
/// which checks the roles its nodes report.
pub fn build<P: Spec>(s: &Scenario) -> Result<Declared<P>, ScenarioError> {
    let params = params::<P>(s)?;
    let inner = P::SERVERS
        .check(P::NAME, s.servers())
        .and_then(|()| P::new(params, s))
        .map_err(|e| e.place_in(s))?;
    let services = inner.services();
    Ok(Declared {
        cluster: Cluster::with_services(s.servers(), s.clients(), &services),
        ..Declared::new(inner)
    })
}

/// A protocol whose nodes' roles are checked against [`Spec::ROLES`] after
/// every step; everything else is the protocol's own. A node that reports a
/// role the protocol does not declare violates the always-property
/// [`DECLARED_ROLES`] (once per node and role): a bug in the protocol, which
/// the run reports with its trace and replay line instead of stopping.
/// (Every method of [`Protocol`] is forwarded: a method added to that trait
/// must be forwarded here too, or the registry's runs would use its default.)
pub struct Declared<P> {
    pub inner: P,
    /// (node, role) pairs already reported undeclared.
    undeclared: BTreeSet<(u32, &'static str)>,
    /// By node index: the role it reported at its last checked step. A
    /// role that is the very same string is not looked up again (most
    /// steps change no role).
    last_role: Vec<Option<&'static str>>,
    /// The run's nodes, to name one in a violation (empty when built
    /// without a scenario: then a node is named by its number).
    cluster: Cluster,
}

/// What a state's hash sees (`chaoslab explore`): the checker state, not
/// the cluster, which is the same in every state of a run and was a good
/// share of what a hash showed.
impl<P: fmt::Debug> fmt::Debug for Declared<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Declared")
            .field("inner", &self.inner)
            .field("undeclared", &self.undeclared)
            .field("last_role", &self.last_role)
            .finish_non_exhaustive()
    }
}

/// What a state's hash sees (`chaoslab explore`): the protocol's parts as
/// [`Spec`] feeds them; of the role check, the roles reported undeclared
/// and each node's last role (as `Debug` shows them), not the cluster,
/// which is the same in every state of a run.
impl<P: Spec> StateHash for Declared<P> {
    fn hash_node(node: &P::Node, h: &mut StateHasher<'_>) {
        P::hash_node(node, h)
    }

    fn hash_message(msg: &<P::Node as Node>::Msg, h: &mut StateHasher<'_>) {
        P::hash_message(msg, h)
    }

    fn hash_checker(&self, h: &mut StateHasher<'_>) {
        use std::hash::Hash;
        // Each begins with its length; the protocol's part, last, ends
        // where the checker's part ends.
        self.undeclared.hash(h);
        self.last_role.hash(h);
        self.inner.hash_checker(h);
    }
}

impl<P: Clone> Clone for Declared<P> {
    fn clone(&self) -> Self {
        Declared {
            inner: self.inner.clone(),
            undeclared: self.undeclared.clone(),
            last_role: self.last_role.clone(),
            cluster: self.cluster.clone(),
        }
    }

    /// Reuses the buffers (the explorer copies a run at every choice it
    /// makes). Every field, by name: one added later fails to compile.
    fn clone_from(&mut self, src: &Self) {
        let Declared {
            inner,
            undeclared,
            last_role,
            cluster,
        } = src;
        self.inner.clone_from(inner);
        if self.undeclared != *undeclared {
            self.undeclared.clone_from(undeclared);
        }
        self.last_role.clone_from(last_role);
        self.cluster.clone_from(cluster);
    }
}

impl<P> Declared<P> {
    pub fn new(inner: P) -> Declared<P> {
        Declared {
            inner,
            undeclared: BTreeSet::new(),
            last_role: Vec::new(),
            cluster: Cluster::default(),
        }
    }
}

impl<P: Spec> Protocol for Declared<P> {
    type Node = P::Node;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> P::Node {
        self.inner.build(id, cluster, disk)
    }

    const PROPERTIES: &'static [Property] = P::PROPERTIES;

    fn services(&self) -> Vec<String> {
        self.inner.services()
    }

    fn settle_time(&self) -> Nanos {
        self.inner.settle_time()
    }

    fn check(&mut self, step: Step<'_, P::Node>, out: &mut Findings) {
        let stepped = step.stepped;
        if let Some(node) = step.node() {
            let role = node.role();
            let i = stepped.index();
            if self.last_role.len() <= i {
                self.last_role.resize(i + 1, None);
            }
            let last = self.last_role[i].replace(role);
            let same = last.is_some_and(|l| l.as_ptr() == role.as_ptr() && l.len() == role.len());
            if !same
                && role != "client"
                && !P::ROLES.contains(&role)
                && self.undeclared.insert((stepped.0, role))
            {
                out.violated(
                    DECLARED_ROLES.name,
                    format!(
                        "{} reports role {role:?}, which protocol {:?} does not declare in Spec::ROLES {:?} \
                         (add it there: fault targets and the TUI rely on that list)",
                        if stepped.index() < self.cluster.len() {
                            self.cluster.name(stepped).to_string()
                        } else {
                            format!("node {}", stepped.index() + 1)
                        },
                        P::NAME,
                        P::ROLES
                    ),
                );
            }
        }
        self.inner.check(step, out)
    }

    fn workload(&self, scenario: &Scenario) -> Box<dyn Workload<Op = OpOf<P>>> {
        self.inner.workload(scenario)
    }

    fn model(&self) -> Box<dyn Judge<OpOf<P>>> {
        self.inner.model()
    }

    fn observe(&mut self, step: Step<'_, P::Node>) {
        self.inner.observe(step)
    }

    fn crashed(&mut self, id: NodeId, last: &P::Node) {
        self.inner.crashed(id, last)
    }

    fn at_end(&mut self, now: Nanos, nodes: &NodeTable<P::Node>, out: &mut Findings) {
        self.inner.at_end(now, nodes, out)
    }

    fn metrics(&self, nodes: &NodeTable<P::Node>, out: &mut Metrics) {
        self.inner.metrics(nodes, out)
    }
}

/// `T` read from a table without its `protocol` key.
struct WithoutProtocol<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for WithoutProtocol<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Table<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Table<T> {
            type Value = WithoutProtocol<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the [system] table")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(SkipProtocol(map)))
                    .map(WithoutProtocol)
            }
        }
        d.deserialize_map(Table(PhantomData))
    }
}

/// A table's entries but `protocol`. Each key is handed to the reader's seed
/// inside the TOML deserializer's own key step, so an unknown key is still
/// placed on the key.
struct SkipProtocol<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipProtocol<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            match self.0.next_key_seed(KeyUnlessProtocol(seed))? {
                None => return Ok(None),
                Some(Ok(key)) => return Ok(Some(key)),
                Some(Err(unused)) => {
                    self.0.next_value::<IgnoredAny>()?;
                    seed = unused;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }
}

/// Reads a key with seed `K`, or gives the seed back for `protocol`.
struct KeyUnlessProtocol<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyUnlessProtocol<K> {
    type Value = Result<K::Value, K>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyUnlessProtocol<K> {
    type Value = Result<K::Value, K>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == "protocol" {
            Ok(Err(self.0))
        } else {
            self.0.deserialize(key.into_deserializer()).map(Ok)
        }
    }
}

/// One registered protocol: what it declares, and its entry points, made
/// for it when it was added.
#[derive(Clone)]
pub struct Entry {
    pub name: &'static str,
    pub about: &'static str,
    /// `Spec::ROLES`, with `"client"`.
    pub roles: Vec<&'static str>,
    pub messages: Option<&'static [&'static str]>,
    pub notes: Option<&'static [&'static str]>,
    /// `Spec::SERVICES`.
    pub services: (&'static [&'static str], Option<&'static str>),
    /// `Spec::METRICS`.
    pub metrics: &'static [Figure],
    pub renamed_measures: &'static [(&'static str, &'static str)],
    pub run_times: &'static [&'static str],
    pub bench: Option<Bench>,
    check: fn(&Scenario) -> Result<(), ScenarioError>,
    run: fn(&Scenario, u64, TraceMode) -> Result<RunOutput, ScenarioError>,
    explore: Explore,
    start: Start,
}

type Explore = fn(
    &Scenario,
    u64,
    crate::explore::Strategy,
    crate::explore::Limits,
    crate::explore::Stop<'_>,
) -> Result<Result<crate::explore::Outcome, String>, ScenarioError>;

type Start =
    for<'s> fn(&'s Scenario, u64, TraceMode) -> Result<Box<dyn Running + 's>, ScenarioError>;

impl Entry {
    /// The entry of protocol `P`.
    pub fn of<P: Spec>() -> Entry {
        let mut roles = P::ROLES.to_vec();
        if !roles.contains(&"client") {
            roles.push("client");
        }
        Entry {
            name: P::NAME,
            about: P::ABOUT,
            roles,
            messages: <<P::Node as Node>::Msg as Message>::kinds(),
            notes: P::NOTES,
            services: P::SERVICES,
            metrics: P::METRICS,
            renamed_measures: P::RENAMED_MEASURES,
            run_times: P::RUN_TIMES,
            bench: P::BENCH,
            check: |s| {
                build::<P>(s)?;
                let mut properties = P::PROPERTIES.to_vec();
                properties.push(DECLARED_ROLES);
                s.check_properties(&properties)
            },
            run: |s, seed, trace| Ok(Sim::new(s, build::<P>(s)?, seed, trace).run()),
            explore: |s, seed, strategy, limits, stop| {
                Ok(crate::explore::explore(
                    s,
                    build::<P>(s)?,
                    seed,
                    strategy,
                    limits,
                    stop,
                ))
            },
            start: start::<P>,
        }
    }

    /// The message kinds and notes, for `Scenario::parse`.
    pub fn events(&self) -> ProtocolEvents {
        ProtocolEvents {
            messages: self.messages.map(<[_]>::to_vec),
            notes: self.notes.map(<[_]>::to_vec),
        }
    }
}

fn start<P: Spec>(
    s: &Scenario,
    seed: u64,
    trace: TraceMode,
) -> Result<Box<dyn Running + '_>, ScenarioError> {
    Ok(Box::new(Sim::new(s, build::<P>(s)?, seed, trace)))
}

/// A table of protocols, in the order they were added: parses scenarios
/// that name one, and runs them on the kernel.
#[derive(Clone, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Register for Catalog {
    fn add<P>(&mut self) -> &mut Self
    where
        P: Spec + Send,
        P::Node: Send,
        <P::Node as Node>::Msg: Send,
    {
        self.insert(Entry::of::<P>());
        self
    }
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds an entry (see [`Entry::of`]); a second protocol of the same
    /// name is a bug.
    pub fn insert(&mut self, entry: Entry) {
        assert!(
            self.get(entry.name).is_none(),
            "protocol {:?} is registered twice",
            entry.name
        );
        self.entries.push(entry);
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The protocol named `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every protocol's name, in the order they were added.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// The roles `protocol`'s nodes report, `"client"` included.
    pub fn roles(&self, protocol: &str) -> Vec<&'static str> {
        self.get(protocol)
            .map_or_else(Vec::new, |e| e.roles.clone())
    }

    /// The figures `protocol`'s report prints (see [`Spec::METRICS`]).
    pub fn metrics(&self, protocol: &str) -> &'static [Figure] {
        self.get(protocol).map_or(&[], |e| e.metrics)
    }

    /// Parses a scenario file's text: every section, the protocol's own
    /// parameters included, so a bad file is refused before anything runs.
    pub fn parse(&self, file: &str, src: &str) -> Result<Scenario, ScenarioError> {
        let names = self.names();
        let roles = |p: &str| self.roles(p);
        let events = |p: &str| self.get(p).map(Entry::events).unwrap_or_default();
        let services = |p: &str| self.get(p).map_or((&[][..], None), |e| e.services);
        let info = ProtocolInfo {
            protocols: &names,
            roles: &roles,
            events: &events,
            services: &services,
        };
        let mut scenario = Scenario::parse(file, src, &info)?;
        let entry = self.entry(&scenario);
        (entry.check)(&scenario)?;
        scenario.check_run_times(entry.run_times)?;
        scenario.resolve_measures(entry.metrics, entry.renamed_measures)?;
        Ok(scenario)
    }

    /// Runs a parsed scenario with `seed` on the kernel.
    pub fn run(
        &self,
        s: &Scenario,
        seed: u64,
        trace: TraceMode,
    ) -> Result<RunOutput, ScenarioError> {
        (self.entry(s).run)(s, seed, trace)
    }

    /// Explores scenario `s` (see [`crate::explore`]). The outer `Err`: the
    /// protocol's parameters are wrong; the inner: it cannot be explored.
    pub fn explore(
        &self,
        s: &Scenario,
        seed: u64,
        strategy: crate::explore::Strategy,
        limits: crate::explore::Limits,
        stop: crate::explore::Stop<'_>,
    ) -> Result<Result<crate::explore::Outcome, String>, ScenarioError> {
        (self.entry(s).explore)(s, seed, strategy, limits, stop)
    }

    /// Starts a run that the caller steps with [`Running::advance`] (the TUI).
    pub fn start<'s>(
        &self,
        s: &'s Scenario,
        seed: u64,
        trace: TraceMode,
    ) -> Result<Box<dyn Running + 's>, ScenarioError> {
        (self.entry(s).start)(s, seed, trace)
    }

    fn entry(&self, s: &Scenario) -> &Entry {
        self.get(&s.protocol).unwrap_or_else(|| {
            panic!(
                "scenario {} names protocol {:?}, which this registry does not hold \
                 (it was parsed by another registry)",
                s.file, s.protocol
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Ctx, Request, Status, TimerId};

    /// A protocol of two servers that report the role their parameters
    /// name: enough to test what the registry does around a protocol.
    #[derive(Clone, Debug)]
    struct Echo {
        role: &'static str,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EchoParams {
        #[serde(default)]
        role: String,
        #[serde(default)]
        period_ms: u64,
    }

    #[derive(Clone, Debug)]
    struct Ping;

    impl crate::node::Message for Ping {
        fn kind(&self) -> &'static str {
            "Ping"
        }
    }

    #[derive(Clone, Debug)]
    struct EchoNode {
        role: &'static str,
    }

    impl Node for EchoNode {
        type Msg = Ping;
        type Op = crate::history::OpFn;
        fn on_start(&mut self, _: &mut Ctx<Ping>) {}
        fn on_message(&mut self, _: &mut Ctx<Ping>, _: NodeId, _: Ping) {}
        fn on_timer(&mut self, _: &mut Ctx<Ping>, _: TimerId) {}
        fn on_request(&mut self, ctx: &mut Ctx<Ping>, req: Request) {
            ctx.complete(req.id, crate::history::Outcome::Fail, None);
        }
        fn role(&self) -> &'static str {
            self.role
        }
        fn status(&self) -> Status {
            Status {
                role: self.role,
                fields: Vec::new(),
            }
        }
    }

    impl Protocol for Echo {
        type Node = EchoNode;
        fn build(&self, _: NodeId, _: &Cluster, _: &Disk) -> EchoNode {
            EchoNode { role: self.role }
        }
    }

    impl Spec for Echo {
        const NAME: &'static str = "echo";
        type Params = EchoParams;
        const ROLES: &'static [&'static str] = &["server"];
        fn new(p: EchoParams, _: &Scenario) -> Result<Self, ParamError> {
            if p.period_ms == 0 {
                return Err(ParamError::field(
                    "period_ms",
                    "period_ms must be at least 1, e.g. 10",
                ));
            }
            let role = match p.role.as_str() {
                "" | "server" => "server",
                _ => "leeder",
            };
            Ok(Echo { role })
        }
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::new();
        c.add::<Echo>();
        c
    }

    fn scenario(system: &str) -> String {
        format!(
            "[meta]\nname = \"echo\"\nduration = \"1s\"\n\n[system]\nprotocol = \"echo\"\n{system}\n[topology]\nservers = 2\n"
        )
    }

    /// The error a scenario whose `[system]` table adds `system` is refused with.
    fn refused(system: &str) -> ScenarioError {
        catalog().parse("echo.toml", &scenario(system)).unwrap_err()
    }

    #[test]
    fn params_are_read_without_the_protocol_key() {
        let c = catalog();
        let s = c.parse("echo.toml", &scenario("period_ms = 5\n")).unwrap();
        assert_eq!(s.protocol, "echo");
        c.run(&s, 1, TraceMode::Off).unwrap();
    }

    #[test]
    fn an_unknown_key_is_refused_on_its_line_with_the_valid_names() {
        let e = refused("period_ms = 5\nperiod = 3\n");
        assert_eq!((e.line, e.column), (8, 1), "{e}");
        assert!(e.message.contains("unknown field `period`"), "{e}");
        assert!(e.message.ends_with("expected `role` or `period_ms`"), "{e}");
    }

    #[test]
    fn a_param_error_is_placed_on_the_key_the_toml_parser_found() {
        // A quoted key: the parser's span, not a search for `period_ms =`.
        let e = refused("role = \"server\"\n\"period_ms\" = 0\n");
        assert_eq!((e.line, e.column), (8, 1), "{e}");
        assert_eq!(e.message, "[system] period_ms must be at least 1, e.g. 10");
        assert!(e.excerpt.contains("^^^^^^^^^^^"), "{}", e.excerpt);
    }

    #[test]
    fn a_wrong_type_is_refused_on_the_value_and_a_default_on_the_protocol() {
        // (the `[system]` keys, where the error is placed): a wrong type on
        // its value; a param error on a key left to its default on the protocol.
        for (system, at) in [("period_ms = \"5\"\n", (7, 13)), ("", (6, 1))] {
            let e = refused(system);
            assert_eq!((e.line, e.column), at, "{system:?}: {e}");
        }
    }

    #[test]
    fn key_span_reads_inline_tables_and_ignores_comments() {
        let src = "# period_ms = 1\n[system]\nprotocol = \"x\" # period_ms = 2\nmix = { a = 1, period_ms = 3 }\n";
        assert_eq!(key_span(src, "system", "period_ms"), None);
        assert_eq!(key_span(src, "system", "mix"), Some(56..59));
        assert_eq!(key_span(src, "nope", "mix"), None);
    }

    #[test]
    fn a_node_reporting_a_declared_role_runs() {
        let c = catalog();
        let s = c
            .parse("echo.toml", &scenario("period_ms = 5\nrole = \"server\"\n"))
            .unwrap();
        let mut run = c.start(&s, 1, TraceMode::Off).unwrap();
        while run.advance() {}
    }

    #[test]
    #[should_panic(expected = "protocol \"echo\" is registered twice")]
    fn a_protocol_registered_twice_is_a_bug() {
        catalog().add::<Echo>();
    }
}
