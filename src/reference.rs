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
use std::ops::Range;

/// Minus infinity that survives subtracting gap costs without overflowing.
const NEG: i32 = i32::MIN / 4;
/// Windows up to this many cells keep all direction bits at once (16 MiB).
const FULL_MATRIX_CELLS: usize = 1 << 24;

/// Direction bits of a traceback cell: where H came from (0 = diagonal)...
pub(crate) const FROM_E: u8 = 1;
/// ... or from F; whether E and F extended a gap rather than opened one.
pub(crate) const FROM_F: u8 = 2;
/// E (a deletion) extended the gap of the cell to its left.
pub(crate) const E_EXTENDED: u8 = 4;
/// F (an insertion) extended the gap of the cell above.
pub(crate) const F_EXTENDED: u8 = 8;

/// The DP's first row and column (how an alignment may start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Smith-Waterman: scores never drop below zero, every cell may start.
    Local,
    /// Row 0 is free (the target start), column 0 pays for leading insertions.
    TargetFree,
    /// Both borders pay for leading gaps.
    Anchored,
}

/// Which cells may end an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Any cell (local, and the reverse pass of local).
    Anywhere,
    /// The last query row (semi-global).
    LastRow,
    /// The last cell (global).
    Corner,
}

/// The best cell of a score pass: its score and DP coordinates (exclusive ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    score: i32,
    i: usize,
    j: usize,
}

/// The score and exclusive end coordinates of an alignment (step 1 of the definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlignmentEnd {
    pub score: i32,
    pub query_end: usize,
    pub target_end: usize,
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
pub(crate) fn border(start: Start, k: usize, sc: &Scoring) -> i32 {
    match (start, k) {
        (_, 0) | (Start::Local, _) => 0,
        _ => -(sc.gap_open() + k as i32 * sc.gap_extend()),
    }
}

/// One DP row: `h[j]` is H (best score ending at the cell) and `f[j]` is F (best score ending
/// in an insertion); E (ending in a deletion) runs along the row and needs no storage.
#[derive(Clone)]
struct Row {
    h: Vec<i32>,
    f: Vec<i32>,
}

impl Row {
    /// Row 0 over `n` target residues.
    fn first(start: Start, n: usize, sc: &Scoring) -> Row {
        Row {
            h: (0..=n).map(|j| border(start, j, sc)).collect(),
            f: vec![NEG; n + 1],
        }
    }
}

/// Advances `row` from row `i-1` to row `i` over columns `1..row.h.len()`. With `TRACE`,
/// writes one direction byte per column into `dirs`. Returns the row's best `(score, j)`,
/// first column on ties.
#[inline(always)]
fn dp_row<const TRACE: bool>(
    qc: u8,
    t: &[u8],
    sc: &Scoring,
    local: bool,
    left0: i32,
    row: &mut Row,
    dirs: &mut [u8],
) -> (i32, usize) {
    let (h, f) = (&mut row.h, &mut row.f);
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
            dirs[j] =
                from | if e_open >= e_ext { 0 } else { E_EXTENDED } | if f_open >= f_ext { 0 } else { F_EXTENDED };
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
    let mut row = Row::first(row0, n, sc);
    let mut best = Cell {
        score: row.h[0],
        i: 0,
        j: 0,
    };
    if end == End::LastRow && m == 0 {
        best = Cell { score: NEG, i: 0, j: 0 };
        for (j, &v) in row.h.iter().enumerate() {
            if v > best.score {
                best = Cell { score: v, i: 0, j };
            }
        }
    }
    for i in 1..=m {
        crate::stop::check();
        let (row_best, j) = dp_row::<false>(
            q[i - 1],
            t,
            sc,
            start == Start::Local,
            border(start, i, sc),
            &mut row,
            &mut [],
        );
        match end {
            End::Anywhere if row_best > best.score => best = Cell { score: row_best, i, j },
            End::LastRow if i == m => {
                best = Cell {
                    score: row.h[0],
                    i,
                    j: 0,
                };
                if row_best > best.score {
                    best = Cell { score: row_best, i, j };
                }
            }
            _ => {}
        }
    }
    if end == End::Corner {
        best = Cell {
            score: row.h[n],
            i: m,
            j: n,
        };
    }
    best
}

