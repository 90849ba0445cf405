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

    pub fn apply(&mut self, key: &str, f: &OpFn) -> Applied {
        match f {
            OpFn::Read => Applied {
                took_effect: true,
                output: Some(self.get(key)),
            },
            OpFn::Write(v) => {
                self.set(key, v.clone());
                Applied {
                    took_effect: true,
                    output: None,
                }
            }
            OpFn::Cas { expected, new } => {
                let ok = self.get(key) == *expected;
                if ok {
                    self.set(key, new.clone());
                }
                Applied {
                    took_effect: ok,
                    output: None,
                }
            }
            OpFn::Append(v) => {
                let now = append_value(self.data.get(key).unwrap_or(&Value::Nil), v);
                self.set(key, now);
                Applied {
                    took_effect: true,
                    output: None,
                }
            }
            OpFn::Delete => {
                self.data.remove(key);
                Applied {
                    took_effect: true,
                    output: None,
                }
            }
        }
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
    fn appends_build_a_list_and_delete_resets_to_nil() {
        let mut kv = Kv::default();
        kv.apply("k", &OpFn::Append(Value::Int(1)));
        kv.apply("k", &OpFn::Append(Value::Int(2)));
        assert_eq!(kv.get("k"), Value::List(vec![1, 2]));
        kv.apply("k", &OpFn::Delete);
        assert_eq!(kv.apply("k", &OpFn::Read).output, Some(Value::Nil));
    }
}
