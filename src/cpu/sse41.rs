//! SSE4.1 lanes: eight `i16` in a 128-bit register.

use crate::alignment::Mode;
use crate::scoring::Scoring;

#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::super::Lanes;
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(in super::super) struct Sse41(__m128i);

    impl Lanes for Sse41 {
        const WIDTH: usize = 8;

        #[inline(always)]
        unsafe fn splat(x: i16) -> Self {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { Sse41(_mm_set1_epi16(x)) }
        }

        #[inline(always)]
        unsafe fn load(s: &[i16]) -> Self {
            debug_assert!(s.len() >= 8);
            // SAFETY: the caller passes at least eight elements; the load is unaligned.
            unsafe { Sse41(_mm_loadu_si128(s.as_ptr().cast())) }
        }

        #[inline(always)]
        unsafe fn store(self, s: &mut [i16]) {
            debug_assert!(s.len() >= 8);
            // SAFETY: the caller passes at least eight elements; the store is unaligned.
            unsafe { _mm_storeu_si128(s.as_mut_ptr().cast(), self.0) }
        }

        #[inline(always)]
        unsafe fn adds(self, o: Self) -> Self {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { Sse41(_mm_adds_epi16(self.0, o.0)) }
        }

        #[inline(always)]
        unsafe fn subs(self, o: Self) -> Self {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { Sse41(_mm_subs_epi16(self.0, o.0)) }
        }

        #[inline(always)]
        unsafe fn max(self, o: Self) -> Self {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { Sse41(_mm_max_epi16(self.0, o.0)) }
        }
    }
}

/// The kernel on SSE4.1 lanes.
///
/// # Safety
/// The CPU must support SSE4.1.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1")]
pub(super) unsafe fn score_batch(query: &[u8], targets: &[&[u8]], sc: &Scoring, mode: Mode, out: &mut [i32]) {
    // SAFETY: this function only runs where SSE4.1 is available.
    unsafe { super::score_batch::<lanes::Sse41>(query, targets, sc, mode, out) }
}

/// Never called: SSE4.1 is not available off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn score_batch(_: &[u8], _: &[&[u8]], _: &Scoring, _: Mode, _: &mut [i32]) {
    unreachable!("SSE4.1 is never detected off x86-64")
}
