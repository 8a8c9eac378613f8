//! SIMD CPU kernels, in two parallel schemes chosen by the shape of the work:
//! - inter-sequence (SWIPE's scheme, `kernel` and `bytes`): one alignment per lane, for
//!   search against many targets (8-bit lanes first, 16-bit where a lane may have saturated)
//!   and for batches of short DNA pairs (ends, starts and traceback windows);
//! - intra-sequence (Farrar's striped layout, `striped`): one alignment at a time with the
//!   target across the lanes, for long pairs (over `LANE_CELLS` cells), reads against a
//!   genome (the genome's profile built once for all reads), any pair scored with a
//!   substitution matrix, and long traceback windows.
//!
//! The later passes of a DNA pair (its start, and the traceback window) know the score they
//! reach, so their lanes compute only the diagonals a path with that score can touch
//! (`band`); the result is exact.
//!
//! The DP is written once per scheme, generic over `Lanes` and over where substitution
//! scores come from (`ScoreSource`: a target profile when all lanes share the query, or
//! per-lane residue codes for DNA pairs). Both walk the matrix row by row like the reference,
//! so keeping the first strictly greater cell gives the reference's tie-break. Each ISA module
//! only implements `Lanes` and entry points with `#[target_feature]`; the ISA is detected once
//! at run time ([`isa`]) and the portable implementation runs everywhere else.
//!
//! Exactness: an inter-sequence target runs in 16 bits only when every true DP value is
//! provably within `±I16_SAFE`, half of the `i16` range (`value_bound` times the largest
//! single DP step). Saturation then never touches a value that matters and the masks below
//! (adding `i16::MIN`) can never beat a true value. Striped passes check the range they
//! reached instead, and a pass out of the 16-bit range runs again in 32-bit striped lanes;
//! only past those does the `i32` reference compute it. Scores are therefore
//! always exact, and the alignment itself (end, start, path) follows the reference's steps, so
//! output is byte-identical.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod band;
mod bytes;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(target_arch = "x86_64")]
mod sse41;
mod striped;

use crate::alignment::Mode;
use crate::parallel::par_map;
use crate::reference::{self, AlignmentEnd, End, Start, border, forward_pass};
use crate::scoring::Scoring;
use bytes::ByteLanes;
use std::sync::OnceLock;

/// The largest DP value magnitude allowed in 16-bit lanes: half the range, so that masking
/// with `i16::MIN` always loses against a true value.
const I16_SAFE: i64 = 16_383;
/// Longest sequence whose coordinates fit the 16-bit position lanes (read back as `u16`;
/// positions are only ever selected, never compared).
const MAX_LEN: usize = u16::MAX as usize;

/// An instruction set the kernels can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 32 lanes of `i16` in 512-bit registers (AVX-512BW).
    Avx512,
    /// 16 lanes of `i16` in 256-bit registers.
    Avx2,
    /// 8 lanes of `i16` in 128-bit registers.
    Sse41,
    /// 8 lanes of `i16` in 128-bit registers, on aarch64.
    Neon,
    /// 8 lanes in plain Rust arrays; any architecture.
    Portable,
}

impl Isa {
    /// Every ISA, widest first (the default is picked in another order, see [`isa`]).
    pub const ALL: [Isa; 5] = [Isa::Avx512, Isa::Avx2, Isa::Sse41, Isa::Neon, Isa::Portable];

    /// The name shown by `swgpu devices`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512bw",
            Isa::Avx2 => "avx2",
            Isa::Sse41 => "sse4.1",
            Isa::Neon => "neon",
            Isa::Portable => "portable",
        }
    }

    /// The ISA named `name` (as [`Isa::name`] gives it), whether or not this CPU has it; for
    /// another name, the list of names.
    ///
    /// ```
    /// assert_eq!(swgpu::cpu::Isa::from_name("avx2"), Ok(swgpu::cpu::Isa::Avx2));
    /// assert_eq!(
    ///     swgpu::cpu::Isa::from_name("mmx").unwrap_err(),
    ///     "the ISAs are avx512bw, avx2, sse4.1, neon, portable"
    /// );
    /// ```
    pub fn from_name(name: &str) -> std::result::Result<Isa, String> {
        Isa::ALL.into_iter().find(|i| i.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Isa::ALL.iter().map(|i| i.name()).collect();
            format!("the ISAs are {}", names.join(", "))
        })
    }

    /// Lanes (alignments computed at once) of this ISA's kernel.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Avx512 => 32,
            Isa::Avx2 => 16,
            Isa::Sse41 | Isa::Neon | Isa::Portable => 8,
        }
    }

    /// Lanes of this ISA's 8-bit local search kernel: twice [`Isa::lanes`].
    pub fn byte_lanes(self) -> usize {
        2 * self.lanes()
    }

    /// Whether this CPU can run the ISA.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512bw"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Sse41 => std::arch::is_x86_feature_detected!("sse4.1"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2 | Isa::Sse41 => false,
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[cfg(not(target_arch = "aarch64"))]
            Isa::Neon => false,
            Isa::Portable => true,
        }
    }
}

/// The ISAs in the order the default is picked: the fastest measured first. AVX2 comes before
/// AVX-512BW, whose twice as many lanes measured slower on every workload on both AVX-512
/// machines measured (an Intel Xeon by 3-32%, most on the striped long pairs; an AMD EPYC on
/// long pairs), see BENCHMARKS.md; `--cpu-isa avx512bw` still runs it.
const PREFERRED: [Isa; 5] = [Isa::Avx2, Isa::Avx512, Isa::Sse41, Isa::Neon, Isa::Portable];

/// The ISA this CPU runs by default, detected once: AVX2 where the CPU has it (measured faster
/// than AVX-512BW), else the widest it has.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| PREFERRED.into_iter().find(|i| i.available()).unwrap_or(Isa::Portable))
}

/// A lane element: `i16` with saturating arithmetic, or `i32` for passes whose values leave
/// the 16-bit range (plain arithmetic: a pass whose values stay within `NEG..=TOP` never
/// wraps, as minus infinity is only ever one step from a true value).
pub(crate) trait Elem: Pooled + Ord + Default + std::fmt::Debug {
    /// Minus infinity, and the lowest value the range check accepts (see `striped`).
    const NEG: Self;
    /// The highest value the range check accepts.
    const TOP: Self;
    /// `v` clamped to `NEG..=TOP`.
    fn of(v: i32) -> Self;
    /// The value as an `i32`.
    fn get(self) -> i32;
    /// Addition as the SIMD lanes do it (saturating for `i16`, wrapping for `i32`).
    fn lane_add(self, o: Self) -> Self;
    /// Subtraction as the SIMD lanes do it.
    fn lane_sub(self, o: Self) -> Self;
    /// Wrapping addition.
    fn wrapping_add(self, o: Self) -> Self;
}

impl Elem for i16 {
    const NEG: i16 = i16::MIN;
    const TOP: i16 = i16::MAX;
    fn of(v: i32) -> i16 {
        clamp16(v)
    }
    fn get(self) -> i32 {
        self as i32
    }
    fn lane_add(self, o: i16) -> i16 {
        self.saturating_add(o)
    }
    fn lane_sub(self, o: i16) -> i16 {
        self.saturating_sub(o)
    }
    fn wrapping_add(self, o: i16) -> i16 {
        i16::wrapping_add(self, o)
    }
}

impl Elem for i32 {
    const NEG: i32 = -(1 << 30);
    const TOP: i32 = 1 << 30;
    fn of(v: i32) -> i32 {
        v.clamp(Self::NEG, Self::TOP)
    }
    fn get(self) -> i32 {
        self
    }
    fn lane_add(self, o: i32) -> i32 {
        self.wrapping_add(o)
    }
    fn lane_sub(self, o: i32) -> i32 {
        self.wrapping_sub(o)
    }
    fn wrapping_add(self, o: i32) -> i32 {
        i32::wrapping_add(self, o)
    }
}

/// A vector of [`Elem`] lanes (`i16` lanes saturate, `i32` lanes wrap).
///
/// # Safety
/// Implementations use CPU-specific instructions: callers must only use a type whose ISA is
/// available, and pass slices of at least `WIDTH` elements to `load` and `store`.
pub(crate) trait Lanes: Copy {
    /// The lane element.
    type E: Elem;
    /// Number of lanes.
    const WIDTH: usize;
    /// All lanes set to `x`.
    unsafe fn splat(x: Self::E) -> Self;
    /// The first `WIDTH` elements of `s`.
    unsafe fn load(s: &[Self::E]) -> Self;
    /// Writes the lanes into the first `WIDTH` elements of `s`.
    unsafe fn store(self, s: &mut [Self::E]);
    /// `load(&s[at..])` without the bounds check, for the inner loops: the caller guarantees
    /// `at + WIDTH <= s.len()`.
    #[inline(always)]
    unsafe fn load_at(s: &[Self::E], at: usize) -> Self {
        debug_assert!(at + Self::WIDTH <= s.len());
        // SAFETY: the caller guarantees the range.
        unsafe { Self::load(s.get_unchecked(at..)) }
    }
    /// `store(&mut s[at..])` without the bounds check; the caller guarantees the range.
    #[inline(always)]
    unsafe fn store_at(self, s: &mut [Self::E], at: usize) {
        debug_assert!(at + Self::WIDTH <= s.len());
        // SAFETY: the caller guarantees the range.
        unsafe { self.store(s.get_unchecked_mut(at..)) }
    }
    /// Lane-wise [`Elem::lane_add`].
    unsafe fn adds(self, other: Self) -> Self;
    /// Lane-wise wrapping addition (for coordinates held as `u16`).
    unsafe fn add(self, other: Self) -> Self;
    /// Lane-wise [`Elem::lane_sub`].
    unsafe fn subs(self, other: Self) -> Self;
    /// Lane-wise maximum.
    unsafe fn max(self, other: Self) -> Self;
    /// Lane-wise minimum.
    unsafe fn min(self, other: Self) -> Self;
    /// All bits set in lanes where `self > other`, clear elsewhere.
    unsafe fn gt(self, other: Self) -> Self;
    /// All bits set in lanes where `self == other`, clear elsewhere.
    unsafe fn eq(self, other: Self) -> Self;
    /// Lanes of `a` where `mask` (from `gt`/`eq`) is set, of `b` elsewhere.
    unsafe fn select(mask: Self, a: Self, b: Self) -> Self;
    /// Whether any lane of a mask (from `gt`/`eq`) is set.
    unsafe fn any(self) -> bool;

