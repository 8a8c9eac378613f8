//! The exact reference aligner (`--backend scalar`): Gotoh's affine-gap DP in `i32`.
//!
//! Every backend must report the same alignment as this one, byte for byte. The reported
//! alignment is defined in three steps, each of which a fast backend can reproduce:
//!
//! 1. **End.** A forward score-only pass. Local: the cell with the highest score; global: the
//!    last cell; semi-global: the highest-scoring cell of the last query row. Ties go to the
//!    first such cell in row-major order (smallest query end, then smallest target end).
//! 2. **Start.** (local and semi-global) The same score pass over the reversed prefixes that
//!    end at the end cell, anchored there: the start is the highest-scoring cell, ties again to
//!    the first in row-major order of the reversed sequences, that is the largest query start,
//!    then the largest target start (the shortest of the equal-scoring alignments).
//! 3. **Path.** A global traceback over the window between start and end. Traceback prefers
//!    a diagonal step over a deletion (`D`, gap in the query) over an insertion (`I`), and
//!    opening a gap over extending one.
//!
//! All three steps use memory linear in the sequence lengths, except the traceback, which
//! keeps checkpoint rows every `k` rows and recomputes one block of direction bits at a time
//! (about `sqrt(8m) * n` bytes), so 100 kbp x 100 kbp pairs stay within a few hundred MiB.

use crate::alignment::{Cigar, CigarOp, Mode};
use crate::scoring::Scoring;

/// Minus infinity that survives subtracting gap costs without overflowing.
const NEG: i32 = i32::MIN / 4;
/// Windows up to this many cells keep all direction bits at once (16 MiB).
const FULL_MATRIX_CELLS: usize = 1 << 24;

const FROM_E: u8 = 1;
const FROM_F: u8 = 2;
const E_EXTENDED: u8 = 4;
const F_EXTENDED: u8 = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Smith-Waterman: scores never drop below zero, every cell may start.
    Local,
    /// Row 0 is free (the target start), column 0 pays for leading insertions.
    TargetFree,
    /// Both borders pay for leading gaps.
    Anchored,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Anywhere,
    LastRow,
    Corner,
}

/// The best cell of a score pass: its score and DP coordinates (exclusive ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    score: i32,
    i: usize,
    j: usize,
}

/// An alignment of the query as given (already reverse-complemented when needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAlignment {
    pub score: i32,
    pub query_start: usize,
    pub query_end: usize,
    pub target_start: usize,
    pub target_end: usize,
    pub cigar: Cigar,
}

/// Row and column 0 of the DP for a border cell `k` residues from the origin.
fn border(start: Start, k: usize, sc: &Scoring) -> i32 {
    match (start, k) {
        (_, 0) | (Start::Local, _) => 0,
        _ => -(sc.gap_open() + k as i32 * sc.gap_extend()),
    }
}

/// Advances `h` and `f` from row `i-1` to row `i` over columns `1..h.len()`. With `TRACE`,
/// writes one direction byte per column into `dirs`. Returns the row's best `(score, j)`,
/// first column on ties.
#[inline(always)]
fn dp_row<const TRACE: bool>(
    qc: u8,
    t: &[u8],
    sc: &Scoring,
    local: bool,
    left0: i32,
    h: &mut [i32],
    f: &mut [i32],
    dirs: &mut [u8],
) -> (i32, usize) {
    let (ext, oe) = (sc.gap_extend(), sc.gap_open() + sc.gap_extend());
    let profile = sc.profile_row(qc);
    let mut diag = h[0];
    h[0] = left0;
    let mut left = left0;
    let mut e = NEG;
    let mut best = (NEG, 0);
    let cells = h[1..].iter_mut().zip(f[1..].iter_mut()).zip(t);
    for (j, ((hj, fj), &tc)) in cells.enumerate() {
        let up = *hj;
        let (e_open, e_ext) = (left - oe, e - ext);
        let (f_open, f_ext) = (up - oe, *fj - ext);
        e = e_open.max(e_ext);
        let fv = f_open.max(f_ext);
        let d = diag + profile[tc as usize];
        let mut hv = d.max(e).max(fv);
        if local {
            hv = hv.max(0);
        }
        if TRACE {
            let from = if d >= e && d >= fv {
                0
            } else if e >= fv {
                FROM_E
            } else {
                FROM_F
            };
            dirs[j] = from | if e_open >= e_ext { 0 } else { E_EXTENDED } | if f_open >= f_ext { 0 } else { F_EXTENDED };
        }
        if hv > best.0 {
            best = (hv, j + 1);
        }
        diag = up;
        *hj = hv;
        *fj = fv;
        left = hv;
    }
    best
}

