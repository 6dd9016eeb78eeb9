//! Plain-array lanes for engines without SIMD128 (and for host tests).
//! Lane `i` here is lane `i` of the `v128` implementation, operation by operation.

use super::{Vector, Wide};

#[derive(Clone, Copy, Debug)]
pub struct F32x4([f32; 4]);

#[derive(Clone, Copy, Debug)]
pub struct F64x2([f64; 2]);

impl Vector for F32x4 {
    type Elem = f32;
    const LANES: usize = 4;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        F32x4([x; 4])
    }
    #[inline(always)]
    fn from_fn<F: Fn(usize) -> f32>(f: F) -> Self {
        F32x4([f(0), f(1), f(2), f(3)])
    }
    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        if src.len() >= 4 {
            F32x4([src[0], src[1], src[2], src[3]])
        } else {
            Self::from_fn(|i| if i < src.len() { src[i] } else { 0.0 })
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        // Lane by lane (a copy of a variable length would call memcpy).
        for (i, x) in self.0.iter().enumerate() {
            if i < dst.len() {
                dst[i] = *x;
            }
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        F32x4([a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]])
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        F32x4([a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]])
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        F32x4([a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]])
    }
    #[inline(always)]
    fn widen(self) -> F64x2 {
        let a = self.0;
        F64x2([a[0] as f64 + a[2] as f64, a[1] as f64 + a[3] as f64])
    }
}

impl Vector for F64x2 {
    type Elem = f64;
    const LANES: usize = 2;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        F64x2([x; 2])
    }
    #[inline(always)]
    fn from_fn<F: Fn(usize) -> f64>(f: F) -> Self {
        F64x2([f(0), f(1)])
    }
    #[inline(always)]
    fn load(src: &[f64]) -> Self {
        if src.len() >= 2 {
            F64x2([src[0], src[1]])
        } else {
            Self::from_fn(|i| if i < src.len() { src[i] } else { 0.0 })
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f64]) {
        for (i, x) in self.0.iter().enumerate() {
            if i < dst.len() {
                dst[i] = *x;
            }
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F64x2([self.0[0] + o.0[0], self.0[1] + o.0[1]])
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F64x2([self.0[0] - o.0[0], self.0[1] - o.0[1]])
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F64x2([self.0[0] * o.0[0], self.0[1] * o.0[1]])
    }
    #[inline(always)]
    fn widen(self) -> F64x2 {
        self
    }
}

impl Wide for F64x2 {
    #[inline(always)]
    fn zero() -> Self {
        F64x2([0.0; 2])
    }
    #[inline(always)]
    fn from_lanes(l0: f64, l1: f64) -> Self {
        F64x2([l0, l1])
    }
    #[inline(always)]
    fn lanes(self) -> [f64; 2] {
        self.0
    }
}