    /// All lanes set to the small constant `x`.
    #[inline(always)]
    unsafe fn splat_i32(x: i32) -> Self {
        // SAFETY: the caller guarantees the ISA.
        unsafe { Self::splat(Self::E::of(x)) }
    }

    /// The lanes moved up by one (lane `l` to `l + 1`), with `first` in lane 0.
    #[inline(always)]
    unsafe fn shift_in(self, first: Self::E) -> Self {
        let mut a = [Self::E::default(); 33];
        // SAFETY: the caller guarantees the ISA; `a` holds WIDTH + 1 <= 33 elements.
        unsafe {
            self.store(&mut a[1..]);
            a[0] = first;
            Self::load(&a)
        }
    }

    /// The largest lane.
    #[inline(always)]
    unsafe fn hmax(self) -> Self::E {
        let mut a = [Self::E::NEG; 32];
        // SAFETY: the caller guarantees the ISA; WIDTH <= 32.
        unsafe { self.store(&mut a) };
        a.into_iter().max().unwrap_or(Self::E::NEG)
    }

    /// The smallest lane.
    #[inline(always)]
    unsafe fn hmin(self) -> Self::E {
        let mut a = [Self::E::TOP; 32];
        // SAFETY: the caller guarantees the ISA; WIDTH <= 32.
        unsafe { self.store(&mut a) };
        a.into_iter().min().unwrap_or(Self::E::TOP)
    }
}

/// A buffer borrowed from a per-thread pool and returned on drop: the kernels' large buffers
/// would otherwise be mapped and unmapped by the allocator for every batch, and the page
/// faults serialise threads in the kernel.
struct Scratch<T: Pooled = i16>(Vec<T>);

/// Element types with a per-thread pool of buffers.
pub(crate) trait Pooled: Copy + 'static {
    /// Runs `f` on this thread's pool.
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

thread_local! {
    static POOL32: std::cell::RefCell<Vec<Vec<i32>>> = const { std::cell::RefCell::new(Vec::new()) };
    static POOL16: std::cell::RefCell<Vec<Vec<i16>>> = const { std::cell::RefCell::new(Vec::new()) };
    static POOL8: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Pooled for i32 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<i32>>) -> R) -> R {
        POOL32.with(|p| f(&mut p.borrow_mut()))
    }
}

impl Pooled for i16 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<i16>>) -> R) -> R {
        POOL16.with(|p| f(&mut p.borrow_mut()))
    }
}

impl Pooled for u8 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<u8>>) -> R) -> R {
        POOL8.with(|p| f(&mut p.borrow_mut()))
    }
}

impl<T: Pooled> Scratch<T> {
    /// `len` elements set to `fill`.
    fn new(len: usize, fill: T) -> Scratch<T> {
        let mut s = Scratch::reused(len, fill);
        s.0.fill(fill);
        s
    }

    /// `len` elements holding whatever an earlier user left (`fill` past that): for buffers
    /// the caller overwrites before reading.
    fn reused(len: usize, fill: T) -> Scratch<T> {
        let mut v = T::with_pool(|p| p.pop()).unwrap_or_default();
        v.resize(len, fill);
        Scratch(v)
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: Pooled> std::ops::Deref for Scratch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Pooled> std::ops::DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: Pooled> Drop for Scratch<T> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        T::with_pool(|p| p.push(v));
    }
}

/// `v` saturated to `i16`; padding cells may leave the range, true values never do.
fn clamp16(v: i32) -> i16 {
    v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// Where a kernel's substitution scores come from.
trait ScoreSource<L: Lanes<E = i16>> {
    /// Prepares row `i` (1-based, a query position).
    ///
    /// # Safety
    /// `L`'s ISA must be available.
    unsafe fn start_row(&mut self, i: usize);
    /// The scores of row `i` against column `j` (1-based, a target position), per lane;
    /// padding cells score at most -1, so they never beat the cell they extend.
    ///
    /// # Safety
    /// `L`'s ISA must be available.
    unsafe fn score(&self, j: usize) -> L;
}

/// All lanes align the same query: a target profile, `profile[(c*n + j-1)*W + l]` = score of
/// residue code `c` against lane `l`'s target residue `j`, so each row streams one `n x W` slice.
struct SharedQuery<'a, L> {
    query: &'a [u8],
    profile: Scratch,
    stride: usize,
    row: usize,
    _lanes: std::marker::PhantomData<L>,
}

impl<'a, L: Lanes<E = i16>> SharedQuery<'a, L> {
    fn new(query: &'a [u8], targets: &[&[u8]], sc: &Scoring) -> Self {
        let (w, dim) = (L::WIDTH, sc.dim());
        let n = targets.iter().map(|t| t.len()).max().unwrap_or(0);
        // The matrix by target residue, with one extra code (`dim`) for padding, and the
        // targets' codes by position; then every (c, j) writes its W lanes contiguously.
        let pad = dim;
        let mut by_target = vec![i16::MIN; (dim + 1) * dim];
        for tc in 0..dim {
            for c in 0..dim {
                by_target[tc * dim + c] = sc.profile_row(c as u8)[tc] as i16;
            }
        }
        let mut codes = vec![pad; n * w];
        for (l, t) in targets.iter().enumerate() {
            for (j, &tc) in t.iter().enumerate() {
                codes[j * w + l] = tc as usize;
            }
        }
        let mut profile = Scratch::new(n * dim * w, 0);
        for (c, plane) in profile.chunks_exact_mut(n * w).enumerate() {
            for (cell, &tc) in plane.iter_mut().zip(&codes) {
                *cell = by_target[tc * dim + c];
            }
        }
        SharedQuery {
            query,
            profile,
            stride: n * w,
            row: 0,
            _lanes: std::marker::PhantomData,
        }
    }
}

impl<L: Lanes<E = i16>> ScoreSource<L> for SharedQuery<'_, L> {
    #[inline(always)]
    unsafe fn start_row(&mut self, i: usize) {
        self.row = self.query[i - 1] as usize * self.stride;
    }

    #[inline(always)]
    unsafe fn score(&self, j: usize) -> L {
        // SAFETY: the profile holds `stride = n * W` elements per residue code; j <= n.
        unsafe { L::load_at(&self.profile, self.row + (j - 1) * L::WIDTH) }
    }
}

/// DNA pairs with the built-in match/mismatch scores, one pair per lane. Codes are laid out
/// `[(i-1)*W + l]`; non-ACGT and padding codes differ between query and target, so only real
/// A/C/G/T pairs compare equal. A mismatch scores `-B` when both residues are A/C/G/T, else -1:
/// the max (B >= 1) or min (B = 0) of the two residues' penalties.
/// `PEN_MAX` is `B >= 1` (a const parameter, so the inner loop has no branch on it).
struct DnaPairs<L, const PEN_MAX: bool> {
    q: Scratch,
    q_pen: Scratch,
    t: Scratch,
    t_pen: Scratch,
    match_score: i16,
    row_q: L,
    row_pen: L,
}

impl<L: Lanes<E = i16>, const PEN_MAX: bool> DnaPairs<L, PEN_MAX> {
    /// # Safety
    /// `L`'s ISA must be available.
    unsafe fn new(pairs: &[(&[u8], &[u8])], sc: &Scoring, match_score: i32, mismatch: i32) -> Self {
        let w = L::WIDTH;
        // Residues (raw bytes) to lane codes and penalties through one table per side, with
        // `other` the code of every non-ACGT residue.
        let layout = |seqs: Vec<&[u8]>, other: i16, pad: i16| {
            let table: [(i16, i16); 256] = std::array::from_fn(|b| match sc.code(b as u8) {
                c @ 0..4 => (i16::from(c), -mismatch as i16),
                _ => (other, -1),
            });
            let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
            let (mut codes, mut pens) = (Scratch::new(len * w, pad), Scratch::new(len * w, -1));
            for (l, s) in seqs.iter().enumerate() {
                for (k, &b) in s.iter().enumerate() {
                    (codes[k * w + l], pens[k * w + l]) = table[b as usize];
                }
            }
            (codes, pens)
        };
        let (q, q_pen) = layout(pairs.iter().map(|p| p.0).collect(), 4, 6);
        let (t, t_pen) = layout(pairs.iter().map(|p| p.1).collect(), 5, 7);
        // SAFETY: the caller guarantees L's ISA.
        let zero = unsafe { L::splat(0) };
        DnaPairs {
            q,
            q_pen,
            t,
            t_pen,
            match_score: match_score as i16,
            row_q: zero,
            row_pen: zero,
        }
    }
}

impl<L: Lanes<E = i16>, const PEN_MAX: bool> ScoreSource<L> for DnaPairs<L, PEN_MAX> {
    #[inline(always)]
    unsafe fn start_row(&mut self, i: usize) {
        let at = (i - 1) * L::WIDTH;
        // SAFETY: rows hold W codes each; the caller guarantees L's ISA.
        unsafe {
            self.row_q = L::load(&self.q[at..]);
            self.row_pen = L::load(&self.q_pen[at..]);
        }
    }

