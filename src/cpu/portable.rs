//! Portable lanes: eight `i16` in an array; runs on any CPU and checks the others in tests.

use super::{ByteLanes, End, Lanes, Scoring, Start};

#[derive(Clone, Copy)]
pub(super) struct Portable([i16; 8]);

impl Portable {
    #[inline(always)]
    fn map(self, o: Self, f: impl Fn(i16, i16) -> i16) -> Self {
        Portable(std::array::from_fn(|k| f(self.0[k], o.0[k])))
    }
}

// Plain Rust: `unsafe` only because the trait's other implementations need it.
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
        self.map(o, i16::saturating_add)
    }

    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        self.map(o, i16::wrapping_add)
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        self.map(o, i16::saturating_sub)
    }

    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        self.map(o, Ord::max)
    }

    #[inline(always)]
    unsafe fn min(self, o: Self) -> Self {
        self.map(o, Ord::min)
    }

    #[inline(always)]
    unsafe fn gt(self, o: Self) -> Self {
        self.map(o, |a, b| if a > b { -1 } else { 0 })
    }

    #[inline(always)]
    unsafe fn eq(self, o: Self) -> Self {
        self.map(o, |a, b| if a == b { -1 } else { 0 })
    }

    #[inline(always)]
    unsafe fn select(mask: Self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|k| if mask.0[k] != 0 { a.0[k] } else { b.0[k] }))
    }

    #[inline(always)]
    unsafe fn any(self) -> bool {
        self.0.iter().any(|&x| x != 0)
    }
}

#[derive(Clone, Copy)]
pub(super) struct PortableBytes([u8; 16]);

impl PortableBytes {
    #[inline(always)]
    fn map(self, o: Self, f: impl Fn(u8, u8) -> u8) -> Self {
        PortableBytes(std::array::from_fn(|k| f(self.0[k], o.0[k])))
    }
}

// Plain Rust, as above.
impl ByteLanes for PortableBytes {
    const WIDTH: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        PortableBytes([x; 16])
    }

    #[inline(always)]
    unsafe fn load(s: &[u8]) -> Self {
        PortableBytes(s[..16].try_into().expect("sixteen lanes"))
    }

    #[inline(always)]
    unsafe fn store(self, s: &mut [u8]) {
        s[..16].copy_from_slice(&self.0);
    }

    #[inline(always)]
    unsafe fn adds(self, o: Self) -> Self {
        self.map(o, u8::saturating_add)
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        self.map(o, u8::saturating_sub)
    }

    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        self.map(o, u8::max)
    }

    #[inline(always)]
    unsafe fn lookup(table: &[u8; 32], idx: Self) -> Self {
        PortableBytes(idx.0.map(|k| table[k as usize]))
    }
}

super::entry_points!(Portable, PortableBytes,);
