//! Intra-sequence kernel for one long alignment at a time: Farrar's striped layout, with the
//! target across the lanes and the query rows as the outer loop (so the reference's row-major
//! tie-break and its row checkpoints carry over unchanged).
//!
//! A row of `n` target columns is `seg = ceil(n / W)` vectors; lane `s` of vector `v` holds
//! column `j = s*seg + v + 1`. The vertical gap F and the diagonal come from the previous row
//! in the same layout; the horizontal gap E runs along the row, first assuming nothing enters
//! a lane from the lane before, then corrected lazily (Farrar's "lazy F loop", here on E).
//! Padding columns past `n` score 0 against everything: they only feed padding columns, never
//! beat a real cell of their row that improves on the rows before, and never fall below the
//! real cells and borders they extend, so the range check below stays valid with them in it.
//!
//! Exactness without a bound known in advance: 16-bit arithmetic saturates (32-bit wraps), and
//! the pass tracks the smallest and largest H it computed. If every H stays at least two steps
//! ([`Scoring::max_step`]) inside the lanes' range ([`Elem`]'s `NEG..=TOP`), no sum in the pass
//! saturated or wrapped and every value is the reference's; a pass that leaves that range
//! reports `None`, and the caller runs it in 32-bit lanes (after 16) or the reference.

use super::{DirectionBits, Elem, Lanes, Scratch};
use crate::reference::{self, Rows, Start};
use crate::scoring::Scoring;

/// Whether a pass is worth trying in 16-bit striped lanes before 32-bit ones: `sc`'s steps
/// leave room for useful scores, and the pass's best score, where already known, fits.
pub(super) fn narrow_first(sc: &Scoring, known: Option<i32>) -> bool {
    sc.max_step() <= 1024 && known.is_none_or(|score| fits::<i16>(0, score, sc))
}

/// Direction rows of one traceback block hold at most this many cells (16 MiB of `i16`), or
/// one row where a row is longer.
pub(super) const BLOCK_CELLS: usize = 1 << 23;

/// A target laid out for striped rows of `W` lanes of `E`: built once, shared by every query.
pub(super) struct Profile<E: Elem> {
    n: usize,
    seg: usize,
    /// `scores[(c*seg + v)*W + s]`: the score of query code `c` against column `s*seg + v + 1`.
    scores: Scratch<E>,
}

impl<E: Elem> Profile<E> {
    /// The profile of `target` (codes) for `w` lanes.
    pub(super) fn new(target: &[u8], sc: &Scoring, w: usize) -> Profile<E> {
        let n = target.len();
        let seg = n.div_ceil(w).max(1);
        let mut scores = Scratch::new(sc.dim() * seg * w, E::default());
        for (c, plane) in scores.chunks_exact_mut(seg * w).enumerate() {
            let row = sc.profile_row(c as u8);
            for (s, lane) in target.chunks(seg).enumerate() {
                for (v, &tc) in lane.iter().enumerate() {
                    plane[v * w + s] = E::of(row[tc as usize]);
                }
            }
        }
        Profile { n, seg, scores }
    }
}

/// The DP of one target against query rows, two rows at a time (`prev` and the current one).
pub(super) struct Striped<'a, L: Lanes> {
    sc: &'a Scoring,
    p: &'a Profile<L::E>,
    h: Scratch<L::E>,
    f: Scratch<L::E>,
    e: Scratch<L::E>,
    h_prev: Scratch<L::E>,
    f_prev: Scratch<L::E>,
    /// Smallest and largest H (and border) seen, for the range check.
    low: L,
    high: L,
    low_border: i32,
}

impl<'a, L: Lanes> Striped<'a, L> {
    /// Row 0 of a pass over the target of `p` (built for `L::WIDTH` lanes) starting with
    /// `row0` borders.
    ///
    /// # Safety
    /// `L`'s ISA must be available.
    #[inline(always)]
    pub(super) unsafe fn new(p: &'a Profile<L::E>, sc: &'a Scoring, row0: Start) -> Self {
        let (w, n, seg) = (L::WIDTH, p.n, p.seg);
        debug_assert_eq!(p.scores.len(), sc.dim() * seg * w);
        let mut h = Scratch::new(seg * w, L::E::default());
        for s in 0..w {
            for v in 0..seg {
                let j = (s * seg + v + 1).min(n);
                h[v * w + s] = L::E::of(reference::border(row0, j, sc));
            }
        }
        Striped {
            sc,
            p,
            h,
            f: Scratch::new(seg * w, L::E::NEG),
            e: Scratch::new(seg * w, L::E::NEG),
            h_prev: Scratch::new(seg * w, L::E::default()),
            f_prev: Scratch::new(seg * w, L::E::NEG),
            // SAFETY: the caller guarantees L's ISA.
            low: unsafe { L::splat(L::E::TOP) },
            high: unsafe { L::splat(L::E::NEG) },
            low_border: reference::border(row0, n, sc),
        }
    }