    #[inline(always)]
    unsafe fn score(&self, j: usize) -> L {
        let at = (j - 1) * L::WIDTH;
        // SAFETY: columns hold W codes each; the caller guarantees L's ISA.
        unsafe {
            let t_pen = L::load_at(&self.t_pen, at);
            let miss = if PEN_MAX {
                self.row_pen.max(t_pen)
            } else {
                self.row_pen.min(t_pen)
            };
            L::select(self.row_q.eq(L::load_at(&self.t, at)), L::splat(self.match_score), miss)
        }
    }
}

/// The reference's direction bits of a cell, in lanes.
struct DirectionBits<L> {
    zero: L,
    from_e: L,
    from_f: L,
    e_extended: L,
    f_extended: L,
}

impl<L: Lanes> DirectionBits<L> {
    /// # Safety
    /// `L`'s ISA must be available.
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: the caller guarantees L's ISA.
        unsafe {
            DirectionBits {
                zero: L::splat_i32(0),
                from_e: L::splat_i32(reference::FROM_E.into()),
                from_f: L::splat_i32(reference::FROM_F.into()),
                e_extended: L::splat_i32(reference::E_EXTENDED.into()),
                f_extended: L::splat_i32(reference::F_EXTENDED.into()),
            }
        }
    }

    /// The bits of cells with diagonal `d` and gaps `(open, extend, best)`: diagonal unless a
    /// gap is strictly better, then E unless F is strictly better; a gap extends only when
    /// strictly better.
    ///
    /// # Safety
    /// `L`'s ISA must be available.
    #[inline(always)]
    unsafe fn of(&self, d: L, (e_open, e_ext, e): (L, L, L), (f_open, f_ext, f): (L, L, L)) -> L {
        // SAFETY: the caller guarantees L's ISA.
        unsafe {
            let from = L::select(e.max(f).gt(d), L::select(f.gt(e), self.from_f, self.from_e), self.zero);
            let bits = from.adds(L::select(e_ext.gt(e_open), self.e_extended, self.zero));
            bits.adds(L::select(f_ext.gt(f_open), self.f_extended, self.zero))
        }
    }
}

/// The best cell so far per lane: score and 1-based coordinates.
struct Best<L> {
    score: L,
    i: L,
    j: L,
}

/// What a row records about its cells (a const parameter of [`row`], so that each variant
/// compiles without branches in its inner loop): nothing (rows where no lane can end)...
const CAPTURE_NONE: u8 = 0;
/// ... every cell (an alignment may end anywhere) ...
const CAPTURE_ALL: u8 = 1;
/// ... or the cells where a lane's alignment may end, selected by masks.
const CAPTURE_MASKED: u8 = 2;

/// One DP row `i` over columns `lo..=hi` (of `1..=n`): the reference's `dp_row` with lanes.
/// `h` and `f` hold row `i-1` on entry and row `i` on exit, `W` lanes per column; left of `lo`
/// the row is minus infinity (outside a band), so column `lo - 1` of row `i-1` must be set.
///
/// # Safety
/// `L`'s ISA must be available; `1 <= lo <= hi <= n`; `h`, `f` and `col_masks` hold
/// `(n + 1) * W` elements.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn row<
    L: Lanes<E = i16>,
    S: ScoreSource<L>,
    const ENDS: bool,
    const TRACE: bool,
    const CAPTURE: u8,
    const LOCAL: bool,
>(
    src: &S,
    (i, lo, hi): (usize, usize, usize),
    (left0, oe, ext): (L, L, L),
    (h, f, dirs): (&mut [i16], &mut [i16], &mut [i16]),
    (col_masks, row_mask): (&[i16], L),
    best: &mut Best<L>,
) {
    let w = L::WIDTH;
    // SAFETY: the caller guarantees L's ISA and the buffer sizes; every offset is j * W.
    unsafe {
        let zero = L::splat(0);
        let dir_bits = DirectionBits::<L>::new();
        let mut diag = L::load_at(h, (lo - 1) * w);
        let mut left = L::splat(i16::MIN);
        if lo == 1 {
            left0.store(h);
            left = left0;
        }
        let mut e = L::splat(i16::MIN);
        let (mut row_best, mut row_j) = (L::splat(i16::MIN), zero);
        // Column j in every lane, counted up rather than broadcast per cell.
        let (one, mut jv) = (L::splat(1), L::splat((lo - 1) as u16 as i16));
        for j in lo..=hi {
            if ENDS {
                jv = jv.add(one);
            }
            let at = j * w;
            let up = L::load_at(h, at);
            let (e_open, e_ext) = (left.subs(oe), e.subs(ext));
            let (f_open, f_ext) = (up.subs(oe), L::load_at(f, at).subs(ext));
            e = e_open.max(e_ext);
            let fv = f_open.max(f_ext);
            let d = diag.adds(src.score(j));
            let mut hv = d.max(e).max(fv);
            if LOCAL {
                hv = hv.max(zero);
            }
            if TRACE {
                dir_bits
                    .of(d, (e_open, e_ext, e), (f_open, f_ext, fv))
                    .store_at(dirs, at - w);
            }
            if CAPTURE != CAPTURE_NONE {
                let cand = if CAPTURE == CAPTURE_MASKED {
                    hv.adds(row_mask).adds(L::load_at(col_masks, at))
                } else {
                    hv
                };
                if ENDS {
                    row_j = L::select(cand.gt(row_best), jv, row_j);
                }
                row_best = row_best.max(cand);
            }
            diag = up;
            hv.store_at(h, at);
            fv.store_at(f, at);
            left = hv;
        }
        if CAPTURE != CAPTURE_NONE {
            if ENDS {
                let better = row_best.gt(best.score);
                best.i = L::select(better, L::splat(i as u16 as i16), best.i);
                best.j = L::select(better, row_j, best.j);
            }
            best.score = best.score.max(row_best);
        }
    }
}

/// One pass over up to `W` alignments: lane `l` aligns `lens[l].0` query residues against
/// `lens[l].1` target residues (unused lanes: `(0, 0)`), with the reference's `start` borders
/// and `end` cells. Writes each lane's best `(score, i, j)`; with `ENDS == false` only scores.
/// Only the diagonals `band` (`(lo, hi)` with `lo <= 0 <= hi`) are computed: every lane's
/// [`band::band`] for a floor its best score reaches, or [`band::ALL`].
/// Every lane must be within the 16-bit bounds ([`fits_i16`]).
///
/// # Safety
/// `L`'s ISA must be available.
#[inline(always)]
unsafe fn kernel<L: Lanes<E = i16>, S: ScoreSource<L>, const ENDS: bool, const TRACE: bool>(
    src: &mut S,
    lens: &[(usize, usize)],
    sc: &Scoring,
    (start, end): (Start, End),
    (band_lo, band_hi): (isize, isize),
    dirs: &mut [i16],
    out: &mut [(i32, usize, usize)],
) {
    let w = L::WIDTH;
    let lane_len = |l: usize| lens.get(l).copied().unwrap_or((0, 0));
    let m = (0..w).map(|l| lane_len(l).0).max().unwrap_or(0);
    let n = (0..w).map(|l| lane_len(l).1).max().unwrap_or(0);
    let local = start == Start::Local;
    let row0 = if start == Start::Anchored { start } else { Start::Local };
    // SAFETY: the caller guarantees L's ISA; all buffers hold (n + 1) * W elements.
    unsafe {
        let (oe, ext) = (
            L::splat((sc.gap_open() + sc.gap_extend()) as i16),
            L::splat(sc.gap_extend() as i16),
        );
        let mut h = Scratch::new((n + 1) * w, 0);
        for j in 0..=n {
            h[j * w..(j + 1) * w].fill(clamp16(border(row0, j, sc)));
        }
        let mut f = Scratch::new((n + 1) * w, i16::MIN);
        // 0 where a lane's alignment may end in column j, i16::MIN elsewhere.
        let mut col_masks = Scratch::new((n + 1) * w, i16::MIN);
        for l in 0..w {
            let (ml, nl) = lane_len(l);
            let cols = match end {
                End::LastRow => 1..nl + 1,
                _ => nl..nl + 1,
            };
            for j in cols.filter(|_| ml > 0 && nl > 0) {
                col_masks[j * w + l] = 0;
            }
        }
        let mut best = Best {
            score: L::splat(i16::MIN),
            i: L::splat(0),
            j: L::splat(0),
        };
        if end == End::Anywhere {
            best.score = L::load(&h[..]);
        }
        let mut mask = vec![i16::MIN; w];
        let mut prev_hi = n;
        for i in 1..=m {
            let lo = (i as isize + band_lo).max(1) as usize;
            let hi = (i as isize + band_hi).min(n as isize) as usize;
            if i > 1 && hi > prev_hi {
                // Row i-1 ended left of this column: minus infinity above it (F already is).
                h[hi * w..(hi + 1) * w].fill(i16::MIN);
            }
            prev_hi = hi;
            src.start_row(i);
            let left0 = L::splat(clamp16(border(start, i, sc)));
            let capture = match end {
                End::Anywhere => CAPTURE_ALL,
                _ if (0..w).any(|l| lane_len(l).0 == i) => CAPTURE_MASKED,
                _ => CAPTURE_NONE,
            };
            let mut row_mask = L::splat(i16::MIN);
            if capture == CAPTURE_MASKED {
                for (l, v) in mask.iter_mut().enumerate() {
                    *v = if lane_len(l).0 == i { 0 } else { i16::MIN };
                }
                row_mask = L::load(&mask);
                if end == End::LastRow {
                    // Column 0 of the last row: the whole query inserted.
                    let cand = left0.adds(row_mask);
                    if ENDS {
                        let better = cand.gt(best.score);
                        best.i = L::select(better, L::splat(i as u16 as i16), best.i);
                        best.j = L::select(better, L::splat(0), best.j);
                    }
                    best.score = best.score.max(cand);
                }
            }
            let row_dirs: &mut [i16] = if TRACE {
                &mut dirs[(i - 1) * n * w..i * n * w]
            } else {
                &mut []
            };
            if lo > hi {
                // Past the band's end: no later row has cells either.
                continue;
            }
            let bufs = (h.as_mut_slice(), f.as_mut_slice(), row_dirs);
            let (consts, masks) = ((left0, oe, ext), (&col_masks[..], row_mask));
            // Local passes end anywhere: the only variant that clamps at zero.
            match (capture, local) {
                (CAPTURE_ALL, true) => {
                    row::<L, S, ENDS, TRACE, CAPTURE_ALL, true>(src, (i, lo, hi), consts, bufs, masks, &mut best)
                }
                (CAPTURE_ALL, false) => {
                    row::<L, S, ENDS, TRACE, CAPTURE_ALL, false>(src, (i, lo, hi), consts, bufs, masks, &mut best)
                }
                (CAPTURE_MASKED, false) => {
                    row::<L, S, ENDS, TRACE, CAPTURE_MASKED, false>(src, (i, lo, hi), consts, bufs, masks, &mut best)
                }
                (CAPTURE_NONE, false) => {
                    row::<L, S, ENDS, TRACE, CAPTURE_NONE, false>(src, (i, lo, hi), consts, bufs, masks, &mut best)
                }
                _ => unreachable!("local passes end anywhere"),
            }
        }
        let (mut scores, mut is, mut js) = (vec![0i16; w], vec![0i16; w], vec![0i16; w]);
        best.score.store(&mut scores);
        best.i.store(&mut is);
        best.j.store(&mut js);
        for (l, o) in out.iter_mut().enumerate() {
            *o = (scores[l] as i32, is[l] as u16 as usize, js[l] as u16 as usize);
        }
    }
}

