//! The glue every protocol needs, written once: [`node_enum!`](crate::node_enum)
//! declares a protocol's node type (one variant per kind of node: server,
//! client, monitor ...) and its [`Node`](crate::node::Node) impl, which
//! forwards each call to the variant; [`message!`](crate::message) declares a
//! protocol's message enum, its [`Message::kind`](crate::node::Message::kind)
//! and the list of every kind it can return (`Msg::KINDS`), so that the list
//! fault triggers are checked against cannot drift from the messages.

use crate::scenario::{key_span, Scenario, ScenarioError};

/// A protocol's refusal of its `[system]` parameters, placed at the line of
/// `field` (the file's start when the file leaves the field out):
/// `[system] MESSAGE`. Every protocol's `from_scenario` refuses this way.
pub fn system_error(s: &Scenario, field: &str, message: &str) -> ScenarioError {
    let span = key_span(&s.source, "system", field).unwrap_or(0..0);
    ScenarioError::at(&s.file, &s.source, span, format!("[system] {message}"))
}

/// Declares a node enum and its `Node` impl.
///
/// ```ignore
/// sim::node_enum! {
///     /// A Raft server or a Raft client.
///     #[derive(Clone, Debug)]
///     pub enum RaftNode: Msg {
///         Server(Server) { role: |s| s.role().name(), start, get as_server, get_mut as_server_mut },
///         Client(Client) { role: |_| "client", requests, get as_client },
///     }
/// }
/// ```
///
/// Each variant wraps one type and says, after `role:` (a closure from
/// `&Type` to the role name), what the type handles:
///
/// - every type has inherent `on_timer(ctx, timer)` and `status()`, and
///   `on_message(ctx, from, msg)`, or `on_message(ctx, msg)` with the flag
///   `no_sender`;
/// - `start`: it has `on_start(ctx)` (otherwise starting does nothing);
/// - `requests`: it is a client, with `on_request(ctx, req)`; the kernel hands
///   requests to clients only, so any other variant asserts it never gets one;
/// - `get NAME` / `get_mut NAME`: generate `fn NAME(&self) -> Option<&Type>`
///   (or `&mut`) returning the variant's value.
#[macro_export]
macro_rules! node_enum {
    (@start $n:ident $ctx:ident;) => {{}};
    (@start $n:ident $ctx:ident; start $($rest:ident)*) => { $n.on_start($ctx) };
    (@start $n:ident $ctx:ident; $other:ident $($rest:ident)*) => {
        $crate::node_enum!(@start $n $ctx; $($rest)*)
    };

    (@message $n:ident $ctx:ident $from:ident $msg:ident;) => { $n.on_message($ctx, $from, $msg) };
    (@message $n:ident $ctx:ident $from:ident $msg:ident; no_sender $($rest:ident)*) => {
        $n.on_message($ctx, $msg)
    };
    (@message $n:ident $ctx:ident $from:ident $msg:ident; $other:ident $($rest:ident)*) => {
        $crate::node_enum!(@message $n $ctx $from $msg; $($rest)*)
    };

    (@request $n:ident $ctx:ident $req:ident;) => {
        debug_assert!(false, "a server was handed a client request")
    };
    (@request $n:ident $ctx:ident $req:ident; requests $($rest:ident)*) => { $n.on_request($ctx, $req) };
    (@request $n:ident $ctx:ident $req:ident; $other:ident $($rest:ident)*) => {
        $crate::node_enum!(@request $n $ctx $req; $($rest)*)
    };

    (@get $name:ident $var:ident $ty:ty;) => {};
    (@get $name:ident $var:ident $ty:ty; get $acc:ident $(, $($rest:tt)*)?) => {
        #[allow(unreachable_patterns, dead_code)]
        pub fn $acc(&self) -> Option<&$ty> {
            match self {
                $name::$var(n) => Some(n),
                _ => None,
            }
        }
        $crate::node_enum!(@get $name $var $ty; $($($rest)*)?);
    };
    (@get $name:ident $var:ident $ty:ty; get_mut $acc:ident $(, $($rest:tt)*)?) => {
        #[allow(unreachable_patterns, dead_code)]
        pub fn $acc(&mut self) -> Option<&mut $ty> {
            match self {
                $name::$var(n) => Some(n),
                _ => None,
            }
        }
        $crate::node_enum!(@get $name $var $ty; $($($rest)*)?);
    };
    (@get $name:ident $var:ident $ty:ty; $other:ident $(, $($rest:tt)*)?) => {
        $crate::node_enum!(@get $name $var $ty; $($($rest)*)?);
    };

    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $msg:ty {
            $(
                $(#[$vmeta:meta])*
                $var:ident($ty:ty) { role: $role:expr $(, $flag:ident $($acc:ident)?)* $(,)? }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $var($ty),)*
        }

        impl $name {
            $($crate::node_enum!(@get $name $var $ty; $($flag $($acc)?),*);)*
        }

        impl $crate::node::Node for $name {
            type Msg = $msg;

            #[allow(unused_variables)]
            fn on_start(&mut self, ctx: &mut $crate::node::Ctx<$msg>) {
                match self {
                    $($name::$var(n) => $crate::node_enum!(@start n ctx; $($flag)*),)*
                }
            }

            #[allow(unused_variables)]
            fn on_message(
                &mut self,
                ctx: &mut $crate::node::Ctx<$msg>,
                from: $crate::node::NodeId,
                msg: $msg,
            ) {
                match self {
                    $($name::$var(n) => $crate::node_enum!(@message n ctx from msg; $($flag)*),)*
                }
            }

            fn on_timer(&mut self, ctx: &mut $crate::node::Ctx<$msg>, timer: $crate::node::TimerId) {
                match self {
                    $($name::$var(n) => n.on_timer(ctx, timer),)*
                }
            }

            #[allow(unused_variables)]
            fn on_request(&mut self, ctx: &mut $crate::node::Ctx<$msg>, req: $crate::node::Request) {
                match self {
                    $($name::$var(n) => $crate::node_enum!(@request n ctx req; $($flag)*),)*
                }
            }

            fn role(&self) -> &'static str {
                match self {
                    $($name::$var(n) => {
                        let role: fn(&$ty) -> &'static str = $role;
                        role(n)
                    })*
                }
            }

            fn status(&self) -> $crate::node::Status {
                match self {
                    $($name::$var(n) => n.status(),)*
                }
            }
        }
    };
}

