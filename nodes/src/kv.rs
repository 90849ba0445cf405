//! The key-value state machine that every replicated store in this crate
//! applies: get, put, compare-and-set, append and delete over `history::Value`s.
//! Appends follow the checker's kv model (`sim::check::model::append_value`),
//! so the store and the model that judges it agree by construction.

use std::collections::BTreeMap;

use sim::check::model::append_value;
use sim::history::{OpFn, Value};

/// What applying one operation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// False when a cas found another value: the operation had no effect.
    pub took_effect: bool,
    /// What a read returned.
    pub output: Option<Value>,
}

/// A key as the store orders it: by its text, exactly as a `String`
/// orders, with the text's first eight bytes kept beside it as one number.
/// Two keys whose first eight bytes differ are ordered by those numbers
/// alone, the text compared only when they are equal: a look-up walks the
/// tree comparing numbers and reads text once, at the key it finds (a text
/// comparison at every level was a tenth of a key-value run).
///
/// The order is the text's: where the heads differ, the first byte that
/// differs lies in the first eight of both texts, or one text ended before
/// it (and reads as zero there, below the other's byte, which cannot be a
/// zero: heads equal on that prefix would be equal there too).
#[derive(Clone, Default, PartialEq, Eq)]
struct Key {
    head: u64,
    text: String,
}

impl Key {
    #[cfg(test)]
    fn new(text: &str) -> Key {
        Key {
            head: head(text),
            text: text.to_string(),
        }
    }

    /// Makes this the key `text`, reusing its buffer.
    fn set(&mut self, text: &str) {
        self.head = head(text);
        self.text.clear();
        self.text.push_str(text);
    }
}

/// The first eight bytes of `text`, big-endian, zeros past its end.
#[inline]
fn head(text: &str) -> u64 {
    let mut h = [0u8; 8];
    for (to, from) in h.iter_mut().zip(text.as_bytes()) {
        *to = *from;
    }
    u64::from_be_bytes(h)
}

impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.head
            .cmp(&other.head)
            .then_with(|| self.text.cmp(&other.text))
    }
}

/// A key looked up by its text: the order is the text's (see [`Key`]), so
/// the tree may compare a `str` with its keys.
impl std::borrow::Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl PartialOrd for Key {
    #[inline]
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Clone, Default)]
pub struct Kv {
    data: BTreeMap<Key, Value>,
    /// A key to look up by, its buffer reused (not part of the store).
    probe: Key,
}

impl PartialEq for Kv {
    fn eq(&self, other: &Kv) -> bool {
        self.data == other.data
    }
}

impl Eq for Kv {}

/// Shown as a map of key text to value, as a `BTreeMap<String, Value>`
/// shows (an explored state's hash is made from what a node shows).
impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Data<'a>(&'a BTreeMap<Key, Value>);
        impl std::fmt::Debug for Data<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, v)| (&k.text, v)))
                    .finish()
            }
        }
        f.debug_struct("Kv")
            .field("data", &Data(&self.data))
            .finish()
    }
}

