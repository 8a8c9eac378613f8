//! Portable lanes: eight `i16` or `i32` in an array; runs on any CPU and checks the others in
//! tests.

use super::{ByteLanes, Elem, End, Lanes, Scoring, Start};

/// Eight lanes of `E` in an array.
#[derive(Clone, Copy)]
pub(super) struct Portable<E>([E; 8]);

impl<E: Elem> Portable<E> {
    #[inline(always)]
    fn map(self, o: Self, f: impl Fn(E, E) -> E) -> Self {
        Portable(std::array::from_fn(|k| f(self.0[k], o.0[k])))
    }

    #[inline(always)]
    fn mask(self, o: Self, f: impl Fn(E, E) -> bool) -> Self {
        self.map(o, |a, b| if f(a, b) { E::of(-1) } else { E::default() })
    }
}

// Plain Rust: `unsafe` only because the trait's other implementations need it.
impl<E: Elem> Lanes for Portable<E> {
    type E = E;
    const WIDTH: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: E) -> Self {
        Portable([x; 8])
    }

    #[inline(always)]
    unsafe fn load(s: &[E]) -> Self {
        Portable(s[..8].try_into().expect("eight lanes"))
    }

    #[inline(always)]
    unsafe fn store(self, s: &mut [E]) {
        s[..8].copy_from_slice(&self.0);
    }

    #[inline(always)]
    unsafe fn adds(self, o: Self) -> Self {
        self.map(o, E::lane_add)
    }

    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        self.map(o, E::wrapping_add)
    }

    #[inline(always)]
    unsafe fn subs(self, o: Self) -> Self {
        self.map(o, E::lane_sub)
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
        self.mask(o, |a, b| a > b)
    }

    #[inline(always)]
    unsafe fn eq(self, o: Self) -> Self {
        self.mask(o, |a, b| a == b)
    }

    #[inline(always)]
    unsafe fn select(mask: Self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|k| {
            if mask.0[k] != E::default() { a.0[k] } else { b.0[k] }
        }))
    }

    #[inline(always)]
    unsafe fn any(self) -> bool {
        self.0.iter().any(|&x| x != E::default())
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

super::entry_points!(Portable<i16>, Portable<i32>, PortableBytes,);