/// A score-only pass over the whole matrix in linear memory.
fn score_pass(q: &[u8], t: &[u8], sc: &Scoring, start: Start, end: End) -> Cell {
    let (m, n) = (q.len(), t.len());
    let row0 = if start == Start::Anchored { start } else { Start::Local };
    let mut h: Vec<i32> = (0..=n).map(|j| border(row0, j, sc)).collect();
    let mut f = vec![NEG; n + 1];
    let mut best = Cell { score: h[0], i: 0, j: 0 };
    if end == End::LastRow && m == 0 {
        best = Cell { score: NEG, i: 0, j: 0 };
        for (j, &v) in h.iter().enumerate() {
            if v > best.score {
                best = Cell { score: v, i: 0, j };
            }
        }
    }
    for i in 1..=m {
        let (row_best, j) = dp_row::<false>(q[i - 1], t, sc, start == Start::Local, border(start, i, sc), &mut h, &mut f, &mut []);
        match end {
            End::Anywhere if row_best > best.score => best = Cell { score: row_best, i, j },
            End::LastRow if i == m => {
                best = Cell { score: h[0], i, j: 0 };
                if row_best > best.score {
                    best = Cell { score: row_best, i, j };
                }
            }
            _ => {}
        }
    }
    if end == End::Corner {
        best = Cell { score: h[n], i: m, j: n };
    }
    best
}

/// Global alignment of `q` against `t` with traceback in bounded memory. Returns the score and
/// the path with every aligned pair as [`CigarOp::Equal`] (see [`split_matches`]).
fn global_traceback(q: &[u8], t: &[u8], sc: &Scoring) -> (i32, Cigar) {
    let (m, n) = (q.len(), t.len());
    let k = if (m + 1).saturating_mul(n + 1) <= FULL_MATRIX_CELLS {
        m.max(1)
    } else {
        ((8.0 * m as f64).sqrt().ceil() as usize).clamp(1, m.max(1))
    };
    // Checkpoint rows 0, k, 2k, ... below m hold H and F (E restarts in every row).
    let mut h: Vec<i32> = (0..=n).map(|j| border(Start::Anchored, j, sc)).collect();
    let mut f = vec![NEG; n + 1];
    let mut checkpoints = vec![(h.clone(), f.clone())];
    let last_checkpoint = if m == 0 { 0 } else { (m - 1) / k * k };
    for i in 1..=last_checkpoint {
        dp_row::<false>(q[i - 1], t, sc, false, border(Start::Anchored, i, sc), &mut h, &mut f, &mut []);
        if i % k == 0 {
            checkpoints.push((h.clone(), f.clone()));
        }
    }

    #[derive(PartialEq)]
    enum State {
        H,
        E,
        F,
    }
    let mut reversed = Cigar::new();
    let (mut i, mut j, mut state) = (m, n, State::H);
    let mut score = if m == 0 { border(Start::Anchored, n, sc) } else { 0 };
    let mut dirs: Vec<u8> = Vec::new();
    while i > 0 && j > 0 {
        let block = (i - 1) / k;
        let r0 = block * k;
        let (ch, cf) = &checkpoints[block];
        h.clear();
        h.extend_from_slice(&ch[..=j]);
        f.clear();
        f.extend_from_slice(&cf[..=j]);
        let width = j;
        dirs.clear();
        dirs.resize((i - r0) * width, 0);
        for (r, row_dirs) in (r0 + 1..=i).zip(dirs.chunks_exact_mut(width)) {
            dp_row::<true>(q[r - 1], &t[..j], sc, false, border(Start::Anchored, r, sc), &mut h, &mut f, row_dirs);
        }
        if i == m && j == n {
            score = h[n];
        }
        while i > r0 && j > 0 {
            let d = dirs[(i - r0 - 1) * width + (j - 1)];
            match state {
                State::H => match d & 3 {
                    0 => {
                        reversed.push(CigarOp::Equal, 1);
                        i -= 1;
                        j -= 1;
                    }
                    FROM_E => state = State::E,
                    _ => state = State::F,
                },
                State::E => {
                    reversed.push(CigarOp::Del, 1);
                    j -= 1;
                    if d & E_EXTENDED == 0 {
                        state = State::H;
                    }
                }
                State::F => {
                    reversed.push(CigarOp::Ins, 1);
                    i -= 1;
                    if d & F_EXTENDED == 0 {
                        state = State::H;
                    }
                }
            }
        }
    }
    if n == 0 {
        score = border(Start::Anchored, m, sc);
    }
    reversed.push(CigarOp::Ins, i as u32);
    reversed.push(CigarOp::Del, j as u32);
    reversed.reverse();
    (score, reversed)
}

