//! The built-in protocols' declarations for the registry: each protocol's
//! name, parameters, roles, message kinds, report figures and benchmark,
//! and how it is built from a scenario. The protocols themselves live in
//! their folders; this file is their registration.

use sim::metric::Figure;
use sim::registry::{Bench, ParamError, Register, Servers, Spec};
use sim::scenario::Scenario;
use sim::time::fmt_duration;

use crate::{
    balancer, cache, cqrs, limiter, log, maelstrom, outbox, overload, ping, quorum, raft,
    replication, resilience, single, twopc,
};

/// Adds every built-in protocol to `r`. The order is the one messages list
/// them in and `chaoslab bench` runs them in: ping first, whose benchmark is
/// the kernel's bare speed (`bench kernel`'s first figure, and the run `bench
/// tui` draws).
pub fn register_builtin<R: Register>(r: &mut R) {
    r.add::<ping::Ping>()
        .add::<single::Single>()
        .add::<raft::Raft>()
        .add::<twopc::Twopc>()
        .add::<quorum::Quorum>()
        .add::<cache::Cache>()
        .add::<replication::Replication>()
        .add::<resilience::Queue>()
        .add::<overload::Overload>()
        .add::<log::Log>()
        .add::<outbox::Outbox>()
        .add::<cqrs::Cqrs>()
        .add::<balancer::LoadBalancer>()
        .add::<maelstrom::Maelstrom>()
        .add::<limiter::RateLimit>();
}

/// `(field, message)`, as the protocols' `validate` return it, as a `[system]` error.
fn field((field, message): (&str, String)) -> ParamError {
    ParamError::field(field, message)
}

impl Spec for single::Single {
    const NAME: &'static str = "single";
    const ABOUT: &'static str = "one server with a write-ahead log: the baseline";
    type Params = single::Params;
    const ROLES: &'static [&'static str] = single::ROLES;
    const METRICS: &'static [Figure] = &[Figure::text("writes"), Figure::count("retries")];

    const SERVERS: Servers = Servers::exactly(1, "the server and its write-ahead log");

    fn new(params: single::Params, s: &Scenario) -> Result<Self, ParamError> {
        // Without sync_writes the server syncs every flush_interval for the
        // whole run: a nanosecond period is a sync per nanosecond.
        crate::check_period("flush_interval", params.flush_interval, "", "1s").map_err(field)?;
        Ok(single::Single {
            params,
            client: s.workload.client_config(),
        })
    }

    const BENCH: Option<Bench> = Some(
        Bench::new("single-server KV", SINGLE)
            .in_kernel()
            .compared(),
    );
}

impl Spec for raft::Raft {
    const NAME: &'static str = "raft";
    const ABOUT: &'static str = "Raft consensus: leader election, log replication, reads";
    type Params = raft::Params;
    const ROLES: &'static [&'static str] = raft::ROLES;
    const NOTES: Option<&'static [&'static str]> = Some(raft::NOTES);
    const METRICS: &'static [Figure] = raft::METRICS;

    fn new(params: raft::Params, s: &Scenario) -> Result<Self, ParamError> {
        params.validate().map_err(field)?;
        Ok(raft::Raft::new(params, s.workload.client_config()))
    }

    const BENCH: Option<Bench> = Some(Bench::new("raft, 5 servers, 3 clients", RAFT).compared());
}

impl Spec for ping::Ping {
    const NAME: &'static str = "ping";
    const ABOUT: &'static str = "servers bounce messages: the kernel's own speed";
    type Params = ping::Params;
    const ROLES: &'static [&'static str] = ping::ROLES;

    fn new(params: ping::Params, _: &Scenario) -> Result<Self, ParamError> {
        Ok(ping::Ping { params })
    }

    const BENCH: Option<Bench> = Some(Bench::new("ping, 5 nodes", PING).in_kernel().compared());
}

