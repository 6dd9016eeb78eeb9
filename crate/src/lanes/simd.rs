//! SIMD128 lanes (`core::arch::wasm32`). The only `unsafe` here is the
//! unaligned 16-byte load and store, each guarded by a length check.

use super::{Vector, Wide};
use core::arch::wasm32::*;

#[derive(Clone, Copy, Debug)]
pub struct F32x4(v128);

#[derive(Clone, Copy, Debug)]
pub struct F64x2(v128);

impl Vector for F32x4 {
    type Elem = f32;
    const LANES: usize = 4;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        F32x4(f32x4_splat(x))
    }
    #[inline(always)]
    fn from_fn<F: Fn(usize) -> f32>(f: F) -> Self {
        F32x4(f32x4(f(0), f(1), f(2), f(3)))
    }
    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        if src.len() >= 4 {
            // SAFETY: `src` has at least 4 initialised f32 (16 bytes) from
            // `src.as_ptr()`; `v128_load` has no alignment requirement.
            F32x4(unsafe { v128_load(src.as_ptr() as *const v128) })
        } else {
            Self::from_fn(|i| if i < src.len() { src[i] } else { 0.0 })
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        if dst.len() >= 4 {
            // SAFETY: `dst` has at least 4 writable f32 (16 bytes) from
            // `dst.as_mut_ptr()`; `v128_store` has no alignment requirement.
            unsafe { v128_store(dst.as_mut_ptr() as *mut v128, self.0) }
        } else {
            // At most 3 lanes, one by one (a copy of a variable length would call memcpy).
            if !dst.is_empty() {
                dst[0] = f32x4_extract_lane::<0>(self.0);
            }
            if dst.len() > 1 {
                dst[1] = f32x4_extract_lane::<1>(self.0);
            }
            if dst.len() > 2 {
                dst[2] = f32x4_extract_lane::<2>(self.0);
            }
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F32x4(f32x4_add(self.0, o.0))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F32x4(f32x4_sub(self.0, o.0))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F32x4(f32x4_mul(self.0, o.0))
    }
    #[inline(always)]
    fn widen(self) -> F64x2 {
        let lo = f64x2_promote_low_f32x4(self.0);
        let hi = f64x2_promote_low_f32x4(i64x2_shuffle::<1, 1>(self.0, self.0));
        F64x2(f64x2_add(lo, hi))
    }
}

impl Vector for F64x2 {
    type Elem = f64;
    const LANES: usize = 2;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        F64x2(f64x2_splat(x))
    }
    #[inline(always)]
    fn from_fn<F: Fn(usize) -> f64>(f: F) -> Self {
        F64x2(f64x2(f(0), f(1)))
    }
    #[inline(always)]
    fn load(src: &[f64]) -> Self {
        if src.len() >= 2 {
            // SAFETY: `src` has at least 2 initialised f64 (16 bytes) from
            // `src.as_ptr()`; `v128_load` has no alignment requirement.
            F64x2(unsafe { v128_load(src.as_ptr() as *const v128) })
        } else {
            Self::from_fn(|i| if i < src.len() { src[i] } else { 0.0 })
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f64]) {
        if dst.len() >= 2 {
            // SAFETY: `dst` has at least 2 writable f64 (16 bytes) from
            // `dst.as_mut_ptr()`; `v128_store` has no alignment requirement.
            unsafe { v128_store(dst.as_mut_ptr() as *mut v128, self.0) }
        } else {
            if !dst.is_empty() {
                dst[0] = f64x2_extract_lane::<0>(self.0);
            }
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F64x2(f64x2_add(self.0, o.0))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F64x2(f64x2_sub(self.0, o.0))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F64x2(f64x2_mul(self.0, o.0))
    }
    #[inline(always)]
    fn widen(self) -> F64x2 {
        self
    }
}

impl Wide for F64x2 {
    #[inline(always)]
    fn zero() -> Self {
        F64x2(f64x2_splat(0.0))
    }
    #[inline(always)]
    fn from_lanes(l0: f64, l1: f64) -> Self {
        F64x2(f64x2(l0, l1))
    }
    #[inline(always)]
    fn lanes(self) -> [f64; 2] {
        [f64x2_extract_lane::<0>(self.0), f64x2_extract_lane::<1>(self.0)]
    }
}