/// [`kernel`] over DNA pairs (residues) with the built-in scores `(a, b)`.
///
/// # Safety
/// `L`'s ISA must be available.
#[inline(always)]
unsafe fn dna_kernel<L: Lanes<E = i16>, const ENDS: bool, const TRACE: bool>(
    pairs: &[(&[u8], &[u8])],
    sc: &Scoring,
    (a, b): (i32, i32),
    (pass, band): ((Start, End), (isize, isize)),
    dirs: &mut [i16],
    out: &mut [(i32, usize, usize)],
) {
    let lens: Vec<(usize, usize)> = pairs.iter().map(|p| (p.0.len(), p.1.len())).collect();
    // SAFETY: the caller guarantees L's ISA.
    unsafe {
        if b >= 1 {
            let mut src = DnaPairs::<L, true>::new(pairs, sc, a, b);
            kernel::<L, _, ENDS, TRACE>(&mut src, &lens, sc, pass, band, dirs, out)
        } else {
            let mut src = DnaPairs::<L, false>::new(pairs, sc, a, b);
            kernel::<L, _, ENDS, TRACE>(&mut src, &lens, sc, pass, band, dirs, out)
        }
    }
}

/// A bound on `|v| / max_step` for every H, E and F value of an `m x n` DP, where `max_step`
/// bounds both a substitution score and `O + E`:
/// - local: `0 <= H <= min(m, n) * max_sub`, and `E, F >= H - (O + E) >= -(O + E)`;
/// - semi-global: `H >= -(O + m*E)` (insert the whole query from a free row-0 cell), so
///   `E, F >= -(O + m*E) - (O + E)`; `H <= m * max_sub`;
/// - global and anchored passes: `H >= -(2*O + (m + n)*E)` (delete then insert everything),
///   `E, F` one step lower.
fn value_bound(m: usize, n: usize, start: Start) -> i64 {
    (match start {
        Start::Local => m.min(n) + 2,
        Start::TargetFree => m + 3,
        Start::Anchored => m + n + 4,
    }) as i64
}

/// Whether an `m x n` pass can run in 16-bit lanes with exact results.
fn fits_i16(m: usize, n: usize, start: Start, sc: &Scoring) -> bool {
    m <= MAX_LEN && n <= MAX_LEN && value_bound(m, n, start) * sc.max_step() <= I16_SAFE
}

