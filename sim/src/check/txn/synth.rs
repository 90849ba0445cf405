//! Serializable transaction histories for benchmarks and tests: transactions
//! run one at a time against a real store (a serial execution, so every
//! history is serializable by construction), with some aborted (`fail`, their
//! writes undone) and some indeterminate (`info`, their writes applied or not
//! at random, their reads unknown).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Mop, ReadValue, Txn, TxnHistory, TxnModel};
use crate::history::Outcome;

/// A serializable history of `n_txns` transactions of `model`'s workload, of
/// one to four micro-ops each, over keys `0..n_keys` from `n_processes`
/// processes. The same seed gives the same history.
pub fn serializable_history(
    model: TxnModel,
    seed: u64,
    n_txns: usize,
    n_keys: usize,
    n_processes: usize,
) -> TxnHistory {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_keys = n_keys.max(1) as u64;
    let n_processes = n_processes.max(1) as u64;
    let mut lists: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    let mut next_value = 1i64;
    let mut txns = Vec::with_capacity(n_txns);
    for i in 0..n_txns {
        let outcome = match rng.gen_range(0..100) {
            0..=2 => Outcome::Fail,
            3..=5 => Outcome::Info,
            _ => Outcome::Ok,
        };
        // Info transactions take effect half the time.
        let applies = match outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Info => rng.gen_bool(0.5),
        };
        // The keys it touched, copied in: its writes apply when it commits.
        let mut state: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
        let mut mops = Vec::new();
        for _ in 0..rng.gen_range(1..=4) {
            let k = rng.gen_range(0..n_keys);
            let key = k.to_string();
            let list = state
                .entry(k)
                .or_insert_with(|| lists.get(&k).cloned().unwrap_or_default());
            if rng.gen_bool(0.5) {
                let value = next_value;
                next_value += 1;
                list.push(value);
                mops.push(match model {
                    TxnModel::ListAppend => Mop::Append { key, value },
                    TxnModel::RwRegister => Mop::Write { key, value },
                });
            } else {
                let value = match (outcome, model) {
                    (Outcome::Ok, TxnModel::ListAppend) => ReadValue::List(list.clone()),
                    (Outcome::Ok, TxnModel::RwRegister) => {
                        ReadValue::Register(list.last().copied())
                    }
                    _ => ReadValue::Unknown,
                };
                mops.push(Mop::Read { key, value });
            }
        }
        if applies {
            lists.extend(state);
        }
        let call_ns = i as u64 * 1_000;
        txns.push(Txn {
            process: i as u64 % n_processes,
            outcome,
            mops,
            call_ns,
            return_ns: (outcome != Outcome::Info).then_some(call_ns + 500),
            line: 0,
        });
    }
    TxnHistory { txns }
}