    /// Where column `j` (1-based) of a row is stored.
    #[inline(always)]
    fn index(&self, j: usize) -> usize {
        ((j - 1) % self.p.seg) * L::WIDTH + (j - 1) / self.p.seg
    }

    /// H of the current row at column `j >= 1`.
    #[inline(always)]
    fn h_at(&self, j: usize) -> i32 {
        self.h[self.index(j)].get()
    }

    /// Advances from row `i-1` to row `i` (query code `qc`), given H of column 0 in both rows
    /// (`up0`, `left0`). With `TRACE`, writes the reference's direction bits of every cell into
    /// `dirs` (`seg * W` elements, in the striped layout). Returns the row's largest H
    /// (padding columns included, which never beat a real improvement).
    ///
    /// # Safety
    /// `L`'s ISA must be available; `qc < sc.dim()`.
    #[inline(always)]
    pub(super) unsafe fn advance<const LOCAL: bool, const TRACE: bool>(
        &mut self,
        qc: u8,
        (up0, left0): (i32, i32),
        dirs: &mut [L::E],
    ) -> L::E {
        let (w, seg) = (L::WIDTH, self.p.seg);
        let (oe_s, ext_s) = (self.sc.gap_open() + self.sc.gap_extend(), self.sc.gap_extend());
        self.low_border = self.low_border.min(left0);
        let (up0, left0) = (L::E::of(up0), L::E::of(left0));
        std::mem::swap(&mut self.h, &mut self.h_prev);
        std::mem::swap(&mut self.f, &mut self.f_prev);
        let last = (seg - 1) * w;
        let prof = &self.p.scores[qc as usize * seg * w..][..seg * w];
        let (h, f, e) = (&mut self.h[..], &mut self.f[..], &mut self.e[..]);
        let (h_prev, f_prev) = (&self.h_prev[..], &self.f_prev[..]);
        // SAFETY: the caller guarantees L's ISA; every buffer holds seg * W elements and every
        // offset is v * W with v < seg.
        unsafe {
            let (oe, ext, zero, neg) = (
                L::splat_i32(oe_s),
                L::splat_i32(ext_s),
                L::splat_i32(0),
                L::splat(L::E::NEG),
            );
            let mut diag = L::load_at(h_prev, last).shift_in(up0);
            let mut e_in = neg.shift_in(L::E::of(left0.get() - oe_s));
            let (mut high, mut low) = (neg, self.low);
            for v in 0..seg {
                let at = v * w;
                let up = L::load_at(h_prev, at);
                let fv = up.subs(oe).max(L::load_at(f_prev, at).subs(ext));
                let mut hv = diag.adds(L::load_at(prof, at)).max(e_in).max(fv);
                if LOCAL {
                    hv = hv.max(zero);
                } else {
                    low = low.min(hv);
                }
                high = high.max(hv);
                e_in.store_at(e, at);
                fv.store_at(f, at);
                hv.store_at(h, at);
                e_in = hv.subs(oe).max(e_in.subs(ext));
                diag = up;
            }
            // E entering each lane from the lane before; at most W passes, as each shifts one
            // lane further and lane 0's E was exact from the start.
            'lazy: for _ in 0..w {
                e_in = e_in.shift_in(L::E::NEG);
                for v in 0..seg {
                    let at = v * w;
                    let ev = L::load_at(e, at);
                    if !e_in.gt(ev).any() {
                        break 'lazy;
                    }
                    let ev = ev.max(e_in);
                    let hv = L::load_at(h, at).max(ev);
                    high = high.max(hv);
                    ev.store_at(e, at);
                    hv.store_at(h, at);
                    e_in = hv.subs(oe).max(ev.subs(ext));
                }
            }
            if TRACE {
                self.directions(qc, (up0, left0), (oe, ext), dirs);
            }
            self.low = low;
            self.high = self.high.max(high);
            high.hmax()
        }
    }

    /// The reference's direction bits for the current (final) row of query code `qc`, from
    /// the final H, E and F.
    ///
    /// # Safety
    /// As [`Striped::advance`]; `dirs` holds `seg * W` elements.
    #[inline(always)]
    unsafe fn directions(&self, qc: u8, (up0, left0): (L::E, L::E), (oe, ext): (L, L), dirs: &mut [L::E]) {
        let (w, seg) = (L::WIDTH, self.p.seg);
        let last = (seg - 1) * w;
        let prof = &self.p.scores[qc as usize * seg * w..][..seg * w];
        let (h, e, f, h_prev, f_prev) = (
            &self.h[..],
            &self.e[..],
            &self.f[..],
            &self.h_prev[..],
            &self.f_prev[..],
        );
        // SAFETY: as in `advance`.
        unsafe {
            let dir_bits = DirectionBits::<L>::new();
            let mut diag = L::load_at(h_prev, last).shift_in(up0);
            let mut left = L::load_at(h, last).shift_in(left0);
            let mut e_left = L::load_at(e, last).shift_in(L::E::NEG);
            for v in 0..seg {
                let at = v * w;
                let (e_open, e_ext) = (left.subs(oe), e_left.subs(ext));
                let up = L::load_at(h_prev, at);
                let (f_open, f_ext) = (up.subs(oe), L::load_at(f_prev, at).subs(ext));
                let (ev, fv) = (L::load_at(e, at), L::load_at(f, at));
                let d = diag.adds(L::load_at(prof, at));
                dir_bits
                    .of(d, (e_open, e_ext, ev), (f_open, f_ext, fv))
                    .store_at(dirs, at);
                diag = up;
                left = L::load_at(h, at);
                e_left = ev;
            }
        }
    }
}

