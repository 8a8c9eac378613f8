//! SSE4.1 lanes: eight `i16` (or sixteen `u8`) in a 128-bit register.

use super::{End, Scoring, Start};
use std::arch::x86_64::*;

super::x86_lanes!(
    Sse41, Sse41Bytes, __m128i, 8, "sse4.1",
    load: _mm_loadu_si128, store: _mm_storeu_si128, blend: _mm_blendv_epi8, movemask: _mm_movemask_epi8,
    i16: [_mm_set1_epi16, _mm_adds_epi16, _mm_subs_epi16, _mm_max_epi16, _mm_min_epi16, _mm_cmpgt_epi16, _mm_cmpeq_epi16],
    u8: [_mm_set1_epi8, _mm_adds_epu8, _mm_subs_epu8, _mm_max_epu8],
);