/// The kernel entry points of one ISA.
macro_rules! entry_points {
    ($lanes:ty, $wide:ty, $bytes:ty, $(#[$feature:meta])*) => {
        /// Local scores of `query` against each target (codes) in byte lanes; `None` where a
        /// lane may have saturated.
        ///
        /// # Safety
        /// The CPU must support this module's ISA; the scoring must be `bytes::usable`; the
        /// targets are residues, the query codes.
        $(#[$feature])*
        pub(super) unsafe fn local_scores_u8(query: &[u8], targets: &[&[u8]], sc: &Scoring, band: (isize, isize)) -> Vec<Option<i32>> {
            // SAFETY: the caller guarantees the ISA and the scoring.
            unsafe { super::bytes::local_scores::<$bytes>(query, targets, sc, band) }
        }

        /// Scores of `query` against each target (codes), one target per lane.
        ///
        /// # Safety
        /// The CPU must support this module's ISA.
        $(#[$feature])*
        pub(super) unsafe fn search(query: &[u8], targets: &[&[u8]], sc: &Scoring, pass: (Start, End), out: &mut [(i32, usize, usize)]) {
            let lens: Vec<(usize, usize)> = targets.iter().map(|t| (query.len(), t.len())).collect();
            let mut src = super::SharedQuery::<$lanes>::new(query, targets, sc);
            // SAFETY: the caller guarantees the ISA.
            unsafe { super::kernel::<$lanes, _, false, false>(&mut src, &lens, sc, pass, super::band::ALL, &mut [], out) }
        }

        /// Best cells of DNA pairs (residues), one pair per lane, with the built-in scores,
        /// over the diagonals `band` (see [`super::kernel`]).
        ///
        /// # Safety
        /// The CPU must support this module's ISA.
        $(#[$feature])*
        pub(super) unsafe fn dna_pairs(pairs: &[(&[u8], &[u8])], sc: &Scoring, (a, b): (i32, i32), pass: (Start, End), band: (isize, isize), out: &mut [(i32, usize, usize)]) {
            // SAFETY: the caller guarantees the ISA.
            unsafe { super::dna_kernel::<$lanes, true, false>(pairs, sc, (a, b), (pass, band), &mut [], out) }
        }

        /// The best cell of one pass of each query against `target` (codes) in striped
        /// lanes, 32-bit if `wide`; `None` where the lanes' range did not suffice.
        ///
        /// # Safety
        /// The CPU must support this module's ISA.
        $(#[$feature])*
        pub(super) unsafe fn striped_cells(queries: &[&[u8]], target: &[u8], sc: &Scoring, pass: (Start, End), wide: bool) -> Vec<Option<(i32, usize, usize)>> {
            // SAFETY: the caller guarantees the ISA.
            unsafe {
                if wide {
                    super::striped::best_cells::<$wide>(queries, target, sc, pass)
                } else {
                    super::striped::best_cells::<$lanes>(queries, target, sc, pass)
                }
            }
        }

        /// The global alignment of `query` against `target` (codes) in striped lanes, 32-bit
        /// if `wide`, with blocks of direction bits of about `block_cells`; `None` if the
        /// lanes' range did not suffice.
        ///
        /// # Safety
        /// The CPU must support this module's ISA.
        $(#[$feature])*
        pub(super) unsafe fn striped_traceback(query: &[u8], target: &[u8], sc: &Scoring, block_cells: usize, wide: bool) -> Option<(i32, crate::alignment::Cigar)> {
            // SAFETY: the caller guarantees the ISA.
            unsafe {
                if wide {
                    super::striped::traceback::<$wide>(query, target, sc, block_cells)
                } else {
                    super::striped::traceback::<$lanes>(query, target, sc, block_cells)
                }
            }
        }

        /// Global alignments of DNA windows (residues), one per lane, over the diagonals
        /// `band`, recording the reference's direction bits in `dirs[((i-1)*n + j-1)*W + l]`
        /// (`n` the longest target window) for the cells of the band.
        ///
        /// # Safety
        /// The CPU must support this module's ISA.
        $(#[$feature])*
        pub(super) unsafe fn dna_traceback(pairs: &[(&[u8], &[u8])], sc: &Scoring, (a, b): (i32, i32), band: (isize, isize), dirs: &mut [i16], out: &mut [(i32, usize, usize)]) {
            // SAFETY: the caller guarantees the ISA.
            unsafe { super::dna_kernel::<$lanes, false, true>(pairs, sc, (a, b), ((Start::Anchored, End::Corner), band), dirs, out) }
        }
    };
}
use entry_points;

/// One [`Lanes`] type of an x86 ISA from its register type and intrinsics.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_int_lanes {
    (
        $lanes:ident, $elem:ty, $reg:ty, $width:expr,
        [$loadu:ident, $storeu:ident, $blend:ident, $movemask:ident],
        [$set1:ident, $add:ident, $adds:ident, $subs:ident, $max:ident, $min:ident, $gt:ident, $eq:ident] $(,)?
    ) => {
        #[derive(Clone, Copy)]
        pub(super) struct $lanes($reg);

        // SAFETY (every method): the kernels run these only where the ISA is available
        // (`Isa::available`), and `load`/`store` callers pass at least `WIDTH` elements; loads
        // and stores are unaligned.
        impl super::Lanes for $lanes {
            type E = $elem;
            const WIDTH: usize = $width;

            #[inline(always)]
            unsafe fn splat(x: $elem) -> Self {
                unsafe { $lanes($set1(x)) }
            }

            #[inline(always)]
            unsafe fn load(s: &[$elem]) -> Self {
                debug_assert!(s.len() >= $width);
                unsafe { $lanes($loadu(s.as_ptr().cast())) }
            }

            #[inline(always)]
            unsafe fn store(self, s: &mut [$elem]) {
                debug_assert!(s.len() >= $width);
                unsafe { $storeu(s.as_mut_ptr().cast(), self.0) }
            }

            #[inline(always)]
            unsafe fn adds(self, o: Self) -> Self {
                unsafe { $lanes($adds(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn add(self, o: Self) -> Self {
                unsafe { $lanes($add(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn subs(self, o: Self) -> Self {
                unsafe { $lanes($subs(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn max(self, o: Self) -> Self {
                unsafe { $lanes($max(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn min(self, o: Self) -> Self {
                unsafe { $lanes($min(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn gt(self, o: Self) -> Self {
                unsafe { $lanes($gt(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn eq(self, o: Self) -> Self {
                unsafe { $lanes($eq(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn select(mask: Self, a: Self, b: Self) -> Self {
                unsafe { $lanes($blend(b.0, a.0, mask.0)) }
            }

            #[inline(always)]
            unsafe fn any(self) -> bool {
                unsafe { $movemask(self.0) != 0 }
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
use x86_int_lanes;

/// The [`Lanes`] types (`i16`, and `i32` with half as many lanes) and the [`ByteLanes`] type
/// (`u8`, twice as many) of an x86 ISA, from its register type and intrinsics: AVX-512BW,
/// AVX2 and SSE4.1 differ only in names and widths (AVX-512's mask-register compares are
/// wrapped to return vectors). 32-bit lanes add and subtract without saturation.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_lanes {
    (
        $lanes:ident, $wide:ident, $bytes:ident, $reg:ty, $width:literal, $feature:literal,
        load: $loadu:ident, store: $storeu:ident, blend: $blend:ident, movemask: $movemask:ident,
        i16: [$set1:ident, $add:ident, $adds:ident, $subs:ident, $max:ident, $min:ident, $gt:ident, $eq:ident],
        i32: [$set1_32:ident, $add_32:ident, $sub_32:ident, $max_32:ident, $min_32:ident, $gt_32:ident, $eq_32:ident],
        u8: [$set1_8:ident, $adds_8:ident, $subs_8:ident, $max_8:ident, $gt_8:ident, $shuffle:ident, $table16:ident] $(,)?
    ) => {
        super::x86_int_lanes!(
            $lanes, i16, $reg, $width,
            [$loadu, $storeu, $blend, $movemask],
            [$set1, $add, $adds, $subs, $max, $min, $gt, $eq],
        );
        super::x86_int_lanes!(
            $wide, i32, $reg, $width / 2,
            [$loadu, $storeu, $blend, $movemask],
            [$set1_32, $add_32, $add_32, $sub_32, $max_32, $min_32, $gt_32, $eq_32],
        );

        #[derive(Clone, Copy)]
        pub(super) struct $bytes($reg);

        impl super::ByteLanes for $bytes {
            const WIDTH: usize = 2 * $width;

            #[inline(always)]
            unsafe fn splat(x: u8) -> Self {
                unsafe { $bytes($set1_8(x as i8)) }
            }

            #[inline(always)]
            unsafe fn load(s: &[u8]) -> Self {
                debug_assert!(s.len() >= 2 * $width);
                unsafe { $bytes($loadu(s.as_ptr().cast())) }
            }

            #[inline(always)]
            unsafe fn store(self, s: &mut [u8]) {
                debug_assert!(s.len() >= 2 * $width);
                unsafe { $storeu(s.as_mut_ptr().cast(), self.0) }
            }

            #[inline(always)]
            unsafe fn adds(self, o: Self) -> Self {
                unsafe { $bytes($adds_8(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn subs(self, o: Self) -> Self {
                unsafe { $bytes($subs_8(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn max(self, o: Self) -> Self {
                unsafe { $bytes($max_8(self.0, o.0)) }
            }

            #[inline(always)]
            unsafe fn lookup(table: &[u8; 32], idx: Self) -> Self {
                // Byte shuffles index 16-entry tables: the low half, the high half, and a
                // blend on `idx > 15`.
                unsafe {
                    let lo = $shuffle($table16(&table[..16]), idx.0);
                    let hi = $shuffle($table16(&table[16..]), idx.0);
                    $bytes($blend(lo, hi, $gt_8(idx.0, $set1_8(15))))
                }
            }
        }

        super::entry_points!($lanes, $wide, $bytes, #[target_feature(enable = $feature)]);
    };
}
#[cfg(target_arch = "x86_64")]
use x86_lanes;

/// Dispatches one batch to `isa`'s entry point.
macro_rules! on_isa {
    ($isa:expr, $entry:ident($($arg:expr),*)) => {{
        let isa = $isa;
        assert!(isa.available(), "{isa:?} is not available on this CPU");
        match isa {
            // SAFETY: availability was checked above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::$entry($($arg),*) },
            // SAFETY: availability was checked above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::$entry($($arg),*) },
            // SAFETY: availability was checked above.
            #[cfg(target_arch = "x86_64")]
            Isa::Sse41 => unsafe { sse41::$entry($($arg),*) },
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2 | Isa::Sse41 => unreachable!("x86 ISAs are never available off x86-64"),
            // SAFETY: availability was checked above.
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => unsafe { neon::$entry($($arg),*) },
            #[cfg(not(target_arch = "aarch64"))]
            Isa::Neon => unreachable!("NEON is never available off aarch64"),
            // SAFETY: portable lanes need no CPU feature.
            Isa::Portable => unsafe { portable::$entry($($arg),*) },
        }
    }};
}

/// The score [`reference::find_end`] reports for `query` against each target (raw residues),
/// `None` where there is no alignment; computed `isa.lanes()` targets at a time, the batches
/// spread over `threads`.
pub(crate) fn search_scores(
    isa: Isa,
    query: &[u8],
    targets: &[&[u8]],
    sc: &Scoring,
    mode: Mode,
    threads: usize,
) -> Vec<Option<i32>> {
    scores_near(isa, query, targets, None, sc, mode, threads)
}

/// A bound on the local score of `query` against each target (raw residues) near a band of
/// diagonals (target column minus query row; `bands[k]` for target `k`): at least the best
/// score of a path within the band, at most the best of any path (`None`: no positive score).
/// The score-only byte lanes compute the cells near each batch's bands; a lane that may have
/// saturated, or a scoring the byte lanes cannot take, gets the exact score of every path.
pub(crate) fn banded_local_scores(
    isa: Isa,
    query: &[u8],
    targets: &[&[u8]],
    bands: &[(isize, isize)],
    sc: &Scoring,
) -> Vec<Option<i32>> {
    scores_near(isa, query, targets, Some(bands), sc, Mode::Local, 1)
}

/// [`search_scores`], with the byte lanes (local mode) computing only the cells near `bands`
/// where given ([`banded_local_scores`]).
fn scores_near(
    isa: Isa,
    query: &[u8],
    targets: &[&[u8]],
    bands: Option<&[(isize, isize)]>,
    sc: &Scoring,
    mode: Mode,
    threads: usize,
) -> Vec<Option<i32>> {
    let mut scores: Vec<Option<i32>> = vec![None; targets.len()];
    if query.is_empty() {
        return scores;
    }
    let q = sc.encode(query);
    let pass = forward_pass(mode);
    // Similar bands and lengths share a batch, so few lanes idle; the order does not change
    // any score.
    let mut order: Vec<usize> = (0..targets.len()).filter(|&k| !targets[k].is_empty()).collect();
    let width = |k: usize| bands.map_or(0, |bands| bands[k].1.saturating_sub(bands[k].0));
    order.sort_by_key(|&k| (width(k), targets[k].len(), k));
    // Local scores run in byte lanes first; the lanes that may have saturated go on below.
    if mode == Mode::Local && bytes::usable(sc) {
        order = byte_scores(isa, (&q, targets), &order, bands, sc, threads, &mut scores);
    }
    let (fast, slow): (Vec<usize>, Vec<usize>) = order
        .into_iter()
        .partition(|&k| fits_i16(query.len(), targets[k].len(), pass.0, sc));
    // Targets whose values may leave the 16-bit lanes: one at a time in striped lanes (16 bits,
    // then 32 where those did not suffice).
    let wide = par_map(slow.len(), threads, |s| {
        pair_cells(isa, &[(query, targets[slow[s]])], None, sc, pass)[0]
    });
    for (&k, cell) in slow.iter().zip(wide) {
        scores[k] = cell.and_then(|c| reference::end_from_cell(mode, c)).map(|e| e.score);
    }
    let batches: Vec<&[usize]> = fast.chunks(isa.lanes()).collect();
    let results = par_map(batches.len(), threads, |b| {
        crate::stop::check();
        let encoded: Vec<Vec<u8>> = batches[b].iter().map(|&k| sc.encode(targets[k])).collect();
        let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let mut out = vec![(0, 0, 0); refs.len()];
        on_isa!(isa, search(&q, &refs, sc, pass, &mut out));
        out
    });
    for (batch, out) in batches.iter().zip(results) {
        for (&k, &(s, _, _)) in batch.iter().zip(&out) {
            scores[k] = reference::is_alignment(mode, s).then_some(s);
        }
    }
    scores
}

/// Local scores in byte lanes of the targets `order` lists (in that order), `isa.byte_lanes()`
/// at a time over `threads`, each batch over the union of its targets' `bands` (every cell
/// without); written to `scores` (`None`: no positive score). The targets whose lanes may have
/// saturated are returned, in order.
fn byte_scores(
    isa: Isa,
    (q, targets): (&[u8], &[&[u8]]),
    order: &[usize],
    bands: Option<&[(isize, isize)]>,
    sc: &Scoring,
    threads: usize,
    scores: &mut [Option<i32>],
) -> Vec<usize> {
    let batches: Vec<&[usize]> = order.chunks(isa.byte_lanes()).collect();
    let results = par_map(batches.len(), threads, |b| {
        crate::stop::check();
        // The next batch's residues load while this one runs: targets cut from a genome are
        // scattered over it, and their cache misses would otherwise stall the layout.
        for &k in batches.get(b + 1).copied().unwrap_or_default() {
            prefetch(targets[k]);
        }
        let batch: Vec<&[u8]> = batches[b].iter().map(|&k| targets[k]).collect();
        let band = bands.map_or(band::ALL, |bands| {
            let lanes = batches[b].iter().map(|&k| bands[k]);
            lanes.fold((isize::MAX, isize::MIN), |(lo, hi), (l, h)| (lo.min(l), hi.max(h)))
        });
        on_isa!(isa, local_scores_u8(q, &batch, sc, band))
    });
    let mut wider = Vec::new();
    for (batch, out) in batches.iter().zip(results) {
        for (&k, s) in batch.iter().zip(out) {
            match s {
                Some(s) => scores[k] = reference::is_alignment(Mode::Local, s).then_some(s),
                None => wider.push(k),
            }
        }
    }
    wider
}

/// Asks the CPU to start loading `data` into its caches: a hint, with no effect on results
/// (and none at all off x86-64).
#[inline]
fn prefetch(data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in data.chunks(64) {
        // SAFETY: a prefetch reads nothing the program sees and cannot fault; SSE, which has
        // it, is part of x86-64.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// The best cell `(score, i, j)` of `pass` over each `(query, target)` pair of raw residues, as
/// [`reference::pass_cell`] finds it; `None` for an empty sequence. Pairs run `isa.lanes()` at a
/// time where the scoring is the built-in DNA model and the pair fits 16 bits, over the band of
/// diagonals that can reach `floors[k]`, a score pair `k`'s best cell is known to reach.
pub(crate) fn pair_cells(
    isa: Isa,
    pairs: &[(&[u8], &[u8])],
    floors: Option<&[i32]>,
    sc: &Scoring,
    pass: (Start, End),
) -> Vec<Option<(i32, usize, usize)>> {
    let mut cells = vec![None; pairs.len()];
    let mut order: Vec<usize> = (0..pairs.len())
        .filter(|&k| !pairs[k].0.is_empty() && !pairs[k].1.is_empty())
        .collect();
    order.sort_by_key(|&k| (pairs[k].0.len(), pairs[k].1.len(), k));
    let dna = sc.dna_match_mismatch();
    let (fast, slow): (Vec<usize>, Vec<usize>) = order.into_iter().partition(|&k| {
        let (m, n) = (pairs[k].0.len(), pairs[k].1.len());
        dna.is_some() && m * n <= LANE_CELLS && fits_i16(m, n, pass.0, sc)
    });
    // Long pairs, and pairs with a substitution matrix: one at a time in striped lanes, the
    // pairs sharing a target (a genome) sharing its profile; 16-bit lanes where the scoring
    // allows, then 32-bit lanes for the pairs whose values left the 16-bit range.
    let mut slow = slow;
    slow.sort_by_key(|&k| (pairs[k].1.as_ptr(), pairs[k].1.len(), k));
    for group in slow.chunk_by(|&a, &b| std::ptr::eq(pairs[a].1, pairs[b].1)) {
        let target = pairs[group[0]].1;
        let tc = sc.encode(target);
        let queries: Vec<Vec<u8>> = group.iter().map(|&k| sc.encode(pairs[k].0)).collect();
        let refs: Vec<&[u8]> = queries.iter().map(Vec::as_slice).collect();
        // Pairs whose known score is already out of the 16-bit range go to 32 bits at once.
        let narrow: Vec<usize> = (0..group.len())
            .filter(|&g| striped::narrow_first(sc, floors.map(|f| f[group[g]])))
            .collect();
        let mut found = vec![None; group.len()];
        // The queries `which` of the group in striped lanes of one width.
        let run = |which: &[usize], wide: bool, found: &mut [Option<(i32, usize, usize)>]| {
            if which.is_empty() {
                return;
            }
            let sub: Vec<&[u8]> = which.iter().map(|&g| refs[g]).collect();
            let cells = on_isa!(isa, striped_cells(&sub, &tc, sc, pass, wide));
            for (&g, cell) in which.iter().zip(cells) {
                found[g] = cell;
            }
        };
        run(&narrow, false, &mut found);
        let wider: Vec<usize> = (0..group.len()).filter(|&g| found[g].is_none()).collect();
        run(&wider, true, &mut found);
        for (&k, cell) in group.iter().zip(found) {
            cells[k] = Some(cell.unwrap_or_else(|| reference::pass_cell(pairs[k].0, target, sc, pass)));
        }
    }
    let mut out = vec![(0, 0, 0); isa.lanes()];
    for batch in fast.chunks(isa.lanes()) {
        crate::stop::check();
        let refs: Vec<(&[u8], &[u8])> = batch.iter().map(|&k| pairs[k]).collect();
        let band = floors.map_or(band::ALL, |floors| {
            let lanes = batch.iter().map(|&k| (pairs[k].0.len(), pairs[k].1.len(), floors[k]));
            band::union(lanes, sc, pass)
        });
        on_isa!(
            isa,
            dna_pairs(&refs, sc, dna.unwrap_or((0, 0)), pass, band, &mut out[..batch.len()])
        );
        for (&k, &cell) in batch.iter().zip(&out) {
            cells[k] = Some(cell);
        }
    }
    cells
}

/// What [`reference::find_end`] reports for each `(query, target)` pair of raw residues.
pub(crate) fn pair_ends(isa: Isa, pairs: &[(&[u8], &[u8])], sc: &Scoring, mode: Mode) -> Vec<Option<AlignmentEnd>> {
    pair_cells(isa, pairs, None, sc, forward_pass(mode))
        .into_iter()
        .map(|cell| reference::end_from_cell(mode, cell?))
        .collect()
}

/// The start of the alignment ending at each `end` (step 2), as [`reference::align_from_end`]
/// finds it: the best cell of the start pass over the reversed windows, in SIMD lanes.
pub(crate) fn pair_starts(
    isa: Isa,
    pairs: &[(&[u8], &[u8], AlignmentEnd)],
    sc: &Scoring,
    mode: Mode,
) -> Vec<(usize, usize)> {
    let Ok(starts) = reference::starts_from_cells(pairs, sc, mode, |refs, floors, pass| {
        Ok::<_, std::convert::Infallible>(pair_cells(isa, refs, Some(floors), sc, pass))
    });
    starts
}

/// Pairs of DNA with at most this many cells run one per lane ([`kernel`]); longer ones run
/// one at a time in striped lanes ([`striped`]), which need no other pairs of similar size.
pub(crate) const LANE_CELLS: usize = 1 << 20;

/// Windows traced back in SIMD lanes hold at most this many cells (4 MiB of direction bits
/// for 16 lanes); larger ones use the reference's checkpointed traceback.
const MAX_TRACE_CELLS: usize = 1 << 17;

/// A query, a target, and the start and end of an alignment between them.
pub(crate) type Window<'a> = (&'a [u8], &'a [u8], (usize, usize), AlignmentEnd);

/// Step 3 for each `(query, target, start, end)`: what [`reference::align_window`] returns,
/// with the DP and its direction bits in SIMD lanes where the scoring is the built-in DNA
/// model, and the reference's own walk back through them.
pub(crate) fn align_windows(isa: Isa, items: &[Window], sc: &Scoring) -> Vec<reference::RawAlignment> {
    let window = |k: usize| {
        let (q, t, (qs, ts), end) = items[k];
        (&q[qs..end.query_end], &t[ts..end.target_end])
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&k| (window(k).0.len(), window(k).1.len(), k));
    let dna = sc.dna_match_mismatch();
    let (fast, slow): (Vec<usize>, Vec<usize>) = order.into_iter().partition(|&k| {
        let (q, t) = window(k);
        let (m, n) = (q.len(), t.len());
        dna.is_some() && m > 0 && n > 0 && m * n <= MAX_TRACE_CELLS && fits_i16(m, n, Start::Anchored, sc)
    });
    let mut done: Vec<Option<reference::RawAlignment>> = vec![None; items.len()];
    for k in slow {
        let (q, t, start, end) = items[k];
        let (qw, tw) = window(k);
        // 16-bit lanes where the scoring and the score allow, else (or if they did not
        // suffice) 32-bit.
        let (qc, tc) = (sc.encode(qw), sc.encode(tw));
        let trace = |wide: bool| on_isa!(isa, striped_traceback(&qc, &tc, sc, striped::BLOCK_CELLS, wide));
        let narrow = striped::narrow_first(sc, Some(end.score));
        let striped = (!qw.is_empty() && !tw.is_empty())
            .then(|| narrow.then(|| trace(false)).flatten().or_else(|| trace(true)))
            .flatten();
        done[k] = Some(match striped {
            Some((score, path)) => {
                debug_assert_eq!(score, end.score);
                reference::raw_from_path(q, t, sc, start, end, &path)
            }
            None => reference::align_window(q, t, sc, start, end),
        });
    }
    let (w, mut out) = (isa.lanes(), vec![(0, 0, 0); isa.lanes()]);
    for batch in fast.chunks(w) {
        let refs: Vec<(&[u8], &[u8])> = batch.iter().map(|&k| window(k)).collect();
        let (m, n) = (
            refs.iter().map(|p| p.0.len()).max().unwrap_or(0),
            refs.iter().map(|p| p.1.len()).max().unwrap_or(0),
        );
        // The pass writes the bits of every cell in the band, and the walk reads only those
        // (see `band`): no fill.
        let mut dirs = Scratch::reused(m * n * w, 0);
        let lanes = batch
            .iter()
            .zip(&refs)
            .map(|(&k, p)| (p.0.len(), p.1.len(), items[k].3.score));
        let band = band::union(lanes, sc, (Start::Anchored, End::Corner));
        on_isa!(
            isa,
            dna_traceback(
                &refs,
                sc,
                dna.unwrap_or((0, 0)),
                band,
                &mut dirs,
                &mut out[..batch.len()]
            )
        );
        for (l, (&k, &(score, _, _))) in batch.iter().zip(&out).enumerate() {
            let (q, t, start, end) = items[k];
            debug_assert_eq!(score, end.score);
            let mut tb = reference::Traceback::new(refs[l].0.len(), refs[l].1.len());
            reference::walk(&mut tb, 0, |i, j| dirs[((i - 1) * n + j - 1) * w + l] as u8);
            done[k] = Some(reference::raw_from_path(q, t, sc, start, end, &tb.finish()));
        }
    }
    done.into_iter()
        .map(|raw| raw.expect("every window is aligned"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Alphabet, BUILTIN_MATRICES, Matrix};
    use proptest::prelude::*;

    fn isas() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.available()).collect()
    }

    /// Every aarch64 CPU has NEON: the tests below must run its lanes there.
    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_is_detected_on_aarch64() {
        assert_eq!(isa(), Isa::Neon);
        assert_eq!(isas(), [Isa::Neon, Isa::Portable]);
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
                prop_assert_eq!(&search_scores(isa, &q, &refs, &sc, mode, 2), &want, "{:?}", isa);
            }
        }
    }

    /// The best local score over the paths whose cells all lie on diagonals `lo..=hi` (target
    /// column minus query row): Gotoh with every cell off the band unreachable, written apart
    /// from the engines.
    fn banded_oracle(q: &[u8], t: &[u8], sc: &Scoring, (lo, hi): (isize, isize)) -> i32 {
        const NONE: i64 = i64::MIN / 4;
        let (open, ext) = (sc.gap_open() as i64, sc.gap_extend() as i64);
        let (m, n) = (q.len(), t.len());
        let mut h = vec![vec![NONE; n + 1]; m + 1];
        let (mut e, mut f) = (h.clone(), h.clone());
        let mut best = 0;
        for i in 1..=m {
            for j in 1..=n {
                if !(lo..=hi).contains(&(j as isize - i as isize)) {
                    continue;
                }
                let s = sc.profile_row(sc.code(q[i - 1]))[sc.code(t[j - 1]) as usize] as i64;
                e[i][j] = (e[i - 1][j] - ext).max(h[i - 1][j] - open - ext);
                f[i][j] = (f[i][j - 1] - ext).max(h[i][j - 1] - open - ext);
                h[i][j] = (h[i - 1][j - 1].max(0) + s).max(e[i][j]).max(f[i][j]).max(0);
                best = best.max(h[i][j]);
            }
        }
        best as i32
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Banded byte lanes: at least the best path within the band, at most the best of all
        /// (random sequences and homologues past the 8-bit limit, bands anywhere from before the
        /// first column to past the last).
        #[test]
        fn banded_local_scores_lie_between_the_band_and_everything(
            ((sc, q, ts), bands) in prop_oneof![
                case().prop_map(|(sc, _, q, ts)| (sc, q, ts)),
                homologue_case(),
            ].prop_flat_map(|c| {
                let n = c.2.len();
                let width = prop_oneof![0..4isize, 0..50isize];
                (Just(c), prop::collection::vec((any::<bool>(), -60..60isize, width), n))
            })
        ) {
            let refs: Vec<&[u8]> = ts.iter().map(Vec::as_slice).collect();
            // Either anywhere, or narrow and near the diagonal of the best end (the best path
            // then runs along the band's edges).
            let bands: Vec<(isize, isize)> = refs
                .iter()
                .zip(&bands)
                .map(|(t, &(near, lo, w))| match reference::find_end(&q, t, &sc, Mode::Local) {
                    Some(e) if near => {
                        let lo = e.target_end as isize - e.query_end as isize + lo.rem_euclid(4) - 3;
                        (lo, lo + w)
                    }
                    _ => (lo, lo + w),
                })
                .collect();
            for isa in isas() {
                let got = banded_local_scores(isa, &q, &refs, &bands, &sc);
                for (k, t) in refs.iter().enumerate() {
                    let full = reference::find_end(&q, t, &sc, Mode::Local).map_or(0, |e| e.score);
                    let within = banded_oracle(&q, t, &sc, bands[k]);
                    let g = got[k].unwrap_or(0);
                    prop_assert!(within <= g && g <= full, "{:?} target {} band {:?}: {} not in {}..={}", isa, k, bands[k], g, within, full);
                }
            }
        }
    }

    /// Local search with targets cut from the query and mutated: scores on both sides of the
    /// 8-bit limit (255 minus the bias), so lanes overflow and are rerun wider.
    fn homologue_case() -> impl Strategy<Value = (Scoring, Vec<u8>, Vec<Vec<u8>>)> {
        let letters: &'static [u8] = b"ARNDCQEGHILKMFPSTWYV";
        let sc = prop_oneof![
            Just(Scoring::default_for(Alphabet::Protein)),
            Just(Scoring::with_matrix(Alphabet::Protein, &Matrix::builtin("PAM250").unwrap(), 3, 1).unwrap()),
            Just(Scoring::dna(2, 3, 5, 2).unwrap()),
        ];
        (sc, prop::collection::vec(prop::sample::select(letters), 20..160)).prop_flat_map(move |(sc, q)| {
            let len = q.len();
            let target = (
                0..len,
                0..=len,
                prop::collection::vec((0..len, prop::sample::select(letters)), 0..30),
            )
                .prop_map(move |(a, b, subs)| (a.min(b), a.max(b), subs));
            let q2 = q.clone();
            let targets = prop::collection::vec(target, 0..70).prop_map(move |ts| {
                ts.into_iter()
                    .map(|(a, b, subs)| {
                        let mut t = q2[a..b].to_vec();
                        for (k, c) in subs {
                            if k < t.len() {
                                t[k] = c;
                            }
                        }
                        t
                    })
                    .collect::<Vec<_>>()
            });
            (Just(sc), Just(q), targets)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn byte_lanes_that_overflow_are_rerun_wider((sc, q, ts) in homologue_case()) {
            let refs: Vec<&[u8]> = ts.iter().map(Vec::as_slice).collect();
            let want: Vec<Option<i32>> = refs.iter().map(|t| reference::find_end(&q, t, &sc, Mode::Local).map(|e| e.score)).collect();
            for isa in isas() {
                prop_assert_eq!(&search_scores(isa, &q, &refs, &sc, Mode::Local, 2), &want, "{:?}", isa);
            }
        }
    }

    #[test]
    fn a_saturated_byte_lane_reports_none() {
        let sc = Scoring::default_for(Alphabet::Protein);
        let long = b"WCHMY".repeat(12); // self-score far above 255
        let q = sc.encode(&long);
        let targets: Vec<&[u8]> = vec![&long, b"WCHMY"];
        let want = reference::find_end(b"WCHMY", b"WCHMY", &sc, Mode::Local).map(|e| e.score);
        for isa in isas() {
            let got = on_isa!(isa, local_scores_u8(&q, &targets, &sc, band::ALL));
            assert_eq!(got, vec![None, want], "{isa:?}");
        }
    }

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    fn dna_case() -> impl Strategy<Value = (Scoring, Mode, Pairs)> {
        let sc = prop_oneof![
            (1..5i32, 0..6i32, 0..8i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
            (50..400i32, 0..400i32, 0..300i32, 1..100i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
        ];
        // Low-entropy DNA with N and lower case: ties, and so tie-breaks, are common.
        let letters = b"AACGTNa".as_slice();
        let seq = move |len: usize| prop::collection::vec(prop::sample::select(letters), 0..=len);
        // Unrelated pairs, and a sequence against a copy with a few edits (substitutions,
        // insertions, deletions), whose high scores make the bands of later passes narrow.
        let edit = (any::<prop::sample::Index>(), 0..3u8, prop::sample::select(letters));
        let homologous = (seq(70), prop::collection::vec(edit, 0..8)).prop_map(|(q, edits)| {
            let mut t = q.clone();
            for (at, kind, c) in edits {
                match kind {
                    0 if !t.is_empty() => {
                        t.remove(at.index(t.len()));
                    }
                    1 => t.insert(at.index(t.len() + 1), c),
                    _ if !t.is_empty() => {
                        let k = at.index(t.len());
                        t[k] = c;
                    }
                    _ => {}
                }
            }
            (q, t)
        });
        (
            sc,
            prop::sample::select(vec![Mode::Local, Mode::Global, Mode::SemiGlobal]),
            prop::collection::vec(prop_oneof![(seq(40), seq(40)), homologous], 0..40),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        #[test]
        fn dna_pair_ends_equal_the_reference((sc, mode, pairs) in dna_case()) {
            let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(q, t)| (q.as_slice(), t.as_slice())).collect();
            let want: Vec<Option<AlignmentEnd>> = refs.iter().map(|(q, t)| reference::find_end(q, t, &sc, mode)).collect();
            for isa in isas() {
                prop_assert_eq!(&pair_ends(isa, &refs, &sc, mode), &want, "{:?}", isa);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        #[test]
        fn dna_pair_starts_equal_the_reference((sc, mode, pairs) in dna_case()) {
            let with_ends: Vec<(&[u8], &[u8], AlignmentEnd)> = pairs
                .iter()
                .filter_map(|(q, t)| Some((q.as_slice(), t.as_slice(), reference::find_end(q, t, &sc, mode)?)))
                .collect();
            let want: Vec<(usize, usize)> = with_ends
                .iter()
                .map(|&(q, t, end)| {
                    let raw = reference::align_from_end(q, t, &sc, mode, end);
                    (raw.query_start, raw.target_start)
                })
                .collect();
            for isa in isas() {
                prop_assert_eq!(&pair_starts(isa, &with_ends, &sc, mode), &want, "{:?}", isa);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        #[test]
        fn dna_windows_align_like_the_reference((sc, mode, pairs) in dna_case()) {
            let items: Vec<Window> = pairs
                .iter()
                .filter_map(|(q, t)| {
                    let end = reference::find_end(q, t, &sc, mode)?;
                    let raw = reference::align_from_end(q, t, &sc, mode, end);
                    Some((q.as_slice(), t.as_slice(), (raw.query_start, raw.target_start), end))
                })
                .collect();
            let want: Vec<_> = items.iter().map(|&(q, t, start, end)| reference::align_window(q, t, &sc, start, end)).collect();
            for isa in isas() {
                prop_assert_eq!(&align_windows(isa, &items, &sc), &want, "{:?}", isa);
            }
        }
    }

    /// Every pass kind the aligner runs.
    pub(super) const PASSES: [(Start, End); 5] = [
        (Start::Local, End::Anywhere),
        (Start::TargetFree, End::LastRow),
        (Start::Anchored, End::Corner),
        (Start::Anchored, End::Anywhere),
        (Start::Anchored, End::LastRow),
    ];

    /// A scoring, and two non-empty sequences of its alphabet with lengths around the lane
    /// widths (striped rows of 1 to 6 vectors).
    fn striped_case() -> impl Strategy<Value = (Scoring, Vec<u8>, Vec<u8>)> {
        scoring().prop_flat_map(|sc| {
            let letters: &'static [u8] = match sc.alphabet() {
                Alphabet::Dna => b"ACGTNacgt",
                Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVBZX*",
            };
            let seq = move || prop::collection::vec(prop::sample::select(letters), 1..=90);
            (Just(sc), seq(), seq())
        })
    }

    /// Whether a striped result may be `None`: only scorings whose values can leave the
    /// 16-bit range on sequences of up to 90 residues.
    fn may_overflow(sc: &Scoring) -> bool {
        92 * sc.max_step() > I16_SAFE
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn striped_passes_equal_the_reference((sc, q, t) in striped_case()) {
            let (qc, tc) = (sc.encode(&q), sc.encode(&t));
            for pass in PASSES {
                let want = reference::pass_cell(&q, &t, &sc, pass);
                for (isa, wide) in isas().into_iter().flat_map(|i| [(i, false), (i, true)]) {
                    match on_isa!(isa, striped_cells(&[&qc], &tc, &sc, pass, wide))[0] {
                        Some(got) => prop_assert_eq!(got, want, "{:?} {:?} {}", isa, pass, wide),
                        None => prop_assert!(!wide && may_overflow(&sc), "{:?} {:?} {} gave up", isa, pass, wide),
                    }
                }
            }
        }

        #[test]
        fn striped_tracebacks_equal_the_reference((sc, q, t) in striped_case()) {
            let (qc, tc) = (sc.encode(&q), sc.encode(&t));
            let end = reference::find_end(&q, &t, &sc, Mode::Global).expect("global always aligns");
            let want = reference::align_window(&q, &t, &sc, (0, 0), end);
            // One row per block, a few rows per block, and the whole matrix in one block.
            for block_cells in [1, 300, usize::MAX / 2] {
                for (isa, wide) in isas().into_iter().flat_map(|i| [(i, false), (i, true)]) {
                    match on_isa!(isa, striped_traceback(&qc, &tc, &sc, block_cells, wide)) {
                        Some((score, path)) => {
                            prop_assert_eq!(score, end.score);
                            let got = reference::raw_from_path(&q, &t, &sc, (0, 0), end, &path);
                            prop_assert_eq!(&got, &want, "{:?} {} {}", isa, block_cells, wide);
                        }
                        None => prop_assert!(!wide && may_overflow(&sc), "{:?} {} gave up", isa, wide),
                    }
                }
            }
        }
    }

    /// A 40 kbp pair scoring past 16 bits: end, start and path as the reference, on every ISA
    /// (32-bit striped lanes for each step).
    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "minutes without optimisation; the test script runs it with --release"
    )]
    fn a_40_kbp_pair_aligns_like_the_reference() {
        let sc = Scoring::default_for(Alphabet::Dna);
        let (q, t) = reference::tests::diverged_pair(40_000, 0x9e3779b97f4a7c15);
        let mode = Mode::Local;
        let end = reference::find_end(&q, &t, &sc, mode).unwrap();
        assert!(end.score > i16::MAX as i32, "score {}", end.score);
        let want = reference::align_from_end(&q, &t, &sc, mode, end);
        for isa in isas() {
            assert_eq!(pair_ends(isa, &[(&q, &t)], &sc, mode), vec![Some(end)], "{isa:?}");
            let start = pair_starts(isa, &[(&q, &t, end)], &sc, mode);
            assert_eq!(start, vec![(want.query_start, want.target_start)], "{isa:?}");
            let window = (q.as_slice(), t.as_slice(), start[0], end);
            assert_eq!(align_windows(isa, &[window], &sc), vec![want.clone()], "{isa:?}");
        }
    }

    #[test]
    fn long_pairs_run_striped_and_widen_past_16_bits() {
        let (q, t) = reference::tests::diverged_pair(1500, 0x2545f4914f6cdd1d);
        // Scores near 2700, and with the larger scores near 40000: past the 16-bit range, so
        // those passes give up and 32-bit lanes compute them.
        for sc in [Scoring::dna(2, 4, 4, 2).unwrap(), Scoring::dna(30, 60, 60, 30).unwrap()] {
            let (qc, tc) = (sc.encode(&q), sc.encode(&t));
            for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
                let end = reference::find_end(&q, &t, &sc, mode).unwrap();
                let want = reference::align_from_end(&q, &t, &sc, mode, end);
                let cell = reference::pass_cell(&q, &t, &sc, forward_pass(mode));
                for isa in isas() {
                    let narrow = on_isa!(isa, striped_cells(&[&qc], &tc, &sc, forward_pass(mode), false))[0];
                    assert_eq!(narrow.is_some(), sc.max_step() < 10, "{isa:?} {mode:?}");
                    let wide = on_isa!(isa, striped_cells(&[&qc], &tc, &sc, forward_pass(mode), true))[0];
                    assert_eq!(wide, Some(cell), "{isa:?} {mode:?}");
                    let traced = on_isa!(isa, striped_traceback(&qc, &tc, &sc, striped::BLOCK_CELLS, true));
                    assert!(traced.is_some(), "{isa:?} {mode:?}");
                    assert_eq!(
                        pair_ends(isa, &[(&q, &t)], &sc, mode),
                        vec![Some(end)],
                        "{isa:?} {mode:?}"
                    );
                    let window = (q.as_slice(), t.as_slice(), (want.query_start, want.target_start), end);
                    assert_eq!(
                        align_windows(isa, &[window], &sc),
                        vec![want.clone()],
                        "{isa:?} {mode:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn coordinates_beyond_i16_are_read_back_unsigned() {
        let sc = Scoring::default_for(Alphabet::Dna);
        let mut x = 7u32;
        let target: Vec<u8> = (0..40_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b"ACGT"[(x >> 16) as usize % 4]
            })
            .collect();
        let reads: Vec<Vec<u8>> = (0..20)
            .map(|k| target[33_000 + k * 300..33_100 + k * 300].to_vec())
            .collect();
        let pairs: Vec<(&[u8], &[u8])> = reads.iter().map(|r| (r.as_slice(), target.as_slice())).collect();
        for mode in [Mode::Local, Mode::SemiGlobal] {
            let want: Vec<_> = pairs
                .iter()
                .map(|(q, t)| reference::find_end(q, t, &sc, mode))
                .collect();
            assert!(want.iter().all(|e| e.is_some_and(|e| e.target_end > 33_000)));
            for isa in isas() {
                assert_eq!(pair_ends(isa, &pairs, &sc, mode), want, "{isa:?} {mode:?}");
            }
        }
    }

    #[test]
    fn scores_at_the_edge_of_the_16_bit_bound() {
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            for (m, n) in [(40, 40), (12, 200), (200, 12), (120, 300)] {
                // The largest step that still runs in 16 bits, spent where it hurts most:
                // on matches, on mismatches, and on gap extension or gap opening.
                let step = (I16_SAFE / value_bound(m, n, forward_pass(mode).0)).min(1000) as i32;
                for (o, e) in [(0, step), (step - 1, 1)] {
                    let sc = Scoring::dna(step, step, o, e).unwrap();
                    assert!(value_bound(m, n, forward_pass(mode).0) * sc.max_step() <= I16_SAFE);
                    let q = vec![b'A'; m];
                    let ts: Vec<Vec<u8>> = vec![vec![b'A'; n], vec![b'C'; n], b"AC".repeat(n / 2), vec![b'A'; n / 2]];
                    let refs: Vec<&[u8]> = ts.iter().map(Vec::as_slice).collect();
                    let want: Vec<Option<i32>> = refs
                        .iter()
                        .map(|t| reference::find_end(&q, t, &sc, mode).map(|e| e.score))
                        .collect();
                    for isa in isas() {
                        assert_eq!(
                            search_scores(isa, &q, &refs, &sc, mode, 1),
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
                assert_eq!(search_scores(isa, &q, &refs, &sc, mode, 1), want, "{isa:?} {mode:?}");
            }
        }
    }
}
