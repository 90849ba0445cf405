//! The error a user's scenario file can cause, and the helpers its messages use.

use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// A user-facing error in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The source line the error points at, and the caret under it.
    pub excerpt: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.excerpt.is_empty() {
            write!(f, "\n{}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error at byte range `span` of `src`.
    pub fn at(file: &str, src: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = src[..start].matches('\n').count() + 1;
        let column = src[line_start..start].chars().count() + 1;
        let text = &src[line_start..line_end];
        let width = src[start..span.end.clamp(start, line_end)]
            .chars()
            .count()
            .max(1);
        let gutter = line.to_string().len();
        let excerpt = format!(
            "{:gutter$} |\n{line} | {text}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(column - 1),
            "^".repeat(width),
        );
        ScenarioError {
            file: file.to_string(),
            line,
            column,
            excerpt,
            message: message.into(),
        }
    }

    pub(super) fn from_toml(file: &str, src: &str, e: toml::de::Error) -> Self {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => Self::at(file, src, span, message),
            None => ScenarioError {
                file: file.to_string(),
                line: 1,
                column: 1,
                excerpt: String::new(),
                message,
            },
        }
    }
}

pub(super) fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `v` when it is one of `valid`; otherwise the message that says so and
/// lists what is valid: "{unknown} `v`: {valid_are} "a", "b"".
pub(super) fn known<'v>(
    v: &'v Spanned<String>,
    valid: &[&str],
    unknown: &str,
    valid_are: &str,
) -> Result<&'v str, String> {
    let s = v.get_ref().as_str();
    if valid.contains(&s) {
        Ok(s)
    } else {
        Err(format!(
            "{unknown} `{s}`: {valid_are} {}",
            quoted_or_none(valid)
        ))
    }
}

pub(super) fn quoted_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        quoted(items)
    }
}
