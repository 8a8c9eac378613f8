//! AVX-512BW lanes: thirty-two `i16` (or sixteen `i32`, or sixty-four `u8`) in a 512-bit
//! register.
//!
//! AVX-512 compares write mask registers, not vectors. The kernels hold masks as vectors (as
//! SSE, AVX2 and NEON produce them), so the compares below widen a mask register to all-ones
//! lanes, and `blend` and `movemask` narrow a vector back to one bit per byte. Masks only ever
//! hold all-ones or all-zeros lanes, so the byte-wise narrowing serves 16- and 32-bit lanes
//! alike.

use super::{End, Scoring, Start};
use std::arch::x86_64::*;

super::x86_lanes!(
    Avx512, Avx512Wide, Avx512Bytes, __m512i, 32, "avx512bw",
    load: _mm512_loadu_si512, store: _mm512_storeu_si512, blend: blend, movemask: movemask,
    i16: [_mm512_set1_epi16, _mm512_add_epi16, _mm512_adds_epi16, _mm512_subs_epi16, _mm512_max_epi16, _mm512_min_epi16, gt16, eq16],
    i32: [_mm512_set1_epi32, _mm512_add_epi32, _mm512_sub_epi32, _mm512_max_epi32, _mm512_min_epi32, gt32, eq32],
    u8: [_mm512_set1_epi8, _mm512_adds_epu8, _mm512_subs_epu8, _mm512_max_epu8, gt8, _mm512_shuffle_epi8, table16],
);

// SAFETY (every function below): the callers are the lane types above, which run only where
// AVX-512BW is available (`Isa::available`).

/// `b`'s bytes where `mask`'s byte has its top bit set, `a`'s elsewhere (as `blendv`).
#[inline(always)]
unsafe fn blend(a: __m512i, b: __m512i, mask: __m512i) -> __m512i {
    unsafe { _mm512_mask_blend_epi8(_mm512_movepi8_mask(mask), a, b) }
}

/// One bit per byte: the top bit of each (as `movemask`).
#[inline(always)]
unsafe fn movemask(v: __m512i) -> u64 {
    unsafe { _mm512_movepi8_mask(v) }
}

/// All-ones 16-bit lanes where `a > b`.
#[inline(always)]
unsafe fn gt16(a: __m512i, b: __m512i) -> __m512i {
    unsafe { _mm512_movm_epi16(_mm512_cmpgt_epi16_mask(a, b)) }
}

/// All-ones 16-bit lanes where `a == b`.
#[inline(always)]
unsafe fn eq16(a: __m512i, b: __m512i) -> __m512i {
    unsafe { _mm512_movm_epi16(_mm512_cmpeq_epi16_mask(a, b)) }
}

/// All-ones 32-bit lanes where `a > b` (`vpmovm2d` would need AVX-512DQ).
#[inline(always)]
unsafe fn gt32(a: __m512i, b: __m512i) -> __m512i {
    unsafe { _mm512_maskz_set1_epi32(_mm512_cmpgt_epi32_mask(a, b), -1) }
}

/// All-ones 32-bit lanes where `a == b`.
#[inline(always)]
unsafe fn eq32(a: __m512i, b: __m512i) -> __m512i {
    unsafe { _mm512_maskz_set1_epi32(_mm512_cmpeq_epi32_mask(a, b), -1) }
}

/// All-ones bytes where `a > b` (signed).
#[inline(always)]
unsafe fn gt8(a: __m512i, b: __m512i) -> __m512i {
    unsafe { _mm512_movm_epi8(_mm512_cmpgt_epi8_mask(a, b)) }
}

/// A 16-byte table (`t.len() >= 16`) in all four 128-bit quarters, as `_mm512_shuffle_epi8`
/// indexes each quarter separately.
#[inline(always)]
unsafe fn table16(t: &[u8]) -> __m512i {
    debug_assert!(t.len() >= 16);
    // The caller also guarantees 16 readable bytes.
    unsafe { _mm512_broadcast_i32x4(_mm_loadu_si128(t.as_ptr().cast())) }
}