/// Replaces the placeholder `=` runs of a traceback with `=` and `X` by comparing residues.
fn split_matches(path: &Cigar, q: &[u8], t: &[u8], sc: &Scoring) -> Cigar {
    let mut out = Cigar::new();
    let (mut qi, mut ti) = (0, 0);
    for &(len, op) in path.runs() {
        match op {
            CigarOp::Equal => {
                for _ in 0..len {
                    let op = if sc.is_identity(q[qi], t[ti]) { CigarOp::Equal } else { CigarOp::Diff };
                    out.push(op, 1);
                    qi += 1;
                    ti += 1;
                }
            }
            CigarOp::Ins => {
                out.push(op, len);
                qi += len as usize;
            }
            CigarOp::Del | CigarOp::Diff => {
                out.push(op, len);
                ti += len as usize;
            }
        }
    }
    out
}

/// The longest stretch of one sequence that an alignment scoring at least `score` can cover
/// when it covers at most `other` residues of the other sequence: beyond `other`, every extra
/// residue is a gap column.
fn span_bound(other: usize, score: i32, sc: &Scoring) -> usize {
    let slack = other as i64 * sc.max_score().max(0) as i64 - sc.gap_open() as i64 - score as i64;
    other + (slack.max(0) / sc.gap_extend() as i64) as usize
}

fn reversed(s: &[u8]) -> Vec<u8> {
    s.iter().rev().copied().collect()
}

/// The score of the alignment [`align`] would report, from one linear-memory pass.
pub(crate) fn score(query: &[u8], target: &[u8], sc: &Scoring, mode: Mode) -> Option<i32> {
    if query.is_empty() || target.is_empty() {
        return None;
    }
    let (q, t) = (sc.encode(query), sc.encode(target));
    match mode {
        Mode::Local => Some(score_pass(&q, &t, sc, Start::Local, End::Anywhere).score).filter(|&s| s > 0),
        Mode::Global => Some(score_pass(&q, &t, sc, Start::Anchored, End::Corner).score),
        Mode::SemiGlobal => Some(score_pass(&q, &t, sc, Start::TargetFree, End::LastRow).score),
    }
}

/// Aligns raw residues `query` against `target`; `None` when there is no alignment
/// (an empty sequence, or no positive local score).
pub(crate) fn align(query: &[u8], target: &[u8], sc: &Scoring, mode: Mode) -> Option<RawAlignment> {
    if query.is_empty() || target.is_empty() {
        return None;
    }
    let (q, t) = (sc.encode(query), sc.encode(target));
    let (m, n) = (q.len(), t.len());
    let (score, qs, qe, ts, te) = match mode {
        Mode::Global => (None, 0, m, 0, n),
        Mode::Local => {
            let end = score_pass(&q, &t, sc, Start::Local, End::Anywhere);
            if end.score <= 0 {
                return None;
            }
            let tb = end.j.min(span_bound(end.i, end.score, sc));
            let qb = end.i.min(span_bound(tb, end.score, sc));
            let rq = reversed(&q[end.i - qb..end.i]);
            let rt = reversed(&t[end.j - tb..end.j]);
            let start = score_pass(&rq, &rt, sc, Start::Anchored, End::Anywhere);
            debug_assert_eq!(start.score, end.score);
            (Some(end.score), end.i - start.i, end.i, end.j - start.j, end.j)
        }
        Mode::SemiGlobal => {
            let end = score_pass(&q, &t, sc, Start::TargetFree, End::LastRow);
            let tb = end.j.min(span_bound(m, end.score, sc));
            let rq = reversed(&q);
            let rt = reversed(&t[end.j - tb..end.j]);
            let start = score_pass(&rq, &rt, sc, Start::Anchored, End::LastRow);
            debug_assert_eq!(start.score, end.score);
            (Some(end.score), 0, m, end.j - start.j, end.j)
        }
    };
    let (path_score, path) = global_traceback(&q[qs..qe], &t[ts..te], sc);
    debug_assert!(score.is_none_or(|s| s == path_score), "{mode:?}: path {path_score} != {score:?}");
    Some(RawAlignment {
        score: path_score,
        query_start: qs,
        query_end: qe,
        target_start: ts,
        target_end: te,
        cigar: split_matches(&path, &query[qs..qe], &target[ts..te], sc),
    })
}

/// The score of a CIGAR over the residues it covers, gaps charged `O + L*E` per run.
pub fn rescore(cigar: &Cigar, query: &[u8], target: &[u8], sc: &Scoring) -> i64 {
    let (mut qi, mut ti, mut total) = (0usize, 0usize, 0i64);
    for &(len, op) in cigar.runs() {
        match op {
            CigarOp::Equal | CigarOp::Diff => {
                for _ in 0..len {
                    total += sc.residue_score(query[qi], target[ti]) as i64;
                    qi += 1;
                    ti += 1;
                }
            }
            CigarOp::Ins => {
                total -= sc.gap_cost(len as usize);
                qi += len as usize;
            }
            CigarOp::Del => {
                total -= sc.gap_cost(len as usize);
                ti += len as usize;
            }
        }
    }
    total
}
