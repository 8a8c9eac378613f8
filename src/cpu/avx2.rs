//! AVX2 lanes: sixteen `i16` (or eight `i32`, or thirty-two `u8`) in a 256-bit register.

use super::{End, Scoring, Start};
use std::arch::x86_64::*;

super::x86_lanes!(
    Avx2, Avx2Wide, Avx2Bytes, __m256i, 16, "avx2",
    load: _mm256_loadu_si256, store: _mm256_storeu_si256, blend: _mm256_blendv_epi8, movemask: _mm256_movemask_epi8,
    i16: [_mm256_set1_epi16, _mm256_add_epi16, _mm256_adds_epi16, _mm256_subs_epi16, _mm256_max_epi16, _mm256_min_epi16, _mm256_cmpgt_epi16, _mm256_cmpeq_epi16],
    i32: [_mm256_set1_epi32, _mm256_add_epi32, _mm256_sub_epi32, _mm256_max_epi32, _mm256_min_epi32, _mm256_cmpgt_epi32, _mm256_cmpeq_epi32],
    u8: [_mm256_set1_epi8, _mm256_adds_epu8, _mm256_subs_epu8, _mm256_max_epu8, _mm256_cmpgt_epi8, _mm256_shuffle_epi8, table16],
);

/// A 16-byte table (`t.len() >= 16`) in both 128-bit halves, as `_mm256_shuffle_epi8` indexes
/// each half separately.
#[inline(always)]
unsafe fn table16(t: &[u8]) -> __m256i {
    debug_assert!(t.len() >= 16);
    // SAFETY: the caller guarantees AVX2 and 16 readable bytes.
    unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast())) }
}