impl<L: Lanes> Striped<'_, L> {
    /// Whether every value computed so far is exact (see the module docs).
    ///
    /// # Safety
    /// `L`'s ISA must be available.
    #[inline(always)]
    unsafe fn exact(&self) -> bool {
        // SAFETY: the caller guarantees L's ISA.
        let (low, high) = unsafe { (self.low.hmin().get(), self.high.hmax().get()) };
        fits::<L::E>(low.min(self.low_border), high, self.sc)
    }

    /// The first real column of the current row holding `score`, if any.
    ///
    /// # Safety
    /// `L`'s ISA must be available.
    #[inline(always)]
    unsafe fn first_column(&self, score: L::E) -> Option<usize> {
        let (w, seg) = (L::WIDTH, self.p.seg);
        // SAFETY: the caller guarantees L's ISA; offsets are v * W with v < seg.
        let lanes = unsafe {
            let (target, mut hit) = (L::splat(score), L::splat_i32(0));
            for v in 0..seg {
                hit = L::select(L::load_at(&self.h, v * w).eq(target), L::splat_i32(-1), hit);
            }
            let mut lanes = [L::E::default(); 32];
            hit.store(&mut lanes);
            lanes
        };
        // Columns grow with the lane first, then with the vector: the first lane with a hit
        // holds the first column.
        let s = (0..w).find(|&s| lanes[s] != L::E::default())?;
        let v = (0..seg).find(|&v| self.h[v * w + s] == score)?;
        Some(s * seg + v + 1).filter(|&j| j <= self.p.n)
    }

    /// The best real cell `(H, j)` of the current row, first column on ties, or `(floor, 0)`
    /// if none beats `floor`.
    #[inline(always)]
    fn row_best(&self, floor: i32) -> (i32, usize) {
        let (w, seg) = (L::WIDTH, self.p.seg);
        let mut best = (floor, 0);
        for s in 0..w {
            for v in 0..seg {
                let j = s * seg + v + 1;
                let h = self.h[v * w + s].get();
                if j <= self.p.n && h > best.0 {
                    best = (h, j);
                }
            }
        }
        best
    }
}

/// Whether H values within `low..=high` leave two steps of room inside `E`'s range, so that
/// no sum of a pass that stays within them saturated or wrapped.
fn fits<E: Elem>(low: i32, high: i32, sc: &Scoring) -> bool {
    within::<E>(low, high, 2 * sc.max_step())
}

/// [`fits`] with the margin computed: `2 * sc.max_step()`.
#[inline(always)]
fn within<E: Elem>(low: i32, high: i32, margin: i64) -> bool {
    low as i64 >= E::NEG.get() as i64 + margin && high as i64 <= E::TOP.get() as i64 - margin
}

