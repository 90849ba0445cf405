//! What theory says the mean time in system behind a load balancer is, for
//! the report to set its measurement beside.
//!
//! **Random choice.** Poisson arrivals at rate λ·n split at random between
//! n servers are n independent Poisson streams at rate λ: each server is an
//! M/M/1 queue, and with service rate 1 the mean time in system is
//! 1/(1 - λ), ten service times at λ = 0.9.
//!
//! **The power of d choices** (the supermarket model: Mitzenmacher, "The
//! Power of Two Choices in Randomized Load Balancing", IEEE TPDS 12(10),
//! 2001; Vvedenskaya, Dobrushin and Karpelevich, 1996). Each arrival looks
//! at d servers chosen at random and joins the shortest queue. As n grows,
//! the share of servers with at least i requests tends to the fixed point
//! s_i = λ^((d^i - 1)/(d - 1)), which falls doubly exponentially in i, and
//! by Little's law the mean time in system (service rate 1) is
//!
//!   T_d(λ) = Σ_{i≥1} λ^((d^i - d)/(d - 1)),
//!
//! which for d = 2 is 1 + λ² + λ⁶ + λ¹⁴ + ...: about 2.61 service times at
//! λ = 0.9, against 10 for random choice. A finite n sits a little above the
//! limit.

/// T_d(λ): the mean time in system of the supermarket model with `d`
/// choices at load `lambda` (0 < λ < 1, d ≥ 2), in service times, as the
/// number of servers tends to infinity. `None` outside those bounds.
pub fn supermarket_time_in_system(lambda: f64, d: u32) -> Option<f64> {
    if !(lambda > 0.0 && lambda < 1.0) || d < 2 {
        return None;
    }
    let mut sum = 0.0;
    // The exponent (d^i - d)/(d - 1) = d + d^2 + ... + d^(i-1) is a whole
    // number, so each term is a product of λ by itself (the same bits on
    // every machine). The terms fall doubly exponentially: stop once one no
    // longer changes the sum, or once the exponent passes 2^60.
    let (mut exponent, mut di) = (0u64, u64::from(d));
    for _ in 0..64 {
        let before = sum;
        sum += power(lambda, exponent);
        if sum == before || exponent > 1 << 60 {
            break;
        }
        exponent = exponent.saturating_add(di);
        di = di.saturating_mul(u64::from(d));
    }
    Some(sum)
}

/// `x^n` by repeated squaring.
fn power(x: f64, mut n: u64) -> f64 {
    let (mut base, mut out) = (x, 1.0);
    while n > 0 {
        if n & 1 == 1 {
            out *= base;
        }
        base *= base;
        n >>= 1;
    }
    out
}

/// The mean time in system of one M/M/1 server at load `lambda`, in service
/// times: what random choice gives each server.
pub fn random_time_in_system(lambda: f64) -> Option<f64> {
    (lambda > 0.0 && lambda < 1.0).then(|| 1.0 / (1.0 - lambda))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_choices_at_load_0_9_is_about_2_61_service_times() {
        let t = supermarket_time_in_system(0.9, 2).unwrap();
        // 1 + 0.9^2 + 0.9^6 + 0.9^14 + 0.9^30 + 0.9^62 + ...
        let by_hand: f64 = [0u32, 2, 6, 14, 30, 62, 126]
            .iter()
            .map(|&e| 0.9f64.powi(e as i32))
            .sum();
        assert!((t - by_hand).abs() < 1e-9, "{t} {by_hand}");
        assert!((t - 2.6135).abs() < 1e-3, "{t}");
    }

    #[test]
    fn random_choice_at_load_0_9_is_ten_service_times() {
        assert!((random_time_in_system(0.9).unwrap() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn more_choices_help_less_and_less() {
        let t2 = supermarket_time_in_system(0.9, 2).unwrap();
        let t3 = supermarket_time_in_system(0.9, 3).unwrap();
        assert!(t3 < t2 && t2 < random_time_in_system(0.9).unwrap());
        // At light load almost nobody waits, whatever d.
        assert!(supermarket_time_in_system(0.01, 2).unwrap() < 1.001);
    }

    #[test]
    fn the_formula_has_no_value_at_or_above_saturation() {
        assert_eq!(supermarket_time_in_system(1.0, 2), None);
        assert_eq!(supermarket_time_in_system(0.5, 1), None);
        assert_eq!(random_time_in_system(1.2), None);
    }
}
