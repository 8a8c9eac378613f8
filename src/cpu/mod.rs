//! SIMD CPU kernels: inter-sequence Smith-Waterman/Needleman-Wunsch/semi-global scoring, one
//! target per lane (SWIPE's scheme), in saturating 16-bit lanes.
//!
//! The DP is written once, in [`score_batch`], generic over [`Lanes`]; each ISA module only
//! implements `Lanes` and an entry point with `#[target_feature]`. The ISA is detected once at
//! run time ([`isa`]); the portable implementation runs everywhere else.
//!
//! Exactness: a target runs in 16 bits only when every true DP value is provably within
//! `±I16_SAFE`, half of the `i16` range ([`value_bound`] times the largest single DP step).
//! Saturation then never touches a value that matters and the masks below (adding
//! `i16::MIN`) can never beat a true value. Other targets are scored by the `i32` reference. Scores are therefore always exact; the alignment itself
//! (end, start, path) comes from the reference steps, so output is byte-identical.

mod avx2;
mod portable;
mod sse41;

use crate::alignment::Mode;
use crate::reference;
use crate::scoring::Scoring;
use std::sync::OnceLock;

/// The largest `(m + n) * max_step` scored in 16-bit lanes.
const I16_SAFE: i64 = 16_383;

/// An instruction set the kernels can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 16 lanes of `i16` in 256-bit registers.
    Avx2,
    /// 8 lanes of `i16` in 128-bit registers.
    Sse41,
    /// 8 lanes in plain Rust arrays; any architecture.
    Portable,
}

impl Isa {
    /// The name shown by `swgpu devices`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx2 => "avx2",
            Isa::Sse41 => "sse4.1",
            Isa::Portable => "portable",
        }
    }

    /// Lanes (alignments computed at once) of this ISA's kernel.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Avx2 => 16,
            Isa::Sse41 | Isa::Portable => 8,
        }
    }

    /// Whether this CPU can run the ISA.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Sse41 => std::arch::is_x86_feature_detected!("sse4.1"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 | Isa::Sse41 => false,
            Isa::Portable => true,
        }
    }
}

/// The best ISA of this CPU, detected once.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        [Isa::Avx2, Isa::Sse41]
            .into_iter()
            .find(|i| i.available())
            .unwrap_or(Isa::Portable)
    })
}

/// A vector of `i16` lanes with saturating arithmetic.
///
/// # Safety
/// Implementations use CPU-specific instructions: callers must only use a type whose ISA is
/// available, and pass slices of at least `WIDTH` elements to `load` and `store`.
pub(crate) trait Lanes: Copy {
    /// Number of lanes.
    const WIDTH: usize;
    /// All lanes set to `x`.
    unsafe fn splat(x: i16) -> Self;
    /// The first `WIDTH` elements of `s`.
    unsafe fn load(s: &[i16]) -> Self;
    /// Writes the lanes into the first `WIDTH` elements of `s`.
    unsafe fn store(self, s: &mut [i16]);
    /// Lane-wise saturating addition.
    unsafe fn adds(self, other: Self) -> Self;
    /// Lane-wise saturating subtraction.
    unsafe fn subs(self, other: Self) -> Self;
    /// Lane-wise maximum.
    unsafe fn max(self, other: Self) -> Self;
}

/// The DP border value `k` residues from the origin (0 for local and free borders).
fn border(free: bool, k: usize, sc: &Scoring) -> i16 {
    if free || k == 0 {
        0
    } else {
        -(sc.gap_open() + k as i32 * sc.gap_extend()) as i16
    }
}