/// The best cell `(score, i, j)` of `pass` over each query against `target` (codes, all
/// non-empty), as [`reference::pass_cell`] finds it; `None` where 16 bits did not suffice.
///
/// # Safety
/// `L`'s ISA must be available.
#[inline(always)]
pub(super) unsafe fn best_cells<L: Lanes>(
    queries: &[&[u8]],
    target: &[u8],
    sc: &Scoring,
    (start, end): (Start, reference::End),
) -> Vec<Option<(i32, usize, usize)>> {
    use reference::End;
    let n = target.len();
    let row0 = if start == Start::Anchored { start } else { Start::Local };
    let profile = Profile::new(target, sc, L::WIDTH);
    let margin = 2 * sc.max_step();
    // A loop, not a closure: closures do not inherit the caller's target features.
    let mut cells = Vec::with_capacity(queries.len());
    'query: for query in queries {
        let m = query.len();
        // SAFETY: the caller guarantees L's ISA; codes are below `sc.dim()`.
        unsafe {
            let mut st = Striped::<L>::new(&profile, sc, row0);
            let mut best = (reference::border(row0, 0, sc), 0, 0);
            for (i, &qc) in query.iter().enumerate().map(|(k, c)| (k + 1, c)) {
                crate::stop::check();
                let up0 = reference::border(if i == 1 { row0 } else { start }, i - 1, sc);
                let left0 = reference::border(start, i, sc);
                let high = if start == Start::Local {
                    st.advance::<true, false>(qc, (up0, left0), &mut [])
                } else {
                    st.advance::<false, false>(qc, (up0, left0), &mut [])
                };
                if !within::<L::E>(0, high.get(), margin) {
                    // Out of range already: stop rather than finish a pass that cannot count.
                    cells.push(None);
                    continue 'query;
                }
                match end {
                    // Earlier rows win ties, so only a strictly better row moves the best cell.
                    End::Anywhere if high.get() > best.0 => {
                        let Some(j) = st.first_column(high) else {
                            cells.push(None);
                            continue 'query;
                        };
                        best = (high.get(), i, j);
                    }
                    End::LastRow if i == m => {
                        let (score, j) = st.row_best(left0);
                        best = (score, i, j);
                    }
                    _ => {}
                }
            }
            if end == End::Corner {
                best = (st.h_at(n), m, n);
            }
            cells.push(st.exact().then_some(best));
        }
    }
    cells
}

/// [`Rows`] in striped lanes for [`reference::global_traceback`], over the whole target in
/// every block (a row's values do not depend on the columns after them).
struct TraceRows<'a, 'q, L: Lanes> {
    st: Striped<'a, L>,
    query: &'q [u8],
    dirs: Scratch<L::E>,
}

impl<L: Lanes> Rows for TraceRows<'_, '_, L> {
    type Saved = (Vec<L::E>, Vec<L::E>);

    #[inline(always)]
    fn advance(&mut self, i: usize, block_row: Option<usize>) {
        let sc = self.st.sc;
        let borders = (
            reference::border(Start::Anchored, i - 1, sc),
            reference::border(Start::Anchored, i, sc),
        );
        let qc = self.query[i - 1];
        let len = self.st.h.len();
        // SAFETY: `TraceRows` is only built where L's ISA is available (`traceback`); query
        // codes are below `sc.dim()`; each block row holds `seg * W` direction cells.
        unsafe {
            match block_row {
                Some(r) => {
                    let dirs = &mut self.dirs[(r - 1) * len..r * len];
                    self.st.advance::<false, true>(qc, borders, dirs);
                }
                None => {
                    self.st.advance::<false, false>(qc, borders, &mut []);
                }
            }
        }
    }

    #[inline(always)]
    fn save(&self) -> Self::Saved {
        (self.st.h.to_vec(), self.st.f.to_vec())
    }

    #[inline(always)]
    fn restore(&mut self, (h, f): &Self::Saved, _width: usize, rows: usize) {
        self.st.h.copy_from_slice(h);
        self.st.f.copy_from_slice(f);
        let len = rows * self.st.h.len();
        if self.dirs.len() < len {
            self.dirs = Scratch::new(len, L::E::default());
        }
    }

    #[inline(always)]
    fn h(&self, j: usize) -> i32 {
        self.st.h_at(j)
    }

    #[inline(always)]
    fn dir(&self, r: usize, j: usize) -> u8 {
        self.dirs[(r - 1) * self.st.h.len() + self.st.index(j)].get() as u8
    }
}

/// The global alignment of `query` against `target` (codes, both non-empty) as
/// [`reference::global_traceback`] finds it, with blocks of about `block_cells` direction
/// cells: the score and the path; `None` if 16 bits did not suffice.
///
/// # Safety
/// `L`'s ISA must be available.
#[inline(always)]
pub(super) unsafe fn traceback<L: Lanes>(
    query: &[u8],
    target: &[u8],
    sc: &Scoring,
    block_cells: usize,
) -> Option<(i32, crate::alignment::Cigar)> {
    let profile = Profile::new(target, sc, L::WIDTH);
    // SAFETY: the caller guarantees L's ISA.
    let st = unsafe { Striped::<L>::new(&profile, sc, Start::Anchored) };
    // `global_traceback` clamps the block to at least one row and at most the query.
    let rows_per_block = block_cells / st.h.len();
    let mut rows = TraceRows {
        st,
        query,
        dirs: Scratch::new(0, L::E::default()),
    };
    let result = reference::global_traceback(query.len(), target.len(), sc, rows_per_block, &mut rows);
    // SAFETY: as above.
    unsafe { rows.st.exact() }.then_some(result)
}
