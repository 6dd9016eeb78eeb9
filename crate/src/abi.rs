//! Every `extern "C"` export, and the only place where raw pointers become
//! slices. The contract (pointers from `mse_alloc`, lengths in elements, `0`
//! for an absent operand) is documented in `crate/ABI.md`; the TypeScript
//! facade (`ts/heap.ts`) is the only caller.

use crate::kernels::{self, Operand, Operands, Plan, State, MAX_RANK};
use crate::lanes::Float;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::alloc::{alloc, dealloc, Layout};

/// Alignment of every block: one `v128`.
const ALIGN: usize = 16;

/// Bytes currently handed out by `mse_alloc` (rounded as allocated).
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

fn layout(bytes: usize) -> Option<Layout> {
    let size = if bytes == 0 { ALIGN } else { bytes.checked_add(ALIGN - 1)? & !(ALIGN - 1) };
    // Slices may not span more than isize::MAX bytes; rustc 1.63's Layout does not check it.
    if size > isize::MAX as usize {
        return None;
    }
    Layout::from_size_align(size, ALIGN).ok()
}

/// Allocates `bytes` (16-byte aligned). Returns `0` when the engine refuses to
/// grow memory or the size is impossible; never traps.
#[no_mangle]
pub extern "C" fn mse_alloc(bytes: usize) -> *mut u8 {
    let layout = match layout(bytes) {
        Some(l) => l,
        None => return core::ptr::null_mut(),
    };
    // SAFETY: `layout` has a non-zero size (at least ALIGN bytes).
    let ptr = unsafe { alloc(layout) };
    if !ptr.is_null() {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
    }
    ptr
}

