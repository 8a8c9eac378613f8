//! AVX2 lanes: sixteen `i16` in a 256-bit register.

use super::{End, Lanes, Scoring, Start};
use std::arch::x86_64::*;

#[derive(Clone, Copy)]
pub(super) struct Avx2(__m256i);

// SAFETY (every method): the kernels run these only where AVX2 is available (`Isa::available`),
// and `load`/`store` callers pass at least sixteen elements; loads and stores are unaligned.
impl Lanes for Avx2 {
    const WIDTH: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: i16) -> Self {
        unsafe { Avx2(_mm256_set1_epi16(x)) }
    }

    #[inline(always)]
    unsafe fn load(s: &[i16]) -> Self {
        debug_assert!(s.len() >= 16);
        unsafe { Avx2(_mm256_loadu_si256(s.as_ptr().cast())) }
    }

    #[inline(always)]
    unsafe fn store(self, s: &mut [i16]) {
        debug_assert!(s.len() >= 16);
        unsafe { _mm256_storeu_si256(s.as_mut_ptr().cast(), self.0) }
    }

    #[inline(always)]
    unsafe fn adds(self, o: Self) -> Self {
        unsafe { Avx2(_mm256_adds_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        unsafe { Avx2(_mm256_subs_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        unsafe { Avx2(_mm256_max_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        unsafe { Avx2(_mm256_min_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn gt(self, o: Self) -> Self {
        unsafe { Avx2(_mm256_cmpgt_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn eq(self, o: Self) -> Self {
        unsafe { Avx2(_mm256_cmpeq_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn select(mask: Self, a: Self, b: Self) -> Self {
        unsafe { Avx2(_mm256_blendv_epi8(b.0, a.0, mask.0)) }
    }
}

super::x86_byte_lanes!(
    Avx2Bytes(__m256i),
    32,
    _mm256_set1_epi8,
    _mm256_loadu_si256,
    _mm256_storeu_si256,
    _mm256_adds_epu8,
    _mm256_subs_epu8,
    _mm256_max_epu8
);

super::entry_points!(Avx2, Avx2Bytes, #[target_feature(enable = "avx2")]);