/// DP rows of an anchored (global) pass, for [`global_traceback`]: the reference's scalar
/// rows ([`ScalarRows`]) or SIMD rows.
pub(crate) trait Rows {
    /// A row saved as a checkpoint (H and F; E restarts in every row).
    type Saved;
    /// Advances from row `i-1` to row `i`; with `Some(r)`, records the direction bits of row
    /// `i` as row `r` (1-based) of the current block.
    fn advance(&mut self, i: usize, block_row: Option<usize>);
    /// The current row.
    fn save(&self) -> Self::Saved;
    /// Goes back to a saved row, for a block of `rows` rows needing columns `0..=width`.
    fn restore(&mut self, saved: &Self::Saved, width: usize, rows: usize);
    /// H of the current row in column `j`.
    fn h(&self, j: usize) -> i32;
    /// The direction bits of block row `r`, column `j >= 1`.
    fn dir(&self, r: usize, j: usize) -> u8;
}

/// The reference's rows over `t`, with query `q` (codes).
struct ScalarRows<'a> {
    q: &'a [u8],
    t: &'a [u8],
    sc: &'a Scoring,
    row: Row,
    width: usize,
    dirs: Vec<u8>,
}

impl Rows for ScalarRows<'_> {
    type Saved = Row;

    fn advance(&mut self, i: usize, block_row: Option<usize>) {
        let (qc, t, left0) = (
            self.q[i - 1],
            &self.t[..self.width],
            border(Start::Anchored, i, self.sc),
        );
        match block_row {
            Some(r) => {
                let dirs = &mut self.dirs[(r - 1) * self.width..r * self.width];
                dp_row::<true>(qc, t, self.sc, false, left0, &mut self.row, dirs)
            }
            None => dp_row::<false>(qc, t, self.sc, false, left0, &mut self.row, &mut []),
        };
    }

    fn save(&self) -> Row {
        self.row.clone()
    }

    fn restore(&mut self, saved: &Row, width: usize, rows: usize) {
        self.row.h.clear();
        self.row.h.extend_from_slice(&saved.h[..=width]);
        self.row.f.clear();
        self.row.f.extend_from_slice(&saved.f[..=width]);
        self.width = width;
        self.dirs.clear();
        self.dirs.resize(rows * width, 0);
    }

    fn h(&self, j: usize) -> i32 {
        self.row.h[j]
    }

    fn dir(&self, r: usize, j: usize) -> u8 {
        self.dirs[(r - 1) * self.width + (j - 1)]
    }
}

/// Global alignment of an `m`-residue query against an `n`-residue target with traceback in
/// bounded memory: rows 0, `k`, `2k`, ... are kept, and each block of `k` rows is recomputed
/// with direction bits when the traceback enters it. Returns the score and the path with
/// every aligned pair as [`CigarOp::Equal`] (see [`split_matches`]). Inlined so that SIMD
/// rows compile with their caller's target features.
#[inline(always)]
pub(crate) fn global_traceback<R: Rows>(m: usize, n: usize, sc: &Scoring, k: usize, rows: &mut R) -> (i32, Cigar) {
    let k = k.clamp(1, m.max(1));
    let mut checkpoints = vec![rows.save()];
    let last_checkpoint = if m == 0 { 0 } else { (m - 1) / k * k };
    for i in 1..=last_checkpoint {
        crate::stop::check();
        rows.advance(i, None);
        if i % k == 0 {
            checkpoints.push(rows.save());
        }
    }

    let mut tb = Traceback::new(m, n);
    let mut score = if m == 0 { border(Start::Anchored, n, sc) } else { 0 };
    while tb.i > 0 && tb.j > 0 {
        let (i, j) = (tb.i, tb.j);
        let r0 = (i - 1) / k * k;
        rows.restore(&checkpoints[r0 / k], j, i - r0);
        for r in r0 + 1..=i {
            crate::stop::check();
            rows.advance(r, Some(r - r0));
        }
        if i == m && j == n {
            score = rows.h(n);
        }
        walk(&mut tb, r0, |i, j| rows.dir(i - r0, j));
    }
    if n == 0 {
        score = border(Start::Anchored, m, sc);
    }
    (score, tb.finish())
}

