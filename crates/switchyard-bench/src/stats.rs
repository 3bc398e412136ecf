//! Exact percentiles from sorted samples, and medians of per-round figures.

use serde::Serialize;

/// Summary of one set of latency samples, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Percentiles (nearest rank on the sorted samples), µs.
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Nearest-rank percentile of already sorted samples: the smallest sample with at least
/// `p` % of the samples at or below it.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarise nanosecond samples (sorts them in place) into microseconds.
pub fn summarize(samples_ns: &mut [u64]) -> Summary {
    samples_ns.sort_unstable();
    let us = |ns: u64| ns as f64 / 1000.0;
    let n = samples_ns.len();
    let mean = if n == 0 {
        0.0
    } else {
        samples_ns.iter().map(|&v| v as f64).sum::<f64>() / n as f64 / 1000.0
    };
    Summary {
        n,
        p50: us(percentile(samples_ns, 50.0)),
        p90: us(percentile(samples_ns, 90.0)),
        p99: us(percentile(samples_ns, 99.0)),
        max: us(samples_ns.last().copied().unwrap_or(0)),
        mean,
    }
}

/// Median of a handful of per-round figures (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Smallest and largest of a handful of figures.
pub fn range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        let w: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&w, 99.0), 990);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(range(&[2.0, -1.0, 5.0]), (-1.0, 5.0));
    }

    #[test]
    fn summary_in_microseconds() {
        let mut v = vec![3_000, 1_000, 2_000];
        let s = summarize(&mut v);
        assert_eq!(s.n, 3);
        assert_eq!(s.p50, 2.0);
        assert_eq!(s.max, 3.0);
        assert_eq!(s.mean, 2.0);
    }
}
