//! An independent oracle for the `Aligner` and the pipeline: the textbook three-matrix Gotoh
//! recurrences over the full matrix in `i64`, and the documented choice among equal
//! alignments (README, "Which alignment is reported") applied by brute force:
//!
//! 1. **End**: the best cell (local: anywhere; semi-global: the last query row; global: the
//!    last cell), the first in row-major order on ties. Local needs a positive score; an empty
//!    query or target has no alignment.
//! 2. **Start**: among all starts whose global alignment to that end reaches the score, the
//!    largest query start, then the largest target start (semi-global: query start 0).
//! 3. **Path**: a global traceback between start and end preferring a diagonal step over a
//!    deletion over an insertion, and opening a gap over extending one.
//! 4. **Strand** (DNA, both strands): the reverse complement's alignment when it scores more,
//!    with query coordinates given on the forward strand; forward on ties.
//! 5. **Search**: the `k` best targets, highest score first, ties to the lower target index.
//!
//! It reads only the public scoring model (residue scores, gap costs, identity) and shares no
//! code with the backends or with `swgpu::reference`, so a bug they share shows up here.

use swgpu::{Alignment, Cigar, CigarOp, Hit, Mode, Scoring, Strand};

const NEG: i64 = i64::MIN / 4;

/// How row and column 0 of a DP start.
#[derive(Clone, Copy, PartialEq)]
enum Borders {
    /// Smith-Waterman: everything is 0 and scores never drop below 0.
    Local,
    /// Row 0 is free (semi-global), column 0 pays for leading insertions.
    TargetFree,
    /// Both pay for leading gaps (global).
    Anchored,
}

/// The full matrices: `h` the best score ending at a cell, `e` ending in a deletion (a gap in
/// the query, moving along the target), `f` ending in an insertion.
struct Dp {
    h: Vec<Vec<i64>>,
    e: Vec<Vec<i64>>,
    f: Vec<Vec<i64>>,
}

fn fill(q: &[u8], t: &[u8], sc: &Scoring, borders: Borders) -> Dp {
    let (m, n) = (q.len(), t.len());
    let (o, x) = (sc.gap_open() as i64, sc.gap_extend() as i64);
    let gap = |k: usize| if k == 0 { 0 } else { -(o + k as i64 * x) };
    let mut h = vec![vec![NEG; n + 1]; m + 1];
    let mut e = vec![vec![NEG; n + 1]; m + 1];
    let mut f = vec![vec![NEG; n + 1]; m + 1];
    for i in 0..=m {
        for j in 0..=n {
            if i == 0 || j == 0 {
                h[i][j] = match borders {
                    Borders::Local => 0,
                    Borders::TargetFree if i == 0 => 0,
                    _ => gap(i + j),
                };
                continue;
            }
            e[i][j] = (h[i][j - 1] - o - x).max(e[i][j - 1] - x);
            f[i][j] = (h[i - 1][j] - o - x).max(f[i - 1][j] - x);
            let d = h[i - 1][j - 1] + sc.residue_score(q[i - 1], t[j - 1]) as i64;
            let best = d.max(e[i][j]).max(f[i][j]);
            h[i][j] = if borders == Borders::Local { best.max(0) } else { best };
        }
    }
    Dp { h, e, f }
}

/// The first cell of `cells` (in the order given) with the highest `h`.
fn first_best(dp: &Dp, cells: impl IntoIterator<Item = (usize, usize)>) -> (i64, usize, usize) {
    let mut best = (NEG, 0, 0);
    for (i, j) in cells {
        if dp.h[i][j] > best.0 {
            best = (dp.h[i][j], i, j);
        }
    }
    best
}

fn row_major(m: usize, n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..=m).flat_map(move |i| (0..=n).map(move |j| (i, j)))
}

fn reversed(s: &[u8]) -> Vec<u8> {
    s.iter().rev().copied().collect()
}