impl Spec for twopc::Twopc {
    const NAME: &'static str = "twopc";
    const ABOUT: &'static str = "a bank over two-phase commit, three-phase commit or sagas";
    type Params = twopc::Params;
    const ROLES: &'static [&'static str] = twopc::ROLES;
    const NOTES: Option<&'static [&'static str]> = Some(twopc::NOTES);
    const METRICS: &'static [Figure] = &[
        Figure::text("bank"),
        Figure::count("transactions"),
        Figure::count("compensations"),
        Figure::count("dirty reads"),
        Figure::duration("time in doubt"),
        Figure::count("in doubt at end"),
        Figure::count("locks held"),
        Figure::series("locks by second"),
        Figure::count("blocked reads"),
        Figure::count("cooperative"),
        Figure::count("decided alone"),
        Figure::duration("balances off"),
    ];

    const SERVERS: Servers = Servers::at_least(3, "a coordinator and at least two participants");

    fn new(params: twopc::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The coordinator and the participants re-arm these timers for as
        // long as a transaction is open (resends, an in-doubt participant's
        // questions): a nanosecond is a round of messages per nanosecond.
        for (name, value, example) in [
            ("vote_timeout", params.vote_timeout, "100ms"),
            ("participant_timeout", params.participant_timeout, "200ms"),
            ("resend_interval", params.resend_interval, "50ms"),
        ] {
            crate::check_period(name, value, "", example).map_err(field)?;
        }
        if params.accounts_per_participant == 0 {
            return Err(ParamError::field(
                "accounts_per_participant",
                "accounts_per_participant must be at least 1",
            ));
        }
        if let Err(m) = sim::scenario::check_share(params.fail_probability) {
            return Err(ParamError::field(
                "fail_probability",
                format!("fail_probability = {m}"),
            ));
        }
        if params.cooperative_termination && params.mode != twopc::Mode::TwoPc {
            return Err(ParamError::field(
                "cooperative_termination",
                format!(
                    "cooperative_termination applies to mode = \"2pc\" only; this scenario has mode = \"{}\"",
                    params.mode.name()
                ),
            ));
        }
        let participants = s.servers() as u32 - 1;
        let bank = twopc::Bank {
            participants,
            accounts: participants * params.accounts_per_participant,
        };
        let total = bank.accounts as i64 * params.initial_balance;
        Ok(twopc::Twopc {
            config: twopc::Config {
                params,
                bank,
                client: s.workload.client_config(),
            },
            checker: twopc::Checker::new(total, s.servers()),
        })
    }

    const BENCH: Option<Bench> = Some(Bench::new("twopc, 1+4 servers, 8 clients", TWOPC));
}

impl Spec for quorum::Quorum {
    const NAME: &'static str = "quorum";
    const ABOUT: &'static str = "Dynamo-style quorum replication on a consistent-hash ring";
    type Params = quorum::Params;
    const ROLES: &'static [&'static str] = quorum::ROLES;
    const METRICS: &'static [Figure] = &[
        Figure::text("quorum"),
        Figure::count("ring"),
        Figure::ratio("keys moved by the ring"),
        Figure::ratio("keys moved by the ring #N"),
        Figure::ratio("keys moved by hash mod nodes"),
        Figure::ratio("keys moved by hash mod nodes #N"),
        Figure::number("key balance max/mean"),
        Figure::ratio("hottest key share"),
        Figure::number("requests per replica max/mean"),
        Figure::number("request balance max/mean"),
        Figure::count("keys held per replica"),
        Figure::count("coordinator"),
        Figure::count("repair"),
        Figure::count("reads with siblings"),
        Figure::count("replicas disagreeing at the end"),
        Figure::duration("last disagreement seen"),
    ];
    const RUN_TIMES: &'static [&'static str] = quorum::RUN_TIMES;

    fn new(params: quorum::Params, s: &Scenario) -> Result<Self, ParamError> {
        quorum::Quorum::new(params, s.servers(), s.workload.client_config()).map_err(field)
    }

    const BENCH: Option<Bench> = Some(Bench::new("quorum, 8 servers, 8 clients", QUORUM));
}