/// Declares a message enum, its `Message::kind` and `KINDS`, every kind it
/// can return in order.
///
/// ```ignore
/// sim::message! {
///     #[derive(Clone, Debug, PartialEq)]
///     pub enum Msg {
///         Request { id: RequestId, f: OpFn } as "Write" if [
///             Msg::Request { f: OpFn::Read, .. } => "Read",
///         ],
///         Tree { leaves: Vec<u64> } as "MerkleTree",
///         Reply { id: RequestId },
///     }
/// }
/// ```
///
/// A variant's kind is its name, or the literal after `as`. `if [...]` lists
/// finer kinds for some of its values: the first pattern (with its guard)
/// that matches names the kind; `KINDS` lists them before the variant's own.
#[macro_export]
macro_rules! message {
    (@name $var:ident) => { stringify!($var) };
    (@name $var:ident $kind:literal) => { $kind };

    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $var:ident $({ $($sfield:tt)* })? $(( $($tfield:tt)* ))?
                $(as $kind:literal)?
                $(if [ $($pat:pat $(if $guard:expr)? => $fine:literal),* $(,)? ])?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $var $({ $($sfield)* })? $(( $($tfield)* ))?,)*
        }

        impl $name {
            /// Every kind [`Message::kind`](sim::node::Message::kind) returns.
            pub const KINDS: &'static [&'static str] = &[
                $($($($fine,)*)? $crate::message!(@name $var $($kind)?),)*
            ];
        }

        impl $crate::node::Message for $name {
            fn kind(&self) -> &'static str {
                match self {
                    $($name::$var { .. } => {
                        $($(if matches!(self, $pat $(if $guard)?) {
                            return $fine;
                        })*)?
                        $crate::message!(@name $var $($kind)?)
                    })*
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use crate::history::OpFn;
    use crate::node::{
        Clock, Cluster, Ctx, Disk, Effect, Message, Node, NodeId, OpId, Request, Status, TimerId,
    };

    crate::message! {
        #[derive(Clone, Debug, PartialEq)]
        pub enum Msg {
            Ask { n: u64 } as "Question" if [
                Msg::Ask { n: 0, .. } => "Hello",
                Msg::Ask { n, .. } if *n > 100 => "BigQuestion",
            ],
            Answer(u64),
            Bye,
        }
    }

    #[derive(Debug, Default)]
    struct Server {
        started: bool,
        heard: Vec<(NodeId, Msg)>,
    }
    impl Server {
        fn on_start(&mut self, _ctx: &mut Ctx<Msg>) {
            self.started = true;
        }
        fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
            ctx.send(from, Msg::Answer(1));
            self.heard.push((from, msg));
        }
        fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}
        fn busy(&self) -> bool {
            !self.heard.is_empty()
        }
        fn status(&self) -> Status {
            Status {
                role: if self.busy() { "busy" } else { "idle" },
                fields: vec![],
            }
        }
    }

    #[derive(Debug, Default)]
    struct Client {
        requests: usize,
        timers: Vec<TimerId>,
        heard: Vec<Msg>,
    }
    impl Client {
        fn on_request(&mut self, _ctx: &mut Ctx<Msg>, _req: Request) {
            self.requests += 1;
        }
        fn on_message(&mut self, _ctx: &mut Ctx<Msg>, msg: Msg) {
            self.heard.push(msg);
        }
        fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, timer: TimerId) {
            self.timers.push(timer);
        }
        fn status(&self) -> Status {
            Status {
                role: "client",
                fields: vec![],
            }
        }
    }

    crate::node_enum! {
        #[derive(Debug)]
        enum TestNode: Msg {
            Server(Server) { role: |s| if s.busy() { "busy" } else { "idle" }, start, get server, get_mut server_mut },
            Client(Client) { role: |_| "client", requests, no_sender, get client },
        }
    }

    fn step(node: &mut TestNode, f: impl FnOnce(&mut TestNode, &mut Ctx<Msg>)) -> Vec<Effect<Msg>> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut disk = Disk::default();
        let cluster = Cluster::new(1, 1);
        let mut effects = Vec::new();
        let mut ctx = Ctx::new(
            NodeId(0),
            0,
            Clock::default(),
            &mut rng,
            &mut disk,
            &cluster,
            &mut effects,
        );
        f(node, &mut ctx);
        effects
    }

    #[test]
    fn a_message_kind_is_its_variant_name_or_the_first_finer_kind_that_matches() {
        assert_eq!(
            Msg::KINDS,
            &["Hello", "BigQuestion", "Question", "Answer", "Bye"]
        );
        assert_eq!(Msg::Ask { n: 0 }.kind(), "Hello");
        assert_eq!(Msg::Ask { n: 101 }.kind(), "BigQuestion");
        assert_eq!(Msg::Ask { n: 7 }.kind(), "Question");
        assert_eq!(Msg::Answer(3).kind(), "Answer");
        assert_eq!(Msg::Bye.kind(), "Bye");
    }

    #[test]
    fn the_node_enum_forwards_each_call_to_its_variant() {
        let mut server = TestNode::Server(Server::default());
        assert_eq!(server.role(), "idle");
        step(&mut server, |n, ctx| n.on_start(ctx));
        let effects = step(&mut server, |n, ctx| n.on_message(ctx, NodeId(1), Msg::Bye));
        assert!(matches!(
            effects.as_slice(),
            [Effect::Send {
                to: NodeId(1),
                msg: Msg::Answer(1)
            }]
        ));
        let s = server.server().unwrap();
        assert!(s.started);
        assert_eq!(s.heard, vec![(NodeId(1), Msg::Bye)]);
        assert_eq!(server.role(), "busy");
        assert_eq!(server.status().role, "busy");
        server.server_mut().unwrap().heard.clear();
        assert_eq!(server.role(), "idle");
        assert!(server.client().is_none());

        let mut client = TestNode::Client(Client::default());
        step(&mut client, |n, ctx| n.on_start(ctx));
        let req = Request {
            id: OpId(0),
            key: "k".into(),
            f: OpFn::Read,
        };
        step(&mut client, |n, ctx| n.on_request(ctx, req));
        step(&mut client, |n, ctx| {
            n.on_message(ctx, NodeId(0), Msg::Answer(2))
        });
        step(&mut client, |n, ctx| n.on_timer(ctx, TimerId(5)));
        let c = client.client().unwrap();
        assert_eq!(
            (c.requests, c.heard.clone(), c.timers.clone()),
            (1, vec![Msg::Answer(2)], vec![TimerId(5)])
        );
        assert_eq!(client.role(), "client");
        assert!(client.server().is_none());
    }

    #[test]
    fn a_node_id_displays_its_index() {
        assert_eq!(NodeId(3).to_string(), "#3");
    }
}
