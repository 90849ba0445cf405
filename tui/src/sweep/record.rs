//! Shard files: a sweep's results as JSON Lines (`sweep --out FILE`), read
//! back by `sweep merge`.
//!
//! The first line is a [`Header`]: the program, version and build, the scenario (as
//! the sweep named it, its `[meta] name`, a hash of its text and the text
//! itself), the seed range, the shard and the budget flags. Each further line
//! is one seed's result ([`Outcome`]), in seed order. A file holds nothing
//! that varies between runs: the same sweep writes the same bytes.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::report::Outcome;
use super::shard::Shard;

/// The file format's version, the header's `chaoslab_sweep`. 2: the scenario and
/// build hashes are the run fingerprint's hash (1 used FNV-1a).
pub const FORMAT: u32 = 2;

/// A shard file's first line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The file format's version ([`FORMAT`]); names the file's kind too.
    pub chaoslab_sweep: u32,
    /// The program that swept (its name as run) and its version.
    pub program: String,
    pub version: String,
    /// The build that swept: a hash of the program's executable file
    /// ([`build_id`]). A seed's run is only promised to be the same for the
    /// same build, so shards of different builds are not merged.
    pub build: String,
    /// The scenario as the sweep was given it: a path or a registry name.
    /// The merged report's replay commands name it so.
    pub scenario: String,
    /// Its `[meta] name`.
    pub name: String,
    /// A hash of its text ([`text_hash`], hex): shards of scenarios whose text
    /// differs in any byte are not merged.
    pub scenario_hash: String,
    /// The seed range of the whole sweep, inclusive.
    pub first: u64,
    pub last: u64,
    /// This file's shard (0-based) and the shard count; `0` of `1` for a
    /// whole sweep.
    pub shard: u64,
    pub shards: u64,
    /// The budget flags the sweep was given (`--check-max-steps`,
    /// `--check-max-memory` in bytes); `null` when not given.
    pub check_max_steps: Option<u64>,
    pub check_max_memory: Option<u64>,
    /// The scenario's text, so that a merge needs no copy of the file.
    pub source: String,
}

impl Header {
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.shard,
            count: self.shards,
        }
    }
}

/// This program's build, as a header names it: `exe-` and the hash
/// ([`text_hash`]'s) of its executable file, or `unknown` where the file
/// cannot be read.
pub fn build_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        std::env::current_exe()
            .and_then(std::fs::read)
            .map(|bytes| format!("exe-{}", bytes_hash(&bytes)))
            .unwrap_or_else(|_| "unknown".into())
    })
    .clone()
}

/// A scenario text's hash, as the header gives it: the run fingerprint's
/// 64-bit hash ([`sim::trace::Fingerprint`]), not `std::hash`, whose output
/// may change between Rust versions: shards built by different toolchains
/// must agree.
pub fn text_hash(text: &str) -> String {
    bytes_hash(text.as_bytes())
}

fn bytes_hash(bytes: &[u8]) -> String {
    let mut h = sim::trace::Fingerprint::default();
    h.bytes(bytes);
    h.hex()
}

/// Writes a shard file as the sweep goes: seeds finish out of order on the
/// worker threads, and each is written once every seed of the shard before it
/// is, so the file is in seed order and a shard cut short holds a prefix.
pub struct Writer {
    out: Box<dyn Write + Send>,
    /// Where it writes, for errors.
    pub name: String,
    /// For a file: (the part file written, the file it becomes when done).
    rename: Option<(String, String)>,
    first: u64,
    shard: Shard,
    /// The range index of the next seed to write.
    next: u64,
    /// Finished seeds waiting for an earlier one, by range index.
    pending: BTreeMap<u64, String>,
    /// The first write error; later writes are skipped.
    pub error: Option<std::io::Error>,
}

impl Writer {
    /// A writer to `out` (named `name`) that has written `header`.
    pub fn new(out: Box<dyn Write + Send>, name: String, header: &Header) -> Writer {
        let mut w = Writer {
            out,
            name,
            rename: None,
            first: header.first,
            shard: header.shard(),
            next: header.shard,
            pending: BTreeMap::new(),
            error: None,
        };
        let line = serde_json::to_string(header).expect("a header serializes");
        w.line(&line);
        w
    }

    fn line(&mut self, line: &str) {
        if self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{line}") {
                self.error = Some(e);
            }
        }
    }

    /// A writer to the file `path`, through `PATH.part`: the file appears
    /// whole when the sweep is done, so a shard that was stopped (a killed
    /// pod, a second pod for the same index) never leaves a file that looks
    /// like a shard.
    pub fn to_file(path: &str, header: &Header) -> Result<Writer, String> {
        let part = format!("{path}.part");
        let file = std::fs::File::create(&part)
            .map_err(|e| format!("error: cannot write {part} (for --out {path}): {e}"))?;
        let mut w = Writer::new(
            Box::new(std::io::BufWriter::new(file)),
            path.to_string(),
            header,
        );
        w.rename = Some((part, path.to_string()));
        Ok(w)
    }

    /// Takes one finished seed; writes it and any it was holding back.
    pub fn push(&mut self, o: &Outcome) {
        let line = serde_json::to_string(o).expect("a seed line serializes");
        self.pending.insert(o.seed - self.first, line);
        while let Some(line) = self.pending.remove(&self.next) {
            self.line(&line);
            self.next += self.shard.count;
        }
    }

    /// Flushes what is written; the first error met, if any.
    pub fn finish(mut self) -> Result<(), String> {
        debug_assert!(
            self.pending.is_empty(),
            "every seed before the last is written"
        );
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        drop(self.out);
        if let (None, Some((part, path))) = (&self.error, &self.rename) {
            if let Err(e) = std::fs::rename(part, path) {
                return Err(format!("error: cannot move {part} to {path}: {e}"));
            }
        }
        match self.error {
            None => Ok(()),
            Some(e) => Err(format!(
                "error: cannot write {}: {e}{}",
                self.name,
                match &self.rename {
                    Some((part, _)) => format!(" (what was written is in {part})"),
                    None => String::new(),
                }
            )),
        }
    }
}

