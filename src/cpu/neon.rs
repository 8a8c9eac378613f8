//! NEON lanes (aarch64): eight `i16` (or four `i32`, or sixteen `u8`) in a 128-bit register.
//!
//! NEON compares return unsigned masks of the same width; they are held reinterpreted as the
//! signed lane type (all bits set or clear), as the x86 modules hold theirs.

use super::{ByteLanes, End, Scoring, Start};
use std::arch::aarch64::*;

/// One [`super::Lanes`] type from its register type and intrinsics.
macro_rules! neon_int_lanes {
    (
        $lanes:ident, $elem:ty, $reg:ty, $width:literal,
        [$dup:ident, $ld:ident, $st:ident, $add:ident, $adds:ident, $subs:ident, $max:ident, $min:ident],
        [$gt:ident, $eq:ident, $bsl:ident, $to_signed:ident, $to_unsigned:ident, $maxv:ident] $(,)?
    ) => {
        #[derive(Clone, Copy)]
        pub(super) struct $lanes($reg);

        // SAFETY (every method): NEON is part of every aarch64 target the crate builds for and is
        // checked by `Isa::available`; `load`/`store` callers pass at least `WIDTH` elements.
        impl super::Lanes for $lanes {
            type E = $elem;
            const WIDTH: usize = $width;

            #[inline(always)]
            unsafe fn splat(x: $elem) -> Self {
                unsafe { $lanes($dup(x)) }
            }

            #[inline(always)]
            unsafe fn load(s: &[$elem]) -> Self {
                debug_assert!(s.len() >= $width);
                unsafe { $lanes($ld(s.as_ptr())) }
            }

            #[inline(always)]
            unsafe fn store(self, s: &mut [$elem]) {
                debug_assert!(s.len() >= $width);
                unsafe { $st(s.as_mut_ptr(), self.0) }
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
                unsafe { $lanes($to_signed($gt(self.0, o.0))) }
            }

            #[inline(always)]
            unsafe fn eq(self, o: Self) -> Self {
                unsafe { $lanes($to_signed($eq(self.0, o.0))) }
            }

            #[inline(always)]
            unsafe fn select(mask: Self, a: Self, b: Self) -> Self {
                unsafe { $lanes($bsl($to_unsigned(mask.0), a.0, b.0)) }
            }

            #[inline(always)]
            unsafe fn any(self) -> bool {
                unsafe { $maxv($to_unsigned(self.0)) != 0 }
            }
        }
    };
}

neon_int_lanes!(
    Neon,
    i16,
    int16x8_t,
    8,
    [
        vdupq_n_s16,
        vld1q_s16,
        vst1q_s16,
        vaddq_s16,
        vqaddq_s16,
        vqsubq_s16,
        vmaxq_s16,
        vminq_s16
    ],
    [
        vcgtq_s16,
        vceqq_s16,
        vbslq_s16,
        vreinterpretq_s16_u16,
        vreinterpretq_u16_s16,
        vmaxvq_u16
    ],
);
// 32-bit lanes add and subtract without saturation (see `Elem for i32`).
neon_int_lanes!(
    NeonWide,
    i32,
    int32x4_t,
    4,
    [
        vdupq_n_s32,
        vld1q_s32,
        vst1q_s32,
        vaddq_s32,
        vaddq_s32,
        vsubq_s32,
        vmaxq_s32,
        vminq_s32
    ],
    [
        vcgtq_s32,
        vceqq_s32,
        vbslq_s32,
        vreinterpretq_s32_u32,
        vreinterpretq_u32_s32,
        vmaxvq_u32
    ],
);

#[derive(Clone, Copy)]
pub(super) struct NeonBytes(uint8x16_t);

// SAFETY (every method): as for the lanes above.
impl ByteLanes for NeonBytes {
    const WIDTH: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        unsafe { NeonBytes(vdupq_n_u8(x)) }
    }

    #[inline(always)]
    unsafe fn load(s: &[u8]) -> Self {
        debug_assert!(s.len() >= 16);
        unsafe { NeonBytes(vld1q_u8(s.as_ptr())) }
    }

    #[inline(always)]
    unsafe fn store(self, s: &mut [u8]) {
        debug_assert!(s.len() >= 16);
        unsafe { vst1q_u8(s.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    unsafe fn adds(self, o: Self) -> Self {
        unsafe { NeonBytes(vqaddq_u8(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        unsafe { NeonBytes(vqsubq_u8(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        unsafe { NeonBytes(vmaxq_u8(self.0, o.0)) }
    }

    #[inline(always)]
    unsafe fn lookup(table: &[u8; 32], idx: Self) -> Self {
        // One two-register table lookup covers all 32 entries.
        unsafe {
            let t = uint8x16x2_t(vld1q_u8(table.as_ptr()), vld1q_u8(table[16..].as_ptr()));
            NeonBytes(vqtbl2q_u8(t, idx.0))
        }
    }
}

super::entry_points!(Neon, NeonWide, NeonBytes, #[target_feature(enable = "neon")]);
