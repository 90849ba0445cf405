//! The glue every protocol needs, written once: [`node_enum!`](crate::node_enum)
//! declares a protocol's node type (one variant per kind of node: server,
//! client, monitor ...) and its [`Node`](crate::node::Node) impl, which
//! forwards each call to the variant; [`message!`](crate::message) declares a
//! protocol's message enum, its [`Message::kind`](crate::node::Message::kind)
//! and the list of every kind it can return (`Msg::KINDS`), so that the list
//! fault triggers are checked against cannot drift from the messages.

/// Declares a node enum and its `Node` impl. The enum derives `Clone` and
/// `Debug` (`chaoslab explore` copies runs and tells states apart by what
/// they show), so every variant's type is `Clone + Debug`.
///
/// ```
/// use sim::node::{Ctx, NodeId, Request, Status, TimerId};
///
/// sim::message! {
///     #[derive(Clone, Debug, PartialEq)]
///     pub enum Msg {
///         Ping,
///         Pong,
///     }
/// }
///
/// #[derive(Clone, Debug)]
/// pub struct Server { leader: bool }
/// impl Server {
///     fn on_start(&mut self, _ctx: &mut Ctx<Msg>) {}
///     fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, _msg: Msg) {
///         ctx.send(from, Msg::Pong);
///     }
///     fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}
///     fn role_name(&self) -> &'static str { if self.leader { "leader" } else { "follower" } }
///     fn status(&self) -> Status { Status { role: self.role_name(), fields: vec![] } }
/// }
///
/// #[derive(Clone, Debug)]
/// pub struct Client;
/// impl Client {
///     fn on_request(&mut self, ctx: &mut Ctx<Msg>, _req: Request) {
///         ctx.send(NodeId(0), Msg::Ping);
///     }
///     fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, _msg: Msg) {}
///     fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}
///     fn status(&self) -> Status { Status { role: "client", fields: vec![] } }
/// }
///
/// sim::node_enum! {
///     /// A server or a client.
///     pub enum PingNode: Msg {
///         Server(Server) { role: |s| s.role_name(), start, get as_server, get_mut as_server_mut },
///         Client(Client) { role: |_| "client", requests, get as_client },
///     }
/// }
///
/// let node = PingNode::Server(Server { leader: true });
/// assert_eq!(sim::node::Node::role(&node), "leader");
/// assert!(node.as_client().is_none());
/// ```
///
/// Clients are handed key-value operations ([`OpFn`](crate::history::OpFn))
/// unless the enum names its own after the message type: `pub enum BankNode:
/// Msg, op = BankOp { ... }` (see [`crate::workload`]).
///
/// Each variant wraps one type and says, after `role:` (a closure from
/// `&Type` to the role name), what the type handles:
///
/// - every type has inherent `on_timer(ctx, timer)` and `status()`, and
///   `on_message(ctx, from, msg)`, or `on_message(ctx, msg)` with the flag
///   `no_sender`;
/// - `start`: it has `on_start(ctx)` (otherwise starting does nothing);
/// - `requests`: it is a client, with `on_request(ctx, req)`; the kernel hands
///   requests to clients only, so any other variant panics if it gets one
///   (`Server was handed a client request`);
/// - `get NAME` / `get_mut NAME`: generate `fn NAME(&self) -> Option<&Type>`
///   (or `&mut`) returning the variant's value.
///
/// Any other flag, a misspelt one included, is a compile error naming it:
///
/// ```compile_fail
/// # use sim::node::{Ctx, Status, TimerId, NodeId};
/// # sim::message! { #[derive(Clone, Debug)] pub enum Msg { Ping } }
/// # #[derive(Clone, Debug)]
/// # pub struct Server;
/// # impl Server {
/// #     fn on_start(&mut self, _ctx: &mut Ctx<Msg>) {}
/// #     fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, _msg: Msg) {}
/// #     fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}
/// #     fn status(&self) -> Status { Status::default() }
/// # }
/// sim::node_enum! {
///     pub enum Node: Msg {
///         Server(Server) { role: |_| "server", strat },
///     }
/// }
/// ```
///
/// and so is `get` (or `get_mut`) without a name:
///
/// ```compile_fail
/// # use sim::node::{Ctx, Status, TimerId, NodeId};
/// # sim::message! { #[derive(Clone, Debug)] pub enum Msg { Ping } }
/// # #[derive(Clone, Debug)]
/// # pub struct Server;
/// # impl Server {
/// #     fn on_start(&mut self, _ctx: &mut Ctx<Msg>) {}
/// #     fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, _msg: Msg) {}
/// #     fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}
/// #     fn status(&self) -> Status { Status::default() }
/// # }
/// sim::node_enum! {
///     pub enum Node: Msg {
///         Server(Server) { role: |_| "server", start, get },
///     }
/// }
/// ```
///
/// (The same example with `start` in place of `strat`, or `get server`, compiles.)
#[macro_export]
macro_rules! node_enum {
    // The flags: one rule each, and anything else is an error.
    (@check) => {};
    (@check start $(, $($rest:tt)*)?) => { $crate::node_enum!(@check $($($rest)*)?); };
    (@check requests $(, $($rest:tt)*)?) => { $crate::node_enum!(@check $($($rest)*)?); };
    (@check no_sender $(, $($rest:tt)*)?) => { $crate::node_enum!(@check $($($rest)*)?); };
    (@check get $acc:ident $(, $($rest:tt)*)?) => { $crate::node_enum!(@check $($($rest)*)?); };
    (@check get_mut $acc:ident $(, $($rest:tt)*)?) => { $crate::node_enum!(@check $($($rest)*)?); };
    (@check get $(, $($rest:tt)*)?) => {
        ::core::compile_error!("node_enum!: `get` needs a name: `get NAME`");
    };
    (@check get_mut $(, $($rest:tt)*)?) => {
        ::core::compile_error!("node_enum!: `get_mut` needs a name: `get_mut NAME`");
    };
    (@check $other:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "node_enum!: unknown flag `",
            ::core::stringify!($other),
            "`; the flags are start, requests, no_sender, get NAME, get_mut NAME"
        ));
    };

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

    (@request $var:ident $n:ident $ctx:ident $req:ident;) => {
        ::core::unreachable!("{} was handed a client request", ::core::stringify!($var))
    };
    (@request $var:ident $n:ident $ctx:ident $req:ident; requests $($rest:ident)*) => {
        $n.on_request($ctx, $req)
    };
    (@request $var:ident $n:ident $ctx:ident $req:ident; $other:ident $($rest:ident)*) => {
        $crate::node_enum!(@request $var $n $ctx $req; $($rest)*)
    };

    (@op) => { $crate::history::OpFn };
    (@op $op:ty) => { $op };
    (@get $name:ident $var:ident $ty:ty;) => {};
    (@get $name:ident $var:ident $ty:ty; get $acc:ident $(, $($rest:tt)*)?) => {
        #[allow(unreachable_patterns, dead_code)]
        pub fn $acc(&self) -> ::core::option::Option<&$ty> {
            match self {
                $name::$var(n) => ::core::option::Option::Some(n),
                _ => ::core::option::Option::None,
            }
        }
        $crate::node_enum!(@get $name $var $ty; $($($rest)*)?);
    };
    (@get $name:ident $var:ident $ty:ty; get_mut $acc:ident $(, $($rest:tt)*)?) => {
        #[allow(unreachable_patterns, dead_code)]
        pub fn $acc(&mut self) -> ::core::option::Option<&mut $ty> {
            match self {
                $name::$var(n) => ::core::option::Option::Some(n),
                _ => ::core::option::Option::None,
            }
        }
        $crate::node_enum!(@get $name $var $ty; $($($rest)*)?);
    };
    (@get $name:ident $var:ident $ty:ty; $other:ident $(, $($rest:tt)*)?) => {
        $crate::node_enum!(@get $name $var $ty; $($($rest)*)?);
    };

    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $msg:ty $(, op = $op:ty)? {
            $(
                $(#[$vmeta:meta])*
                $var:ident($ty:ty) { role: $role:expr $(, $flag:ident $($acc:ident)?)* $(,)? }
            ),* $(,)?
        }
    ) => {
        $($crate::node_enum!(@check $($flag $($acc)?),*);)*

        // Clone and Debug: `chaoslab explore` copies runs and tells states
        // apart by what they show.
        $(#[$meta])*
        #[derive(Clone, Debug)]
        $vis enum $name {
            $($(#[$vmeta])* $var($ty),)*
        }

        impl $name {
            $($crate::node_enum!(@get $name $var $ty; $($flag $($acc)?),*);)*
        }

        impl $crate::node::Node for $name {
            type Msg = $msg;
            type Op = $crate::node_enum!(@op $($op)?);

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
            fn on_request(
                &mut self,
                ctx: &mut $crate::node::Ctx<$msg>,
                req: $crate::node::Request<Self::Op>,
            ) {
                match self {
                    $($name::$var(n) => $crate::node_enum!(@request $var n ctx req; $($flag)*),)*
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
/// ```
/// use sim::history::OpFn;
/// use sim::node::Message;
///
/// #[derive(Clone, Debug, PartialEq)]
/// pub struct RequestId(u64);
///
/// sim::message! {
///     #[derive(Clone, Debug, PartialEq)]
///     pub enum Msg {
///         Request { id: RequestId, f: OpFn } as "Write" if [
///             { f: OpFn::Read, .. } => "Read",
///         ],
///         Tree { leaves: Vec<u64> } as "MerkleTree",
///         Reply { id: RequestId },
///     }
/// }
///
/// assert_eq!(Msg::KINDS, &["Read", "Write", "MerkleTree", "Reply"]);
/// assert_eq!(Msg::Request { id: RequestId(1), f: OpFn::Read }.kind(), "Read");
/// assert_eq!(Msg::Tree { leaves: vec![] }.kind(), "MerkleTree");
/// ```
///
/// A variant's kind is its name, or the literal after `as`. `if [...]` lists
/// finer kinds for some of its values: each is the variant's fields as a
/// pattern (`{ f: OpFn::Read, .. }`, or `(0, _)` for a tuple variant), with an
/// optional guard; the macro puts `Msg::Variant` in front, so a finer kind
/// cannot name another variant by mistake. The first that matches names the
/// kind; `KINDS` lists them before the variant's own.
///
/// ```compile_fail
/// sim::message! {
///     #[derive(Clone, Debug)]
///     pub enum Msg {
///         Ask { n: u64 } if [Msg::Reply { .. } => "Odd"],
///         Reply,
///     }
/// }
/// ```
#[macro_export]
macro_rules! message {
    (@name $var:ident) => { ::core::stringify!($var) };
    (@name $var:ident $kind:literal) => { $kind };

    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $var:ident $({ $($sfield:tt)* })? $(( $($tfield:tt)* ))?
                $(as $kind:literal)?
                $(if [ $($fields:tt $(if $guard:expr)? => $fine:literal),* $(,)? ])?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $var $({ $($sfield)* })? $(( $($tfield)* ))?,)*
        }

        impl $name {
            /// Every kind `Message::kind` returns.
            pub const KINDS: &'static [&'static str] = &[
                $($($($fine,)*)? $crate::message!(@name $var $($kind)?),)*
            ];
        }

        impl $crate::node::Message for $name {
            fn kinds() -> ::core::option::Option<&'static [&'static str]> {
                ::core::option::Option::Some($name::KINDS)
            }

            fn kind(&self) -> &'static str {
                match self {
                    $($name::$var { .. } => {
                        $($(if ::core::matches!(self, $name::$var $fields $(if $guard)?) {
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
                { n: 0 } => "Hello",
                { n, .. } if *n > 100 => "BigQuestion",
            ],
            Answer(u64) if [(7) => "Seven"],
            Bye,
        }
    }

    #[derive(Clone, Debug, Default)]
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

    #[derive(Clone, Debug, Default)]
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
            &["Hello", "BigQuestion", "Question", "Seven", "Answer", "Bye"]
        );
        assert_eq!(Msg::Ask { n: 0 }.kind(), "Hello");
        assert_eq!(Msg::Ask { n: 101 }.kind(), "BigQuestion");
        assert_eq!(Msg::Ask { n: 7 }.kind(), "Question");
        assert_eq!(Msg::Answer(3).kind(), "Answer");
        assert_eq!(Msg::Answer(7).kind(), "Seven");
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
    #[should_panic(expected = "Server was handed a client request")]
    fn a_variant_without_requests_panics_when_handed_one_even_in_release() {
        let mut server = TestNode::Server(Server::default());
        let req = Request {
            id: OpId(0),
            key: "k".into(),
            f: OpFn::Read,
        };
        step(&mut server, |n, ctx| n.on_request(ctx, req));
    }

    #[test]
    fn a_node_id_displays_its_index() {
        assert_eq!(NodeId(3).to_string(), "#3");
    }
}

/// The macros name `Option`, `Some`, `None` and `matches!` by their full
/// paths: a caller whose scope shadows them (here a `Mode` with variants
/// `None` and `Some`, and a `matches!` of its own) still compiles.
#[cfg(test)]
mod hygiene {
    #![allow(dead_code)]
    use crate::node::{Ctx, Message, NodeId, Status, TimerId};

    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Mode {
        None,
        Some,
    }
    use Mode::*;

    #[allow(unused_macros)]
    macro_rules! matches {
        ($($t:tt)*) => {
            ::core::compile_error!("the caller's matches! was used")
        };
    }

    crate::message! {
        #[derive(Clone, Debug, PartialEq)]
        pub enum Msg {
            Set { mode: Mode } if [{ mode: Some } => "SetSome"],
        }
    }

    #[derive(Clone, Debug)]
    pub struct Server(Mode);
    impl Server {
        fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, _msg: Msg) {}
        fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}
        fn status(&self) -> Status {
            Status::default()
        }
    }

    crate::node_enum! {
        pub enum HygieneNode: Msg {
            Server(Server) { role: |_| "server", get server, get_mut server_mut },
        }
    }

    #[test]
    fn the_macros_do_not_resolve_prelude_names_at_the_call_site() {
        let mut node = HygieneNode::Server(Server(None));
        assert_eq!(node.server().map(|s| s.0), Option::Some(None));
        assert!(node.server_mut().is_some());
        assert_eq!(Msg::Set { mode: Some }.kind(), "SetSome");
        assert_eq!(Msg::Set { mode: None }.kind(), "Set");
    }
}