/// Frees a block from [`mse_alloc`].
///
/// # Safety
/// `ptr` is null or was returned by `mse_alloc(bytes)` with the same `bytes`
/// and not freed since.
#[no_mangle]
pub unsafe extern "C" fn mse_free(ptr: *mut u8, bytes: usize) {
    if ptr.is_null() {
        return;
    }
    if let Some(layout) = layout(bytes) {
        // SAFETY: by this function's contract, `ptr` came from `alloc(layout)`.
        unsafe { dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

/// Bytes currently allocated through [`mse_alloc`].
#[no_mangle]
pub extern "C" fn mse_allocated_bytes() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// `1` in the SIMD128 build, `0` in the scalar build.
#[no_mangle]
pub extern "C" fn mse_simd() -> u32 {
    crate::lanes::SIMD as u32
}

/// # Safety
/// `p` is null or valid for `n` reads of `T` for `'a`.
unsafe fn slice<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        // SAFETY: non-null and valid for `n` reads by this function's contract.
        unsafe { core::slice::from_raw_parts(p, n) }
    }
}

/// # Safety
/// `p` is null or valid for `n` writes of `T` for `'a`, and not aliased.
unsafe fn slice_mut<'a, T>(p: *mut T, n: usize) -> &'a mut [T] {
    if p.is_null() || n == 0 {
        &mut []
    } else {
        // SAFETY: non-null, valid for `n` writes and unaliased by contract.
        unsafe { core::slice::from_raw_parts_mut(p, n) }
    }
}

/// # Safety
/// `state` is null or points to 8 writable, 8-aligned `f64`.
unsafe fn state_words<'a>(state: *mut f64) -> Option<&'a mut [f64; 8]> {
    if state.is_null() {
        return None;
    }
    // SAFETY: non-null, aligned and valid for 8 f64 by this function's contract.
    Some(unsafe { &mut *(state as *mut [f64; 8]) })
}

/// Runs `f` on the decoded state and writes it back.
///
/// # Safety
/// As [`state_words`].
unsafe fn with_state(state: *mut f64, f: impl FnOnce(&mut State)) {
    // SAFETY: forwarded contract.
    if let Some(words) = unsafe { state_words(state) } {
        let mut s = State::from_words(words);
        f(&mut s);
        *words = s.to_words();
    }
}

/// The compensated loss sum held in `state`.
///
/// # Safety
/// `state` points to 8 readable, 8-aligned `f64` (or is null: returns NaN).
#[no_mangle]
pub unsafe extern "C" fn mse_state_loss(state: *mut f64) -> f64 {
    // SAFETY: forwarded contract.
    match unsafe { state_words(state) } {
        Some(w) => State::from_words(w).loss.value(),
        None => f64::NAN,
    }
}

/// The compensated weight sum held in `state`.
///
/// # Safety
/// As [`mse_state_loss`].
#[no_mangle]
pub unsafe extern "C" fn mse_state_weight(state: *mut f64) -> f64 {
    // SAFETY: forwarded contract.
    match unsafe { state_words(state) } {
        Some(w) => State::from_words(w).weight.value(),
        None => f64::NAN,
    }
}

/// Decodes a 42-word plan; `None` when it is malformed.
///
/// # Safety
/// `p` is null or valid for 42 reads of `i32`.
unsafe fn read_plan(p: *const i32) -> Option<Plan> {
    // SAFETY: forwarded contract.
    let words = unsafe { slice(p, 2 + 5 * MAX_RANK) };
    if words.len() != 2 + 5 * MAX_RANK {
        return None;
    }
    let word = |i: usize| -> Option<usize> {
        let v = words[i];
        if v < 0 {
            None
        } else {
            Some(v as usize)
        }
    };
    let rank = word(0)?;
    let kept = word(1)?;
    if rank == 0 || rank > MAX_RANK || kept > rank {
        return None;
    }
    let mut plan = Plan { rank, kept, shape: [1; MAX_RANK], strides: [[0; MAX_RANK]; 4] };
    for d in 0..rank {
        plan.shape[d] = word(2 + d)?;
        for o in 0..4 {
            plan.strides[o][d] = word(2 + MAX_RANK * (o + 1) + d)?;
        }
    }
    Some(plan)
}

/// Status codes of the strided kernels.
const OK: i32 = 0;
const BAD_PLAN: i32 = 1;

macro_rules! exports {
    ($t:ty, $sum_once:ident, $sum:ident, $none:ident, $grad:ident, $fused:ident,
     $none_s:ident, $reduce_s:ident, $grad_s:ident, $grad_reduce_s:ident) => {
        /// Adds `sum((a - b)^2 * w)` and `sum(w)` over `n` contiguous elements into `state`.
        ///
        /// # Safety
        /// `state` as in `mse_state_loss`; `a`, `b` valid for `n` reads; `w` null or valid for `n` reads.
        #[no_mangle]
        pub unsafe extern "C" fn $sum(state: *mut f64, a: *const $t, b: *const $t, w: *const $t, n: usize) {
            // SAFETY: the pointers satisfy this function's contract.
            let (a, b, w) = unsafe { (slice(a, n), slice(b, n), weight(w, n)) };
            // SAFETY: as above.
            unsafe { with_state(state, |s| kernels::sum_squared(s, a, b, w)) }
        }

        /// `sum((a - b)^2)` over `n` contiguous elements from a fresh state: the
        /// one-call hot path (no state to zero before, none to read after).
        ///
        /// # Safety
        /// `a`, `b` valid for `n` reads.
        #[no_mangle]
        pub unsafe extern "C" fn $sum_once(a: *const $t, b: *const $t, n: usize) -> f64 {
            // SAFETY: the pointers satisfy this function's contract.
            let (a, b) = unsafe { (slice(a, n), slice(b, n)) };
            kernels::sum_squared_once(a, b)
        }

        /// `out[i] = (a[i] - b[i])^2 * w[i]` over `n` contiguous elements.
        ///
        /// # Safety
        /// `a`, `b` valid for `n` reads; `w` null or valid for `n` reads; `out` valid for `n` writes, unaliased.
        #[no_mangle]
        pub unsafe extern "C" fn $none(a: *const $t, b: *const $t, w: *const $t, n: usize, out: *mut $t) {
            // SAFETY: the pointers satisfy this function's contract.
            let (a, b, w, out) = unsafe { (slice(a, n), slice(b, n), weight(w, n), slice_mut(out, n)) };
            kernels::squared(a, b, w, out);
        }

        /// `out[i] = ((a[i] - b[i]) * norm) * g * w[i]`; `g` is `g[0]` for every
        /// element when `g_stride == 0`, `g[i]` when it is 1, and 1 when `g` is null.
        ///
        /// # Safety
        /// `a`, `b` valid for `n` reads; `w` null or valid for `n` reads; `g` null or valid for
        /// `n * g_stride` (at least 1) reads; `out` valid for `n` writes, unaliased.
        #[no_mangle]
        pub unsafe extern "C" fn $grad(
            a: *const $t,
            b: *const $t,
            w: *const $t,
            g: *const $t,
            g_stride: usize,
            norm: $t,
            n: usize,
            out: *mut $t,
        ) {
            // SAFETY: the pointers satisfy this function's contract.
            let (a, b, w, g, out) =
                unsafe { (slice(a, n), slice(b, n), weight(w, n), grad_output(g, g_stride, n), slice_mut(out, n)) };
            kernels::gradient(a, b, w, g, norm, out);
        }

        /// One pass: the gradient into `grad_out` as the gradient kernel, and the loss
        /// elementwise into `loss_out` (when non-null) or accumulated into `state`.
        ///
        /// # Safety
        /// As the sum and gradient kernels; `grad_out` valid for `n` writes; `loss_out`
        /// null or valid for `n` writes; no output aliases another pointer.
        #[no_mangle]
        pub unsafe extern "C" fn $fused(
            state: *mut f64,
            a: *const $t,
            b: *const $t,
            w: *const $t,
            g: *const $t,
            g_stride: usize,
            norm: $t,
            n: usize,
            grad_out: *mut $t,
            loss_out: *mut $t,
        ) {
            // SAFETY: the pointers satisfy this function's contract.
            let (a, b, w, g, grad) =
                unsafe { (slice(a, n), slice(b, n), weight(w, n), grad_output(g, g_stride, n), slice_mut(grad_out, n)) };
            if loss_out.is_null() {
                // SAFETY: as above.
                unsafe { with_state(state, |s| kernels::fused(s, a, b, w, g, norm, grad, None)) }
            } else {
                // SAFETY: as above.
                let out = unsafe { slice_mut(loss_out, n) };
                kernels::fused(&mut State::zero(), a, b, w, g, norm, grad, Some(out));
            }
        }

        /// Elementwise `(a - b)^2 * w` over a plan; returns 0, or 1 for a bad plan.
        ///
        /// # Safety
        /// Each operand valid for its extent under the plan; `out` for the plan's element count.
        #[no_mangle]
        pub unsafe extern "C" fn $none_s(plan: *const i32, a: *const $t, b: *const $t, w: *const $t, out: *mut $t) -> i32 {
            // SAFETY: the pointers satisfy this function's contract.
            let (plan, ops, n) = match unsafe { strided(plan, a, b, w, core::ptr::null(), Outputs::All) } {
                Some(x) => x,
                None => return BAD_PLAN,
            };
            // SAFETY: as above.
            kernels::squared_strided(&plan, &ops, unsafe { slice_mut(out, n) });
            OK
        }

        /// Per kept index, each output when its pointer is non-null: `out_loss[j] =
        /// sum((a - b)^2 * w)`, `out_weight[j] = sum(w)` over the reduced dims, and `out[j]`
        /// the loss sum over `divisor` (the reduced count for a mean, 1 for a sum), or over
        /// the weight sum when `divisor` is 0 (a weighted mean), in `f64` and
        /// rounded once; returns 0, or 1 for a bad plan.
        ///
        /// # Safety
        /// Each operand valid for its extent; each non-null output valid for the kept
        /// count; no output aliases another pointer.
        #[no_mangle]
        pub unsafe extern "C" fn $reduce_s(
            plan: *const i32,
            a: *const $t,
            b: *const $t,
            w: *const $t,
            out_loss: *mut f64,
            out_weight: *mut f64,
            out: *mut $t,
            divisor: f64,
        ) -> i32 {
            // SAFETY: the pointers satisfy this function's contract.
            let (plan, ops, n) = match unsafe { strided(plan, a, b, w, core::ptr::null(), Outputs::Kept) } {
                Some(x) => x,
                None => return BAD_PLAN,
            };
            // SAFETY: as above.
            let (loss, weight, result) = unsafe { (slice_mut(out_loss, n), slice_mut(out_weight, n), slice_mut(out, n)) };
            let mut outputs = kernels::ReduceOut {
                loss: if out_loss.is_null() { None } else { Some(loss) },
                weight: if out_weight.is_null() { None } else { Some(weight) },
                result: if out.is_null() { None } else { Some(result) },
                divisor,
            };
            kernels::reduce_strided(&plan, &ops, &mut outputs);
            OK
        }

        /// Elementwise `((a - b) * norm) * g * w` over a plan; returns 0, or 1 for a bad plan.
        ///
        /// # Safety
        /// Each operand valid for its extent under the plan; `out` for the plan's element count.
        #[no_mangle]
        pub unsafe extern "C" fn $grad_s(
            plan: *const i32,
            a: *const $t,
            b: *const $t,
            w: *const $t,
            g: *const $t,
            norm: $t,
            out: *mut $t,
        ) -> i32 {
            // SAFETY: the pointers satisfy this function's contract.
            let (plan, ops, n) = match unsafe { strided(plan, a, b, w, g, Outputs::All) } {
                Some(x) => x,
                None => return BAD_PLAN,
            };
            // SAFETY: as above.
            kernels::gradient_strided(&plan, &ops, norm, unsafe { slice_mut(out, n) });
            OK
        }

        /// Per kept index: `out[j] = sum(((a - b) * norm) * g * w)` over the reduced dims;
        /// returns 0, or 1 for a bad plan.
        ///
        /// # Safety
        /// Each operand valid for its extent under the plan; `out` for the kept count; no
        /// aliasing.
        #[no_mangle]
        pub unsafe extern "C" fn $grad_reduce_s(
            plan: *const i32,
            a: *const $t,
            b: *const $t,
            w: *const $t,
            g: *const $t,
            norm: $t,
            out: *mut $t,
        ) -> i32 {
            // SAFETY: the pointers satisfy this function's contract.
            let (plan, ops, n) = match unsafe { strided(plan, a, b, w, g, Outputs::Kept) } {
                Some(x) => x,
                None => return BAD_PLAN,
            };
            // SAFETY: as above.
            kernels::gradient_reduce_strided(&plan, &ops, norm, unsafe { slice_mut(out, n) });
            OK
        }
    };
}

/// The weight operand of a contiguous kernel.
///
/// # Safety
/// `w` null or valid for `n` reads.
unsafe fn weight<'a, T: Float>(w: *const T, n: usize) -> Option<&'a [T]> {
    if w.is_null() {
        None
    } else {
        // SAFETY: forwarded contract.
        Some(unsafe { slice(w, n) })
    }
}

/// The grad-output operand of a contiguous kernel (see `mse_grad_*`).
///
/// # Safety
/// `g` null, or valid for one read when `g_stride == 0`, or for `n` reads.
unsafe fn grad_output<'a, T: Float>(g: *const T, g_stride: usize, n: usize) -> Operand<'a, T> {
    if g.is_null() {
        Operand::Absent
    } else if g_stride == 0 {
        // SAFETY: valid for one read by contract.
        Operand::Splat(unsafe { *g })
    } else {
        // SAFETY: valid for `n` reads by contract.
        Operand::Slice(unsafe { slice(g, n) })
    }
}

/// What a strided kernel writes one output for: every element, or every kept index.
enum Outputs {
    All,
    Kept,
}

/// Decodes a plan, makes each operand a slice of exactly its extent, and counts the
/// outputs.
///
/// # Safety
/// `plan` as in `read_plan`; each non-null operand valid for its extent under it.
unsafe fn strided<'a, T: Float>(
    plan: *const i32,
    a: *const T,
    b: *const T,
    w: *const T,
    g: *const T,
    outputs: Outputs,
) -> Option<(Plan, Operands<'a, T>, usize)> {
    // SAFETY: forwarded contract.
    let plan = unsafe { read_plan(plan) }?;
    let ext = |o: usize, p: *const T| -> Option<usize> {
        if p.is_null() {
            Some(0)
        } else {
            plan.extent(o)
        }
    };
    let (na, nb, nw, ng) = (ext(kernels::A, a)?, ext(kernels::B, b)?, ext(kernels::W, w)?, ext(kernels::G, g)?);
    let full = plan.extent(kernels::A)?;
    if a.is_null() || b.is_null() {
        // An empty iteration needs no data; otherwise both operands are required.
        if full != 0 {
            return None;
        }
    }
    // SAFETY: each pointer is valid for its extent by this function's contract.
    let ops = unsafe {
        Operands {
            a: slice(a, na),
            b: slice(b, nb),
            w: if w.is_null() { None } else { Some(slice(w, nw)) },
            g: if g.is_null() { None } else { Some(slice(g, ng)) },
        }
    };
    let count = match outputs {
        Outputs::All => plan.count(0, plan.rank)?,
        Outputs::Kept => plan.count(0, plan.kept)?,
    };
    Some((plan, ops, count))
}