/// Scores `query` (residue codes) against up to `L::WIDTH` `targets` (codes, each non-empty
/// and within the 16-bit bound), one target per lane; writes one score per target to `out`.
/// Columns run along the targets, rows along the query, as in the reference.
///
/// # Safety
/// `L`'s ISA must be available.
#[inline(always)]
unsafe fn score_batch<L: Lanes>(query: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode, out: &mut [i32]) {
    let w = L::WIDTH;
    let (m, dim) = (query.len(), sc.dim());
    let n = targets.iter().map(|t| t.len()).max().unwrap_or(0);
    let lens: Vec<usize> = (0..w).map(|l| targets.get(l).map_or(0, |t| t.len())).collect();
    let local = mode == Mode::Local;
    // SAFETY: the caller guarantees L's ISA; every slice below holds at least `w` elements from
    // the offset it is taken at, since all buffers are whole multiples of `w`.
    unsafe {
        let (oe, ext, zero) = (
            L::splat((sc.gap_open() + sc.gap_extend()) as i16),
            L::splat(sc.gap_extend() as i16),
            L::splat(0),
        );
        // Column j-1 of H and E for every row; the reference's row arrays, transposed.
        let mut h = vec![0i16; (m + 1) * w];
        let mut e = vec![i16::MIN; (m + 1) * w];
        for i in 1..=m {
            h[i * w..(i + 1) * w].fill(border(local, i, sc));
        }
        let mut scores = vec![0i16; dim * w];
        let (mut active, mut ends) = (vec![0i16; w], vec![0i16; w]);
        let mut best = match mode {
            Mode::Local => zero,
            Mode::SemiGlobal => L::splat(border(false, m, sc)),
            Mode::Global => L::splat(i16::MIN),
        };
        for j in 1..=n {
            // Substitution scores of every residue code against each lane's target residue;
            // lanes past their target's end score i16::MIN and are masked out below.
            for l in 0..w {
                let live = j <= lens[l];
                active[l] = if live { 0 } else { i16::MIN };
                ends[l] = if j == lens[l] { 0 } else { i16::MIN };
                for c in 0..dim {
                    scores[c * w + l] = if live {
                        sc.profile_row(c as u8)[targets[l][j - 1] as usize] as i16
                    } else {
                        i16::MIN
                    };
                }
            }
            let mut diag = L::load(&h[..]);
            let mut up = L::splat(border(mode != Mode::Global, j, sc));
            up.store(&mut h[..]);
            let mut f = L::splat(i16::MIN);
            for i in 1..=m {
                let at = i * w;
                let left = L::load(&h[at..]);
                let ev = L::load(&e[at..]).subs(ext).max(left.subs(oe));
                ev.store(&mut e[at..]);
                f = f.subs(ext).max(up.subs(oe));
                let s = L::load(&scores[query[i - 1] as usize * w..]);
                let mut hv = diag.adds(s).max(ev).max(f);
                if local {
                    hv = hv.max(zero);
                    best = best.max(hv);
                }
                diag = left;
                hv.store(&mut h[at..]);
                up = hv;
            }
            match mode {
                Mode::Local => {}
                Mode::SemiGlobal => best = best.max(up.adds(L::load(&active))),
                Mode::Global => best = best.max(up.adds(L::load(&ends))),
            }
        }
        let mut lanes = vec![0i16; w];
        best.store(&mut lanes);
        for (o, &v) in out.iter_mut().zip(&lanes) {
            *o = v as i32;
        }
    }
}

/// A bound on `|v| / max_step` for every H, E and F value of an `m x n` DP, where `max_step`
/// bounds both a substitution score and `O + E`:
/// - local: `0 <= H <= min(m, n) * max_sub`, and `E, F >= H - (O + E) >= -(O + E)`;
/// - semi-global: `H >= -(O + m*E)` (insert the whole query from a free row-0 cell), so
///   `E, F >= -(O + m*E) - (O + E)`; `H <= m * max_sub`;
/// - global: `H >= -(2*O + (m + n)*E)` (delete then insert everything), `E, F` one step lower.
fn value_bound(m: usize, n: usize, mode: Mode) -> i64 {
    (match mode {
        Mode::Local => m.min(n) + 2,
        Mode::SemiGlobal => m + 3,
        Mode::Global => m + n + 4,
    }) as i64
}

/// One batch on `isa`.
fn run_batch(isa: Isa, query: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode, out: &mut [i32]) {
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    match isa {
        // SAFETY: availability was checked above.
        Isa::Avx2 => unsafe { avx2::score_batch(query, targets, sc, mode, out) },
        // SAFETY: availability was checked above.
        Isa::Sse41 => unsafe { sse41::score_batch(query, targets, sc, mode, out) },
        Isa::Portable => portable::score_batch(query, targets, sc, mode, out),
    }
}