/// [`global_traceback`] in the reference's rows, keeping the whole matrix's directions when
/// it has at most `full_matrix_cells` cells and about `sqrt(8m)` rows per block otherwise.
fn scalar_traceback(q: &[u8], t: &[u8], sc: &Scoring, full_matrix_cells: usize) -> (i32, Cigar) {
    let (m, n) = (q.len(), t.len());
    let k = if (m + 1).saturating_mul(n + 1) <= full_matrix_cells {
        m.max(1)
    } else {
        ((8.0 * m as f64).sqrt().ceil() as usize).clamp(1, m.max(1))
    };
    let mut rows = ScalarRows {
        q,
        t,
        sc,
        row: Row::first(Start::Anchored, n, sc),
        width: n,
        dirs: Vec::new(),
    };
    global_traceback(m, n, sc, k, &mut rows)
}

/// Where a traceback stands: the cell, the matrix it is in, and the path so far (reversed).
pub(crate) struct Traceback {
    i: usize,
    j: usize,
    state: State,
    reversed: Cigar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    H,
    E,
    F,
}

impl Traceback {
    /// A traceback from the last cell `(m, n)` of a global alignment.
    pub(crate) fn new(m: usize, n: usize) -> Traceback {
        Traceback {
            i: m,
            j: n,
            state: State::H,
            reversed: Cigar::new(),
        }
    }

    /// The path from `(0, 0)`: the walked steps after the leading insertions or deletions
    /// along the border. Aligned pairs are [`CigarOp::Equal`] placeholders.
    pub(crate) fn finish(mut self) -> Cigar {
        self.reversed.push(CigarOp::Ins, self.i as u32);
        self.reversed.push(CigarOp::Del, self.j as u32);
        self.reversed.reverse();
        self.reversed
    }
}

/// Walks `tb` back through cells with row above `stop_row`, reading each cell's direction byte
/// (the bits `dp_row` records) from `dir(i, j)`, until it leaves those rows or reaches column 0.
pub(crate) fn walk(tb: &mut Traceback, stop_row: usize, dir: impl Fn(usize, usize) -> u8) {
    while tb.i > stop_row && tb.j > 0 {
        let d = dir(tb.i, tb.j);
        match tb.state {
            State::H => match d & 3 {
                0 => {
                    tb.reversed.push(CigarOp::Equal, 1);
                    tb.i -= 1;
                    tb.j -= 1;
                }
                FROM_E => tb.state = State::E,
                _ => tb.state = State::F,
            },
            State::E => {
                tb.reversed.push(CigarOp::Del, 1);
                tb.j -= 1;
                if d & E_EXTENDED == 0 {
                    tb.state = State::H;
                }
            }
            State::F => {
                tb.reversed.push(CigarOp::Ins, 1);
                tb.i -= 1;
                if d & F_EXTENDED == 0 {
                    tb.state = State::H;
                }
            }
        }
    }
}

