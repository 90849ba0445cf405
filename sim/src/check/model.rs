//! Sequential specifications ("models") that the linearizability search replays
//! operations against.
//!
//! A model describes ONE key: the search splits a history per key first
//! (P-compositionality, Herlihy & Wing 1990, §3.3: a history is linearizable iff
//! the sub-history of every object is), so a key-value store is checked as many
//! independent registers. A protocol that needs another object (a queue, a lock)
//! implements [`Model`] for it, and a protocol whose operations are not a
//! key-value store's names its own operation type as [`Model::Op`] (a bank
//! checked as one object: its state is every balance).

use std::fmt::Debug;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::history::{OpFn, Outcome, Value};
use crate::workload::Operation;

/// A sequential specification of one object.
///
/// `step` is called with operations whose outcome is `Ok` (the output is known and
/// must be explained), `Info` (the operation may have taken effect; it has no
/// output to match) or `Fail`. Only one kind of `Fail` reaches a model: a cas
/// that found another value ([`crate::history::Op::found_other`]), an
/// observation that must hold where it is placed (the key does not hold
/// `expected`) and leaves the state unchanged. Every other `Fail` did not take
/// effect and is dropped before the search.
pub trait Model {
    /// The operations it knows ([`OpFn`] for the built-in models).
    type Op: Operation;

    /// The object's state. Kept small: the search stores one per memo entry.
    type State: Clone + Eq + Hash + Debug;

    /// A short name for reports ("cas-register").
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Whether this model knows the operation at all; a history with operations
    /// the model does not know is bad input, not a violation.
    fn supports(&self, f: &Self::Op) -> bool;

    /// Apply `f` to `state`. Returns the next state, or `None` if the operation
    /// cannot have happened in this state (a read that returned another value, a
    /// successful cas whose expected value was not there).
    fn step(
        &self,
        state: &Self::State,
        f: &Self::Op,
        output: Option<&Value>,
        outcome: Outcome,
    ) -> Option<Self::State>;

    /// The state as a learner would write it ("3", "nil", "[1 2]").
    fn describe(&self, state: &Self::State) -> String;

    /// The part of the state that operation `f` touches, for explanations
    /// (a bank's balance read of `a3`: "a3=95"). The whole state by default.
    fn describe_for(&self, state: &Self::State, _f: &Self::Op) -> String {
        self.describe(state)
    }

    /// If the operation is a pure observation (it succeeds exactly in state `s`
    /// and leaves it unchanged, like a completed read), returns `s`. The search
    /// then compares state ids instead of calling [`Model::step`]. The default
    /// (`None`) is always correct, only slower.
    fn observes(
        &self,
        _f: &Self::Op,
        _output: Option<&Value>,
        _outcome: Outcome,
    ) -> Option<Self::State> {
        None
    }

    /// Whether the operation, where it fits, leaves the state as it was (a
    /// read of one balance among many, which no single state describes): the
    /// search then places it as soon as it fits, as it does the observations
    /// of [`Model::observes`], and still asks [`Model::step`] whether it fits.
    /// `false` is always correct, only slower; `true` for an operation that
    /// changes the state is a wrong verdict.
    fn is_observation(&self, _f: &Self::Op, _output: Option<&Value>, _outcome: Outcome) -> bool {
        false
    }

    /// If the operation is a pure observation that succeeds in every state
    /// except `s` and leaves the state unchanged (a cas that found another
    /// value), returns `s`. As [`Model::observes`], `None` is always correct.
    fn observes_not(
        &self,
        _f: &Self::Op,
        _output: Option<&Value>,
        _outcome: Outcome,
    ) -> Option<Self::State> {
        None
    }
}

