//! AVX2 lanes: sixteen `i16` in a 256-bit register.

use crate::alignment::Mode;
use crate::scoring::Scoring;

#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::super::Lanes;
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(in super::super) struct Avx2(__m256i);

    impl Lanes for Avx2 {
        const WIDTH: usize = 16;

        #[inline(always)]
        unsafe fn splat(x: i16) -> Self {
            // SAFETY: the caller runs this only where AVX2 is available.
            unsafe { Avx2(_mm256_set1_epi16(x)) }
        }

        #[inline(always)]
        unsafe fn load(s: &[i16]) -> Self {
            debug_assert!(s.len() >= 16);
            // SAFETY: the caller passes at least sixteen elements; the load is unaligned.
            unsafe { Avx2(_mm256_loadu_si256(s.as_ptr().cast())) }
        }

        #[inline(always)]
        unsafe fn store(self, s: &mut [i16]) {
            debug_assert!(s.len() >= 16);
            // SAFETY: the caller passes at least sixteen elements; the store is unaligned.
            unsafe { _mm256_storeu_si256(s.as_mut_ptr().cast(), self.0) }
        }

        #[inline(always)]
        unsafe fn adds(self, o: Self) -> Self {
            // SAFETY: the caller runs this only where AVX2 is available.
            unsafe { Avx2(_mm256_adds_epi16(self.0, o.0)) }
        }

        #[inline(always)]
        unsafe fn subs(self, o: Self) -> Self {
            // SAFETY: the caller runs this only where AVX2 is available.
            unsafe { Avx2(_mm256_subs_epi16(self.0, o.0)) }
        }

        #[inline(always)]
        unsafe fn max(self, o: Self) -> Self {
            // SAFETY: the caller runs this only where AVX2 is available.
            unsafe { Avx2(_mm256_max_epi16(self.0, o.0)) }
        }
    }
}

/// The kernel on AVX2 lanes.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn score_batch(query: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode, out: &mut [i32]) {
    // SAFETY: this function only runs where AVX2 is available.
    unsafe { super::score_batch::<lanes::Avx2>(query, targets, sc, mode, out) }
}

/// Never called: AVX2 is not available off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn score_batch(_: &[u8], _: &[&[u8]], _: &Scoring, _: Mode, _: &mut [i32]) {
    unreachable!("AVX2 is never detected off x86-64")
}