impl Spec for cache::Cache {
    const NAME: &'static str = "cache";
    const ABOUT: &'static str = "a database behind caches: write policies, eviction, stampedes";
    type Params = cache::Params;
    const ROLES: &'static [&'static str] = cache::ROLES;
    const METRICS: &'static [Figure] = &[
        Figure::text("cache"),
        Figure::ratio("hit ratio"),
        Figure::ratio("cache hit ratio"),
        Figure::count("entries"),
        Figure::count("evictions"),
        Figure::count("stampede"),
        Figure::count("cache unavailable answers"),
        Figure::count("lease fills refused"),
        Figure::count("dirty entries"),
        Figure::count("dirty entries lost in crashes"),
        Figure::rate("db requests/s peak"),
        Figure::rate("db requests/s mean"),
        Figure::series("db requests per second over time"),
        Figure::count("db queue peak"),
        Figure::duration("db latency max"),
        Figure::count("acked writes not in db"),
        Figure::count("acked writes overwritten"),
        Figure::duration("read latency p99"),
        Figure::duration("write latency p99"),
        Figure::ratio("L1 hit ratio"),
    ];
    const RENAMED_MEASURES: &'static [(&'static str, &'static str)] =
        &[("acked writes lost", "acked writes not in db")];
    const RUN_TIMES: &'static [&'static str] = cache::RUN_TIMES;

    const SERVERS: Servers = Servers::at_least(2, "n1 is the database, n2.. are caches");

    fn new(params: cache::Params, s: &Scenario) -> Result<Self, ParamError> {
        params.validate().map_err(field)?;
        if params.measure_after > 0 && params.measure_after >= s.meta.duration {
            return Err(ParamError::field(
                "measure_after",
                format!(
                    "measure_after = \"{}\" must be before the end of the run (duration = \"{}\"): nothing would be measured",
                    fmt_duration(params.measure_after),
                    fmt_duration(s.meta.duration)
                ),
            ));
        }
        let mix = s.workload.mix.get_ref();
        if mix.cas > 0.0 || mix.append > 0.0 {
            return Err(ParamError::key(
                "workload",
                "mix",
                "mix: protocol \"cache\" serves get, put and delete; set cas and append to 0",
            ));
        }
        Ok(cache::Cache::new(
            params,
            s.servers(),
            s.workload.client_config(),
            s.meta.duration,
        ))
    }

    const BENCH: Option<Bench> = Some(Bench::new("cache, 1 db + 2 caches, 32 clients", CACHE));
}

impl Spec for replication::Replication {
    const NAME: &'static str = "replication";
    const ABOUT: &'static str = "primary-replica replication with a failover monitor";
    type Params = replication::Params;
    const SERVERS: Servers = Servers::at_least(
        3,
        "a primary, a replica and the monitor, which is the last server",
    );
    const ROLES: &'static [&'static str] = replication::ROLES;
    const NOTES: Option<&'static [&'static str]> = Some(replication::NOTES);
    const METRICS: &'static [Figure] = &[
        Figure::text("replication"),
        Figure::count("failovers"),
        Figure::count("false failovers"),
        Figure::duration("failover time (RTO)"),
        Figure::count("acked writes dropped by failover"),
        Figure::duration("data loss window (RPO)"),
        Figure::count("writes refused"),
        Figure::count("refused for want of a lease"),
        Figure::count("writes blocked"),
        Figure::count("reads"),
        Figure::duration("replication lag max"),
        Figure::series("replication lag by second"),
        Figure::count("serving primaries at once"),
        Figure::count("served by a deposed primary"),
        Figure::count("divergent keys"),
    ];
    const RENAMED_MEASURES: &'static [(&'static str, &'static str)] = &[(
        "acknowledged writes lost",
        "acked writes dropped by failover",
    )];

    fn new(params: replication::Params, s: &Scenario) -> Result<Self, ParamError> {
        params
            .validate(s.servers())
            .map_err(|(section, key, message)| ParamError::key(section, key, message))?;
        Ok(replication::Replication::new(
            params,
            s.workload.client_config(),
        ))
    }

    const BENCH: Option<Bench> = Some(Bench::new(
        "replication, 1+2 servers + monitor, 8 clients",
        REPLICATION,
    ));
}

impl Spec for resilience::Queue {
    const NAME: &'static str = "queue";
    const ABOUT: &'static str =
        "a service with workers and a bounded queue under open-loop load: queueing theory";
    type Params = resilience::Params;
    const ROLES: &'static [&'static str] = resilience::ROLES;
    const METRICS: &'static [Figure] = resilience::METRICS;
    const SERVERS: Servers = Servers::at_least(2, "n1 is the service, n2.. are the load sources");

    fn new(params: resilience::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The load is open-loop, from the sources n2..: the kernel's
        // closed-loop clients have nothing to ask this service.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"queue\" takes no clients; its load comes from the sources n2.. (servers = 2 or more, arrivals in [system]); remove clients",
                    s.clients()
                ),
            ));
        }
        let config = params
            .check(s.servers() - 1, s.workload_stop(), s.meta.duration)
            .map_err(field)?;
        Ok(resilience::Queue {
            config: std::sync::Arc::new(config),
        })
    }

    const BENCH: Option<Bench> = Some(Bench::new("queue, M/M/4 at 90%, 2 sources", QUEUE));
}

