//! Summaries of a sample: nearest-rank percentiles ([`Stats`]), a miss series' figures
//! ([`Series`]) and the median the cold starts use. Pure arithmetic; the series that produce the
//! samples live with what they measure.

/// Nearest-rank percentiles of a sample, in ms.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stats {
    pub(crate) n: usize,
    pub(crate) min: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

impl Stats {
    pub(crate) fn of(xs: &[f64]) -> Self {
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n == 0 {
            return Self::default();
        }
        let rank = |q: f64| s[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self {
            n,
            min: s[0],
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: s[n - 1],
            mean: s.iter().sum::<f64>() / n as f64,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Series {
    pub(crate) stats: Stats,
    pub(crate) per_sec: f64,
    pub(crate) cpu_ms_per_image: f64,
    /// The process and all its descendants (Chromium's processes for the browser routes).
    pub(crate) tree_cpu_ms_per_image: f64,
    pub(crate) mean_kib: f64,
}

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[(s.len() - 1) / 2]
}
