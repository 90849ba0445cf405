//! Virtual time: integer nanoseconds, and the `"150ms"` / `"2s"` duration syntax
//! scenario files use.

/// A point in virtual time, or a duration, in nanoseconds.
pub type Nanos = u64;

pub const NANOS_PER_MICRO: Nanos = 1_000;
pub const NANOS_PER_MILLI: Nanos = 1_000_000;
pub const NANOS_PER_SEC: Nanos = 1_000_000_000;

/// Milliseconds to nanoseconds (for readable protocol constants).
pub const fn ms(n: u64) -> Nanos {
    n * NANOS_PER_MILLI
}

/// Seconds to nanoseconds.
pub const fn secs(n: u64) -> Nanos {
    n * NANOS_PER_SEC
}

/// Parses a duration such as `"150ms"`, `"2s"`, `"1.5s"`, `"250us"`, `"10ns"`,
/// `"2m"` or `"0"`. The error says what would be valid.
pub fn parse_duration(text: &str) -> Result<Nanos, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(0);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| {
            format!(
                "`{text}` has no unit: write e.g. \"150ms\" or \"2s\" (units: ns, us, ms, s, m, h)"
            )
        })?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "`{text}` does not start with a number: write e.g. \"150ms\" or \"2s\""
        ));
    }
    let scale: f64 = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        other => {
            return Err(format!(
                "`{text}` has unknown unit `{other}`: valid units are ns, us, ms, s, m, h"
            ))
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number: write e.g. \"150ms\""))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{text}` must be a non-negative duration"));
    }
    let nanos = value * scale;
    if nanos > 1e18 {
        return Err(format!("`{text}` is too long: at most about 31 years"));
    }
    Ok(nanos.round() as Nanos)
}

/// Formats a duration or instant for people: `1.250s`, `12.5ms`, `800us`, `0s`.
pub fn fmt_duration(ns: Nanos) -> String {
    if ns == 0 {
        "0s".to_string()
    } else if ns >= NANOS_PER_SEC {
        trim_zeros(format!("{:.3}", ns as f64 / 1e9)) + "s"
    } else if ns >= NANOS_PER_MILLI {
        trim_zeros(format!("{:.3}", ns as f64 / 1e6)) + "ms"
    } else if ns >= NANOS_PER_MICRO {
        trim_zeros(format!("{:.3}", ns as f64 / 1e3)) + "us"
    } else {
        format!("{ns}ns")
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// serde helpers so scenario structs can hold `Nanos` written as `"150ms"`.
pub mod serde_duration {
    use super::*;
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(de::Error::custom)
    }

    pub fn serialize<S: Serializer>(v: &Nanos, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_duration(*v))
    }

    pub mod option {
        use super::*;
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Nanos>, D::Error> {
            let s = String::deserialize(d)?;
            parse_duration(&s).map(Some).map_err(de::Error::custom)
        }
        pub fn serialize<S: Serializer>(v: &Option<Nanos>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_str(&fmt_duration(*v)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("150ms"), Ok(150 * NANOS_PER_MILLI));
        assert_eq!(parse_duration("2s"), Ok(2 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1.5s"), Ok(1_500 * NANOS_PER_MILLI));
        assert_eq!(parse_duration("250us"), Ok(250 * NANOS_PER_MICRO));
        assert_eq!(parse_duration("10ns"), Ok(10));
        assert_eq!(parse_duration("2m"), Ok(120 * NANOS_PER_SEC));
        assert_eq!(parse_duration("0"), Ok(0));
    }

    #[test]
    fn bad_durations_say_what_would_be_valid() {
        assert!(parse_duration("150").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 parsecs")
            .unwrap_err()
            .contains("valid units"));
        assert!(parse_duration("ms").unwrap_err().contains("number"));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn durations_format_for_people() {
        assert_eq!(fmt_duration(0), "0s");
        assert_eq!(fmt_duration(1_250 * NANOS_PER_MILLI), "1.25s");
        assert_eq!(fmt_duration(12_500 * NANOS_PER_MICRO), "12.5ms");
        assert_eq!(fmt_duration(800 * NANOS_PER_MICRO), "800us");
        assert_eq!(fmt_duration(7), "7ns");
    }
}
