//! What a minimum score `T` guarantees about every alignment that reaches it: the longest
//! exact match it must contain, and how far along the reference it can reach.
//!
//! **Exact runs.** Take any alignment of a read of `m` residues scoring `S >= T > 0` with the
//! built-in DNA scoring (match `+A`, mismatch `-B`, a pair with a non-ACGT residue `-1`, a gap
//! of length `L` costing `O + L*E`). Cut its columns into maximal runs of identical A/C/G/T
//! pairs (`=` in its CIGAR) and the segments between them. Say there are `M` `=` columns and
//! `s` segments, so at most `s + 1` runs: some run has at least `ceil(M / (s + 1))` columns.
//! Every segment holds at least one of:
//! - a mismatch: costs `B`, uses one read residue;
//! - a gap: costs at least `O + E`; a deletion uses no read residue;
//! - a read `N` (any non-ACGT read residue): costs 1 and uses one read residue; the residues
//!   of one run of read `N`s fall in one segment (no `=` column can separate them), so at most
//!   `nq` segments hold one, `nq` the number of `N` runs of the read;
//! - a reference `N` against a read residue: costs 1 and uses one read residue; at most `nr`
//!   segments, `nr` the most runs of non-ACGT residues any stretch of reference the alignment
//!   can span holds.
//!
//! With `x` mismatch segments, `d` gap segments, `q <= nq` read-`N` segments and `r <= nr`
//! reference-`N` segments (each counted at its cheapest, which only loosens the bound), the
//! score gives `A*M >= T + B*x + (O+E)*d + q + r` and the read gives
//! `M + x + q + r <= m`. So the shortest longest run over all alignments reaching `T` is at
//! least
//!
//! `k(T) = min over feasible (x, d, q, r) of ceil(M_min / (x + d + q + r + 1))`,
//! `M_min = ceil((T + B*x + (O+E)*d + q + r) / A)`,
//!
//! which [`shortest_exact_run`] computes by enumeration. Every alignment scoring at least `T`
//! therefore contains an exact match of `k(T)` residues, which seeding finds.
//!
//! **Reach.** An alignment scoring at least `T` that covers at most `m` read residues covers at
//! most `W = m + (A*m - O - T) / E` reference residues ([`reach`]): every reference residue
//! beyond the read's is a gap column, each costing at least `E` out of the `A*m - T` the score
//! can spare (and the first gap `O` more). An alignment holding an exact match at reference
//! position `p` therefore lies within `[p - W, p + W]`, and so does the stretch the start of
//! its alignment is searched in (`W` is also that stretch's bound, see `reference::start_pass`).
//!
//! **What `T` costs.** With the DNA defaults (2/4/4/2), a 150 bp read gives `k = 8` at
//! `T = 200`, `k = 13` at `T = 240` and `k = 16` at `T = 250`: the higher `T`, the longer and
//! rarer the seeds and the fewer windows to verify. See [`default_min_score`].

use crate::scoring::Scoring;

/// The exact match the default minimum score guarantees: with the q-gram filter, seeds this
/// long leave few windows to verify in a bacterial genome (about 75% of the best possible
/// score for 150 bp reads with the DNA defaults).
pub const DEFAULT_SEED: usize = 11;

/// The DNA scores the bound is computed from: `(A, B, O + E)`.
fn scores(sc: &Scoring) -> Option<(i64, i64, i64)> {
    let (a, b) = sc.dna_match_mismatch()?;
    Some((a as i64, b as i64, (sc.gap_open() + sc.gap_extend()) as i64))
}

/// Every feasible way of the module docs for an alignment to reach `t`: `f(M_min, s)` for
/// each `(x, d, q, r)`, with `s = x + d + q + r` segments.
fn each_way(m: usize, t: i64, (a, b, gap): (i64, i64, i64), runs: (usize, usize), mut f: impl FnMut(i64, i64)) {
    let m = m as i64;
    for q in 0..=runs.0 as i64 {
        for r in 0..=runs.1 as i64 {
            for x in 0..=m {
                // With no deletion this many mismatches no longer fit: nor do more.
                if (t + b * x + q + r + a - 1) / a + x + q + r > m {
                    break;
                }
                // More deletions only raise M_min; stop at the first that does not fit.
                for d in 0.. {
                    let m_min = (t + b * x + gap * d + q + r + a - 1) / a;
                    if m_min + x + q + r > m {
                        break;
                    }
                    f(m_min, x + d + q + r);
                }
            }
        }
    }
}

/// `k(T)` of the module docs for a read of `m` residues with `read_n_runs` runs of non-ACGT
/// residues, against a reference whose stretches hold at most `ref_n_runs` such runs: every
/// alignment scoring at least `min_score` contains an exact A/C/G/T match of this many
/// residues. 0 when nothing is guaranteed (`min_score <= 0`, or a scoring without DNA match
/// and mismatch scores); `usize::MAX` when no alignment can reach `min_score`.
pub fn shortest_exact_run(m: usize, min_score: i32, sc: &Scoring, read_n_runs: usize, ref_n_runs: usize) -> usize {
    let Some(scores) = scores(sc) else { return 0 };
    if min_score <= 0 {
        return 0;
    }
    let mut best = i64::MAX;
    each_way(m, min_score as i64, scores, (read_n_runs, ref_n_runs), |m_min, s| {
        best = best.min((m_min + s) / (s + 1));
    });
    match best {
        i64::MAX => usize::MAX,
        best => usize::try_from(best).unwrap_or(usize::MAX),
    }
}

