//! Diagonal bands: the diagonals `k = j - i` of a pass that an alignment scoring at least a
//! known floor can touch.
//!
//! Why skipping the other cells is exact: let `S >= floor` be the pass's best score. A path
//! scoring `S` touches only band diagonals, and so does every best path into any cell (or gap
//! state) on it, since it extends to a path scoring `S`. So every value on a best path is
//! computed exactly inside the band, and every other value there is a real path's score, at
//! most its true value, hence still below the best. The best cell, its row-major tie-break, and
//! every direction bit the walk reads (all on the path it follows) come out as without a band.

use crate::reference::{End, Start};
use crate::scoring::Scoring;

/// An upper bound on the score of any path of `pass` over an `m x n` DP that touches
/// diagonal `k`.
fn through(m: usize, n: usize, k: i64, sc: &Scoring, (start, end): (Start, End)) -> i64 {
    let (m, n) = (m as i64, n as i64);
    let (open, ext, best) = (
        sc.gap_open() as i64,
        sc.gap_extend() as i64,
        sc.max_score().max(0) as i64,
    );
    // Aligned pairs before a cell (i, i + k) use rows up to i, those after it columns past
    // i + k, so there are at most min(m, n, n - k, m + k) of them.
    let pairs = m.min(n).min(n - k).min(m + k);
    match (start, end) {
        (Start::Local, _) => best * pairs,
        // Every query residue is aligned or inserted.
        (Start::TargetFree, _) => best * pairs - if pairs < m { open + ext * (m - pairs) } else { 0 },
        // From (0, 0) to (m, n): insertions to reach k and to come back to diagonal n - m; the
        // deletions follow, as they outnumber insertions by n - m.
        (Start::Anchored, End::Corner) => {
            let ins = (-k).max(0) + (k - (n - m)).max(0);
            let del = ins + n - m;
            best * (m - ins) - ext * (ins + del) - open * ((ins > 0) as i64 + (del > 0) as i64)
        }
        // From (0, 0), with |k| gap columns to reach diagonal k.
        (Start::Anchored, _) => best * pairs - if k == 0 { 0 } else { open + ext * k.abs() },
    }
}

/// The diagonals `(lowest, highest)` of `pass` over an `m x n` DP (rows the query, columns the
/// target) that a path scoring at least `floor` may touch; always including 0 and, for the
/// corner, `n - m`. The bound never rises with `|k|` away from those, so one interval holds
/// them all and a binary search on each side finds it.
pub(crate) fn band(m: usize, n: usize, floor: i32, sc: &Scoring, pass: (Start, End)) -> (isize, isize) {
    let keep = |k: i64| through(m, n, k, sc, pass) >= floor as i64;
    let corner = if pass.1 == End::Corner { n as i64 - m as i64 } else { 0 };
    // The kept diagonal farthest from `c` (kept) towards `far` (the last diagonal).
    let edge = |c: i64, far: i64| {
        let (mut inside, mut outside) = (c, far + far.signum());
        while (outside - inside).abs() > 1 {
            let mid = inside + (outside - inside) / 2;
            if keep(mid) {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        inside
    };
    let lo = edge(corner.min(0), -(m as i64));
    let hi = edge(corner.max(0), n as i64);
    (lo as isize, hi as isize)
}

/// Every diagonal of any DP.
pub(crate) const ALL: (isize, isize) = (isize::MIN / 2, isize::MAX / 2);

/// The union of the bands of a batch's lanes: `(m, n, floor)` each.
pub(crate) fn union(
    lanes: impl IntoIterator<Item = (usize, usize, i32)>,
    sc: &Scoring,
    pass: (Start, End),
) -> (isize, isize) {
    lanes.into_iter().fold((0, 0), |(lo, hi), (m, n, floor)| {
        let (l, h) = band(m, n, floor, sc, pass);
        (lo.min(l), hi.max(h))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::tests::PASSES;
    use proptest::prelude::*;

    /// The last step of a path, for affine gap costs.
    #[derive(Clone, Copy, PartialEq)]
    enum Step {
        None,
        Pair,
        Ins,
        Del,
    }

    /// Every path of `pass` from cell `(i, j)` with `score` so far and `touched` its
    /// diagonals: records in `best[k + m]` the best score of a finished path touching `k`.
    #[allow(clippy::too_many_arguments)]
    fn paths(
        q: &[u8],
        t: &[u8],
        sc: &Scoring,
        end: End,
        (i, j): (usize, usize),
        last: Step,
        score: i64,
        touched: &mut Vec<i64>,
        best: &mut [i64],
    ) {
        let (m, n) = (q.len(), t.len());
        let k = j as i64 - i as i64;
        let fresh = !touched.contains(&k);
        if fresh {
            touched.push(k);
        }
        let ends = match end {
            End::Anywhere => true,
            End::LastRow => i == m,
            End::Corner => (i, j) == (m, n),
        };
        if ends {
            for &d in touched.iter() {
                let b = &mut best[(d + m as i64) as usize];
                *b = (*b).max(score);
            }
        }
        let gap = |same: bool| sc.gap_extend() as i64 + if same { 0 } else { sc.gap_open() as i64 };
        if i < m && j < n {
            let s = score + sc.residue_score(q[i], t[j]) as i64;
            paths(q, t, sc, end, (i + 1, j + 1), Step::Pair, s, touched, best);
        }
        if i < m {
            paths(
                q,
                t,
                sc,
                end,
                (i + 1, j),
                Step::Ins,
                score - gap(last == Step::Ins),
                touched,
                best,
            );
        }
        if j < n {
            paths(
                q,
                t,
                sc,
                end,
                (i, j + 1),
                Step::Del,
                score - gap(last == Step::Del),
                touched,
                best,
            );
        }
        if fresh {
            touched.pop();
        }
    }

    fn case() -> impl Strategy<Value = (Scoring, Vec<u8>, Vec<u8>)> {
        let seq = || prop::collection::vec(prop::sample::select(b"ACGTN".as_slice()), 0..=5);
        (
            (1..5i32, 0..6i32, 0..6i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
            seq(),
            seq(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Against every path, enumerated: each diagonal's bound holds, and so the band holds
        /// every diagonal that some path scoring at least a floor touches.
        #[test]
        fn every_path_through_a_diagonal_is_bounded((sc, q, t) in case(), floor in -20..20i32) {
            let (m, n) = (q.len(), t.len());
            for pass in PASSES {
                let mut best = vec![i64::MIN; m + n + 1];
                let starts: Vec<(usize, usize)> = match pass.0 {
                    Start::Local => (0..=m).flat_map(|i| (0..=n).map(move |j| (i, j))).collect(),
                    Start::TargetFree => (0..=n).map(|j| (0, j)).collect(),
                    Start::Anchored => vec![(0, 0)],
                };
                for s in starts {
                    paths(&q, &t, &sc, pass.1, s, Step::None, 0, &mut Vec::new(), &mut best);
                }
                let (lo, hi) = band(m, n, floor, &sc, pass);
                prop_assert!(lo <= 0 && hi >= 0);
                for (d, &b) in best.iter().enumerate() {
                    let k = d as i64 - m as i64;
                    prop_assert!(b <= through(m, n, k, &sc, pass), "{:?} k={} path {} bound {}", pass, k, b, through(m, n, k, &sc, pass));
                    if b >= floor as i64 {
                        prop_assert!((lo as i64..=hi as i64).contains(&k), "{:?} k={} outside {}..={}", pass, k, lo, hi);
                    }
                }
            }
        }
    }
}
