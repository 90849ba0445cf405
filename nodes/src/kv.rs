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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kv {
    data: BTreeMap<String, Value>,
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

    /// Sets `key` to `value`. The key is copied only when it is new: most
    /// writes go to a key already there.
    fn set(&mut self, key: &str, value: Value) {
        match self.data.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                self.data.insert(key.to_string(), value);
            }
        }
    }

    /// Applies `f` to `key`. Each operation looks the key up once, and
    /// changes the value where it lies: an append pushes onto the stored
    /// list instead of copying it (a long list would be copied at every
    /// append), with the result `append_value` gives.
    pub fn apply(&mut self, key: &str, f: &OpFn) -> Applied {
        let took_effect = match f {
            OpFn::Read => {
                return Applied {
                    took_effect: true,
                    output: Some(self.get(key)),
                }
            }
            OpFn::Write(v) => {
                self.set(key, v.clone());
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
                    self.data.insert(key.to_string(), new.clone());
                    true
                }
                None => false,
            },
            OpFn::Append(v) => {
                match self.data.get_mut(key) {
                    Some(slot) => append_in_place(slot, v),
                    None => {
                        self.data
                            .insert(key.to_string(), append_value(&Value::Nil, v));
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