impl Spec for overload::Overload {
    const NAME: &'static str = "overload";
    const ABOUT: &'static str =
        "callers with timeouts, retries and backoff, retry budgets and circuit breakers against one service: retry storms and metastable failure";
    type Params = overload::Params;
    const ROLES: &'static [&'static str] = overload::ROLES;
    const METRICS: &'static [Figure] = overload::METRICS;
    const SERVERS: Servers = Servers::at_least(
        2,
        "n1 is the service (or the front), then its backends if any, then the callers",
    );

    fn new(params: overload::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The callers n2.. are the load: the kernel's closed-loop clients
        // have nothing to ask this service.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"overload\" takes no clients; its load comes from the callers n2.. (servers = 2 or more, arrivals or population in [system]); remove clients",
                    s.clients()
                ),
            ));
        }
        let config = params
            .check(s.servers() - 1, s.workload_stop(), s.meta.duration)
            .map_err(field)?;
        Ok(overload::Overload::new(std::sync::Arc::new(config)))
    }

    const BENCH: Option<Bench> = Some(Bench::new(
        "overload, metastable: 7,500/s on 1,000 workers, a 10s slowdown, 2 callers",
        OVERLOAD,
    ));
}

impl Spec for log::Log {
    const NAME: &'static str = "log";
    const ABOUT: &'static str =
        "a partitioned replicated log (Kafka): acks, ISR, leader election, idempotent producers";
    type Params = log::Params;
    const ROLES: &'static [&'static str] = log::ROLES;
    const METRICS: &'static [Figure] = log::METRICS;
    const SERVERS: Servers = Servers::at_least(
        4,
        "n1 is the controller, then the brokers, the producers and the consumers",
    );

    fn new(params: log::Params, s: &Scenario) -> Result<Self, ParamError> {
        // Producers and consumers are servers of their own: the kernel's
        // closed-loop key-value clients have nothing to ask a log.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"log\" takes no clients; its producers and consumers are servers (see producers and consumers in [system]); remove clients",
                    s.clients()
                ),
            ));
        }
        let config = params
            .check(s.servers(), s.workload_stop())
            .map_err(field)?;
        Ok(log::Log::new(config))
    }

    const BENCH: Option<Bench> = Some(Bench::new(
        "log, 4 partitions x 3 replicas, 2 producers, 1 consumer",
        LOG,
    ));
}

impl Spec for outbox::Outbox {
    const NAME: &'static str = "outbox";
    const ABOUT: &'static str =
        "an order service that must publish an event per committed change: dual writes against the transactional outbox";
    type Params = outbox::Params;
    const ROLES: &'static [&'static str] = outbox::ROLES;
    const METRICS: &'static [Figure] = outbox::METRICS;
    const SERVERS: Servers =
        Servers::exactly(3, "n1 is the order service, n2 the broker, n3 the consumer");

    fn new(params: outbox::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The service makes its own orders: the kernel's closed-loop
        // key-value clients have nothing to ask it.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"outbox\" takes no clients; its order service makes its own orders until [workload] stop; remove clients",
                    s.clients()
                ),
            ));
        }
        crate::refuse_crashes(
            s,
            "outbox",
            &["n1", "service"],
            "the broker n2 and the consumer n3 keep their log and view in memory, and the tally assumes they never crash",
        )?;
        let config = params.check(s.workload_stop()).map_err(field)?;
        Ok(outbox::Outbox::new(config))
    }

    const BENCH: Option<Bench> = Some(Bench::new(
        "outbox, one order service, relay and de-duplicating consumer",
        OUTBOX,
    ));
}

impl Spec for cqrs::Cqrs {
    const NAME: &'static str = "cqrs";
    const ABOUT: &'static str =
        "event sourcing and CQRS: a projector's read model lags the event log; read-your-writes, rebuild by replay";
    type Params = cqrs::Params;
    const ROLES: &'static [&'static str] = cqrs::ROLES;
    const METRICS: &'static [Figure] = cqrs::METRICS;
    const SERVERS: Servers = Servers::at_least(
        3,
        "n1 is the event store, n2 the projector and its read model, n3.. the clients",
    );

    fn new(params: cqrs::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The clients n3.. are servers of this protocol: the kernel's
        // key-value clients have nothing to ask it.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"cqrs\" takes no clients; its clients are the servers n3.. (servers = 3 or more); remove clients",
                    s.clients()
                ),
            ));
        }
        let clients: Vec<String> = (3..=s.servers()).map(|i| format!("n{i}")).collect();
        let mut crashable: Vec<&str> = clients.iter().map(String::as_str).collect();
        crashable.push("client");
        crate::refuse_crashes(
            s,
            "cqrs",
            &crashable,
            "the event store n1 and the projector n2 keep their events and read model in memory, and the figures assume they never crash",
        )?;
        let config = params
            .check(s.workload_stop(), s.meta.duration)
            .map_err(field)?;
        Ok(cqrs::Cqrs {
            config: std::sync::Arc::new(config),
            core_crashes: 0,
        })
    }
}

