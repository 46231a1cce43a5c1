//! Largest-remainder apportionment: an integer total (bytes, fen) split over parts in
//! proportion to their weights so that the parts add up to the total exactly and no part
//! is a whole unit or more from its exact share. Integer arithmetic throughout (u128: a
//! total of 10^18 times a weight of 10^18 still fits), no floats.
//!
//! Each part first gets the floor of its exact share; the units left (fewer than the
//! number of parts) go one each to the parts with the largest remainders. Ties go to the
//! earlier part: callers order the parts by a stated key (the report: channel name).

/// `total` split in proportion to `weights`. With every weight zero nothing can be
/// apportioned: every part is zero and the caller decides what that means.
pub fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|w| *w as u128).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, weight) in weights.iter().enumerate() {
        let exact = total as u128 * *weight as u128;
        parts.push((exact / sum) as u64);
        remainders.push((exact % sum, i));
    }
    let handed_out: u64 = parts.iter().sum();
    let left = (total - handed_out) as usize;
    // Largest remainder first; among equals, the earlier part.
    remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        assert_eq!(
            largest_remainder(10, &[1, 1, 1]),
            vec![4, 3, 3],
            "ties: the earlier"
        );
        assert_eq!(largest_remainder(100, &[1, 2, 0, 1]), vec![25, 50, 0, 25]);
        assert_eq!(largest_remainder(7, &[0, 0]), vec![0, 0]);
        assert_eq!(largest_remainder(0, &[3, 4]), vec![0, 0]);
        assert_eq!(
            largest_remainder(u64::MAX / 2, &[u64::MAX / 3, 1])
                .iter()
                .sum::<u64>(),
            u64::MAX / 2
        );
    }

    /// A seeded loop over random totals, part counts and weights (zeros included): the
    /// parts always add up to the total, and each is within one unit of its exact share.
    #[test]
    fn always_sums_exactly_and_stays_within_one_unit() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        for _ in 0..20_000 {
            let parts = 1 + next(60) as usize;
            let scale = [10, 1_000, 1_000_000, 1_000_000_000_000][next(4) as usize];
            let weights: Vec<u64> = (0..parts)
                .map(|_| if next(5) == 0 { 0 } else { next(scale) })
                .collect();
            let range = [100, 100_000, 1_000_000_000_000_000][next(3) as usize];
            let total = next(range);
            let got = largest_remainder(total, &weights);
            let sum: u128 = weights.iter().map(|w| *w as u128).sum();
            if sum == 0 {
                assert!(got.iter().all(|p| *p == 0));
                continue;
            }
            assert_eq!(got.iter().map(|p| *p as u128).sum::<u128>(), total as u128);
            for (part, weight) in got.iter().zip(&weights) {
                // |part − total·w/sum| < 1  ⇔  |part·sum − total·w| < sum
                let exact = total as u128 * *weight as u128;
                let scaled = *part as u128 * sum;
                assert!(scaled.abs_diff(exact) < sum, "{total} {weights:?} {got:?}");
            }
        }
    }
}