/// Replaces the placeholder `=` runs of a traceback with `=` and `X` by comparing residues.
fn split_matches(path: &Cigar, q: &[u8], t: &[u8], sc: &Scoring) -> Cigar {
    let mut out = Cigar::new();
    let (mut qi, mut ti) = (0, 0);
    for &(len, op) in path.runs() {
        match op {
            CigarOp::Equal => {
                for _ in 0..len {
                    let op = if sc.is_identity(q[qi], t[ti]) {
                        CigarOp::Equal
                    } else {
                        CigarOp::Diff
                    };
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

/// For the passes whose alignments may start and end at any target column (local, and
/// target-free ending in the last row), the longest stretch of target that a best path of a
/// `query_len` query can cover: its score is at least 1 (local: a best of 0 is no alignment) or
/// at least that of the whole query inserted (target-free). `None` for the other passes.
#[cfg(feature = "gpu")]
pub(crate) fn free_target_span(query_len: usize, (start, end): (Start, End), sc: &Scoring) -> Option<usize> {
    let floor = match (start, end) {
        (Start::Local, End::Anywhere) => 1,
        (Start::TargetFree, End::LastRow) => border(start, query_len, sc),
        _ => return None,
    };
    Some(span_bound(query_len, floor, sc))
}

/// The borders and end cells of step 1's forward pass in `mode`.
pub(crate) fn forward_pass(mode: Mode) -> (Start, End) {
    match mode {
        Mode::Local => (Start::Local, End::Anywhere),
        Mode::Global => (Start::Anchored, End::Corner),
        Mode::SemiGlobal => (Start::TargetFree, End::LastRow),
    }
}

/// The best cell of one pass over raw residues (`(score, i, j)`, the reference's tie-break).
pub(crate) fn pass_cell(query: &[u8], target: &[u8], sc: &Scoring, (start, end): (Start, End)) -> (i32, usize, usize) {
    let cell = score_pass(&sc.encode(query), &sc.encode(target), sc, start, end);
    (cell.score, cell.i, cell.j)
}

/// Step 1: the score and end of the alignment [`align`] reports, from one linear-memory pass;
/// `None` when there is no alignment (an empty sequence, or no positive local score).
pub(crate) fn find_end(query: &[u8], target: &[u8], sc: &Scoring, mode: Mode) -> Option<AlignmentEnd> {
    if query.is_empty() || target.is_empty() {
        return None;
    }
    end_from_cell(mode, pass_cell(query, target, sc, forward_pass(mode)))
}

/// Whether step 1's best score is an alignment in `mode`: a local score must be positive.
pub(crate) fn is_alignment(mode: Mode, score: i32) -> bool {
    mode != Mode::Local || score > 0
}

/// The alignment end that step 1's best cell gives in `mode`, if [`is_alignment`].
pub(crate) fn end_from_cell(mode: Mode, (score, i, j): (i32, usize, usize)) -> Option<AlignmentEnd> {
    is_alignment(mode, score).then_some(AlignmentEnd {
        score,
        query_end: i,
        target_end: j,
    })
}

/// Step 2's pass for the alignment ending at `end`: the query and target ranges whose reversal
/// it runs over, and its borders and end cells. Its best cell `(i, j)` puts the start at
/// `(range.end - i, range.end - j)`. `None` in global mode, where the start is `(0, 0)`.
#[allow(clippy::type_complexity)]
pub(crate) fn start_pass(
    query_len: usize,
    end: AlignmentEnd,
    sc: &Scoring,
    mode: Mode,
) -> Option<(Range<usize>, Range<usize>, (Start, End))> {
    let (qe, te) = (end.query_end, end.target_end);
    match mode {
        Mode::Global => None,
        Mode::Local => {
            let tb = te.min(span_bound(qe, end.score, sc));
            let qb = qe.min(span_bound(tb, end.score, sc));
            Some((qe - qb..qe, te - tb..te, (Start::Anchored, End::Anywhere)))
        }
        Mode::SemiGlobal => {
            let tb = te.min(span_bound(query_len, end.score, sc));
            Some((0..query_len, te - tb..te, (Start::Anchored, End::LastRow)))
        }
    }
}

/// Step 2 for each `(query, target, end)`: the start `(query_start, target_start)` of the
/// reference's alignment, from the best cells `cells` finds in the reversed windows of
/// [`start_pass`] (all with the same pass; `floors[k]` is a score pair `k`'s best cell is known
/// to reach). Backends differ only in how they compute those cells.
pub(crate) fn starts_from_cells<E>(
    pairs: &[(&[u8], &[u8], AlignmentEnd)],
    sc: &Scoring,
    mode: Mode,
    cells: impl FnOnce(&[(&[u8], &[u8])], &[i32], (Start, End)) -> Result<Vec<Option<(i32, usize, usize)>>, E>,
) -> Result<Vec<(usize, usize)>, E> {
    let windows: Vec<_> = pairs
        .iter()
        .map(|(q, _, end)| start_pass(q.len(), *end, sc, mode))
        .collect();
    let Some(pass) = windows.iter().flatten().map(|w| w.2).next() else {
        return Ok(vec![(0, 0); pairs.len()]);
    };
    let reversed: Vec<(Vec<u8>, Vec<u8>)> = pairs
        .iter()
        .zip(&windows)
        .map(|((q, t, _), w)| match w {
            Some((qr, tr, _)) => (reversed(&q[qr.clone()]), reversed(&t[tr.clone()])),
            None => (Vec::new(), Vec::new()),
        })
        .collect();
    let refs: Vec<(&[u8], &[u8])> = reversed.iter().map(|(q, t)| (q.as_slice(), t.as_slice())).collect();
    let floors: Vec<i32> = pairs.iter().map(|p| p.2.score).collect();
    Ok(cells(&refs, &floors, pass)?
        .into_iter()
        .zip(&windows)
        .map(|(cell, w)| match (cell, w) {
            (Some((_, i, j)), Some((qr, tr, _))) => (qr.end - i, tr.end - j),
            _ => (0, 0),
        })
        .collect())
}

/// The reversal of `s`.
pub(crate) fn reversed(s: &[u8]) -> Vec<u8> {
    s.iter().rev().copied().collect()
}

/// Steps 2 and 3: the start and the path of the alignment ending at `end`, which must be what
/// [`find_end`] returns for the same arguments (a faster backend may compute it instead).
pub(crate) fn align_from_end(query: &[u8], target: &[u8], sc: &Scoring, mode: Mode, end: AlignmentEnd) -> RawAlignment {
    let start = start_pass(query.len(), end, sc, mode).map(|(qr, tr, pass)| {
        let (score, i, j) = pass_cell(&reversed(&query[qr.clone()]), &reversed(&target[tr.clone()]), sc, pass);
        debug_assert_eq!(score, end.score);
        (qr.end - i, tr.end - j)
    });
    align_window(query, target, sc, start.unwrap_or((0, 0)), end)
}

/// Step 3: the global traceback between `start` and `end`.
pub(crate) fn align_window(
    query: &[u8],
    target: &[u8],
    sc: &Scoring,
    (qs, ts): (usize, usize),
    end: AlignmentEnd,
) -> RawAlignment {
    let (qe, te) = (end.query_end, end.target_end);
    let (q, t) = (sc.encode(&query[qs..qe]), sc.encode(&target[ts..te]));
    let (score, path) = scalar_traceback(&q, &t, sc, FULL_MATRIX_CELLS);
    debug_assert_eq!(score, end.score);
    raw_from_path(query, target, sc, (qs, ts), end, &path)
}

/// The alignment between `start` and `end` along `path` (step 3's result).
pub(crate) fn raw_from_path(
    query: &[u8],
    target: &[u8],
    sc: &Scoring,
    (qs, ts): (usize, usize),
    end: AlignmentEnd,
    path: &Cigar,
) -> RawAlignment {
    let (qe, te) = (end.query_end, end.target_end);
    RawAlignment {
        score: end.score,
        query_start: qs,
        query_end: qe,
        target_start: ts,
        target_end: te,
        cigar: split_matches(path, &query[qs..qe], &target[ts..te], sc),
    }
}

/// Aligns raw residues `query` against `target`: [`find_end`], then [`align_from_end`].
#[cfg(test)]
fn align(query: &[u8], target: &[u8], sc: &Scoring, mode: Mode) -> Option<RawAlignment> {
    find_end(query, target, sc, mode).map(|end| align_from_end(query, target, sc, mode, end))
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scoring::{Alphabet, Matrix};
    use proptest::prelude::*;

    fn dna() -> Scoring {
        Scoring::dna(2, 4, 4, 2).unwrap()
    }

    fn check(q: &[u8], t: &[u8], sc: &Scoring, mode: Mode, expect: (i32, usize, usize, usize, usize, &str)) {
        let a = align(q, t, sc, mode).unwrap();
        let got = (
            a.score,
            a.query_start,
            a.query_end,
            a.target_start,
            a.target_end,
            a.cigar.to_string(),
        );
        assert_eq!(
            got,
            (expect.0, expect.1, expect.2, expect.3, expect.4, expect.5.to_string()),
            "{mode:?}"
        );
    }

    #[test]
    fn known_answers_dna() {
        let sc = dna();
        check(b"ACGT", b"TTACGTTT", &sc, Mode::Local, (8, 0, 4, 2, 6, "4="));
        // Two equal local scores end in the same cell: the shorter alignment wins.
        check(b"ACGTACGT", b"ACGTTACGT", &sc, Mode::Local, (10, 3, 8, 4, 9, "5="));
        check(b"ACGTACGT", b"ACGTTACGT", &sc, Mode::Global, (10, 0, 8, 0, 9, "3=1D5="));
        check(b"ACGT", b"GGACTTGG", &sc, Mode::SemiGlobal, (2, 0, 4, 2, 6, "2=1X1="));
        // Diagonal is preferred over an insertion: gaps go as far left as ties allow.
        check(b"AAA", b"AA", &sc, Mode::Global, (-2, 0, 3, 0, 2, "1I2="));
        check(b"AA", b"AAA", &sc, Mode::Global, (-2, 0, 2, 0, 3, "1D2="));
        // A gap of 3 costs O + 3E = 10.
        check(
            b"AAAACCCC",
            b"AAAAGGGCCCC",
            &sc,
            Mode::Global,
            (6, 0, 8, 0, 11, "4=3D4="),
        );
        check(b"NNNN", b"NNNN", &sc, Mode::Global, (-4, 0, 4, 0, 4, "4X"));
        assert_eq!(align(b"NNNN", b"ACGT", &sc, Mode::Local), None);
        assert_eq!(align(b"", b"ACGT", &sc, Mode::Global), None);
        // Semi-global may cover no target residue at all when insertions are cheaper.
        check(b"AAAA", b"C", &sc, Mode::SemiGlobal, (-12, 0, 4, 0, 0, "4I"));
    }

    #[test]
    fn known_answers_durbin_blosum50_linear_gaps() {
        // Durbin, Eddy, Krogh & Mitchison, Biological Sequence Analysis, figures 2.5 and 2.6:
        // BLOSUM50 with a linear gap of 8 (O=0, E=8).
        let sc = Scoring::with_matrix(Alphabet::Protein, &Matrix::builtin("BLOSUM50").unwrap(), 0, 8).unwrap();
        check(
            b"HEAGAWGHEE",
            b"PAWHEAE",
            &sc,
            Mode::Global,
            (1, 0, 10, 0, 7, "2I1X1I2=1I2=1D1="),
        );
        check(b"HEAGAWGHEE", b"PAWHEAE", &sc, Mode::Local, (28, 4, 9, 1, 5, "2=1I2="));
    }

    /// An independent oracle: the textbook three-matrix Gotoh recurrences over the full matrix,
    /// returning the score and the end cell by the documented rule.
    fn naive(q: &[u8], t: &[u8], sc: &Scoring, mode: Mode) -> Option<(i32, usize, usize)> {
        if q.is_empty() || t.is_empty() {
            return None;
        }
        let (m, n) = (q.len(), t.len());
        let (o, e) = (sc.gap_open() as i64, sc.gap_extend() as i64);
        let inf = i64::MIN / 4;
        let mut h = vec![vec![inf; n + 1]; m + 1];
        let mut ins = vec![vec![inf; n + 1]; m + 1];
        let mut del = vec![vec![inf; n + 1]; m + 1];
        for i in 0..=m {
            for j in 0..=n {
                h[i][j] = match (mode, i, j) {
                    (_, 0, 0) | (Mode::Local, 0, _) | (Mode::Local, _, 0) | (Mode::SemiGlobal, 0, _) => 0,
                    (_, 0, _) => -(o + j as i64 * e),
                    (_, _, 0) => -(o + i as i64 * e),
                    _ => {
                        del[i][j] = (h[i][j - 1] - o - e).max(del[i][j - 1] - e);
                        ins[i][j] = (h[i - 1][j] - o - e).max(ins[i - 1][j] - e);
                        let d = h[i - 1][j - 1] + sc.residue_score(q[i - 1], t[j - 1]) as i64;
                        let best = d.max(del[i][j]).max(ins[i][j]);
                        if mode == Mode::Local { best.max(0) } else { best }
                    }
                };
            }
        }
        let cells: Vec<(usize, usize)> = match mode {
            Mode::Local => (0..=m).flat_map(|i| (0..=n).map(move |j| (i, j))).collect(),
            Mode::SemiGlobal => (0..=n).map(|j| (m, j)).collect(),
            Mode::Global => vec![(m, n)],
        };
        let mut best = (inf, 0, 0);
        for (i, j) in cells {
            if h[i][j] > best.0 {
                best = (h[i][j], i, j);
            }
        }
        (mode != Mode::Local || best.0 > 0).then_some((best.0 as i32, best.1, best.2))
    }

    fn residues(alphabet: &'static [u8], max_len: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(alphabet), 0..=max_len)
    }

    fn mode() -> impl Strategy<Value = Mode> {
        prop::sample::select(vec![Mode::Local, Mode::Global, Mode::SemiGlobal])
    }

    fn scoring() -> impl Strategy<Value = Scoring> {
        prop_oneof![
            (1..5i32, 0..6i32, 0..8i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
            (
                prop::sample::select(crate::scoring::BUILTIN_MATRICES.to_vec()),
                0..12i32,
                1..3i32
            )
                .prop_map(|(m, o, e)| Scoring::with_matrix(
                    Alphabet::Protein,
                    &Matrix::builtin(m).unwrap(),
                    o,
                    e
                )
                .unwrap()),
        ]
    }

    fn letters(sc: &Scoring) -> &'static [u8] {
        match sc.alphabet() {
            // Low-entropy DNA makes ties, and so tie-breaks, common.
            Alphabet::Dna => b"ACGTNacgt",
            Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVBZX*",
        }
    }

    fn case() -> impl Strategy<Value = (Scoring, Mode, Vec<u8>, Vec<u8>)> {
        (scoring(), mode()).prop_flat_map(|(sc, mode)| {
            let l = letters(&sc);
            (Just(sc), Just(mode), residues(l, 70), residues(l, 70))
        })
    }

    fn swap_gaps(c: &Cigar) -> Cigar {
        let mut out = Cigar::new();
        for &(n, op) in c.runs() {
            out.push(
                match op {
                    CigarOp::Ins => CigarOp::Del,
                    CigarOp::Del => CigarOp::Ins,
                    other => other,
                },
                n,
            );
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_the_naive_oracle((sc, mode, q, t) in case()) {
            let got = align(&q, &t, &sc, mode);
            let want = naive(&q, &t, &sc, mode);
            prop_assert_eq!(got.as_ref().map(|a| (a.score, a.query_end, a.target_end)), want);
            prop_assert_eq!(find_end(&q, &t, &sc, mode).map(|e| (e.score, e.query_end, e.target_end)), want);
            if let Some(a) = got {
                prop_assert_eq!(rescore(&a.cigar, &q[a.query_start..a.query_end], &t[a.target_start..a.target_end], &sc), a.score as i64);
                prop_assert_eq!(a.cigar.query_len() as usize, a.query_end - a.query_start);
                prop_assert_eq!(a.cigar.target_len() as usize, a.target_end - a.target_start);
                match mode {
                    Mode::Global => prop_assert_eq!((a.query_start, a.query_end, a.target_start, a.target_end), (0, q.len(), 0, t.len())),
                    Mode::SemiGlobal => prop_assert_eq!((a.query_start, a.query_end), (0, q.len())),
                    Mode::Local => {
                        prop_assert!(a.score > 0);
                        let first = a.cigar.runs().first().unwrap().1;
                        let last = a.cigar.runs().last().unwrap().1;
                        prop_assert!(first == CigarOp::Equal || first == CigarOp::Diff);
                        prop_assert!(last == CigarOp::Equal || last == CigarOp::Diff);
                    }
                }
            }
        }

        #[test]
        fn swapping_query_and_target_swaps_insertions_and_deletions((sc, _mode, q, t) in case()) {
            if let (Some(a), Some(b)) = (align(&q, &t, &sc, Mode::Global), align(&t, &q, &sc, Mode::Global)) {
                prop_assert_eq!(a.score, b.score);
                prop_assert_eq!(rescore(&swap_gaps(&a.cigar), &t, &q, &sc), a.score as i64);
            }
        }

        #[test]
        fn checkpointed_traceback_equals_the_full_matrix((sc, _mode, q, t) in case(), limit in 1usize..200) {
            let (qc, tc) = (sc.encode(&q), sc.encode(&t));
            prop_assert_eq!(scalar_traceback(&qc, &tc, &sc, limit), scalar_traceback(&qc, &tc, &sc, usize::MAX));
        }
    }

    /// Reads `VmHWM` (peak resident memory) of this process, in KiB.
    fn peak_rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// A pseudo-random sequence and a copy with about 5% substitutions and small indels.
    pub(crate) fn diverged_pair(len: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let a: Vec<u8> = (0..len).map(|_| b"ACGT"[(next() % 4) as usize]).collect();
        let mut b = Vec::with_capacity(len + len / 20);
        for &c in &a {
            match next() % 100 {
                0..=2 => b.push(b"ACGT"[(next() % 4) as usize]),
                3 => {}
                4 => b.extend([c, b"ACGT"[(next() % 4) as usize]]),
                _ => b.push(c),
            }
        }
        (a, b)
    }

    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "minutes without optimisation; the test script runs it with --release"
    )]
    fn long_pairs_align_in_bounded_memory_with_scores_beyond_16_bits() {
        let sc = dna();
        let (q, t) = diverged_pair(40_000, 0x9e3779b97f4a7c15);
        for mode in [Mode::Global, Mode::Local] {
            let a = align(&q, &t, &sc, mode).unwrap();
            assert!(a.score > i16::MAX as i32, "{mode:?} score {}", a.score);
            assert_eq!(
                rescore(
                    &a.cigar,
                    &q[a.query_start..a.query_end],
                    &t[a.target_start..a.target_end],
                    &sc
                ),
                a.score as i64
            );
        }
        // A full direction matrix would take 1.6 GB.
        let peak = peak_rss_kib();
        assert!(peak < 600 * 1024, "peak RSS {peak} KiB");
    }
}
