//! Local search scores in unsigned 8-bit lanes, twice as many targets per vector as the 16-bit
//! kernel (SWIPE's and Farrar's scheme), with overflow detected per lane and the lane rerun
//! wider.
//!
//! Values are biased so that the most negative substitution score is 0: `H = (H_diag + s +
//! bias) -| bias` with `-|` saturating at 0, which is local alignment's `max(0, ...)`. E and F
//! also floor at 0; that changes no H, which is never below 0. A lane is exact unless a sum
//! saturated at 255; then its H there reads `255 - bias`, so a lane whose best H stays below
//! `255 - bias` is exact and any other is recomputed by the caller. Only the score is
//! computed: search needs it to rank targets, and the hits' ends come from the exact passes.

use super::Scratch;
use crate::scoring::Scoring;

/// A vector of `u8` lanes with saturating arithmetic.
///
/// # Safety
/// As [`super::Lanes`]: only where the ISA is available, with slices of at least `WIDTH`.
pub(crate) trait ByteLanes: Copy {
    /// Number of lanes.
    const WIDTH: usize;
    /// All lanes set to `x`.
    unsafe fn splat(x: u8) -> Self;
    /// The first `WIDTH` elements of `s`.
    unsafe fn load(s: &[u8]) -> Self;
    /// Writes the lanes into the first `WIDTH` elements of `s`.
    unsafe fn store(self, s: &mut [u8]);
    /// Lane-wise addition saturating at 255.
    unsafe fn adds(self, other: Self) -> Self;
    /// Lane-wise subtraction saturating at 0.
    unsafe fn subs(self, other: Self) -> Self;
    /// Lane-wise maximum.
    unsafe fn max(self, other: Self) -> Self;
    /// `table[idx]` in each lane; every index must be below 32.
    unsafe fn lookup(table: &[u8; 32], idx: Self) -> Self;
}

/// Whether `sc` can run in byte lanes at all: biased scores and gap costs must fit a byte
/// with room for a score above them.
pub(super) fn usable(sc: &Scoring) -> bool {
    let (lo, hi) = bias_range(sc);
    hi - lo < 64 && sc.gap_open() + sc.gap_extend() < 64
}

fn bias_range(sc: &Scoring) -> (i32, i32) {
    let dim = sc.dim();
    let scores = (0..dim).flat_map(|c| sc.profile_row(c as u8)[..dim].iter().copied());
    scores.fold((0, 0), |(lo, hi), s| (lo.min(s), hi.max(s)))
}