impl Kv {
    pub fn get(&self, key: &str) -> Value {
        self.data.get(key).cloned().unwrap_or(Value::Nil)
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Applies `f` to `key`. Each operation looks the key up once, and
    /// changes the value where it lies: an append pushes onto the stored
    /// list instead of copying it (a long list would be copied at every
    /// append), with the result `append_value` gives. The key is copied
    /// into the store only when it is new: most writes go to a key already
    /// there.
    pub fn apply(&mut self, key: &str, f: &OpFn) -> Applied {
        let mut probe = std::mem::take(&mut self.probe);
        probe.set(key);
        let applied = self.apply_at(&probe, f);
        self.probe = probe;
        applied
    }

    fn apply_at(&mut self, key: &Key, f: &OpFn) -> Applied {
        let took_effect = match f {
            OpFn::Read => {
                return Applied {
                    took_effect: true,
                    output: Some(self.data.get(key).cloned().unwrap_or(Value::Nil)),
                }
            }
            OpFn::Write(v) => {
                match self.data.get_mut(key) {
                    Some(slot) => *slot = v.clone(),
                    None => {
                        self.data.insert(key.clone(), v.clone());
                    }
                }
                true
            }
            OpFn::Cas { expected, new } => match self.data.get_mut(key) {
                Some(slot) if *slot == *expected => {
                    *slot = new.clone();
                    true
                }
                Some(_) => false,
                // An absent key reads as nil.
                None if *expected == Value::Nil => {
                    self.data.insert(key.clone(), new.clone());
                    true
                }
                None => false,
            },
            OpFn::Append(v) => {
                match self.data.get_mut(key) {
                    Some(slot) => append_in_place(slot, v),
                    None => {
                        self.data.insert(key.clone(), append_value(&Value::Nil, v));
                    }
                }
                true
            }
            OpFn::Delete => {
                self.data.remove(key);
                true
            }
        };
        Applied {
            took_effect,
            output: None,
        }
    }
}

/// `*cur = append_value(cur, x)`, without copying a list or a string that
/// grows by one more element.
fn append_in_place(cur: &mut Value, x: &Value) {
    match (&mut *cur, x) {
        (Value::List(l), Value::Int(i)) => l.push(*i),
        (Value::Str(a), Value::Str(b)) => a.push_str(b),
        _ => *cur = append_value(cur, x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_takes_effect_only_on_the_expected_value() {
        let mut kv = Kv::default();
        kv.apply("k", &OpFn::Write(Value::Int(1)));
        let miss = kv.apply(
            "k",
            &OpFn::Cas {
                expected: Value::Int(2),
                new: Value::Int(3),
            },
        );
        assert!(!miss.took_effect);
        let hit = kv.apply(
            "k",
            &OpFn::Cas {
                expected: Value::Int(1),
                new: Value::Int(3),
            },
        );
        assert!(hit.took_effect);
        assert_eq!(kv.get("k"), Value::Int(3));
    }

    #[test]
    fn appends_in_place_give_what_the_checkers_model_gives() {
        let mut kv = Kv::default();
        let mut model = Value::Nil;
        for x in [
            Value::Str("a".into()),
            Value::Str("bc".into()),
            Value::Int(4),
            Value::Int(5),
            Value::Str("d".into()),
        ] {
            kv.apply("k", &OpFn::Append(x.clone()));
            model = append_value(&model, &x);
            assert_eq!(kv.get("k"), model);
        }
    }

    #[test]
    fn cas_on_an_absent_key_expects_nil() {
        let mut kv = Kv::default();
        let cas = |expected| OpFn::Cas {
            expected,
            new: Value::Int(7),
        };
        assert!(!kv.apply("k", &cas(Value::Int(0))).took_effect);
        assert!(kv.is_empty());
        assert!(kv.apply("k", &cas(Value::Nil)).took_effect);
        assert_eq!(kv.get("k"), Value::Int(7));
    }

    mod shown {
        use super::*;

        /// The store as it was declared before its keys got a head.
        #[derive(Debug)]
        pub struct Kv {
            pub data: BTreeMap<String, Value>,
        }
    }

    /// Keys order as their text does (what the store shows, in key order),
    /// whatever their lengths, shared prefixes and zero bytes.
    #[test]
    fn keys_order_as_their_text() {
        let texts = [
            "",
            "a",
            "a\0",
            "a\0\0",
            "k1",
            "k10",
            "k100",
            "k2",
            "k9",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgha",
            "abcdefg",
            "abcdefgz",
            "z",
            "\u{e9}",
            "\u{ff}x",
            "k\u{e9}",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(Key::new(a).cmp(&Key::new(b)), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(Key::new(a) == Key::new(b), a == b);
            }
        }
        let mut kv = Kv::default();
        let mut model = BTreeMap::new();
        for (n, t) in texts.iter().enumerate().rev() {
            kv.apply(t, &OpFn::Write(Value::Int(n as i64)));
            model.insert(t.to_string(), Value::Int(n as i64));
        }
        // Shown as the store showed when its keys were `String`s.
        let before = shown::Kv { data: model };
        assert_eq!(format!("{kv:?}"), format!("{before:?}"));
        assert_eq!(format!("{kv:#?}"), format!("{before:#?}"));
        assert_eq!(before.data.len(), kv.len());
        for (n, t) in texts.iter().enumerate() {
            assert_eq!(kv.get(t), Value::Int(n as i64));
            assert_eq!(kv.apply(t, &OpFn::Read).output, Some(Value::Int(n as i64)));
        }
    }

    #[test]
    fn appends_build_a_list_and_delete_resets_to_nil() {
        let mut kv = Kv::default();
        kv.apply("k", &OpFn::Append(Value::Int(1)));
        kv.apply("k", &OpFn::Append(Value::Int(2)));
        assert_eq!(kv.get("k"), Value::List(vec![1, 2]));
        kv.apply("k", &OpFn::Delete);
        assert_eq!(kv.apply("k", &OpFn::Read).output, Some(Value::Nil));
    }
}