/// The score [`reference::find_end`] reports for `query` against each target (raw residues),
/// `None` where there is no alignment; computed `isa.lanes()` targets at a time.
pub(crate) fn search_scores(isa: Isa, query: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode) -> Vec<Option<i32>> {
    let mut scores: Vec<Option<i32>> = vec![None; targets.len()];
    if query.is_empty() {
        return scores;
    }
    let q = sc.encode(query);
    let fits = |t: &[u8]| value_bound(query.len(), t.len(), mode) * sc.max_step() <= I16_SAFE;
    // Similar lengths share a batch, so few lanes idle; the order does not change any score.
    let mut order: Vec<usize> = (0..targets.len()).filter(|&k| !targets[k].is_empty()).collect();
    order.sort_by_key(|&k| (targets[k].len(), k));
    let (fast, slow): (Vec<usize>, Vec<usize>) = order.into_iter().partition(|&k| fits(targets[k]));
    for k in slow {
        scores[k] = reference::find_end(query, targets[k], sc, mode).map(|e| e.score);
    }
    let mut out = vec![0i32; isa.lanes()];
    for batch in fast.chunks(isa.lanes()) {
        let encoded: Vec<Vec<u8>> = batch.iter().map(|&k| sc.encode(targets[k])).collect();
        let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        run_batch(isa, &q, &refs, sc, mode, &mut out[..batch.len()]);
        for (&k, &s) in batch.iter().zip(&out) {
            scores[k] = (mode != Mode::Local || s > 0).then_some(s);
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Alphabet, BUILTIN_MATRICES, Matrix};
    use proptest::prelude::*;

    fn isas() -> Vec<Isa> {
        [Isa::Avx2, Isa::Sse41, Isa::Portable]
            .into_iter()
            .filter(|i| i.available())
            .collect()
    }

    fn scoring() -> impl Strategy<Value = Scoring> {
        prop_oneof![
            (1..5i32, 0..6i32, 0..8i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
            // Large scores push pairs over the 16-bit bound, through the i32 fallback.
            (50..200i32, 0..300i32).prop_map(|(a, b)| Scoring::dna(a, b, 100, 40).unwrap()),
            (prop::sample::select(BUILTIN_MATRICES.to_vec()), 0..12i32, 1..3i32).prop_map(|(m, o, e)| {
                Scoring::with_matrix(Alphabet::Protein, &Matrix::builtin(m).unwrap(), o, e).unwrap()
            }),
        ]
    }

    fn case() -> impl Strategy<Value = (Scoring, Mode, Vec<u8>, Vec<Vec<u8>>)> {
        (
            scoring(),
            prop::sample::select(vec![Mode::Local, Mode::Global, Mode::SemiGlobal]),
        )
            .prop_flat_map(|(sc, mode)| {
                let letters: &'static [u8] = match sc.alphabet() {
                    Alphabet::Dna => b"ACGTNacgt",
                    Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVBZX*",
                };
                let seq = move |max| prop::collection::vec(prop::sample::select(letters), 0..=max);
                (Just(sc), Just(mode), seq(40), prop::collection::vec(seq(40), 0..40))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        #[test]
        fn every_isa_scores_like_the_reference((sc, mode, q, ts) in case()) {
            let refs: Vec<&[u8]> = ts.iter().map(Vec::as_slice).collect();
            let want: Vec<Option<i32>> = refs.iter().map(|t| reference::find_end(&q, t, &sc, mode).map(|e| e.score)).collect();
            for isa in isas() {
                prop_assert_eq!(&search_scores(isa, &q, &refs, &sc, mode), &want, "{:?}", isa);
            }
        }
    }

    #[test]
    fn scores_at_the_edge_of_the_16_bit_bound() {
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            for (m, n) in [(40, 40), (12, 200), (200, 12), (120, 300)] {
                // The largest step that still runs in 16 bits, spent where it hurts most:
                // on matches, on mismatches, and on gap extension or gap opening.
                let step = (I16_SAFE / value_bound(m, n, mode)).min(1000) as i32;
                for (o, e) in [(0, step), (step - 1, 1)] {
                    let sc = Scoring::dna(step, step, o, e).unwrap();
                    assert!(value_bound(m, n, mode) * sc.max_step() <= I16_SAFE);
                    let q = vec![b'A'; m];
                    let ts: Vec<Vec<u8>> = vec![vec![b'A'; n], vec![b'C'; n], b"AC".repeat(n / 2), vec![b'A'; n / 2]];
                    let refs: Vec<&[u8]> = ts.iter().map(Vec::as_slice).collect();
                    let want: Vec<Option<i32>> = refs
                        .iter()
                        .map(|t| reference::find_end(&q, t, &sc, mode).map(|e| e.score))
                        .collect();
                    for isa in isas() {
                        assert_eq!(
                            search_scores(isa, &q, &refs, &sc, mode),
                            want,
                            "{isa:?} {mode:?} {m}x{n} {o}/{e}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn lengths_around_the_lane_widths() {
        let sc = Scoring::default_for(Alphabet::Protein);
        let letters = b"ARNDCQEGHILKMFPSTWYV";
        let seq = |len: usize, salt: usize| -> Vec<u8> {
            (0..len).map(|i| letters[(i * 7 + salt * 13 + i * i) % 20]).collect()
        };
        let q = seq(100, 1);
        let ts: Vec<Vec<u8>> = (0..70)
            .map(|k| seq([1, 7, 8, 9, 15, 16, 17, 31, 32, 33][k % 10] + k, k))
            .collect();
        let refs: Vec<&[u8]> = ts.iter().map(Vec::as_slice).collect();
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            let want: Vec<Option<i32>> = refs
                .iter()
                .map(|t| reference::find_end(&q, t, &sc, mode).map(|e| e.score))
                .collect();
            for isa in isas() {
                assert_eq!(search_scores(isa, &q, &refs, &sc, mode), want, "{isa:?} {mode:?}");
            }
        }
    }
}