impl Spec for balancer::LoadBalancer {
    const NAME: &'static str = "balancer";
    const ABOUT: &'static str =
        "a load balancer in front of queueing backends: policies, health checks, outlier ejection";
    type Params = balancer::Params;
    const ROLES: &'static [&'static str] = balancer::ROLES;
    const METRICS: &'static [Figure] = balancer::METRICS;
    const SERVERS: Servers = Servers::at_least(
        3,
        "n1 is the balancer, n2..n(backends+1) the backends, the rest the load sources",
    );

    fn new(params: balancer::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The load is open-loop, from the sources: the kernel's closed-loop
        // clients have nothing to ask the balancer.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"balancer\" takes no clients; its load comes from the sources after the backends (arrivals in [system]); remove clients",
                    s.clients()
                ),
            ));
        }
        let config = params
            .check(s.servers(), s.workload_stop(), s.meta.duration)
            .map_err(field)?;
        Ok(balancer::LoadBalancer {
            config: std::sync::Arc::new(config),
        })
    }

    const BENCH: Option<Bench> = Some(Bench::new(
        "balancer, two choices over 20 backends at 90%",
        BALANCER,
    ));
}

impl Spec for limiter::RateLimit {
    const NAME: &'static str = "limiter";
    const ABOUT: &'static str =
        "rate limiters (token and leaky bucket, fixed and sliding windows), on one node and on many: local, central counter, synced";
    type Params = limiter::Params;
    const ROLES: &'static [&'static str] = limiter::ROLES;
    const METRICS: &'static [Figure] = limiter::METRICS;
    const SERVERS: Servers = Servers::at_least(
        3,
        "n1 is the central counter, n2..n(limiters+1) the limiters, the rest the load sources",
    );

    fn new(params: limiter::Params, s: &Scenario) -> Result<Self, ParamError> {
        // The load is open-loop, from the sources: the kernel's closed-loop
        // clients have nothing to ask a limiter.
        if s.clients() > 0 {
            return Err(ParamError::key(
                "topology",
                "clients",
                format!(
                    "clients = {}: protocol \"limiter\" takes no clients; its load comes from the sources after the limiters (arrivals in [system]); remove clients",
                    s.clients()
                ),
            ));
        }
        let config = params
            .check(s.servers(), s.workload_stop(), s.meta.duration)
            .map_err(field)?;
        Ok(limiter::RateLimit {
            config: std::sync::Arc::new(config),
        })
    }

    const BENCH: Option<Bench> = Some(Bench::new(
        "limiter, 4 limiters synced every 100ms, 4,000/s offered",
        LIMITER,
    ));
}

// The benchmark scenarios (`chaoslab bench`), in nodes/bench/. Each says
// `duration = "60s"`, which `--seconds` replaces.

const PING: &str = include_str!("../bench/ping.toml");
const SINGLE: &str = include_str!("../bench/single.toml");
const RAFT: &str = include_str!("../bench/raft.toml");
const TWOPC: &str = include_str!("../bench/twopc.toml");
const QUORUM: &str = include_str!("../bench/quorum.toml");
const CACHE: &str = include_str!("../bench/cache.toml");
const REPLICATION: &str = include_str!("../bench/replication.toml");
const QUEUE: &str = include_str!("../bench/queue.toml");
const OVERLOAD: &str = include_str!("../bench/overload.toml");
const LOG: &str = include_str!("../bench/log.toml");
const OUTBOX: &str = include_str!("../bench/outbox.toml");
const BALANCER: &str = include_str!("../bench/balancer.toml");
const LIMITER: &str = include_str!("../bench/limiter.toml");

impl Spec for maelstrom::Maelstrom {
    const NAME: &'static str = "maelstrom";
    const ABOUT: &'static str =
        "Maelstrom's workloads (echo, unique-ids, broadcast, counters, g-set, kafka, txn-list-append, txn-rw-register) and checkers, on reference nodes";
    type Params = maelstrom::Params;
    const ROLES: &'static [&'static str] = maelstrom::ROLES;
    const SERVICES: (&'static [&'static str], Option<&'static str>) = maelstrom::SERVICES;
    const METRICS: &'static [Figure] = maelstrom::METRICS;

    fn new(params: maelstrom::Params, s: &Scenario) -> Result<Self, ParamError> {
        let config = maelstrom::configure(&params, s, None)?;
        Ok(maelstrom::Maelstrom::new(config))
    }
}
