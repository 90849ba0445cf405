//! The `chaoslab` binary's library half: scenario loading and the terminal UI,
//! kept in a library so integration tests can drive the UI on a test backend.

#[cfg(feature = "madsim")]
pub mod driver;
pub mod scenarios;
pub mod tui;

/// Exit codes, documented in `chaoslab --help` and the README.
pub mod exit {
    /// The hypothesis held (and every invariant not expected to break held).
    pub const PASS: i32 = 0;
    /// The hypothesis did not hold, or an invariant broke.
    pub const FAIL: i32 = 1;
    /// Bad input: a scenario, history or flag that cannot be used.
    pub const BAD_INPUT: i32 = 2;
}
