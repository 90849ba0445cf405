//! Where a value is written in the TOML text, for errors that point at it.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

/// A TOML value with the span of every value in it, so a nested field
/// (`joins[1].at`) can be named by line in an error.
pub(super) enum SpanTree {
    Table(Vec<(String, Spanned<SpanTree>)>),
    Array(Vec<Spanned<SpanTree>>),
    Str(String),
    Other,
}

impl SpanTree {
    /// Every string at `path` below this value, with its label and span;
    /// arrays are walked element by element.
    pub(super) fn find(
        &self,
        path: &[&str],
        label: &str,
        out: &mut Vec<(String, String, Range<usize>)>,
    ) {
        match self {
            SpanTree::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let label = format!("{}[{i}]", label.trim_end_matches('.'));
                    find_in(item, path, &format!("{label}."), out);
                }
            }
            SpanTree::Table(entries) => {
                let Some((first, rest)) = path.split_first() else {
                    return;
                };
                for (k, v) in entries {
                    if k == first {
                        find_in(v, rest, &format!("{label}{k}."), out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn find_in(
    v: &Spanned<SpanTree>,
    path: &[&str],
    label: &str,
    out: &mut Vec<(String, String, Range<usize>)>,
) {
    match (v.get_ref(), path.is_empty()) {
        (SpanTree::Str(text), true) => out.push((
            label.trim_end_matches('.').to_string(),
            text.clone(),
            v.span(),
        )),
        (SpanTree::Array(_), _) | (_, false) => v.get_ref().find(path, label, out),
        _ => {}
    }
}

impl<'de> Deserialize<'de> for SpanTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SpanTree;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_str<E>(self, v: &str) -> Result<SpanTree, E> {
                Ok(SpanTree::Str(v.to_string()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<SpanTree, E> {
                Ok(SpanTree::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<SpanTree, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element::<Spanned<SpanTree>>()? {
                    items.push(x);
                }
                Ok(SpanTree::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<SpanTree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key::<String>()? {
                    entries.push((k, a.next_value::<Spanned<SpanTree>>()?));
                }
                Ok(SpanTree::Table(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The span of `key = "value"` 's value, found textually (for values read out
/// of a raw table, which carry no span of their own).
pub(super) fn find_value_span(src: &str, key: &str, value: &str) -> Option<Range<usize>> {
    let needle = format!("\"{value}\"");
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(key) {
            if let Some(i) = line.find(&needle) {
                let start = offset + i + 1;
                return Some(start..start + value.len());
            }
        }
        offset += line.len();
    }
    None
}

/// Where `key = ...` is written inside table `section` (`"workload"`,
/// `"system"`, `"network.region_latency"`), for errors about values that were
/// read without a span of their own. The first match wins.
pub fn key_span(src: &str, section: &str, key: &str) -> Option<Range<usize>> {
    let mut offset = 0;
    let mut current = String::new();
    for line in src.split_inclusive('\n') {
        let lead = line.len() - line.trim_start().len();
        let rest = &line[lead..];
        if rest.starts_with('[') {
            current = rest
                .trim_end()
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        } else if current == section
            && rest.starts_with(key)
            && rest[key.len()..].trim_start().starts_with('=')
        {
            return Some(offset + lead..offset + lead + key.len());
        }
        offset += line.len();
    }
    None
}
