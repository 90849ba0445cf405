//! The trace: every event of a run with its virtual time, and its fingerprint.
//!
//! The fingerprint is computed for every run, recorded or not, from the same
//! stable fields that the JSON Lines trace holds (times, node indexes, message
//! ids and kinds, fault descriptions, outcomes), so two runs with the same
//! fingerprint made the same moves. The hash is written out by hand (no
//! `std::hash::Hash`, whose output may change between Rust versions).

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::time::Nanos;

/// One trace record. `node`/`from`/`to` are node names (shared, so a long
/// trace does not hold a copy of a name per event).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceRecord {
    /// Virtual time in nanoseconds.
    pub t: Nanos,
    #[serde(flatten)]
    pub event: TraceEvent,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TraceEvent {
    Send {
        from: Arc<str>,
        to: Arc<str>,
        id: u64,
        msg: &'static str,
        detail: String,
    },
    Deliver {
        from: Arc<str>,
        to: Arc<str>,
        id: u64,
        msg: &'static str,
    },
    Drop {
        from: Arc<str>,
        to: Arc<str>,
        id: u64,
        msg: &'static str,
        reason: &'static str,
    },
    /// A message held on a clogged link or for a paused node.
    Hold {
        from: Arc<str>,
        to: Arc<str>,
        id: u64,
        msg: &'static str,
        reason: &'static str,
    },
    Timer {
        node: Arc<str>,
        timer: u64,
    },
    Fault {
        action: &'static str,
        description: String,
        /// The `[[faults]]` entry's line, or 0 for the nemesis.
        line: usize,
    },
    Invoke {
        node: Arc<str>,
        op: u64,
        description: String,
    },
    Complete {
        node: Arc<str>,
        op: u64,
        outcome: &'static str,
        output: String,
        /// A cas that found another value (`fail`, and an observation): see
        /// [`crate::history::Op::found_other`]. Written only when true.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        found_other: bool,
    },
    Role {
        node: Arc<str>,
        from: &'static str,
        to: &'static str,
    },
    Violation {
        invariant: &'static str,
        detail: String,
    },
    /// A node reported a protocol event (`ctx.note`).
    Note {
        node: Arc<str>,
        note: &'static str,
    },
    /// A `[[faults]]` entry's trigger matched: `when` is the trigger as the
    /// scenario writes it, `event` the event that matched it; the fault
    /// follows `delay` nanoseconds later (its own `fault` record). A trigger
    /// that never fired is recorded at the end of the run with `event`
    /// "never fired" (`matched` counts the events that matched it).
    Trigger {
        line: usize,
        when: String,
        event: String,
        matched: u64,
        delay: Nanos,
    },
}

/// Where a run's trace records go, one at a time, as the kernel makes them.
///
/// A sink that writes records out (such as [`JsonLines`]) keeps memory
/// bounded whatever the length of the run; the `Vec` sink keeps every record,
/// for tests and for the TUI, which steps through them.
pub trait TraceSink: Send {
    fn record(&mut self, record: TraceRecord);

    /// The records kept so far (empty for a sink that writes them out).
    fn kept(&self) -> &[TraceRecord] {
        &[]
    }

    /// Called once, when the run ends: flushes what is buffered, and returns
    /// the first error met while writing (a sink that failed writes nothing
    /// after its error, and the run goes on to its end).
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The records kept, taken out at the end of the run (`None` for a sink
    /// that writes them out).
    fn take_kept(&mut self) -> Option<Vec<TraceRecord>> {
        None
    }
}

impl TraceSink for Vec<TraceRecord> {
    fn record(&mut self, record: TraceRecord) {
        self.push(record);
    }

    fn kept(&self) -> &[TraceRecord] {
        self
    }

    fn take_kept(&mut self) -> Option<Vec<TraceRecord>> {
        Some(std::mem::take(self))
    }
}

/// Writes each record as one line of JSON (docs/trace.md) as it comes: what
/// `chaoslab run --trace FILE` does. Give it a buffered writer.
pub struct JsonLines<W: Write + Send> {
    out: W,
    error: Option<io::Error>,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out, error: None }
    }

    /// The writer, once the run is over (for a test that wrote to memory).
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> TraceSink for JsonLines<W> {
    fn record(&mut self, record: TraceRecord) {
        if self.error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, &record)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

/// A stable 64-bit hash over the run's events.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    #[inline]
    pub fn u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        // The last 0 to 7 bytes, little-endian, zeros after: read byte by
        // byte (a copy of a length known only here is a call to `memcpy`,
        // and every message sent has its kind's name mixed in).
        let mut tail = 0u64;
        for (k, byte) in chunks.remainder().iter().enumerate() {
            tail |= u64::from(*byte) << (8 * k);
        }
        self.u64(tail ^ (b.len() as u64) << 56);
    }

    pub fn value(&self) -> u64 {
        self.0
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then fails as a full disk does.
    struct Full {
        room: usize,
        written: Vec<u8>,
        flushed: bool,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::other("no space left"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushed = true;
            Ok(())
        }
    }

    fn timer(t: Nanos) -> TraceRecord {
        TraceRecord {
            t,
            event: TraceEvent::Timer {
                node: "n1".into(),
                timer: 7,
            },
        }
    }

    #[test]
    fn json_lines_writes_one_record_a_line_and_flushes_at_the_end() {
        let mut sink = JsonLines::new(Full {
            room: usize::MAX,
            written: Vec::new(),
            flushed: false,
        });
        sink.record(timer(1));
        sink.record(timer(2));
        sink.finish().unwrap();
        let out = sink.into_inner();
        assert!(out.flushed);
        assert_eq!(
            String::from_utf8(out.written).unwrap(),
            "{\"t\":1,\"kind\":\"timer\",\"node\":\"n1\",\"timer\":7}\n\
             {\"t\":2,\"kind\":\"timer\",\"node\":\"n1\",\"timer\":7}\n"
        );
    }

    #[test]
    fn json_lines_keeps_its_first_error_writes_nothing_after_it_and_reports_it_at_the_end() {
        let mut sink = JsonLines::new(Full {
            room: 60,
            written: Vec::new(),
            flushed: false,
        });
        for t in 0..10 {
            sink.record(timer(t));
        }
        let err = sink.finish().unwrap_err();
        assert!(err.to_string().contains("no space left"), "{err}");
        let out = sink.into_inner();
        assert_eq!(out.written.len(), 60);
        assert!(!out.flushed, "a failed sink is not flushed");
    }

    #[test]
    fn the_vec_sink_keeps_every_record_and_hands_them_over() {
        let mut sink: Vec<TraceRecord> = Vec::new();
        sink.record(timer(1));
        assert_eq!(sink.kept().len(), 1);
        assert!(sink.finish().is_ok());
        assert_eq!(sink.take_kept(), Some(vec![timer(1)]));
    }
}