/// The global traceback of `q` against `t` by the documented preferences.
fn traceback(q: &[u8], t: &[u8], sc: &Scoring) -> (i64, Cigar) {
    let dp = fill(q, t, sc, Borders::Anchored);
    let (o, x) = (sc.gap_open() as i64, sc.gap_extend() as i64);
    let (mut i, mut j) = (q.len(), t.len());
    #[derive(PartialEq)]
    enum In {
        H,
        E,
        F,
    }
    let mut state = In::H;
    let mut ops = Vec::new();
    while i > 0 && j > 0 {
        match state {
            In::H => {
                let d = dp.h[i - 1][j - 1] + sc.residue_score(q[i - 1], t[j - 1]) as i64;
                if d >= dp.e[i][j] && d >= dp.f[i][j] {
                    let same = sc.is_identity(q[i - 1], t[j - 1]);
                    ops.push(if same { CigarOp::Equal } else { CigarOp::Diff });
                    i -= 1;
                    j -= 1;
                } else if dp.e[i][j] >= dp.f[i][j] {
                    state = In::E;
                } else {
                    state = In::F;
                }
            }
            In::E => {
                ops.push(CigarOp::Del);
                let opened = dp.h[i][j - 1] - o - x >= dp.e[i][j - 1] - x;
                j -= 1;
                if opened {
                    state = In::H;
                }
            }
            In::F => {
                ops.push(CigarOp::Ins);
                let opened = dp.h[i - 1][j] - o - x >= dp.f[i - 1][j] - x;
                i -= 1;
                if opened {
                    state = In::H;
                }
            }
        }
    }
    ops.extend(std::iter::repeat_n(CigarOp::Ins, i));
    ops.extend(std::iter::repeat_n(CigarOp::Del, j));
    let mut cigar = Cigar::new();
    for op in ops.into_iter().rev() {
        cigar.push(op, 1);
    }
    (dp.h[q.len()][t.len()], cigar)
}

/// An alignment of one strand: its score, query and target ranges, and path.
struct Found {
    score: i64,
    query: (usize, usize),
    target: (usize, usize),
    cigar: Cigar,
}

/// The alignment of `q` (as given) against `t` in `mode`, `None` when there is none.
fn one_strand(q: &[u8], t: &[u8], sc: &Scoring, mode: Mode) -> Option<Found> {
    if q.is_empty() || t.is_empty() {
        return None;
    }
    let (m, n) = (q.len(), t.len());
    let (score, qe, te) = match mode {
        Mode::Local => first_best(&fill(q, t, sc, Borders::Local), row_major(m, n)),
        Mode::SemiGlobal => first_best(&fill(q, t, sc, Borders::TargetFree), (0..=n).map(|j| (m, j))),
        Mode::Global => (fill(q, t, sc, Borders::Anchored).h[m][n], m, n),
    };
    if mode == Mode::Local && score <= 0 {
        return None;
    }
    // Every start at once: a global DP over the reversed prefixes that end at the end cell.
    let (qs, ts) = match mode {
        Mode::Global => (0, 0),
        _ => {
            let back = fill(&reversed(&q[..qe]), &reversed(&t[..te]), sc, Borders::Anchored);
            let (best, i, j) = match mode {
                Mode::Local => first_best(&back, row_major(qe, te)),
                _ => first_best(&back, (0..=te).map(|j| (qe, j))),
            };
            assert_eq!(best, score, "the best start reaches the end's score");
            (qe - i, te - j)
        }
    };
    let (path_score, cigar) = traceback(&q[qs..qe], &t[ts..te], sc);
    assert_eq!(path_score, score, "the path between start and end has the end's score");
    Some(Found {
        score,
        query: (qs, qe),
        target: (ts, te),
        cigar,
    })
}

/// The reverse complement of A/C/G/T/U/N in either case (what the tests generate).
fn revcomp(s: &[u8]) -> Vec<u8> {
    s.iter()
        .rev()
        .map(|&b| match b.to_ascii_uppercase() {
            b'A' => b'T',
            b'C' => b'G',
            b'G' => b'C',
            b'T' | b'U' => b'A',
            other => other,
        })
        .collect()
}

/// The alignment of `q` against `t` on one strand, query coordinates on the forward strand.
fn on_strand(q: &[u8], t: &[u8], sc: &Scoring, mode: Mode, strand: Strand) -> Option<Alignment> {
    let Found {
        score,
        query: (qs, qe),
        target: (ts, te),
        cigar,
    } = match strand {
        Strand::Forward => one_strand(q, t, sc, mode)?,
        Strand::Reverse => one_strand(&revcomp(q), t, sc, mode)?,
    };
    let (query_start, query_end) = match strand {
        Strand::Forward => (qs, qe),
        Strand::Reverse => (q.len() - qe, q.len() - qs),
    };
    Some(Alignment {
        score: i32::try_from(score).expect("test scores fit i32"),
        query_start,
        query_end,
        target_start: ts,
        target_end: te,
        strand,
        cigar,
    })
}

