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

/// The seed length the default minimum score aims at: seeds of this length are rare enough in
/// a bacterial or human genome that few windows need verifying.
pub const DEFAULT_SEED: usize = 12;

/// The DNA scores the bound is computed from: `(A, B, O + E)`.
fn scores(sc: &Scoring) -> Option<(i64, i64, i64)> {
    let (a, b) = sc.dna_match_mismatch()?;
    Some((a as i64, b as i64, (sc.gap_open() + sc.gap_extend()) as i64))
}

/// `k(T)` of the module docs for a read of `m` residues with `read_n_runs` runs of non-ACGT
/// residues, against a reference whose stretches hold at most `ref_n_runs` such runs: every
/// alignment scoring at least `min_score` contains an exact A/C/G/T match of this many
/// residues. 0 when nothing is guaranteed (`min_score <= 0`, or a scoring without DNA match
/// and mismatch scores); `usize::MAX` when no alignment can reach `min_score`.
pub fn shortest_exact_run(m: usize, min_score: i32, sc: &Scoring, read_n_runs: usize, ref_n_runs: usize) -> usize {
    let Some((a, b, gap)) = scores(sc) else { return 0 };
    let (t, m) = (min_score as i64, m as i64);
    if t <= 0 {
        return 0;
    }
    let mut best = u64::MAX;
    for q in 0..=read_n_runs as i64 {
        for r in 0..=ref_n_runs as i64 {
            for x in 0..=m {
                // More deletions only raise M_min; stop at the first infeasible count.
                for d in 0.. {
                    let cost = t + b * x + gap * d + q + r;
                    let m_min = (cost + a - 1) / a;
                    if m_min + x + q + r > m {
                        break;
                    }
                    let run = (m_min as u64).div_ceil((x + d + q + r + 1) as u64);
                    best = best.min(run);
                }
                // With no deletion at all this many mismatches no longer fit: nor do more.
                if (t + b * x + q + r + a - 1) / a + x + q + r > m {
                    break;
                }
            }
        }
    }
    usize::try_from(best).unwrap_or(usize::MAX)
}

/// `W` of the module docs: the most reference residues an alignment scoring at least
/// `min_score` can cover when it covers at most `m` read residues.
pub fn reach(m: usize, min_score: i32, sc: &Scoring) -> usize {
    let slack = m as i64 * sc.max_score().max(0) as i64 - sc.gap_open() as i64 - min_score as i64;
    m + (slack.max(0) / sc.gap_extend().max(1) as i64) as usize
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
/// assert!(swgpu::index::shortest_exact_run(150, t, &sc, 0, 0) >= 12);
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
        // k grows with T.
        let ks: Vec<usize> = (1..=300).map(|t| shortest_exact_run(150, t, &sc, 0, 0)).collect();
        assert!(ks.windows(2).all(|w| w[0] <= w[1]));
    }
}
