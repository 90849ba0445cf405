//! The bank's own operations, the workload that draws them, and the model the
//! history is judged against.
//!
//! **What the correct 2PC bank guarantees, and why the model holds it to
//! linearizability.** Take a transfer that commits. Both participants voted
//! yes before the coordinator decided, and each holds the lock on its account
//! from its vote until it applies the decision. A balance read of a locked
//! account waits for the lock (strict two-phase locking), and every other
//! read is answered at once from the applied balances. Put the transfer's
//! linearization point at the earlier of its first application and the
//! commit's acknowledgement to the client. A read answered before that point
//! sees neither side (nothing was applied yet). A read answered after it sees
//! the transfer on its account: either that participant has applied it, or it
//! still holds the lock (it voted before the point), and then the read was
//! not answered, it waits. So every read sees whole transfers, a transfer
//! acknowledged `ok` is seen by every read that begins after the
//! acknowledgement, and the bank as a whole (one object: every balance) is
//! linearizable. An aborted transfer (`fail`) applied nothing anywhere; one
//! whose client gave up (`info`) may take effect at any later time or never.
//! A committed debit never overdraws: the participant checks the balance
//! under the lock it holds until it applies.
//!
//! The model is exactly that: a state of every balance, a transfer that moves
//! `amount` from one account to another at once if the payer has it (an `ok`
//! one must have it), a balance read that returns the account's balance. The
//! search judges the whole history as one object (its key is `bank`): a
//! transfer joins two accounts, so the accounts cannot be checked one by one.
//!
//! What it can catch: a commit applied on one side only (a 3PC partition, a
//! participant that forgets its vote), a transfer acknowledged `ok` that a
//! later read misses, one reported aborted whose money moved. It finds only
//! what a read observed, within its step budget: some bug runs come out
//! linearizable or undecided (`docs/transactions.md` gives the sweep
//! figures), and their invariants carry the load. Of a saga it reports the
//! design, not a bug: a saga holds no locks, so a read may see money that has
//! left one account and not yet reached the other, or a compensated transfer
//! (`fail`) while it lasted; a saga run in which some read caught that is not
//! linearizable, and the report says which read showed it.

use rand::{Rng, RngCore};
use serde::Serialize;
use sim::check::Model;
use sim::history::{Outcome, Value};
use sim::workload::{Operation, Workload};

use super::Bank;

/// What a bank client asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BankOp {
    /// Move `amount` from account `from` to account `to` (on another
    /// participant), atomically.
    Transfer { from: u32, to: u32, amount: i64 },
    /// Read account `account`'s balance.
    Balance { account: u32 },
}

/// The key every bank operation names: the bank is one object.
pub const BANK_KEY: &str = "bank";

impl Operation for BankOp {
    fn describe(&self, _key: &str) -> String {
        match self {
            BankOp::Transfer { from, to, amount } => format!("transfer {amount} a{from}->a{to}"),
            BankOp::Balance { account } => format!("balance a{account}"),
        }
    }

    fn describe_done(&self, output: Option<&Value>) -> String {
        match (self, output) {
            (BankOp::Balance { account }, Some(Value::Int(b))) => {
                format!("balance a{account} -> {b}")
            }
            _ => self.describe(BANK_KEY),
        }
    }

    fn is_read(&self) -> bool {
        matches!(self, BankOp::Balance { .. })
    }
}

/// Draws the bank's operations. A read or a transfer by the scenario's
/// `[workload] mix`: its `get` share are balance reads, the rest (put, cas,
/// append, delete alike) transfers. A read names an account drawn uniformly.
/// A transfer's payer is drawn uniformly, its payee uniformly among the
/// accounts of the other participants, its amount uniformly from 1 to 10.
/// `keys` and the key distribution are the key-value workload's and do not
/// apply.
#[derive(Clone)]
pub struct BankWorkload {
    bank: Bank,
    read_share: f64,
}

impl BankWorkload {
    pub fn new(bank: Bank, scenario: &sim::scenario::Scenario) -> BankWorkload {
        let mix = scenario.workload.mix.get_ref();
        let total = mix.get + mix.put + mix.cas + mix.append + mix.delete;
        BankWorkload {
            bank,
            read_share: if total > 0.0 { mix.get / total } else { 0.0 },
        }
    }
}

impl Workload for BankWorkload {
    type Op = BankOp;

    fn fork(&self) -> Option<Box<dyn Workload<Op = BankOp>>> {
        Some(Box::new(self.clone()))
    }

    fn next(&mut self, _client: usize, rng: &mut dyn RngCore) -> (String, BankOp) {
        let b = self.bank;
        let op = if rng.gen::<f64>() < self.read_share {
            BankOp::Balance {
                account: rng.gen_range(0..b.accounts),
            }
        } else {
            let from = rng.gen_range(0..b.accounts);
            let p = b.participants;
            let to_participant = (from % p + 1 + rng.gen_range(0..p - 1)) % p;
            let to = rng.gen_range(0..b.accounts / p) * p + to_participant;
            BankOp::Transfer {
                from,
                to,
                amount: rng.gen_range(1..=10),
            }
        };
        (BANK_KEY.to_string(), op)
    }
}