/// The alignment the `Aligner` must report for `q` against `t`: on the better strand when
/// `both_strands` (DNA), forward on ties.
pub fn align(q: &[u8], t: &[u8], sc: &Scoring, mode: Mode, both_strands: bool) -> Option<Alignment> {
    search(q, &[t], sc, mode, both_strands, 1).pop().map(|h| h.alignment)
}

/// The hit the pipeline must report for pair `i` (`q` against `t`): [`search`] with one target.
pub fn pair_hit(i: usize, q: &[u8], t: &[u8], sc: &Scoring, mode: Mode, both_strands: bool) -> Option<Hit> {
    let mut hit = search(q, &[t], sc, mode, both_strands, 1).pop()?;
    hit.target = i;
    Some(hit)
}

/// The `top_k` hits of `q` against `targets`: highest score first, ties to the lower index,
/// each target on its better strand (forward on ties). MAPQ (README, "MAPQ"): with `s2` the
/// best score of every (target, strand) alignment but the first hit's, `min(60, 6 (s1 - s2))`
/// for the first hit (60 when there is none), 0 for the others; `s2` is every hit's XS.
pub fn search(q: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode, both: bool, top_k: usize) -> Vec<Hit> {
    let strands: &[Strand] = if both {
        &[Strand::Forward, Strand::Reverse]
    } else {
        &[Strand::Forward]
    };
    let mut all: Vec<(usize, Alignment)> = Vec::new();
    for (target, t) in targets.iter().enumerate() {
        for &strand in strands {
            all.extend(on_strand(q, t, sc, mode, strand).map(|a| (target, a)));
        }
    }
    // Forward sorts before reverse, so a tie between strands goes to the forward one.
    all.sort_by_key(|(target, a)| (std::cmp::Reverse(a.score), *target, a.strand == Strand::Reverse));
    let second = all.get(1).map(|(_, a)| i64::from(a.score));
    let mut hits: Vec<Hit> = Vec::new();
    for (target, a) in all {
        if hits.len() < top_k && hits.iter().all(|h| h.target != target) {
            let mapq = match (hits.is_empty(), second) {
                (false, _) => 0,
                (true, None) => 60,
                (true, Some(s2)) => (6 * (i64::from(a.score) - s2)).min(60) as u8,
            };
            hits.push(Hit::new(target, a, mapq, second.map(|s| s as i32)));
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let sc = Scoring::dna(2, 4, 4, 2).unwrap();
        let show = |a: Option<Alignment>| {
            a.map(|a| {
                (
                    a.score,
                    a.query_start,
                    a.query_end,
                    a.target_start,
                    a.target_end,
                    a.strand,
                    a.cigar.to_string(),
                )
            })
        };
        let f = Strand::Forward;
        assert_eq!(
            show(align(b"ACGT", b"TTACGTTT", &sc, Mode::Local, false)),
            Some((8, 0, 4, 2, 6, f, "4=".into()))
        );
        // Equal local scores ending in one cell: the shorter alignment.
        assert_eq!(
            show(align(b"ACGTACGT", b"ACGTTACGT", &sc, Mode::Local, false)),
            Some((10, 3, 8, 4, 9, f, "5=".into()))
        );
        // Gaps leftmost; a gap of 1 costs O + E = 6.
        assert_eq!(
            show(align(b"ACGTACGT", b"ACGTTACGT", &sc, Mode::Global, false)),
            Some((10, 0, 8, 0, 9, f, "3=1D5=".into()))
        );
        assert_eq!(
            show(align(b"ACGT", b"GGACTTGG", &sc, Mode::SemiGlobal, false)),
            Some((2, 0, 4, 2, 6, f, "2=1X1=".into()))
        );
        assert_eq!(
            show(align(b"AAAA", b"C", &sc, Mode::SemiGlobal, false)),
            Some((-12, 0, 4, 0, 0, f, "4I".into()))
        );
        assert_eq!(
            show(align(b"NNNN", b"NNNN", &sc, Mode::Global, false)),
            Some((-4, 0, 4, 0, 4, f, "4X".into()))
        );
        assert_eq!(align(b"NNNN", b"ACGT", &sc, Mode::Local, true), None);
        assert_eq!(align(b"", b"ACGT", &sc, Mode::Global, true), None);
        // The reverse complement scores more: coordinates on the forward query.
        assert_eq!(
            show(align(b"TTTTACGTAC", b"GGGGTACGTAAAAGGG", &sc, Mode::Local, true)),
            Some((20, 0, 10, 3, 13, Strand::Reverse, "10=".into()))
        );
    }
}