/// Local scores of `query` (codes) against each of up to `B::WIDTH` targets (residues): `Some`
/// where exact, `None` where the lane may have saturated.
///
/// With a band of diagonals `(lo, hi)` (target column minus query row), only the cells near
/// it are computed: row `i` from column `i + lo` (rows in pairs, the second one cell late) to
/// `i + hi` (the first one cell past). A score is then at least the best over the paths
/// within the band and at most the best over all paths: a cell outside the band reads as 0
/// where no row computed it (an empty local alignment), every other value it reads is the
/// one its row computed (a row's range starts at most two columns right of the previous
/// row's and ends past it; the column left of its first is the previous row's), so every
/// value is a real path's score or 0, and every cell in the band has its neighbours in the
/// band exact. Pass [`super::band::ALL`] for every cell.
///
/// # Safety
/// The CPU must support `B`'s ISA; `sc` must be [`usable`].
#[inline(always)]
pub(super) unsafe fn local_scores<B: ByteLanes>(
    query: &[u8],
    targets: &[&[u8]],
    sc: &Scoring,
    (lo, hi): (isize, isize),
) -> Vec<Option<i32>> {
    let (w, dim) = (B::WIDTH, sc.dim());
    let n = targets.iter().map(|t| t.len()).max().unwrap_or(0);
    let bias = -bias_range(sc).0;
    // profile[(c*n + j)*W + l]: biased score of query code c against lane l's residue j;
    // padding (past a target's end, or an empty lane) scores the minimum, 0. The targets are
    // laid out column by column once, as indices into a table of 32 scores: each plane is
    // then one contiguous table lookup. Upper-case letters (a genome's windows) are laid out
    // eight by eight bytes ([`letter_columns`]) and index by `residue - 0x40` (padding 0);
    // other residues one by one, by code (padding `dim`).
    let letters = targets
        .iter()
        .all(|t| t.iter().fold(true, |all, b| all & b.is_ascii_uppercase()));
    let mut columns = Scratch::new(n * w, dim as u8);
    if letters {
        letter_columns(targets, w, &mut columns);
    } else {
        for (l, t) in targets.iter().enumerate() {
            for (j, &tc) in t.iter().enumerate() {
                columns[j * w + l] = sc.code(tc);
            }
        }
    }
    // One more plane, all 0 (the minimum score): the padding row of an odd-length query.
    // Every plane but the last is overwritten in full: no fill.
    let mut profile = Scratch::reused((dim + 1) * n * w, 0u8);
    profile[dim * n * w..].fill(0);
    for (c, plane) in profile.chunks_exact_mut((n * w).max(1)).enumerate().take(dim) {
        let row = sc.profile_row(c as u8);
        let mut biased = [0u8; 256];
        if letters {
            for (k, b) in biased.iter_mut().enumerate().take(32).skip(1) {
                *b = (row[sc.code(0x40 + k as u8) as usize] + bias) as u8;
            }
        } else {
            for (b, &score) in biased.iter_mut().zip(&row[..dim]) {
                *b = (score + bias) as u8;
            }
        }
        if letters || dim < 32 {
            // W lanes per table lookup (a byte shuffle) rather than one.
            let table: &[u8; 32] = biased[..32].try_into().expect("32 entries");
            for (cells, tcs) in plane.chunks_exact_mut(w).zip(columns.chunks_exact(w)) {
                // SAFETY: the caller guarantees the ISA; both chunks hold W bytes, and every
                // index is below 32 (a letter's low five bits, or a code at most `dim`).
                unsafe { B::lookup(table, B::load(tcs)).store(cells) };
            }
        } else {
            for (cell, &tc) in plane.iter_mut().zip(columns.iter()) {
                *cell = biased[tc as usize];
            }
        }
    }
    let mut h = Scratch::new(n * w, 0u8);
    let mut e = Scratch::new(n * w, 0u8);
    // SAFETY: the caller guarantees the ISA; every load and store reads W elements at offset
    // j*W, j < n, of a buffer of n*W (h, e, one profile plane).
    let best = unsafe {
        let (zero, biasv) = (B::splat(0), B::splat(bias as u8));
        let open = B::splat((sc.gap_open() + sc.gap_extend()) as u8);
        let extend = B::splat(sc.gap_extend() as u8);
        let (mut best_a, mut best_b) = (zero, zero);
        // Two query rows per sweep: row b takes row a's H and E from registers, so h and e
        // go through memory once per two rows. An odd query's last row is paired with a
        // padding row scoring the minimum everywhere, whose cells never exceed the row above.
        for (pair, rows) in query.chunks(2).enumerate() {
            let plane = |c: u8| &profile[c as usize * n * w..][..n * w];
            let (pa, pb) = (plane(rows[0]), plane(rows.get(1).copied().unwrap_or(dim as u8)));
            // The columns of this pair of rows: the first row's band start to one past the
            // second row's band end.
            let a = 2 * pair as isize;
            let from = a.saturating_add(lo).clamp(0, n as isize) as usize;
            let to = a.saturating_add(hi).saturating_add(2).clamp(0, n as isize) as usize;
            if from >= to {
                continue;
            }
            // Per row: H of the previous column (the diagonal of this one) and F, and that H
            // minus the open cost, which both F here and E in the row below use. The first
            // row's diagonal at `from` is the row above's H left of it, which that row
            // computed; the second row's is 0 (outside its band).
            let mut diag_a = if from == 0 {
                zero
            } else {
                B::load(h.get_unchecked((from - 1) * w..))
            };
            let (mut f_a, mut open_a) = (zero, zero);
            let (mut diag_b, mut f_b, mut open_b) = (zero, zero, zero);
            let costs = (biasv, open, extend);
            for at in (from * w..to * w).step_by(w) {
                let up = B::load(h.get_unchecked(at..));
                let above = (B::load(e.get_unchecked(at..)), up.subs(open));
                let p_a = B::load(pa.get_unchecked(at..));
                let (h_a, e_a) = cell(diag_a, p_a, above, (&mut f_a, &mut open_a), costs);
                let p_b = B::load(pb.get_unchecked(at..));
                let (h_b, e_b) = cell(diag_b, p_b, (e_a, open_a), (&mut f_b, &mut open_b), costs);
                best_a = best_a.max(h_a);
                best_b = best_b.max(h_b);
                e_b.store(e.get_unchecked_mut(at..));
                h_b.store(h.get_unchecked_mut(at..));
                (diag_a, diag_b) = (up, h_a);
            }
        }
        let mut lanes = vec![0u8; w];
        best_a.max(best_b).store(&mut lanes);
        lanes
    };
    let limit = 255 - bias;
    (0..targets.len())
        .map(|l| (i32::from(best[l]) < limit).then_some(i32::from(best[l])))
        .collect()
}