/// The three built-in models, selectable by name (`--model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// read and write.
    Register,
    /// read, write and compare-and-set.
    CasRegister,
    /// A key-value store: get, put, cas, append and delete, each key independent.
    Kv,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
        }
    }

    /// Parses the `--model` spelling.
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The model value for this kind.
    pub fn model(self) -> ValueModel {
        ValueModel { kind: self }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Normalises "no value": a key that was never written, a deleted key, the empty
/// string and the empty list all read the same. The porcupine kv histories rely
/// on this ("a missing key reads as \"\""), and Jepsen list-append reads of a
/// fresh key return either `nil` or `[]`.
pub fn normalize(v: &Value) -> Value {
    normalized(v.clone())
}

/// [`normalize`], taking the value: no copy when it is kept.
pub fn normalized(v: Value) -> Value {
    match v {
        Value::Str(s) if s.is_empty() => Value::Nil,
        Value::List(l) if l.is_empty() => Value::Nil,
        other => other,
    }
}

/// Whether two values are the same once "no value" is normalised.
pub fn same_value(a: &Value, b: &Value) -> bool {
    let empty = |v: &Value| match v {
        Value::Nil => true,
        Value::Str(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Int(_) => false,
    };
    if empty(a) || empty(b) {
        return empty(a) && empty(b);
    }
    a == b
}

/// The result of appending `x` to `cur`, by the same rule as chaoslab's own
/// store (`nodes/src/kv.rs`): an integer is pushed onto a list (or onto
/// nothing), a string is concatenated to a string (or to nothing); anything else
/// replaces the value (an integer with a one-element list), which is what a
/// store that only knows lists would do.
pub fn append_value(cur: &Value, x: &Value) -> Value {
    match (cur, x) {
        (Value::Nil, Value::Int(i)) => Value::List(vec![*i]),
        (Value::List(l), Value::Int(i)) => {
            let mut l = l.clone();
            l.push(*i);
            Value::List(l)
        }
        (Value::Nil, Value::Str(s)) => Value::Str(s.clone()),
        (Value::Str(a), Value::Str(b)) => {
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            Value::Str(s)
        }
        (_, Value::Int(i)) => Value::List(vec![*i]),
        (_, other) => other.clone(),
    }
}

/// A value in EDN-like notation: `nil`, `3`, `"x"`, `[1 2]`.
pub fn describe_value(v: &Value) -> String {
    match v {
        Value::Nil => "nil".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(l) => {
            let items: Vec<String> = l.iter().map(|i| i.to_string()).collect();
            format!("[{}]", items.join(" "))
        }
    }
}

/// The built-in models share one implementation: a single value per key, with
/// the set of accepted operations depending on the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueModel {
    pub kind: ModelKind,
}

impl Model for ValueModel {
    type Op = OpFn;
    type State = Value;

    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn init(&self) -> Value {
        Value::Nil
    }

    fn supports(&self, f: &OpFn) -> bool {
        matches!(
            (self.kind, f),
            (_, OpFn::Read | OpFn::Write(_))
                | (ModelKind::CasRegister | ModelKind::Kv, OpFn::Cas { .. })
                | (ModelKind::Kv, OpFn::Append(_) | OpFn::Delete)
        )
    }

    fn step(
        &self,
        state: &Value,
        f: &OpFn,
        output: Option<&Value>,
        outcome: Outcome,
    ) -> Option<Value> {
        match f {
            OpFn::Read => match (outcome, output) {
                (Outcome::Ok, Some(seen)) if !same_value(seen, state) => None,
                _ => Some(state.clone()),
            },
            OpFn::Write(v) => Some(normalize(v)),
            OpFn::Delete => Some(Value::Nil),
            // Normalised so that appending "" to nothing is still nothing.
            OpFn::Append(x) => Some(normalized(append_value(state, x))),
            OpFn::Cas { expected, new } => {
                let matches = same_value(expected, state);
                match outcome {
                    // It returned true: the expected value must have been there.
                    Outcome::Ok if matches => Some(normalize(new)),
                    Outcome::Ok => None,
                    // It found another value: the expected one was not there.
                    Outcome::Fail if matches => None,
                    Outcome::Fail => Some(state.clone()),
                    // Unknown: it took effect here if it could, else it was a no-op.
                    Outcome::Info if matches => Some(normalize(new)),
                    Outcome::Info => Some(state.clone()),
                }
            }
        }
    }

    fn describe(&self, state: &Value) -> String {
        describe_value(state)
    }

    fn observes(&self, f: &OpFn, output: Option<&Value>, outcome: Outcome) -> Option<Value> {
        match (f, outcome, output) {
            // States are kept normalised, so equal ids mean `same_value`.
            (OpFn::Read, Outcome::Ok, Some(seen)) => Some(normalize(seen)),
            _ => None,
        }
    }

    fn observes_not(&self, f: &OpFn, _output: Option<&Value>, outcome: Outcome) -> Option<Value> {
        match (f, outcome) {
            (OpFn::Cas { expected, .. }, Outcome::Fail) => Some(normalize(expected)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_string_empty_list_and_nil_read_the_same() {
        assert!(same_value(&Value::Nil, &Value::Str(String::new())));
        assert!(same_value(&Value::List(vec![]), &Value::Nil));
        assert!(!same_value(&Value::Int(0), &Value::Nil));
    }

    #[test]
    fn append_onto_another_kind_of_value_replaces_it_as_the_store_does() {
        assert_eq!(
            append_value(&Value::Int(7), &Value::Int(3)),
            Value::List(vec![3])
        );
        assert_eq!(
            append_value(&Value::List(vec![1]), &Value::Str("a".into())),
            Value::Str("a".into())
        );
    }

    #[test]
    fn append_starts_a_list_or_a_string() {
        assert_eq!(
            append_value(&Value::Nil, &Value::Int(3)),
            Value::List(vec![3])
        );
        assert_eq!(
            append_value(&Value::Str("ab".into()), &Value::Str("c".into())),
            Value::Str("abc".into())
        );
    }

    #[test]
    fn register_model_rejects_cas_and_cas_register_accepts_it() {
        let cas = OpFn::Cas {
            expected: Value::Int(1),
            new: Value::Int(2),
        };
        assert!(!ModelKind::Register.model().supports(&cas));
        assert!(ModelKind::CasRegister.model().supports(&cas));
        assert!(!ModelKind::CasRegister.model().supports(&OpFn::Delete));
    }

    #[test]
    fn a_successful_cas_needs_its_expected_value_an_unknown_one_may_be_a_no_op() {
        let m = ModelKind::CasRegister.model();
        let cas = OpFn::Cas {
            expected: Value::Int(1),
            new: Value::Int(2),
        };
        assert_eq!(
            m.step(&Value::Int(1), &cas, None, Outcome::Ok),
            Some(Value::Int(2))
        );
        assert_eq!(m.step(&Value::Int(5), &cas, None, Outcome::Ok), None);
        assert_eq!(
            m.step(&Value::Int(5), &cas, None, Outcome::Info),
            Some(Value::Int(5))
        );
    }

    #[test]
    fn a_cas_that_found_another_value_holds_only_where_the_expected_value_was_not() {
        let m = ModelKind::CasRegister.model();
        let cas = OpFn::Cas {
            expected: Value::Int(1),
            new: Value::Int(2),
        };
        assert_eq!(m.step(&Value::Int(1), &cas, None, Outcome::Fail), None);
        assert_eq!(
            m.step(&Value::Int(5), &cas, None, Outcome::Fail),
            Some(Value::Int(5))
        );
        assert_eq!(
            m.observes_not(&cas, None, Outcome::Fail),
            Some(Value::Int(1))
        );
    }
}
