//! Portable lanes: eight `i16` in an array; runs on any CPU and checks the others in tests.

use super::Lanes;
use crate::alignment::Mode;
use crate::scoring::Scoring;

#[derive(Clone, Copy)]
pub(super) struct Portable([i16; 8]);

impl Lanes for Portable {
    const WIDTH: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: i16) -> Self {
        Portable([x; 8])
    }

    #[inline(always)]
    unsafe fn load(s: &[i16]) -> Self {
        Portable(s[..8].try_into().expect("eight lanes"))
    }

    #[inline(always)]
    unsafe fn store(self, s: &mut [i16]) {
        s[..8].copy_from_slice(&self.0);
    }

    #[inline(always)]
    unsafe fn adds(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k].saturating_add(o.0[k])))
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k].saturating_sub(o.0[k])))
    }

    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k].max(o.0[k])))
    }
}

/// The kernel on portable lanes.
pub(super) fn score_batch(query: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode, out: &mut [i32]) {
    // SAFETY: portable lanes need no CPU feature.
    unsafe { super::score_batch::<Portable>(query, targets, sc, mode, out) }
}
