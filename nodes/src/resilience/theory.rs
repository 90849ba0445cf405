//! What queueing theory says a service's mean time in system is, for the
//! report to set its measurement beside.
//!
//! M/M/c: Poisson arrivals at rate λ, exponential service at rate μ per
//! worker, c workers, one unbounded FIFO queue. With offered load a = λ/μ and
//! utilisation ρ = a/c < 1, the chance an arrival must wait is Erlang's C
//! formula (Erlang, 1917; any queueing text, e.g. Harchol-Balter,
//! "Performance Modeling and Design of Computer Systems", 2013, §14.5), and
//!
//!   W = C(c, a) / (cμ - λ) + 1/μ,
//!
//! which for one worker is 1/(μ - λ). For one worker and any service-time
//! distribution (M/G/1), the Pollaczek-Khinchine formula gives it from the
//! service time's mean and second moment. It is computed here in plain f64 from
//! Erlang's B recurrence, which never overflows: the same bits everywhere.

/// Erlang's B formula (the blocking chance of c servers and no queue) by its
/// recurrence B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)).
pub fn erlang_b(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang's C formula: the chance that an arrival waits, with `c` workers
/// and offered load `a` = λ/μ (`a < c`).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let b = erlang_b(c, a);
    let rho = a / c as f64;
    b / (1.0 - rho * (1.0 - b))
}

/// The mean time in system of an M/M/c queue, in seconds, with arrival rate
/// `lambda` and service rate `mu` per worker (per second); `None` when
/// ρ = λ/(cμ) is 1 or more (the queue grows without bound).
pub fn mmc_time_in_system(lambda: f64, mu: f64, c: u32) -> Option<f64> {
    let cap = c as f64 * mu;
    if c == 0 || lambda >= cap || lambda <= 0.0 || mu <= 0.0 {
        return None;
    }
    let wait = erlang_c(c, lambda / mu) / (cap - lambda);
    Some(wait + 1.0 / mu)
}

/// The mean time in system of an M/G/1 queue, in seconds, by the
/// Pollaczek-Khinchine formula: W = E[S] + λ·E[S²] / (2(1 - ρ)), with
/// `mean` = E[S] and `second` = E[S²] in seconds and seconds squared;
/// `None` when ρ = λ·E[S] is 1 or more. Only the mean and the variance of
/// the service time matter: at the same utilisation, constant service waits
/// half as long as exponential, and a high-variance one far longer.
pub fn mg1_time_in_system(lambda: f64, mean: f64, second: f64) -> Option<f64> {
    let rho = lambda * mean;
    if rho >= 1.0 || lambda <= 0.0 {
        return None;
    }
    Some(mean + lambda * second / (2.0 * (1.0 - rho)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_is_one_over_mu_minus_lambda() {
        for (lambda, mu) in [(50.0, 100.0), (80.0, 100.0), (95.0, 100.0)] {
            let w = mmc_time_in_system(lambda, mu, 1).unwrap();
            assert!((w - 1.0 / (mu - lambda)).abs() < 1e-12, "{w}");
        }
    }

    #[test]
    fn erlang_c_matches_the_textbook_values() {
        // c = 2, a = 1: B = 1/5, C = (1/5) / (1 - (1/2)(4/5)) = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // One worker: C is the utilisation itself.
        assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
        // c = 4, a = 3.2 (ρ = 0.8): C ≈ 0.5964 (tables of Erlang C).
        assert!(
            (erlang_c(4, 3.2) - 0.5964).abs() < 1e-4,
            "{}",
            erlang_c(4, 3.2)
        );
    }

    #[test]
    fn pollaczek_khinchine_gives_m_m_1_for_exponential_and_half_the_wait_for_constant() {
        let (lambda, s) = (80.0, 0.01);
        let mm1 = mg1_time_in_system(lambda, s, 2.0 * s * s).unwrap();
        assert!((mm1 - mmc_time_in_system(lambda, 1.0 / s, 1).unwrap()).abs() < 1e-12);
        let md1 = mg1_time_in_system(lambda, s, s * s).unwrap();
        assert!(((md1 - s) - (mm1 - s) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn an_overloaded_queue_has_no_mean() {
        assert_eq!(mmc_time_in_system(100.0, 100.0, 1), None);
        assert_eq!(mmc_time_in_system(450.0, 100.0, 4), None);
    }
}
