//! What the command-line tests check of one run of the binary: its exit
//! code and what it printed, each check saying what it found when it fails.
//! Running the binary is `common`'s: a test crate that uses this module
//! declares `mod common;` too.

// Each test crate uses the checks it needs.
#![allow(dead_code)]

use crate::common;

/// One run of `chaoslab`: its exit code, stdout and stderr.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// Runs `chaoslab ARGS` from the crate's folder.
#[must_use = "a run is checked by its exit code and what it printed: `.exits(0)`"]
pub fn chaoslab(args: &[&str]) -> Ran {
    Ran::from(common::chaoslab(args))
}

impl From<(i32, String, String)> for Ran {
    fn from((code, out, err): (i32, String, String)) -> Ran {
        Ran { code, out, err }
    }
}

impl Ran {
    /// Checks the exit code.
    #[track_caller]
    pub fn exits(self, code: i32) -> Ran {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.out, self.err
        );
        self
    }

    /// Checks that stdout holds `text`.
    #[track_caller]
    pub fn prints(self, text: &str) -> Ran {
        self.check("stdout", text, true)
    }

    /// Checks that stdout does not hold `text`.
    #[track_caller]
    pub fn never_prints(self, text: &str) -> Ran {
        self.check("stdout", text, false)
    }

    /// Checks that stderr holds `text`.
    #[track_caller]
    pub fn warns(self, text: &str) -> Ran {
        self.check("stderr", text, true)
    }

    /// Checks whether `stream` holds `text`, showing the stream when not as
    /// `wanted`.
    #[track_caller]
    fn check(self, stream: &str, text: &str, wanted: bool) -> Ran {
        let seen = if stream == "stderr" {
            &self.err
        } else {
            &self.out
        };
        let verb = if wanted { "lacks" } else { "holds" };
        assert_eq!(
            seen.contains(text),
            wanted,
            "{stream} {verb} {text:?}:\n{seen}"
        );
        self
    }
}