/// One shard file as read: its header and its seeds with their line numbers.
pub struct ShardFile {
    pub path: String,
    pub header: Header,
    pub seeds: Vec<(usize, Outcome)>,
}

/// Reads the shard file at `path`; a bad file is an error that names it, the
/// line and what was wrong.
pub fn read(path: &str) -> Result<ShardFile, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("error: cannot read {path}: {e}"))?;
    let mut reader = std::io::BufReader::new(file);
    let mut header: Option<Header> = None;
    let mut seeds = Vec::new();
    let mut buf = String::new();
    let mut number = 0;
    loop {
        buf.clear();
        let n = reader
            .read_line(&mut buf)
            .map_err(|e| format!("error: cannot read {path}:{}: {e}", number + 1))?;
        if n == 0 {
            break;
        }
        number += 1;
        let cut = !buf.ends_with('\n');
        let line = buf.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{path}:{number}");
        let cut_note = if cut {
            "; the file ends in the middle of this line: the shard was stopped while \
             writing, run it again"
        } else {
            ""
        };
        match &header {
            None => {
                // The format first: a file of another format is named as
                // such, not as a header with unknown fields.
                let format = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("chaoslab_sweep").and_then(|f| f.as_u64()));
                if let Some(f) = format.filter(|&f| f != u64::from(FORMAT)) {
                    return Err(format!(
                        "error: {at}: a sweep file of format {f}, and this program reads format {FORMAT}"
                    ));
                }
                let h: Header = serde_json::from_str(line).map_err(|e| {
                    format!(
                        "error: {at}: not a sweep header ({}){cut_note}; a shard file starts \
                         with the line `{{\"chaoslab_sweep\": {FORMAT}, ...}}` that \
                         `sweep --out FILE` writes",
                        json_error(&e)
                    )
                })?;
                check_header(&at, &h)?;
                header = Some(h);
            }
            Some(h) => {
                let l: Outcome = serde_json::from_str(line).map_err(|e| {
                    format!(
                        "error: {at}: not a seed's result ({}){cut_note}",
                        json_error(&e)
                    )
                })?;
                if l.seed < h.first || l.seed > h.last {
                    return Err(format!(
                        "error: {at}: seed {} is outside the sweep's range {}..{}",
                        l.seed, h.first, h.last
                    ));
                }
                if !h.shard().holds(h.first, l.seed) {
                    return Err(format!(
                        "error: {at}: seed {} is not one of shard {}'s seeds ({})",
                        l.seed,
                        h.shard(),
                        h.shard().describe(h.first, h.last)
                    ));
                }
                seeds.push((number, l));
            }
        }
    }
    let header = header.ok_or_else(|| {
        format!("error: {path}: empty; a shard file starts with the header that `sweep --out FILE` writes")
    })?;
    Ok(ShardFile {
        path: path.to_string(),
        header,
        seeds,
    })
}

/// A JSON error in words, at its column: the line is the file's, not the
/// error's own "line 1".
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(w, _)| w);
    format!("{what}, at column {}", e.column())
}

/// What a header must say of itself to be used.
fn check_header(at: &str, h: &Header) -> Result<(), String> {
    if h.shards > super::shard::MAX_SHARDS {
        return Err(format!(
            "error: {at}: {} shards; a sweep is split into at most {}",
            h.shards,
            super::shard::MAX_SHARDS
        ));
    }
    if h.shards == 0 || h.shard >= h.shards {
        return Err(format!(
            "error: {at}: shard {} of {}: shards are counted from 0 and must be below the count",
            h.shard, h.shards
        ));
    }
    if h.first > h.last || h.last - h.first >= 1_000_000 {
        return Err(format!(
            "error: {at}: the seed range {}..{} is empty or longer than a million seeds",
            h.first, h.last
        ));
    }
    if text_hash(&h.source) != h.scenario_hash {
        return Err(format!(
            "error: {at}: the scenario's text does not match its hash {}: the file was edited \
             or damaged",
            h.scenario_hash
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_hash_is_pinned_and_sees_every_byte() {
        // Pinned: shards written by another build of this version must agree.
        assert_eq!(text_hash(""), "098f3af4374fd9ad");
        assert_eq!(text_hash("foobar"), "321d41b832229ecb");
        // A changed byte, a trailing zero byte, a longer text: all differ.
        let base = text_hash("[meta]\nname = \"a\"\n");
        for other in [
            "[meta]\nname = \"b\"\n",
            "[meta]\nname = \"a\"\n\0",
            "[meta]\nname = \"a\"\n\n",
            "[meta]\nname = \"a\"\n",
        ] {
            assert_eq!(text_hash(other) == base, other == "[meta]\nname = \"a\"\n");
        }
    }
}