/// The bank as one object: every account's balance. See the module essay.
#[derive(Clone, Copy, Debug)]
pub struct BankModel {
    pub accounts: u32,
    pub initial_balance: i64,
}

impl Model for BankModel {
    type Op = BankOp;
    type State = Vec<i64>;

    fn name(&self) -> &'static str {
        "bank"
    }

    fn init(&self) -> Vec<i64> {
        vec![self.initial_balance; self.accounts as usize]
    }

    fn supports(&self, f: &BankOp) -> bool {
        let ok = |a: u32| a < self.accounts;
        match f {
            BankOp::Transfer { from, to, amount } => ok(*from) && ok(*to) && *amount > 0,
            BankOp::Balance { account } => ok(*account),
        }
    }

    fn step(
        &self,
        state: &Vec<i64>,
        f: &BankOp,
        output: Option<&Value>,
        outcome: Outcome,
    ) -> Option<Vec<i64>> {
        match f {
            BankOp::Balance { account } => match (outcome, output) {
                (Outcome::Ok, Some(Value::Int(b))) if state[*account as usize] != *b => None,
                (Outcome::Ok, Some(Value::Int(_))) => Some(state.clone()),
                // An ok read must return a balance.
                (Outcome::Ok, _) => None,
                _ => Some(state.clone()),
            },
            BankOp::Transfer { from, to, amount } => {
                let covered = state[*from as usize] >= *amount;
                match outcome {
                    // Committed: the payer had the money, and it moved.
                    Outcome::Ok if !covered => None,
                    // Unknown: it moved the money here if it could, else it
                    // is placed as not applied (as if it never happened).
                    Outcome::Info if !covered => Some(state.clone()),
                    _ => {
                        let mut next = state.clone();
                        next[*from as usize] -= amount;
                        next[*to as usize] += amount;
                        Some(next)
                    }
                }
            }
        }
    }

    /// The accounts that differ from the start, and the total: `a1=95 a6=105
    /// (total 1600)`.
    fn describe(&self, state: &Vec<i64>) -> String {
        let moved: Vec<String> = state
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != self.initial_balance)
            .map(|(a, b)| format!("a{a}={b}"))
            .collect();
        let total: i64 = state.iter().sum();
        if moved.is_empty() {
            format!("every account {} (total {total})", self.initial_balance)
        } else {
            format!("{} (total {total})", moved.join(" "))
        }
    }

    /// The accounts the operation names: `a3=95`, `a1=90 a6=110`.
    fn describe_for(&self, state: &Vec<i64>, f: &BankOp) -> String {
        match f {
            BankOp::Balance { account } => format!("a{account}={}", state[*account as usize]),
            BankOp::Transfer { from, to, .. } => format!(
                "a{from}={} a{to}={}",
                state[*from as usize], state[*to as usize]
            ),
        }
    }

    fn is_observation(&self, f: &BankOp, _output: Option<&Value>, outcome: Outcome) -> bool {
        matches!(f, BankOp::Balance { .. }) && outcome == Outcome::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BankModel {
        BankModel {
            accounts: 4,
            initial_balance: 10,
        }
    }

    #[test]
    fn a_committed_transfer_moves_the_money_and_needs_it() {
        let m = model();
        let t = BankOp::Transfer {
            from: 0,
            to: 1,
            amount: 4,
        };
        assert_eq!(
            m.step(&m.init(), &t, None, Outcome::Ok),
            Some(vec![6, 14, 10, 10])
        );
        assert_eq!(m.step(&vec![3, 10, 10, 10], &t, None, Outcome::Ok), None);
        // Unknown and uncovered: it cannot have happened here, a no-op.
        assert_eq!(
            m.step(&vec![3, 10, 10, 10], &t, None, Outcome::Info),
            Some(vec![3, 10, 10, 10])
        );
    }

    #[test]
    fn a_balance_read_must_return_the_accounts_balance() {
        let m = model();
        let r = BankOp::Balance { account: 2 };
        let init = m.init();
        assert_eq!(
            m.step(&init, &r, Some(&Value::Int(10)), Outcome::Ok),
            Some(init.clone())
        );
        assert_eq!(m.step(&init, &r, Some(&Value::Int(9)), Outcome::Ok), None);
        assert!(m.is_observation(&r, Some(&Value::Int(9)), Outcome::Ok));
    }

    #[test]
    fn every_transfer_goes_between_two_participants() {
        let bank = Bank {
            participants: 4,
            accounts: 16,
        };
        let mut w = BankWorkload {
            bank,
            read_share: 0.0,
        };
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        for _ in 0..2000 {
            let (key, op) = w.next(0, &mut rng);
            assert_eq!(key, BANK_KEY);
            let BankOp::Transfer { from, to, amount } = op else {
                panic!("a read with read_share 0: {op:?}");
            };
            assert!(from < 16 && to < 16);
            assert_ne!(bank.owner(from), bank.owner(to), "{op:?}");
            assert!((1..=10).contains(&amount));
        }
    }
}
