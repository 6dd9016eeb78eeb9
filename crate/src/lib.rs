//! Mean-squared-error kernels for WebAssembly.
//!
//! The crate is built twice for `wasm32-unknown-unknown`: once with
//! `-C target-feature=+simd128` and once without. Both builds run the same
//! kernels ([`kernels`]) over the same lane abstraction ([`lanes`]); only the
//! lane implementation differs (`v128` or plain arrays). The lane order, the
//! accumulation tree and the absence of FMA are the same in both, so the two
//! builds return bit-identical results for the same input.
//!
//! Accuracy: squared differences are summed in the data type in blocks of 128
//! elements (4 accumulators x 4 lanes x 8 steps for `f32`, 4 x 2 x 16 for `f64`),
//! the block's four accumulators are added in the data type (two levels), widened
//! to `f64` and added to a compensated (TwoSum) `f64` accumulator. A term therefore
//! goes through at most 7 + 2 additions in `f32` (15 + 2 in `f64`) before it reaches
//! `f64`, after the two roundings of its difference and square: for a sum of
//! non-negative terms the relative error is below about 12 `f32` ulps (7.2e-7) or
//! 20 `f64` ulps (2.2e-15), whatever the length. A weight multiplies each square
//! in the dtype: one more rounding, one more ulp.
//!
//! The only public surface for JavaScript is the C ABI in [`abi`] (see
//! `crate/ABI.md`). Nothing panics across it: bad plans return a status code and
//! allocation failure returns a null pointer.
//!
//! The crate uses `std` only for its allocator (dlmalloc on wasm32); the kernels
//! themselves use `core` alone.
#![warn(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod kernels;
pub mod lanes;

