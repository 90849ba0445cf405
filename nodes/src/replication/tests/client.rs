//! The client: replies are matched to the send they answer, and redirects
//! are bounded (issue 22, items 5 and 6).

use super::*;

// The client: replies are matched to the send they answer, and redirects are
// bounded (issue 22, items 5 and 6).

fn client(routing: ReadRouting, attempts: u32) -> Harness<ReplNode> {
    let config = sim::client::ClientConfig {
        timeout: ms(300),
        retry: sim::client::RetryPolicy::Fixed {
            delay: ms(10),
            attempts,
        },
    };
    bench(C1, move |_| {
        ReplNode::Client(Client::new(DATA, routing, config.clone()))
    })
}

fn op(f: OpFn) -> sim::node::Request {
    sim::node::Request {
        id: sim::node::OpId(0),
        key: "k".into(),
        f,
    }
}

/// The requests among the effects: (to, id, attempt).
fn requests(fx: &Effects<Msg>) -> Vec<(NodeId, RequestId, u64)> {
    fx.sends()
        .into_iter()
        .filter_map(|(to, m)| match m {
            Msg::Request { id, attempt, .. } => Some((to, id, attempt)),
            _ => None,
        })
        .collect()
}

fn completed(fx: &Effects<Msg>) -> Option<sim::history::Outcome> {
    fx.completions().first().map(|c| c.outcome)
}

fn reply(id: RequestId, attempt: u64, answer: Answer) -> Msg {
    Msg::Reply {
        id,
        attempt,
        answer,
    }
}

#[test]
fn a_late_copy_of_a_refusal_of_an_earlier_attempt_does_not_fail_the_write() {
    // Attempt 1 is refused (a primary without a lease); the network
    // duplicated that answer. The retry is applied; the second copy of the
    // first refusal arrives before the retry's answer. Matched by seq only,
    // it would end the write as `fail` (attempts spent) although it took
    // effect.
    let mut c = client(ReadRouting::Primary, 2);
    let fx = c.request(op(OpFn::Write(Value::Int(7))));
    let [(to, seq, first)] = requests(&fx)[..] else {
        panic!("one request: {:?}", fx.sends())
    };
    assert_eq!(to, N1);
    let fx = c.deliver(N1, reply(seq, first, Answer::Refused));
    assert_eq!(completed(&fx), None);
    let fx = c.fire(sim::client::BACKOFF_TIMER);
    let [(_, _, second)] = requests(&fx)[..] else {
        panic!("the retry: {:?}", fx.sends())
    };
    assert_ne!(second, first, "a retry is a new attempt");
    let fx = c.deliver(N1, reply(seq, first, Answer::Refused));
    assert_eq!(completed(&fx), None, "a stale refusal ended the write");
    assert!(fx.is_empty(), "a stale reply moved the client on");
    assert_eq!(cli(&c).stats().stale_replies, 1);
    let ok = Answer::Ok {
        value: None,
        pos: Pos { epoch: 1, index: 2 },
    };
    let fx = c.deliver(N1, reply(seq, second, ok));
    assert_eq!(completed(&fx), Some(sim::history::Outcome::Ok));
}

#[test]
fn a_duplicated_redirect_starts_one_chain() {
    let mut c = client(ReadRouting::Primary, 3);
    let fx = c.request(op(OpFn::Write(Value::Int(7))));
    let [(_, seq, first)] = requests(&fx)[..] else {
        panic!("one request")
    };
    let redirect = reply(seq, first, Answer::NotPrimary(Some(N2)));
    let fx = c.deliver(N1, redirect.clone());
    let [(to, _, second)] = requests(&fx)[..] else {
        panic!("one redirect: {:?}", fx.sends())
    };
    assert_eq!(to, N2);
    // The second copy of the same answer is stale: no second chain.
    let fx = c.deliver(N1, redirect);
    assert!(requests(&fx).is_empty(), "a second chain: {:?}", fx.sends());
    // Nor does the first chain's answer arrive twice.
    let ok = Answer::Ok {
        value: None,
        pos: Pos { epoch: 2, index: 3 },
    };
    let fx = c.deliver(N2, reply(seq, second, ok.clone()));
    assert_eq!(completed(&fx), Some(sim::history::Outcome::Ok));
    let fx = c.deliver(N2, reply(seq, second, ok));
    assert_eq!(completed(&fx), None);
}

#[test]
fn redirects_between_lagging_servers_end_the_attempt_and_back_off() {
    // Nobody is primary: each replica behind the client's position names n1,
    // and n1 (restarted, behind too) knows no primary. The read must not
    // bounce between them: the attempt asks each server at most once, then
    // waits out the retry policy's backoff.
    let mut c = client(ReadRouting::ReadYourWrites, 5);
    let mut fx = c.request(op(OpFn::Read));
    let mut sends = 0;
    let mut asked = Vec::new();
    loop {
        let reqs = requests(&fx);
        let Some(&(to, seq, attempt)) = reqs.first() else {
            break;
        };
        assert_eq!(reqs.len(), 1, "one send at a time");
        sends += 1;
        assert!(sends <= DATA.len(), "the attempt bounced: {asked:?}");
        asked.push(to);
        let answer = if to == N1 {
            Answer::Behind(None)
        } else {
            Answer::Behind(Some(N1))
        };
        fx = c.deliver(to, reply(seq, attempt, answer));
    }
    assert!(
        asked.contains(&N1),
        "the replica's hint was followed: {asked:?}"
    );
    assert!(
        fx.timer(sim::client::BACKOFF_TIMER).is_some(),
        "the attempt ended in a backoff: {:?}",
        fx
    );
    assert_eq!(completed(&fx), None, "attempts remain");
    assert_eq!(cli(&c).stats().redirects_cut, 1);
}
