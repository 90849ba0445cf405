//! Echo: every `echo_ok` carries exactly the `echo` its request sent.

use serde_json::Value as Json;
use sim::metric::Metrics;

use super::super::client::{Call, Reply};
use super::super::ops::MaelOp;
use super::{malformed, some};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EchoReport {
    pub requests: u64,
    pub ok: u64,
    /// Replies whose echo differs from the request's: what was sent, what came back.
    pub mismatched: Vec<(String, String)>,
    /// Requests with no `echo_ok`: timed out or answered with an error.
    pub unanswered: u64,
    pub malformed: Vec<String>,
}

impl EchoReport {
    /// Maelstrom's criterion: every reply echoes its request, and every
    /// reply is well formed.
    pub fn valid(&self) -> bool {
        self.mismatched.is_empty() && self.malformed.is_empty()
    }

    pub fn metrics(&self, out: &mut Metrics) {
        out.count("requests", self.requests);
        out.count("echo mismatches", self.mismatched.len() as u64)
            .note(if self.mismatched.is_empty() {
                "every echo_ok carried the request's echo".to_string()
            } else {
                format!(
                    "sent -> got: {}",
                    some(self.mismatched.iter().map(|(a, b)| format!("{a} -> {b}")))
                )
            });
        out.count("unanswered", self.unanswered)
            .note("timed out or answered with an error");
        out.count("malformed replies", self.malformed.len() as u64)
            .note(some(&self.malformed));
    }
}

pub fn check_echo(calls: &[Call]) -> EchoReport {
    let mut r = EchoReport {
        malformed: malformed(calls),
        ..EchoReport::default()
    };
    for c in calls {
        let MaelOp::Echo(sent) = &c.op else { continue };
        r.requests += 1;
        if !c.ok() {
            r.unanswered += 1;
            continue;
        }
        r.ok += 1;
        if let Reply::Echo(got) = &c.reply {
            if *got != Json::String(sent.clone()) {
                r.mismatched.push((format!("{sent:?}"), got.to_string()));
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use sim::history::Outcome;

    fn echo(s: &str, back: Json, at: u64) -> Call {
        ok(1, "n1", MaelOp::Echo(s.into()), Reply::Echo(back), at)
    }

    #[test]
    fn replies_that_echo_their_request_pass() {
        let calls = vec![
            echo("Please echo 1", Json::from("Please echo 1"), 0),
            ended(
                echo("Please echo 2", Json::Null, 5),
                Outcome::Info,
                Reply::None,
            ),
        ];
        let r = check_echo(&calls);
        assert!(r.valid(), "{r:?}");
        assert_eq!((r.requests, r.ok, r.unanswered), (2, 1, 1));
    }

    #[test]
    fn a_reply_with_another_payload_is_a_mismatch() {
        let calls = vec![
            echo("Please echo 1", Json::from("Please echo 1"), 0),
            echo("Please echo 2", Json::from("Please echo 1"), 5),
        ];
        let r = check_echo(&calls);
        assert!(!r.valid());
        assert_eq!(
            r.mismatched,
            vec![(
                "\"Please echo 2\"".to_string(),
                "\"Please echo 1\"".to_string()
            )]
        );
    }

    #[test]
    fn a_malformed_reply_fails_the_run() {
        let calls = vec![ended(
            echo("x", Json::Null, 0),
            Outcome::Info,
            Reply::Malformed("echo_ok without \"echo\"".into()),
        )];
        let r = check_echo(&calls);
        assert!(!r.valid());
        assert_eq!(r.malformed.len(), 1);
    }
}