/// The q-gram lemma for the same alignments: every alignment scoring at least `min_score`
/// shares at least this many `q`-mers with the reference, at `(read offset, position)` pairs
/// whose diagonals lie within [`gap_band`] of each other. Its runs of `=` (lengths `L_i`,
/// `s + 1` of them, `M` in all) hold `sum max(0, L_i - q + 1) >= M - (s + 1)(q - 1)` of them,
/// and at least one while `q <= k(T)` (the longest run holds `k(T)`). 0 when `q > k(T)`.
pub fn shared_qgrams(m: usize, min_score: i32, sc: &Scoring, q: usize, runs: (usize, usize)) -> usize {
    let k = shortest_exact_run(m, min_score, sc, runs.0, runs.1);
    let Some(scores) = scores(sc).filter(|_| q <= k && q > 0) else {
        return 0;
    };
    if k == usize::MAX {
        return usize::MAX;
    }
    let mut least = i64::MAX;
    each_way(m, min_score as i64, scores, runs, |m_min, s| {
        least = least.min((m_min - (s + 1) * (q as i64 - 1)).max(1));
    });
    usize::try_from(least).unwrap_or(0)
}

/// How far apart the diagonals (reference position minus read offset) of one alignment
/// scoring at least `min_score` can be: each gap column moves the diagonal by one, and the
/// gaps of a read of `m` residues cost at most `A*m - T`, so they hold at most
/// `(A*m - O - T) / E` columns.
pub fn gap_band(m: usize, min_score: i32, sc: &Scoring) -> usize {
    let slack = m as i64 * sc.max_score().max(0) as i64 - sc.gap_open() as i64 - min_score as i64;
    (slack.max(0) / sc.gap_extend().max(1) as i64) as usize
}

/// `W` of the module docs: the most reference residues an alignment scoring at least
/// `min_score` can cover when it covers at most `m` read residues.
pub fn reach(m: usize, min_score: i32, sc: &Scoring) -> usize {
    m + gap_band(m, min_score, sc)
}

/// The minimum score used when none is given, for a read of `m` residues: the lowest score
/// that still guarantees an exact match of [`DEFAULT_SEED`] residues (reads with `N` runs keep
/// it, with shorter seeds), or the best possible score `A*m` when no lower score does (reads
/// shorter than about 20 residues: a perfect match, the only seed they have).
///
/// ```
/// use swgpu::{Alphabet, Scoring};
/// let sc = Scoring::default_for(Alphabet::Dna);
/// let t = swgpu::index::default_min_score(150, &sc);
/// assert!(t > 200 && t < 300);
/// assert!(swgpu::index::shortest_exact_run(150, t, &sc, 0, 0) >= 11);
/// ```
pub fn default_min_score(m: usize, sc: &Scoring) -> i32 {
    let Some((a, _, _)) = scores(sc) else { return 1 };
    let best = (a * m as i64).clamp(1, i32::MAX as i64) as i32;
    // k(T) grows with T: the lowest T with k(T) >= DEFAULT_SEED, by bisection.
    let (mut lo, mut hi) = (1, best);
    if shortest_exact_run(m, hi, sc, 0, 0) < DEFAULT_SEED {
        return best;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if shortest_exact_run(m, mid, sc, 0, 0) >= DEFAULT_SEED {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_with_the_dna_defaults() {
        let sc = Scoring::dna(2, 4, 4, 2).unwrap();
        // DESIGN.md: a 150 bp read scoring at least 200 holds an exact run of 8.
        assert_eq!(shortest_exact_run(150, 200, &sc, 0, 0), 8);
        assert_eq!(shortest_exact_run(150, 300, &sc, 0, 0), 150);
        assert_eq!(shortest_exact_run(150, 301, &sc, 0, 0), usize::MAX);
        assert_eq!(shortest_exact_run(150, 0, &sc, 0, 0), 0);
        // N runs can only shorten the guarantee.
        assert!(shortest_exact_run(150, 240, &sc, 3, 1) < shortest_exact_run(150, 240, &sc, 0, 0));
        assert_eq!(reach(150, 200, &sc), 150 + (300 - 4 - 200) / 2);
        // The q-gram lemma (computed by hand from the same enumeration): 13 8-mers at T = 200,
        // 17 11-mers at T = 230; none promised beyond k(T).
        assert_eq!(shared_qgrams(150, 200, &sc, 8, (0, 0)), 13);
        assert_eq!(shared_qgrams(150, 230, &sc, 11, (0, 0)), 17);
        assert_eq!(shared_qgrams(150, 200, &sc, 9, (0, 0)), 0);
        assert_eq!(gap_band(150, 230, &sc), (300 - 4 - 230) / 2);
        // k grows with T.
        let ks: Vec<usize> = (1..=300).map(|t| shortest_exact_run(150, t, &sc, 0, 0)).collect();
        assert!(ks.windows(2).all(|w| w[0] <= w[1]));
    }
}