exports!(
    f32,
    mse_sum_once_f32,
    mse_sum_f32,
    mse_none_f32,
    mse_grad_f32,
    mse_fused_f32,
    mse_none_strided_f32,
    mse_reduce_strided_f32,
    mse_grad_strided_f32,
    mse_grad_reduce_strided_f32
);
exports!(
    f64,
    mse_sum_once_f64,
    mse_sum_f64,
    mse_none_f64,
    mse_grad_f64,
    mse_fused_f64,
    mse_none_strided_f64,
    mse_reduce_strided_f64,
    mse_grad_strided_f64,
    mse_grad_reduce_strided_f64
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_counts_and_frees() {
        let before = mse_allocated_bytes();
        let p = mse_alloc(100);
        assert!(!p.is_null());
        assert_eq!(p as usize % ALIGN, 0);
        assert_eq!(mse_allocated_bytes(), before + 112);
        // SAFETY: `p` came from mse_alloc(100).
        unsafe { mse_free(p, 100) };
        assert_eq!(mse_allocated_bytes(), before);
    }

    #[test]
    fn impossible_sizes_return_null() {
        assert!(mse_alloc(usize::MAX).is_null());
        assert!(mse_alloc(isize::MAX as usize).is_null());
    }

    #[test]
    fn bad_plans_are_refused() {
        let a = [1.0f32; 4];
        let mut out = [0.0f32; 4];
        let mut plan = [0i32; 42];
        // rank 0 is not a plan.
        // SAFETY: every pointer is valid for what the plan could name.
        let status = unsafe { mse_none_strided_f32(plan.as_ptr(), a.as_ptr(), a.as_ptr(), core::ptr::null(), out.as_mut_ptr()) };
        assert_eq!(status, BAD_PLAN);
        plan[0] = 1;
        plan[2] = 4;
        plan[10] = 1;
        plan[18] = -1; // a negative stride
        // SAFETY: as above.
        let status = unsafe { mse_none_strided_f32(plan.as_ptr(), a.as_ptr(), a.as_ptr(), core::ptr::null(), out.as_mut_ptr()) };
        assert_eq!(status, BAD_PLAN);
        plan[18] = 1;
        // SAFETY: as above.
        let status = unsafe { mse_none_strided_f32(plan.as_ptr(), a.as_ptr(), a.as_ptr(), core::ptr::null(), out.as_mut_ptr()) };
        assert_eq!(status, OK);
        assert_eq!(out, [0.0; 4]);
    }

    #[test]
    fn one_call_sum_equals_the_state_sum() {
        let a: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut state = [0.0f64; 8];
        // SAFETY: state has 8 words; a and b hold 1000 elements.
        unsafe {
            mse_sum_f32(state.as_mut_ptr(), a.as_ptr(), b.as_ptr(), core::ptr::null(), 1000);
            let once = mse_sum_once_f32(a.as_ptr(), b.as_ptr(), 1000);
            assert_eq!(once.to_bits(), mse_state_loss(state.as_mut_ptr()).to_bits());
        }
    }

    #[test]
    fn state_round_trip_through_the_abi() {
        let a = [3.0f64, 4.0];
        let b = [0.0f64, 0.0];
        let mut state = [0.0f64; 8];
        // SAFETY: state has 8 words; a and b hold 2 elements.
        unsafe {
            mse_sum_f64(state.as_mut_ptr(), a.as_ptr(), b.as_ptr(), core::ptr::null(), 2);
            mse_sum_f64(state.as_mut_ptr(), a.as_ptr(), b.as_ptr(), core::ptr::null(), 2);
            assert_eq!(mse_state_loss(state.as_mut_ptr()), 50.0);
            assert_eq!(mse_state_weight(state.as_mut_ptr()), 0.0);
        }
    }
}
