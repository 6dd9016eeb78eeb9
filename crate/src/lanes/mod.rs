//! A tiny lane abstraction: one SIMD128 implementation and one scalar
//! implementation with the same lane order and the same operations.
//!
//! Every operation is a single IEEE-754 operation per lane (round to nearest,
//! no fused multiply-add), so a kernel written once over [`Vector`] computes the
//! same bits whichever implementation is compiled in. Which one is compiled is
//! decided by the `simd128` target feature of the build.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd::{F32x4, F64x2};

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod scalar;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use scalar::{F32x4, F64x2};

/// `true` in the SIMD128 build.
pub const SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// Number of independent vector accumulators a kernel keeps (hides add latency).
pub const ACCUMULATORS: usize = 4;

/// Elements per accumulation block (see the crate docs for the error bound).
pub const BLOCK: usize = 128;

/// A floating-point element type the kernels run on (`f32` or `f64`).
pub trait Float: Copy + PartialEq + 'static {
    /// The vector of this element type.
    type V: Vector<Elem = Self>;
    const ZERO: Self;
    const ONE: Self;
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    fn to_f64(self) -> f64;
    /// Rounds an `f64` to this type (exact for `f64`).
    fn from_f64(x: f64) -> Self;
}

/// Elements one kernel step consumes: one vector per accumulator.
pub const fn step_len<E: Float>() -> usize {
    ACCUMULATORS * <E::V as Vector>::LANES
}

/// A vector of `LANES` elements.
pub trait Vector: Copy {
    type Elem: Float;
    const LANES: usize;
    fn splat(x: Self::Elem) -> Self;
    /// Lane `i` is `f(i)`.
    fn from_fn<F: Fn(usize) -> Self::Elem>(f: F) -> Self;
    /// Loads the first `LANES` elements of `src`; a shorter `src` is zero-padded.
    /// The short case reads lane by lane: no `memcpy` call (a software loop in wasm).
    fn load(src: &[Self::Elem]) -> Self;
    /// Stores into the first `LANES` elements of `dst` (fewer if `dst` is shorter,
    /// lane by lane).
    fn store(self, dst: &mut [Self::Elem]);
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    /// Widens to two `f64` lanes: `f64` vectors as they are; `f32x4` as
    /// `[x0 + x2, x1 + x3]` computed in `f64` (exact promotion, one rounding).
    fn widen(self) -> F64x2;
}

/// Two `f64` lanes, the width of the compensated accumulators (arithmetic
/// comes from its [`Vector`] impl).
pub trait Wide: Copy {
    fn zero() -> Self;
    fn from_lanes(l0: f64, l1: f64) -> Self;
    fn lanes(self) -> [f64; 2];
}

impl Float for f32 {
    type V = F32x4;
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    #[inline(always)]
    fn add(self, other: f32) -> f32 {
        self + other
    }
    #[inline(always)]
    fn sub(self, other: f32) -> f32 {
        self - other
    }
    #[inline(always)]
    fn mul(self, other: f32) -> f32 {
        self * other
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
}

impl Float for f64 {
    type V = F64x2;
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline(always)]
    fn add(self, other: f64) -> f64 {
        self + other
    }
    #[inline(always)]
    fn sub(self, other: f64) -> f64 {
        self - other
    }
    #[inline(always)]
    fn mul(self, other: f64) -> f64 {
        self * other
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }
}