/// Lays out `targets` (upper-case letters, at most `w` of them, `w` a multiple of 8) column by
/// column into `out` (`out[j*w + l]` is residue `j` of target `l`), each residue as its low
/// five bits (`residue - 0x40`, 1 to 26) and padding (past a target's end, and lanes without
/// a target) as 0. Eight lanes by eight columns at a time: eight words loaded, transposed as
/// an 8 x 8 byte matrix in three rounds of swaps (4 x 4 blocks, 2 x 2, single bytes), stored.
fn letter_columns(targets: &[&[u8]], w: usize, out: &mut [u8]) {
    const PAD: u8 = 0x40;
    let n = out.len() / w;
    let word = |l: usize, j: usize| -> u64 {
        let t = targets.get(l).copied().unwrap_or_default();
        match t.get(j..j + 8) {
            Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
            None => {
                let mut b = [PAD; 8];
                let part = t.get(j..).unwrap_or_default();
                b[..part.len()].copy_from_slice(part);
                u64::from_le_bytes(b)
            }
        }
    };
    for lanes in (0..w).step_by(8) {
        for j in (0..n).step_by(8) {
            let mut x: [u64; 8] = std::array::from_fn(|r| word(lanes + r, j));
            for (half, mask) in [
                (4, 0x0000_0000_FFFF_FFFFu64),
                (2, 0x0000_FFFF_0000_FFFF),
                (1, 0x00FF_00FF_00FF_00FF),
            ] {
                for i in (0..8).filter(|i| i & half == 0) {
                    let t = ((x[i] >> (8 * half)) ^ x[i + half]) & mask;
                    x[i] ^= t << (8 * half);
                    x[i + half] ^= t;
                }
            }
            for (k, &column) in x.iter().enumerate().take(n - j) {
                let at = (j + k) * w + lanes;
                out[at..at + 8].copy_from_slice(&(column & 0x1F1F_1F1F_1F1F_1F1F).to_le_bytes());
            }
        }
    }
}

/// One cell: H and E from the diagonal H plus the biased score, E and H minus the open cost
/// of the cell above, and F and H minus the open cost of the cell to the left, which become
/// this cell's.
///
/// # Safety
/// The CPU must support `B`'s ISA.
#[inline(always)]
unsafe fn cell<B: ByteLanes>(
    diag: B,
    score: B,
    (e_above, open_above): (B, B),
    (f, open_left): (&mut B, &mut B),
    (bias, open, extend): (B, B, B),
) -> (B, B) {
    // SAFETY: the caller guarantees the ISA.
    unsafe {
        let e = e_above.subs(extend).max(open_above);
        *f = f.subs(extend).max(*open_left);
        let h = diag.adds(score).subs(bias).max(e).max(*f);
        *open_left = h.subs(open);
        (h, e)
    }
}

#[cfg(test)]
mod tests {
    use super::letter_columns;
    use proptest::prelude::*;

    proptest! {
        /// The eight-by-eight transposes lay every residue and every pad where one at a time
        /// would: up to `w` targets of any length (short ones, and some lanes empty).
        #[test]
        fn letter_columns_lay_out_like_one_residue_at_a_time(
            w in prop::sample::select(vec![8usize, 16, 32, 64]),
            targets in prop::collection::vec(prop::collection::vec(b'A'..=b'Z', 0..40), 0..64),
        ) {
            let targets: Vec<&[u8]> = targets.iter().take(w).map(Vec::as_slice).collect();
            let n = targets.iter().map(|t| t.len()).max().unwrap_or(0);
            let mut got = vec![0xEE; n * w];
            letter_columns(&targets, w, &mut got);
            let mut want = vec![0; n * w];
            for (l, t) in targets.iter().enumerate() {
                for (j, &b) in t.iter().enumerate() {
                    want[j * w + l] = b - 0x40;
                }
            }
            prop_assert_eq!(got, want);
        }
    }
}
