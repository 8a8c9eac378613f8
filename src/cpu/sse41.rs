//! SSE4.1 lanes: eight `i16` (or four `i32`, or sixteen `u8`) in a 128-bit register.

use super::{End, Scoring, Start};
use std::arch::x86_64::*;

super::x86_lanes!(
    Sse41, Sse41Wide, Sse41Bytes, __m128i, 8, "sse4.1",
    load: _mm_loadu_si128, store: _mm_storeu_si128, blend: _mm_blendv_epi8, movemask: _mm_movemask_epi8,
    i16: [_mm_set1_epi16, _mm_add_epi16, _mm_adds_epi16, _mm_subs_epi16, _mm_max_epi16, _mm_min_epi16, _mm_cmpgt_epi16, _mm_cmpeq_epi16],
    i32: [_mm_set1_epi32, _mm_add_epi32, _mm_sub_epi32, _mm_max_epi32, _mm_min_epi32, _mm_cmpgt_epi32, _mm_cmpeq_epi32],
    u8: [_mm_set1_epi8, _mm_adds_epu8, _mm_subs_epu8, _mm_max_epu8, _mm_cmpgt_epi8, _mm_shuffle_epi8, table16],
);

/// A 16-byte table (`t.len() >= 16`) for `_mm_shuffle_epi8`.
#[inline(always)]
unsafe fn table16(t: &[u8]) -> __m128i {
    debug_assert!(t.len() >= 16);
    // SAFETY: the caller guarantees SSE4.1 and 16 readable bytes.
    unsafe { _mm_loadu_si128(t.as_ptr().cast()) }
}
