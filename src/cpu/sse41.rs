//! SSE4.1 lanes: eight `i16` in a 128-bit register.

use super::{End, Lanes, Scoring, Start};
use std::arch::x86_64::*;

#[derive(Clone, Copy)]
pub(super) struct Sse41(__m128i);

// SAFETY (every method): the kernels run these only where SSE4.1 is available (`Isa::available`),
// and `load`/`store` callers pass at least eight elements; loads and stores are unaligned.
impl Lanes for Sse41 {
    const WIDTH: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: i16) -> Self {
        unsafe { Sse41(_mm_set1_epi16(x)) }
    }

    #[inline(always)]
    unsafe fn load(s: &[i16]) -> Self {
        debug_assert!(s.len() >= 8);
        unsafe { Sse41(_mm_loadu_si128(s.as_ptr().cast())) }
    }

    #[inline(always)]
    unsafe fn store(self, s: &mut [i16]) {
        debug_assert!(s.len() >= 8);
        unsafe { _mm_storeu_si128(s.as_mut_ptr().cast(), self.0) }
    }

    #[inline(always)]
    unsafe fn adds(self, o: Self) -> Self {
        unsafe { Sse41(_mm_adds_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        unsafe { Sse41(_mm_subs_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        unsafe { Sse41(_mm_max_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        unsafe { Sse41(_mm_min_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn gt(self, o: Self) -> Self {
        unsafe { Sse41(_mm_cmpgt_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn eq(self, o: Self) -> Self {
        unsafe { Sse41(_mm_cmpeq_epi16(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn select(mask: Self, a: Self, b: Self) -> Self {
        unsafe { Sse41(_mm_blendv_epi8(b.0, a.0, mask.0)) }
    }
}

super::x86_byte_lanes!(
    Sse41Bytes(__m128i),
    16,
    _mm_set1_epi8,
    _mm_loadu_si128,
    _mm_storeu_si128,
    _mm_adds_epu8,
    _mm_subs_epu8,
    _mm_max_epu8
);

super::entry_points!(Sse41, Sse41Bytes, #[target_feature(enable = "sse4.1")]);
