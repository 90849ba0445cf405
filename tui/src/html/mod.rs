//! `chaoslab run SCENARIO --html FILE`: one self-contained HTML page of a
//! run (docs/html.md): the report, a Lamport diagram of the messages, the
//! history per client, and figures over time. Everything is inline (the
//! data as JSON, the script, the style), so the file opens anywhere, with
//! no network.
//!
//! The picture is collected from the trace as the run goes ([`collect`]),
//! bounded whatever the run's length; the page is written when the run is
//! over, with its report. The same scenario and seed give the same file,
//! byte for byte.

mod collect;
mod page;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sim::kernel::TraceMode;

pub use collect::{Collected, Window, BUCKETS, MAX_MARKS, MAX_MESSAGES, MAX_OPS};

/// The flags of `run` for the HTML report.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HtmlArgs {
    /// Also write the run as one self-contained HTML page: the report, a
    /// Lamport diagram of the messages (zoom, filter by node and time), the
    /// history per client and figures over time. Opens in any browser, with
    /// no network. See docs/html.md.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Show only this part of the run in the HTML page, FROM..TO in virtual
    /// time: `--html-window 4s..6s` (also `4s..`, `..500ms`). The page holds
    /// at most 20000 messages and 20000 operations; a window shows another
    /// part of a long run.
    #[arg(long, value_name = "FROM..TO", requires = "html")]
    pub html_window: Option<String>,
}

/// An HTML report asked for: its file (checked writable before the run) and
/// the picture the run fills.
pub struct Html {
    path: PathBuf,
    picture: Option<Arc<Mutex<Collected>>>,
    window: Window,
}

impl Html {
    /// `None` without `--html`; an error (to print, exit 2) for a window
    /// that does not parse or a file that cannot be written, before the run.
    /// Nothing is written here: a file this check had to make is removed
    /// again, and one that existed keeps its bytes, so that a run refused
    /// later (another output's check) leaves the page's file as it was.
    /// [`Html::create`] empties it once every output was accepted.
    pub fn prepare(args: &HtmlArgs) -> Result<Option<Html>, String> {
        let Some(path) = &args.html else {
            return Ok(None);
        };
        let window = match args.html_window.as_deref() {
            Some(text) => Window::parse(text)?,
            None => Window::ALL,
        };
        let existed = std::fs::symlink_metadata(path).is_ok();
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| cannot_write(path, &e))?;
        if !existed {
            let _ = std::fs::remove_file(path);
        }
        Ok(Some(Html {
            path: path.clone(),
            picture: None,
            window,
        }))
    }

    /// Creates (empties) the page's file, once every other output was
    /// accepted and created: an error here is one before the run.
    pub fn create(&self) -> Result<(), String> {
        std::fs::File::create(&self.path)
            .map(drop)
            .map_err(|e| cannot_write(&self.path, &e))
    }

    /// The trace mode that also feeds the picture: `mode`'s sink, if any,
    /// gets every record as before.
    pub fn wrap(&mut self, mode: TraceMode) -> TraceMode {
        let (collector, picture) = collect::Collector::new(self.window);
        self.picture = Some(picture);
        match mode {
            TraceMode::Stream(first) => {
                TraceMode::Stream(Box::new(collect::Tee { first, collector }))
            }
            // Record keeps every record for the caller: a run with `--html`
            // streams instead, and nothing in `run` reads a recorded trace.
            TraceMode::Off | TraceMode::Record => TraceMode::Stream(Box::new(collector)),
        }
    }

    /// Writes the page; the error names the file.
    pub fn write(
        &self,
        report: &sim::report::Report,
        out: &sim::kernel::RunOutput,
    ) -> Result<(), String> {
        let empty = Arc::new(Mutex::new(Collected::default()));
        let picture = self.picture.as_ref().unwrap_or(&empty);
        let picture = picture.lock().expect("the run is over");
        let text = page::page(report, out, &picture, self.window);
        std::fs::write(&self.path, text).map_err(|e| cannot_write(&self.path, &e))
    }
}

fn cannot_write(path: &std::path::Path, e: &std::io::Error) -> String {
    format!(
        "error: cannot write the HTML report to {}: {e}",
        path.display()
    )
}
