//! Every kernel, written once over the lane abstraction in [`crate::lanes`].
//!
//! Reductions follow one scheme (see the crate docs and `crate/ABI.md`):
//! steps of `ACCUMULATORS * LANES` elements into four vector accumulators, a
//! flush of those accumulators into a compensated `f64` [`Compensated`] every
//! [`BLOCK`] elements and at the end of every run, and a zero-padded final step
//! for a run's remainder. Elementwise kernels are one IEEE operation chain per
//! element, so vector and scalar code give the same bits there trivially.

use crate::lanes::{step_len, Float, Vector, Wide, F64x2, ACCUMULATORS, BLOCK};

/// Two-lane compensated `f64` sum: TwoSum (Knuth) per lane, no branches.
#[derive(Clone, Copy, Debug)]
pub struct Compensated {
    sum: F64x2,
    comp: F64x2,
}

impl Compensated {
    pub fn zero() -> Self {
        Compensated { sum: F64x2::zero(), comp: F64x2::zero() }
    }

    /// Reads `[s0, s1, c0, c1]`.
    pub fn from_words(w: [f64; 4]) -> Self {
        Compensated { sum: F64x2::from_lanes(w[0], w[1]), comp: F64x2::from_lanes(w[2], w[3]) }
    }

    /// Writes `[s0, s1, c0, c1]`.
    pub fn to_words(self) -> [f64; 4] {
        let s = self.sum.lanes();
        let c = self.comp.lanes();
        [s[0], s[1], c[0], c[1]]
    }

    #[inline(always)]
    fn add(&mut self, v: F64x2) {
        let s = self.sum;
        let t = s.add(v);
        let bp = t.sub(s);
        let err = s.sub(t.sub(bp)).add(v.sub(bp));
        self.comp = self.comp.add(err);
        self.sum = t;
    }

    /// The compensated total. A non-finite running sum (an `Inf` or `NaN` term)
    /// is returned as it is: its compensation is meaningless (`Inf - Inf`).
    pub fn value(self) -> f64 {
        let [s0, s1] = self.sum.lanes();
        let [c0, c1] = self.comp.lanes();
        let hi = s0 + s1;
        if !hi.is_finite() {
            return hi;
        }
        let bp = hi - s0;
        let err = (s0 - (hi - bp)) + (s1 - bp);
        hi + (err + (c0 + c1))
    }
}

/// The state of a running loss sum and weight sum (64 bytes on the ABI).
#[derive(Clone, Copy, Debug)]
pub struct State {
    pub loss: Compensated,
    pub weight: Compensated,
}

impl State {
    pub fn zero() -> Self {
        State { loss: Compensated::zero(), weight: Compensated::zero() }
    }

    pub fn from_words(w: &[f64; 8]) -> Self {
        State {
            loss: Compensated::from_words([w[0], w[1], w[2], w[3]]),
            weight: Compensated::from_words([w[4], w[5], w[6], w[7]]),
        }
    }

    pub fn to_words(self) -> [f64; 8] {
        let l = self.loss.to_words();
        let w = self.weight.to_words();
        [l[0], l[1], l[2], l[3], w[0], w[1], w[2], w[3]]
    }
}

/// An optional operand of a step: absent, one value for every element, or a slice.
#[derive(Clone, Copy)]
pub enum Operand<'a, E> {
    Absent,
    Splat(E),
    Slice(&'a [E]),
}

/// The same choice resolved at compile time, so hot loops carry no branch on it.
trait Src<E: Float>: Copy {
    const PRESENT: bool;
    /// The sub-operand for elements `start .. start + len`.
    fn part(self, start: usize, len: usize) -> Self;
    fn vec(self, at: usize) -> E::V;
    fn get(self, at: usize) -> E;
}

#[derive(Clone, Copy)]
struct Absent;
#[derive(Clone, Copy)]
struct Splat<E>(E);
#[derive(Clone, Copy)]
struct Slice<'a, E>(&'a [E]);

impl<E: Float> Src<E> for Absent {
    const PRESENT: bool = false;
    #[inline(always)]
    fn part(self, _: usize, _: usize) -> Self {
        self
    }
    #[inline(always)]
    fn vec(self, _: usize) -> E::V {
        E::V::splat(E::ONE)
    }
    #[inline(always)]
    fn get(self, _: usize) -> E {
        E::ONE
    }
}

impl<E: Float> Src<E> for Splat<E> {
    const PRESENT: bool = true;
    #[inline(always)]
    fn part(self, _: usize, _: usize) -> Self {
        self
    }
    #[inline(always)]
    fn vec(self, _: usize) -> E::V {
        E::V::splat(self.0)
    }
    #[inline(always)]
    fn get(self, _: usize) -> E {
        self.0
    }
}

impl<'a, E: Float> Src<E> for Slice<'a, E> {
    const PRESENT: bool = true;
    #[inline(always)]
    fn part(self, start: usize, len: usize) -> Self {
        Slice(&self.0[start..start + len])
    }
    #[inline(always)]
    fn vec(self, at: usize) -> E::V {
        E::V::load(&self.0[at..])
    }
    #[inline(always)]
    fn get(self, at: usize) -> E {
        self.0[at]
    }
}

/// Calls `$body` with `$w` bound to the compile-time kind of a weight (absent or a slice).
macro_rules! with_weight {
    ($op:expr, $name:ident => $body:expr) => {
        match $op {
            None => {
                let $name = Absent;
                $body
            }
            Some(s) => {
                let $name = Slice(s);
                $body
            }
        }
    };
}

/// Calls `$body` with `$name` bound to the compile-time kind of a grad-output operand.
macro_rules! with_src {
    ($op:expr, $name:ident => $body:expr) => {
        match $op {
            Operand::Absent => {
                let $name = Absent;
                $body
            }
            Operand::Splat(x) => {
                let $name = Splat(x);
                $body
            }
            Operand::Slice(s) => {
                let $name = Slice(s);
                $body
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Blocked accumulation
// ---------------------------------------------------------------------------

/// The per-block vector accumulators of a loss sum and (when weighted) a weight sum.
struct Blocks<V> {
    loss: [V; ACCUMULATORS],
    weight: [V; ACCUMULATORS],
    steps: usize,
}

impl<V: Vector> Blocks<V> {
    #[inline(always)]
    fn new() -> Self {
        let z = V::splat(<V::Elem as Float>::ZERO);
        Blocks { loss: [z; ACCUMULATORS], weight: [z; ACCUMULATORS], steps: 0 }
    }

    /// The block's sum as two `f64` lanes: the accumulators added in the data type as
    /// `(acc0 + acc1) + (acc2 + acc3)`, then one [`Vector::widen`]. For `f32` this is two
    /// more `f32` roundings per term than widening each accumulator (error bound ~12
    /// instead of ~10 `f32` ulps, see the crate docs) for a quarter of the widening work:
    /// `mse_sum_f32` measured 9-20% faster at 4 Ki and 64 Ki elements (raw exports, same
    /// process). For `f64` (`widen` is the identity) the bits are the same either way.
    #[inline(always)]
    fn widened(acc: &[V; ACCUMULATORS]) -> F64x2 {
        acc[0].add(acc[1]).add(acc[2].add(acc[3])).widen()
    }

    /// Adds the block into `state` and clears it.
    #[inline(always)]
    fn flush(&mut self, state: &mut State, weighted: bool) {
        if self.steps == 0 {
            return;
        }
        state.loss.add(Self::widened(&self.loss));
        if weighted {
            state.weight.add(Self::widened(&self.weight));
        }
        *self = Self::new();
    }

    /// Counts one step; flushes when the block is full.
    #[inline(always)]
    fn stepped(&mut self, state: &mut State, weighted: bool) {
        self.steps += 1;
        if self.steps * step_len::<V::Elem>() == BLOCK {
            self.flush(state, weighted);
        }
    }
}

/// The per-element term a reduction accumulates.
trait Term<E: Float>: Copy {
    /// Whether the weight operand is also summed on its own.
    const SUMS_WEIGHT: bool;
    fn vec<W: Src<E>, G: Src<E>>(self, a: E::V, b: E::V, w: E::V, g: E::V) -> E::V;
    /// The same term for one element (the same operations in the same order).
    fn elem(self, a: E, b: E, w: Option<E>, g: Option<E>) -> E;
}

/// `(a - b)^2 * w`.
#[derive(Clone, Copy)]
struct Squared;

impl<E: Float> Term<E> for Squared {
    const SUMS_WEIGHT: bool = true;
    #[inline(always)]
    fn vec<W: Src<E>, G: Src<E>>(self, a: E::V, b: E::V, w: E::V, _g: E::V) -> E::V {
        let d = a.sub(b);
        let sq = d.mul(d);
        if W::PRESENT {
            sq.mul(w)
        } else {
            sq
        }
    }
    #[inline(always)]
    fn elem(self, a: E, b: E, w: Option<E>, _g: Option<E>) -> E {
        squared_elem(a, b, w)
    }
}

/// `((a - b) * norm) * g * w`, the gradient of the loss with respect to `a`.
#[derive(Clone, Copy)]
struct Gradient<E>(E);

impl<E: Float> Term<E> for Gradient<E> {
    const SUMS_WEIGHT: bool = false;
    #[inline(always)]
    fn vec<W: Src<E>, G: Src<E>>(self, a: E::V, b: E::V, w: E::V, g: E::V) -> E::V {
        grad_vec::<E, W, G>(a, b, w, g, E::V::splat(self.0))
    }
    #[inline(always)]
    fn elem(self, a: E, b: E, w: Option<E>, g: Option<E>) -> E {
        grad_elem(a, b, w, g, self.0)
    }
}

#[inline(always)]
fn grad_vec<E: Float, W: Src<E>, G: Src<E>>(a: E::V, b: E::V, w: E::V, g: E::V, norm: E::V) -> E::V {
    let mut t = a.sub(b).mul(norm);
    if G::PRESENT {
        t = t.mul(g);
    }
    if W::PRESENT {
        t = t.mul(w);
    }
    t
}

#[inline(always)]
fn grad_elem<E: Float>(a: E, b: E, w: Option<E>, g: Option<E>, norm: E) -> E {
    let mut t = a.sub(b).mul(norm);
    if let Some(g) = g {
        t = t.mul(g);
    }
    if let Some(w) = w {
        t = t.mul(w);
    }
    t
}

#[inline(always)]
fn squared_elem<E: Float>(a: E, b: E, w: Option<E>) -> E {
    let d = a.sub(b);
    let sq = d.mul(d);
    match w {
        Some(w) => sq.mul(w),
        None => sq,
    }
}

/// One step over `step_len::<E>()` elements of each operand.
#[inline(always)]
fn step<E: Float, T: Term<E>, A: Src<E>, B: Src<E>, W: Src<E>, G: Src<E>>(
    blocks: &mut Blocks<E::V>,
    term: T,
    a: A,
    b: B,
    w: W,
    g: G,
) {
    let lanes = <E::V as Vector>::LANES;
    for k in 0..ACCUMULATORS {
        let at = k * lanes;
        let va = a.vec(at);
        let vb = b.vec(at);
        let vw = w.vec(at);
        let t = term.vec::<W, G>(va, vb, vw, g.vec(at));
        blocks.loss[k] = blocks.loss[k].add(t);
        if T::SUMS_WEIGHT && W::PRESENT {
            blocks.weight[k] = blocks.weight[k].add(vw);
        }
    }
}

/// How [`run_steps`] walks a run (a const generic: one instantiation per way).
/// At most one block: the steps only accumulate, nothing is flushed (`mse_sum_once`).
const ONE_BLOCK: u8 = 0;
/// One flat loop over the steps, each full block flushed into the state as it fills.
const FLAT: u8 = 1;
/// The loop over blocks of [`blocked`], from empty `blocks`: the same flushes, pipelined.
const BLOCKED: u8 = 2;

/// Every step of one contiguous run, the last one zero-padded, into `blocks`, walked as
/// `WAY` says ([`ONE_BLOCK`], [`FLAT`] or [`BLOCKED`]).
#[inline(always)]
fn run_steps<E: Float, T: Term<E>, W: Src<E>, G: Src<E>, const WAY: u8>(
    blocks: &mut Blocks<E::V>,
    state: &mut State,
    term: T,
    a: &[E],
    b: &[E],
    w: W,
    g: G,
) {
    let n = if a.len() < b.len() { a.len() } else { b.len() };
    let step_n = step_len::<E>();
    let full = n - n % step_n;
    let weighted = T::SUMS_WEIGHT && W::PRESENT;
    if WAY == BLOCKED {
        blocked(blocks, state, weighted, full, &mut ReduceSteps { term, a: &a[..full], b: &b[..full], w, g, i: 0 });
    } else {
        // One flat loop over whole steps: exact-length chunks carry no bounds checks, and a
        // loop that is not unrolled keeps V8's register allocator from spilling (a fully
        // unrolled 128-element block had all 64 loads hoisted and spilled to the stack).
        let mut i = 0;
        for (ca, cb) in a[..full].chunks_exact(step_n).zip(b[..full].chunks_exact(step_n)) {
            step(blocks, term, Slice(ca), Slice(cb), w.part(i, step_n), g.part(i, step_n));
            if WAY == FLAT {
                blocks.stepped(state, weighted);
            } else {
                blocks.steps += 1;
            }
            i += step_n;
        }
    }
    if full < n {
        tail_step(blocks, term, (Slice(&a[..n]), Slice(&b[..n]), w, g), full, n - full);
    }
}

/// The steps of one block, for [`blocked`] (a trait, not a closure, so that each
/// implementation is inlined into the loop for certain). Blocks come in order, from the
/// start of the run.
trait BlockSteps<V: Vector> {
    /// The next `len` (a multiple of the step, at most [`BLOCK`]) elements' steps.
    fn run(&mut self, blocks: &mut Blocks<V>, len: usize);
}

/// The steps of a reduction: `term` over `a`, `b`, `w`, `g` (`i`: where `a` starts in the run).
///
/// The operands are consumed from the front, one block at a time: each block's slices
/// come from `split_at`, so its steps address memory from the block's own base pointers
/// with constant offsets. (Sliced by index, `a[start..end]`, LLVM kept `base + start` as
/// an add per load in the loop, and V8 a counter and a stack check per two steps.) The
/// block's length is at most [`BLOCK`] but not a constant, so LLVM unrolls the steps
/// with an exit after each, which keeps each step's loads in that step, and V8 compiles
/// it without spills (seen in its code). `mse_sum_f32` measured +5-14% (4 Ki to 1 Mi).
struct ReduceSteps<'a, E, T, W, G> {
    term: T,
    a: &'a [E],
    b: &'a [E],
    w: W,
    g: G,
    i: usize,
}

impl<'a, E: Float, T: Term<E>, W: Src<E>, G: Src<E>> BlockSteps<E::V> for ReduceSteps<'a, E, T, W, G> {
    #[inline(always)]
    fn run(&mut self, blocks: &mut Blocks<E::V>, len: usize) {
        let step_n = step_len::<E>();
        // `len` never exceeds what is left (the driver's blocks partition the run); the
        // `min` spares `split_at` its panic path.
        let (a, rest_a) = self.a.split_at(len.min(self.a.len()));
        let (b, rest_b) = self.b.split_at(len.min(self.b.len()));
        self.a = rest_a;
        self.b = rest_b;
        let mut i = self.i;
        for (ca, cb) in a.chunks_exact(step_n).zip(b.chunks_exact(step_n)) {
            step(blocks, self.term, Slice(ca), Slice(cb), self.w.part(i, step_n), self.g.part(i, step_n));
            i += step_n;
        }
        self.i = i;
    }
}

/// The steps of the fused loss and gradient: the loss into `blocks`, the gradient into
/// `grad` (`i`: where the next block starts).
struct FusedSteps<'a, E: Float, W, G> {
    a: &'a [E],
    b: &'a [E],
    w: W,
    g: G,
    norm: E::V,
    grad: &'a mut [E],
    i: usize,
}

impl<'a, E: Float, W: Src<E>, G: Src<E>> BlockSteps<E::V> for FusedSteps<'a, E, W, G> {
    #[inline(always)]
    fn run(&mut self, blocks: &mut Blocks<E::V>, len: usize) {
        // Sliced by index, unlike `ReduceSteps`: consumed from the front like it, this
        // kernel measured 4-5% slower at 64 Ki and 1 Mi (its unrolled steps store too).
        let step_n = step_len::<E>();
        let (start, end) = (self.i, self.i + len);
        let mut i = start;
        let chunks = self.a[start..end].chunks_exact(step_n).zip(self.b[start..end].chunks_exact(step_n));
        for ((ca, cb), cg) in chunks.zip(self.grad[start..end].chunks_exact_mut(step_n)) {
            fused_step(blocks, (Slice(ca), Slice(cb), self.w.part(i, step_n), self.g.part(i, step_n)), self.norm, cg);
            i += step_n;
        }
        self.i = end;
    }
}

/// Runs the whole steps of `0..full` (a multiple of the step) as a loop over blocks:
/// `steps.run(blocks, len)` accumulates the steps of one block (at most [`BLOCK`]
/// elements, not a constant: with a constant trip count LLVM unrolls the block into
/// straight-line code with all its loads first, which V8 spills; 20-35% slower), then the
/// block's flush follows, software-pipelined:
/// a full block's widened sums wait in `pending` and go into `state` after the next
/// block, so the flush's latency chain (widen, then the dependent TwoSum) overlaps the
/// next block's loads instead of stalling them. The state receives the same sums in the
/// same order as from [`Blocks::stepped`]: the same bits. A trailing partial block stays
/// in `blocks` for the caller's final flush. Measured in V8 (same process, raw exports):
/// `mse_sum_f32` 10-38% faster than the flat loop with a flush check per step at 4 Ki,
/// 64 Ki and 1 Mi elements; without the pipelining the nested loop alone gained 5-15%.
#[inline(always)]
fn blocked<V: Vector, S: BlockSteps<V>>(blocks: &mut Blocks<V>, state: &mut State, weighted: bool, full: usize, steps: &mut S) {
    debug_assert!(blocks.steps == 0);
    let step_n = step_len::<V::Elem>();
    // The state in a local, written back once: its words stay in registers (one store per
    // block otherwise; ~2% and 500 bytes of wasm).
    let mut sums = *state;
    let mut pending: Option<(F64x2, F64x2)> = None;
    let mut start = 0;
    while start < full {
        let end = if full - start > BLOCK { start + BLOCK } else { full };
        steps.run(blocks, end - start);
        if end - start < BLOCK {
            blocks.steps = (end - start) / step_n;
            break;
        }
        let loss = Blocks::widened(&blocks.loss);
        let weight = if weighted { Blocks::widened(&blocks.weight) } else { loss };
        add_pending(&mut sums, pending, weighted);
        pending = Some((loss, weight));
        *blocks = Blocks::new();
        start = end;
    }
    add_pending(&mut sums, pending, weighted);
    *state = sums;
}

/// A pipelined block's widened loss (and weight) sums into `state`.
#[inline(always)]
fn add_pending(state: &mut State, pending: Option<(F64x2, F64x2)>, weighted: bool) {
    if let Some((loss, weight)) = pending {
        state.loss.add(loss);
        if weighted {
            state.weight.add(weight);
        }
    }
}

/// The zero-padded last step of a run whose `n` elements end `rest < step` after
/// `full` (`a`, `b`, `w`, `g` index the whole run).
#[inline(always)]
fn tail_step<E: Float, T: Term<E>, A: Src<E>, B: Src<E>, W: Src<E>, G: Src<E>>(
    blocks: &mut Blocks<E::V>,
    term: T,
    (a, b, w, g): (A, B, W, G),
    full: usize,
    rest: usize,
) {
    let (a, b) = (pad(a.part(full, rest), rest), pad(b.part(full, rest), rest));
    step(blocks, term, a, b, pad(w.part(full, rest), rest), pad(g.part(full, rest), rest));
    blocks.steps += 1;
}

/// Accumulates `term` over one contiguous run into `state`.
#[inline(always)]
fn reduce_run<E: Float, T: Term<E>, W: Src<E>, G: Src<E>, const WAY: u8>(
    state: &mut State,
    term: T,
    a: &[E],
    b: &[E],
    w: W,
    g: G,
) {
    let mut blocks = Blocks::<E::V>::new();
    run_steps::<E, T, W, G, WAY>(&mut blocks, state, term, a, b, w, g);
    blocks.flush(state, T::SUMS_WEIGHT && W::PRESENT);
}

/// `sum((a - b)^2)` from a zero state, bit for bit `sum_squared` into
/// `State::zero()` followed by `Compensated::value`, with a short path for one block.
///
/// Up to [`BLOCK`] elements the state receives exactly one flush, of the widened
/// block `v`. Into a zero state that TwoSum yields `sum = v` (no lane is `-0`: every
/// accumulator starts at `+0`) and `comp = 0` (or NaN when `v` is not finite, which
/// `value` then ignores), so `value` returns `hi + err` with `err` the exact error of
/// `hi = v0 + v1`: that rounds back to `hi`. The short path returns `v0 + v1` at once,
/// without the two dependent TwoSum chains that dominate a tiny call.
pub fn sum_squared_once<E: Float>(a: &[E], b: &[E]) -> f64 {
    let n = if a.len() < b.len() { a.len() } else { b.len() };
    let mut state = State::zero();
    if n > BLOCK {
        // The shared `sum_squared` (not a copy inlined here: that copy's loop ran 10-15%
        // slower in V8, measured at 4 Ki and 64 Ki).
        sum_squared(&mut state, a, b, None);
        return state.loss.value();
    }
    let mut blocks = Blocks::<E::V>::new();
    run_steps::<E, Squared, Absent, Absent, ONE_BLOCK>(&mut blocks, &mut state, Squared, a, b, Absent, Absent);
    let [v0, v1] = Blocks::widened(&blocks.loss).lanes();
    v0 + v1
}

/// An operand that may be absent at run time; absent reads as ones, like [`Absent`].
/// `PRESENT` is true either way: a product with one changes no bit, and the weight
/// sums an absent weight feeds are never flushed (the caller's `weighted` is false), so
/// one instantiation serves both cases.
#[derive(Clone, Copy)]
struct Maybe<S>(Option<S>);

impl<E: Float, S: Src<E>> Src<E> for Maybe<S> {
    const PRESENT: bool = true;
    #[inline(always)]
    fn part(self, start: usize, len: usize) -> Self {
        Maybe(self.0.map(|s| s.part(start, len)))
    }
    #[inline(always)]
    fn vec(self, at: usize) -> E::V {
        match self.0 {
            Some(s) => s.vec(at),
            None => E::V::splat(E::ONE),
        }
    }
    #[inline(always)]
    fn get(self, at: usize) -> E {
        match self.0 {
            Some(s) => s.get(at),
            None => E::ONE,
        }
    }
}

/// One whole step of vectors, already loaded (see [`pad`]).
#[derive(Clone, Copy)]
struct Padded<V>([V; ACCUMULATORS]);

impl<E: Float> Src<E> for Padded<E::V> {
    const PRESENT: bool = true;
    #[inline(always)]
    fn part(self, _: usize, _: usize) -> Self {
        self
    }
    #[inline(always)]
    fn vec(self, at: usize) -> E::V {
        self.0[at / <E::V as Vector>::LANES]
    }
    #[inline(always)]
    fn get(self, at: usize) -> E {
        let mut lanes = [E::ZERO; 4];
        self.0[at / <E::V as Vector>::LANES].store(&mut lanes);
        lanes[at % <E::V as Vector>::LANES]
    }
}

/// The first `len < step` elements of `src` as one step padded with zeros (padding
/// adds exactly nothing: `(0 - 0)^2 * 0`); an absent operand stays absent (ones).
#[inline(always)]
fn pad<E: Float, S: Src<E>>(src: S, len: usize) -> Maybe<Padded<E::V>> {
    Maybe(if S::PRESENT { Some(Padded(padded_step(src, len))) } else { None })
}

/// Reads lane by lane: no buffer to clear and no `memcpy`, which in wasm are software
/// loops that cost more than a whole 16-element call. Not inlined, so one copy per
/// operand kind serves every kernel.
#[inline(never)]
fn padded_step<E: Float, S: Src<E>>(src: S, len: usize) -> [E::V; ACCUMULATORS] {
    let lanes = <E::V as Vector>::LANES;
    core::array::from_fn(|k| E::V::from_fn(|i| if k * lanes + i < len { src.get(k * lanes + i) } else { E::ZERO }))
}

/// Elements `off + k * stride` of `data`: an operand of a strided run, read in place.
#[derive(Clone, Copy)]
struct Gather<'a, E> {
    data: &'a [E],
    off: usize,
    stride: usize,
}

impl<'a, E: Float> Src<E> for Gather<'a, E> {
    const PRESENT: bool = true;
    #[inline(always)]
    fn part(self, start: usize, _: usize) -> Self {
        Gather { data: self.data, off: self.off + start * self.stride, stride: self.stride }
    }
    #[inline(always)]
    fn vec(self, at: usize) -> E::V {
        E::V::from_fn(|i| self.get(at + i))
    }
    #[inline(always)]
    fn get(self, at: usize) -> E {
        self.data[self.off + at * self.stride]
    }
}

// ---------------------------------------------------------------------------
// Contiguous kernels
// ---------------------------------------------------------------------------

fn min3(a: usize, b: usize, c: usize) -> usize {
    let m = if a < b { a } else { b };
    if m < c {
        m
    } else {
        c
    }
}

/// Adds `sum((a - b)^2 * w)` (and `sum(w)` when weighted) over contiguous
/// operands into `state`. Feeding the data in pieces whose lengths are
/// multiples of [`BLOCK`] gives the same bits as one call.
pub fn sum_squared<E: Float>(state: &mut State, a: &[E], b: &[E], w: Option<&[E]>) {
    with_weight!(w, w => reduce_run::<E, Squared, _, Absent, BLOCKED>(state, Squared, a, b, w, Absent))
}

/// `out[i] = (a[i] - b[i])^2 * w[i]`.
pub fn squared<E: Float>(a: &[E], b: &[E], w: Option<&[E]>, out: &mut [E]) {
    with_weight!(w, w => squared_impl(a, b, w, out))
}

#[inline(always)]
fn squared_impl<E: Float, W: Src<E>>(a: &[E], b: &[E], w: W, out: &mut [E]) {
    let n = min3(a.len(), b.len(), out.len());
    let lanes = <E::V as Vector>::LANES;
    let full = n - n % lanes;
    let one = E::V::splat(E::ONE);
    let mut i = 0;
    // Exact-length chunks: no bounds checks in the loop.
    let chunks = a[..full].chunks_exact(lanes).zip(b[..full].chunks_exact(lanes));
    for ((ca, cb), co) in chunks.zip(out[..full].chunks_exact_mut(lanes)) {
        Squared.vec::<W, Absent>(E::V::load(ca), E::V::load(cb), w.vec(i), one).store(co);
        i += lanes;
    }
    for i in full..n {
        out[i] = squared_elem(a[i], b[i], opt(w, i));
    }
}

/// `out[i] = ((a[i] - b[i]) * norm) * g[i] * w[i]`.
pub fn gradient<E: Float>(a: &[E], b: &[E], w: Option<&[E]>, g: Operand<'_, E>, norm: E, out: &mut [E]) {
    with_weight!(w, w => with_src!(g, g => gradient_impl(a, b, w, g, norm, out)))
}

#[inline(always)]
fn gradient_impl<E: Float, W: Src<E>, G: Src<E>>(a: &[E], b: &[E], w: W, g: G, norm: E, out: &mut [E]) {
    let n = min3(a.len(), b.len(), out.len());
    let lanes = <E::V as Vector>::LANES;
    let full = n - n % lanes;
    let vn = E::V::splat(norm);
    let mut i = 0;
    let chunks = a[..full].chunks_exact(lanes).zip(b[..full].chunks_exact(lanes));
    for ((ca, cb), co) in chunks.zip(out[..full].chunks_exact_mut(lanes)) {
        grad_vec::<E, W, G>(E::V::load(ca), E::V::load(cb), w.vec(i), g.vec(i), vn).store(co);
        i += lanes;
    }
    for i in full..n {
        out[i] = grad_elem(a[i], b[i], opt(w, i), opt(g, i), norm);
    }
}

#[inline(always)]
fn opt<E: Float, S: Src<E>>(s: S, i: usize) -> Option<E> {
    if S::PRESENT {
        Some(s.get(i))
    } else {
        None
    }
}

/// One pass that writes the gradient `((a - b) * norm) * g * w` into `grad` and
/// either writes the elementwise loss into `loss_out` or accumulates it into
/// `state` exactly as [`sum_squared`] does (same steps, same flushes, same bits).
pub fn fused<E: Float>(
    state: &mut State,
    a: &[E],
    b: &[E],
    w: Option<&[E]>,
    g: Operand<'_, E>,
    norm: E,
    grad: &mut [E],
    loss_out: Option<&mut [E]>,
) {
    match loss_out {
        Some(out) => {
            squared(a, b, w, out);
            gradient(a, b, w, g, norm, grad);
        }
        None => with_weight!(w, w => with_src!(g, g => fused_impl(state, a, b, w, g, norm, grad))),
    }
}

#[inline(always)]
fn fused_step<E: Float, A: Src<E>, B: Src<E>, W: Src<E>, G: Src<E>>(
    blocks: &mut Blocks<E::V>,
    (a, b, w, g): (A, B, W, G),
    norm: E::V,
    grad: &mut [E],
) {
    let lanes = <E::V as Vector>::LANES;
    for k in 0..ACCUMULATORS {
        let at = k * lanes;
        let va = a.vec(at);
        let vb = b.vec(at);
        let vw = w.vec(at);
        let loss = Squared.vec::<W, G>(va, vb, vw, vw);
        blocks.loss[k] = blocks.loss[k].add(loss);
        if W::PRESENT {
            blocks.weight[k] = blocks.weight[k].add(vw);
        }
        // `grad` is one whole step, or the tail's `rest` elements (stores stop there).
        let to = if at < grad.len() { at } else { grad.len() };
        grad_vec::<E, W, G>(va, vb, vw, g.vec(at), norm).store(&mut grad[to..]);
    }
}

#[inline(always)]
fn fused_impl<E: Float, W: Src<E>, G: Src<E>>(
    state: &mut State,
    a: &[E],
    b: &[E],
    w: W,
    g: G,
    norm: E,
    grad: &mut [E],
) {
    let n = min3(a.len(), b.len(), grad.len());
    let step_n = step_len::<E>();
    let vn = E::V::splat(norm);
    let mut blocks = Blocks::<E::V>::new();
    // The steps and flushes of `reduce_run`'s blocked loop (the same bits as `sum_squared`).
    let full = n - n % step_n;
    blocked(&mut blocks, state, W::PRESENT, full, &mut FusedSteps { a, b, w, g, norm: vn, grad: &mut *grad, i: 0 });
    if full < n {
        let rest = n - full;
        let (a, b) = (pad(Slice(&a[full..n]), rest), pad(Slice(&b[full..n]), rest));
        let tail = (a, b, pad(w.part(full, rest), rest), pad(g.part(full, rest), rest));
        fused_step(&mut blocks, tail, vn, &mut grad[full..n]);
        blocks.steps += 1;
    }
    blocks.flush(state, W::PRESENT);
}

// ---------------------------------------------------------------------------
// Strided kernels (broadcasting, axis reductions)
// ---------------------------------------------------------------------------

/// Highest rank a plan may have.
pub const MAX_RANK: usize = 8;
/// Operand slots of a plan.
pub const A: usize = 0;
pub const B: usize = 1;
pub const W: usize = 2;
pub const G: usize = 3;

/// An iteration over a (broadcast) shape with per-operand element strides.
/// The first `kept` dims index the outputs of reductions; the rest are reduced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    pub rank: usize,
    pub kept: usize,
    pub shape: [usize; MAX_RANK],
    pub strides: [[usize; MAX_RANK]; 4],
}

impl Plan {
    /// Elements an operand spans (`0` for an empty shape); `None` on overflow.
    pub fn extent(&self, operand: usize) -> Option<usize> {
        let mut last = 0usize;
        for d in 0..self.rank {
            if self.shape[d] == 0 {
                return Some(0);
            }
            last = last.checked_add((self.shape[d] - 1).checked_mul(self.strides[operand][d])?)?;
        }
        last.checked_add(1)
    }

    /// Product of `shape[lo..hi]`; `None` on overflow.
    pub fn count(&self, lo: usize, hi: usize) -> Option<usize> {
        let mut n = 1usize;
        for d in lo..hi {
            n = n.checked_mul(self.shape[d])?;
        }
        Some(n)
    }
}

/// Calls `f` with the operand offsets of every index of dims `lo..hi`, row-major,
/// starting from `base`. With `lo == hi` it calls `f(base)` once.
fn for_each_index(plan: &Plan, lo: usize, hi: usize, base: [usize; 4], mut f: impl FnMut([usize; 4])) {
    for d in lo..hi {
        if plan.shape[d] == 0 {
            return;
        }
    }
    let mut idx = [0usize; MAX_RANK];
    let mut off = base;
    loop {
        f(off);
        let mut d = hi;
        loop {
            if d == lo {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for (o, s) in off.iter_mut().zip(plan.strides.iter()) {
                *o += s[d];
            }
            if idx[d] < plan.shape[d] {
                break;
            }
            for (o, s) in off.iter_mut().zip(plan.strides.iter()) {
                *o -= s[d] * plan.shape[d];
            }
            idx[d] = 0;
        }
    }
}

/// The operands of a strided kernel; absent ones are `None`.
#[derive(Clone, Copy)]
pub struct Operands<'a, E> {
    pub a: &'a [E],
    pub b: &'a [E],
    pub w: Option<&'a [E]>,
    pub g: Option<&'a [E]>,
}

/// A run along the innermost iterated dim: its start offsets, strides and length.
#[derive(Clone, Copy)]
struct Run {
    off: [usize; 4],
    stride: [usize; 4],
    len: usize,
}

impl Run {
    fn contiguous(&self, ops: &Operands<'_, impl Float>) -> bool {
        self.stride[A] == 1
            && self.stride[B] == 1
            && (ops.w.is_none() || self.stride[W] == 1)
            && (ops.g.is_none() || self.stride[G] <= 1)
    }
}

fn run_slice<'a, E>(s: &'a [E], run: &Run, o: usize) -> &'a [E] {
    &s[run.off[o]..run.off[o] + run.len]
}

/// `g` over a contiguous run: a slice, or one value when its stride is 0.
fn run_operand<'a, E: Float>(s: Option<&'a [E]>, run: &Run, o: usize) -> Operand<'a, E> {
    match s {
        None => Operand::Absent,
        Some(s) if run.stride[o] == 0 => Operand::Splat(s[run.off[o]]),
        Some(s) => Operand::Slice(run_slice(s, run, o)),
    }
}

/// Accumulates `term` over one run into `state`: the contiguous path when every
/// operand is contiguous, else read in place element by element (same steps, same bits).
fn reduce_strided_run<E: Float, T: Term<E>>(state: &mut State, term: T, ops: &Operands<'_, E>, run: &Run) {
    if run.len == 0 {
        return;
    }
    if run.contiguous(ops) {
        let (a, b) = (run_slice(ops.a, run, A), run_slice(ops.b, run, B));
        let w = ops.w.map(|w| run_slice(w, run, W));
        match run_operand(ops.g, run, G) {
            // The loss never has a grad-output operand: one instantiation fewer.
            Operand::Absent => with_weight!(w, w => reduce_run::<E, T, _, Absent, FLAT>(state, term, a, b, w, Absent)),
            g => with_weight!(w, w => with_src!(g, g => reduce_run::<E, T, _, _, FLAT>(state, term, a, b, w, g))),
        }
        return;
    }
    let gather = |data, slot: usize| Gather { data, off: run.off[slot], stride: run.stride[slot] };
    let (w, g) = (Maybe(ops.w.map(|w| gather(w, W))), Maybe(ops.g.map(|g| gather(g, G))));
    gather_run(state, term, (gather(ops.a, A), gather(ops.b, B), w, g), run.len, T::SUMS_WEIGHT && ops.w.is_some());
}

/// `reduce_run` over operands read element by element in place (same steps, same bits).
fn gather_run<'a, E: Float, T: Term<E>>(
    state: &mut State,
    term: T,
    (a, b, w, g): (Gather<'a, E>, Gather<'a, E>, Maybe<Gather<'a, E>>, Maybe<Gather<'a, E>>),
    n: usize,
    weighted: bool,
) {
    let step_n = step_len::<E>();
    let full = n - n % step_n;
    let mut blocks = Blocks::<E::V>::new();
    let mut i = 0;
    while i < full {
        step(&mut blocks, term, a.part(i, step_n), b.part(i, step_n), w.part(i, step_n), g.part(i, step_n));
        blocks.stepped(state, weighted);
        i += step_n;
    }
    if full < n {
        tail_step(&mut blocks, term, (a, b, w, g), full, n - full);
    }
    blocks.flush(state, weighted);
}

/// Calls `f(run)` for every innermost run of dims `lo..rank` (a one-element run
/// when `lo == rank`), starting from `base`.
fn for_each_run(plan: &Plan, lo: usize, base: [usize; 4], mut f: impl FnMut(&Run)) {
    if lo >= plan.rank {
        f(&Run { off: base, stride: [0; 4], len: 1 });
        return;
    }
    let last = plan.rank - 1;
    let stride = [plan.strides[A][last], plan.strides[B][last], plan.strides[W][last], plan.strides[G][last]];
    let len = plan.shape[last];
    for_each_index(plan, lo, last, base, |off| f(&Run { off, stride, len }));
}

/// What [`reduce_strided`] writes for each kept index `j`, each part when given: the
/// loss sum `loss[j]`, the weight sum `weight[j]`, and the `result[j]`, the loss sum over
/// `divisor`, or over its weight sum when `divisor` is 0 (a weighted mean: no divisor is
/// ever 0), computed in `f64` and rounded once to `E` (for a sum, `divisor` 1 divides
/// exactly, so the sum is only rounded).
pub struct ReduceOut<'a, E> {
    pub loss: Option<&'a mut [f64]>,
    pub weight: Option<&'a mut [f64]>,
    pub result: Option<&'a mut [E]>,
    pub divisor: f64,
}

impl<'a, E: Float> ReduceOut<'a, E> {
    /// Whether the result is a weighted mean (`divisor` 0): the weight sums are needed.
    #[inline(always)]
    fn by_weight(&self) -> bool {
        self.divisor == 0.0
    }

    /// Writes output `j` from its loss sum `l` and weight sum `w`.
    #[inline(always)]
    fn put(&mut self, j: usize, l: f64, w: f64) {
        if let Some(loss) = self.loss.as_deref_mut() {
            loss[j] = l;
        }
        if let Some(weight) = self.weight.as_deref_mut() {
            weight[j] = w;
        }
        if let Some(result) = self.result.as_deref_mut() {
            result[j] = E::from_f64(l / if self.divisor == 0.0 { w } else { self.divisor });
        }
    }

    /// Writes a tile's outputs from its TwoSum pairs, one tight loop per part (the same
    /// operations as [`ReduceOut::put`]; a `put` per output measured 30-50% slower for a
    /// million outputs of three terms).
    #[inline(always)]
    fn put_tile(&mut self, at: usize, t: &TilePairs<'_>) {
        let n = t.sums.len();
        if let Some(loss) = self.loss.as_deref_mut() {
            for ((o, s), c) in loss[at..at + n].iter_mut().zip(t.sums).zip(t.comp) {
                *o = fold(*s, *c);
            }
        }
        if let Some(weight) = self.weight.as_deref_mut() {
            let weight = &mut weight[at..at + n];
            match t.weights {
                Some((ws, wc)) => {
                    for ((o, s), c) in weight.iter_mut().zip(ws).zip(wc) {
                        *o = fold(*s, *c);
                    }
                }
                // No weight operand: its sums are zero, as in the kept-first order.
                None => weight.fill(0.0),
            }
        }
        let divisor = self.divisor;
        if let Some(result) = self.result.as_deref_mut() {
            let result = &mut result[at..at + n];
            match t.weights {
                Some((ws, wc)) if divisor == 0.0 => {
                    for (i, r) in result.iter_mut().enumerate() {
                        *r = E::from_f64(fold(t.sums[i], t.comp[i]) / fold(ws[i], wc[i]));
                    }
                }
                // (with no weight operand a weighted mean divides by its zero weight sums, as
                // `put` does: that is `divisor` 0 too)
                _ => {
                    for ((r, s), c) in result.iter_mut().zip(t.sums).zip(t.comp) {
                        *r = E::from_f64(fold(*s, *c) / divisor);
                    }
                }
            }
        }
    }
}

/// For every kept index `j`: the loss sum `sum((a - b)^2 * w)` and the weight sum
/// `sum(w)` over the reduced dims, and from them the result, into `out` ([`ReduceOut`]).
///
/// When the reduced dims' innermost run is contiguous, each output gets a fresh
/// blocked accumulator over its runs. Otherwise (an axis reduction over leading axes)
/// that order would gather every element of a short strided run, so the reduced dims
/// are walked outermost instead ([`reduce_outer`]: each output sums up to a lane's share
/// of a block in the dtype, then adds it to its TwoSum pair), unless there are few
/// outputs with many elements each ([`walks_reduced_first`]).
pub fn reduce_strided<E: Float>(plan: &Plan, ops: &Operands<'_, E>, out: &mut ReduceOut<'_, E>) {
    reduce_strided_in(plan, ops, out, walks_reduced_first(plan, ops));
}

/// One tile's TwoSum pairs from [`reduce_outer`], for outputs `at..at + sums.len()`.
struct TilePairs<'a> {
    sums: &'a [f64],
    comp: &'a [f64],
    weights: Option<(&'a [f64], &'a [f64])>,
}

/// A folded TwoSum pair: `s + c`, or `s` itself when it is not finite.
#[inline(always)]
fn fold(s: f64, c: f64) -> f64 {
    if s.is_finite() {
        s + c
    } else {
        s
    }
}

/// [`reduce_strided`] in the order given: reduced dims outermost (`walk`) or kept first.
fn reduce_strided_in<E: Float>(plan: &Plan, ops: &Operands<'_, E>, out: &mut ReduceOut<'_, E>, walk: bool) {
    if walk {
        // Each tile's outputs are written while its pairs are in cache: no pass over
        // float64 sums afterwards.
        let weighted = out.weight.is_some() || out.by_weight();
        reduce_outer(&reduced_first(plan), ops, Squared, weighted, |at, t| out.put_tile(at, &t));
        return;
    }
    let mut j = 0;
    if let Some(len) = short_rows(plan, ops) {
        // Per-sample losses of a batch with few features (axis -1 of `[N, 10]`): each output
        // is one contiguous row of at most a block, whose sum the state path computed
        // through a padded step, a flush, a TwoSum and `value` at ~55 ns a row (1.5-4x a JS
        // loop). One block's sum is `sum_squared_once` (the same bits), and up to
        // SHORT_ROW elements that sum written out in scalar operations.
        for_each_index(plan, 0, plan.kept, [0; 4], |base| {
            let (a, b) = (&ops.a[base[A]..base[A] + len], &ops.b[base[B]..base[B] + len]);
            out.put(j, if len <= SHORT_ROW { short_row_sum(a, b) } else { sum_squared_once(a, b) }, 0.0);
            j += 1;
        });
        return;
    }
    for_each_index(plan, 0, plan.kept, [0; 4], |base| {
        let mut state = State::zero();
        for_each_run(plan, plan.kept, base, |run| reduce_strided_run(&mut state, Squared, ops, run));
        out.put(j, state.loss.value(), state.weight.value());
        j += 1;
    });
}

/// The most elements [`short_row_sum`] takes: one `f32` step, two `f64` steps.
const SHORT_ROW: usize = 16;

/// The row length when every output of a kept-first reduction is one contiguous row of at
/// most [`BLOCK`] elements of `a` and `b` (one reduced dim, the innermost, stride 1), with
/// no weight; `None` otherwise.
fn short_rows<E: Float>(plan: &Plan, ops: &Operands<'_, E>) -> Option<usize> {
    let last = plan.rank.checked_sub(1)?;
    let one_reduced = plan.kept == last;
    let len = plan.shape[last];
    let unit = plan.strides[A][last] == 1 && plan.strides[B][last] == 1;
    (one_reduced && unit && ops.w.is_none() && len <= BLOCK).then_some(len)
}

/// `sum_squared_once(a, b)` for at most [`SHORT_ROW`] elements, written out in scalar
/// operations: the same terms, added in the same order (bit for bit, tested), without
/// building padded vectors. The terms `t` (zeros past the row) fill one `f32` step (four
/// accumulators of four lanes: lane `j` of accumulator `m` holds `t[4m + j]`) or two
/// `f64` steps (lane `j` of accumulator `m` holds `t[2m + j] + t[8 + 2m + j]`); the block
/// adds the accumulators as `(acc0 + acc1) + (acc2 + acc3)` in the dtype, `widen` adds
/// `f32` lanes 0 + 2 and 1 + 3 in `f64`, and the two `f64` lanes are added. (Adding a
/// zero term changes nothing: no term is `-0`.)
#[inline(never)]
fn short_row_sum<E: Float>(a: &[E], b: &[E]) -> f64 {
    if <E::V as Vector>::LANES == 4 && a.len() <= 4 && b.len() >= a.len() {
        // At most one term per lane: every accumulator addition adds zeros (which changes
        // nothing: no term is `-0`), so only `widen` and the lane sum remain. The row
        // length is the same for every row: the branch is predicted. `[1024, 3]` 26 -> 15 us.
        let t = |k: usize| if k < a.len() { squared_elem(a[k], b[k], None).to_f64() } else { 0.0 };
        return (t(0) + t(2)) + (t(1) + t(3));
    }
    let mut t = [E::ZERO; SHORT_ROW];
    for ((t, &x), &y) in t.iter_mut().zip(a).zip(b) {
        *t = squared_elem(x, y, None);
    }
    if <E::V as Vector>::LANES == 4 {
        let lane = |j: usize| t[j].add(t[4 + j]).add(t[8 + j].add(t[12 + j])).to_f64();
        (lane(0) + lane(2)) + (lane(1) + lane(3))
    } else {
        let acc = |m: usize, j: usize| t[2 * m + j].add(t[8 + 2 * m + j]);
        let lane = |j: usize| acc(0, j).add(acc(1, j)).add(acc(2, j).add(acc(3, j))).to_f64();
        lane(0) + lane(1)
    }
}

/// For every kept index `j`: `out[j] = sum(((a - b) * norm) * g * w)` over the
/// reduced dims, rounded once to `E`, in the order [`reduce_strided`] chooses.
pub fn gradient_reduce_strided<E: Float>(plan: &Plan, ops: &Operands<'_, E>, norm: E, out: &mut [E]) {
    gradient_reduce_strided_in(plan, ops, norm, out, walks_reduced_first(plan, ops));
}

/// [`gradient_reduce_strided`] in the order given, as [`reduce_strided_in`].
fn gradient_reduce_strided_in<E: Float>(plan: &Plan, ops: &Operands<'_, E>, norm: E, out: &mut [E], walk: bool) {
    if walk {
        reduce_outer(&reduced_first(plan), ops, Gradient(norm), false, |at, t| {
            for ((o, s), c) in out[at..at + t.sums.len()].iter_mut().zip(t.sums).zip(t.comp) {
                *o = E::from_f64(fold(*s, *c));
            }
        });
        return;
    }
    let mut j = 0;
    for_each_index(plan, 0, plan.kept, [0; 4], |base| {
        let mut state = State::zero();
        for_each_run(plan, plan.kept, base, |run| reduce_strided_run(&mut state, Gradient(norm), ops, run));
        out[j] = E::from_f64(state.loss.value());
        j += 1;
    });
}

/// When the kept-first order (each output's elements gathered into the blocked
/// accumulation) beats the reduced-first walk although it gathers: few outputs, each with
/// many elements, in rows too narrow for the walk's vectors. The gather's cost is a fixed
/// part per output (a final padded step and flush) plus one pass over its column; the
/// walk's is a part per row (~15 ns) plus the row's vectors, and elements past the last
/// whole vector go through its scalar path. Measured (zero-copy, axis 0, gather / walk):
/// float32 `[65536, 3]` 0.44 / 1.47 ms, `[65536, 4]` 0.96 / 1.12 ms, `[65536, 7]` 1.67 /
/// 2.57 ms, `[65536, 8]` 1.70 / 1.05 ms, `[65536, 16]` 3.66 / 1.15 ms, `[1024, 6]` 21 /
/// 30 us, `[1024, 8]` 22 / 17 us, `[1024, 12]` 47 / 23 us, `[256, 8]` 11 / 11 us, `[64, 8]`
/// 5.1 / 7.2 us, `[200, 16]` 9.9 / 6.4 us; float64 `[256, 8]` 6.4 / 9.3 us, `[1024, 8]`
/// 33 / 28 us, `[1024, 16]` 64 / 34 us. With many outputs the column passes miss the
/// cache (`[64, 65536]`: 56 ms gathered, 4 ms walked).
const GATHER_MIN_REDUCED: usize = 64;
const GATHER_MAX_OUTPUTS: usize = 16;
/// Rows at least this wide are walked even with few outputs...
const WALK_MIN_WIDTH: usize = 16;
/// ...and rows of half that width when there are at least this many of them.
const WALK_MIN_ROWS_HALF_WIDTH: usize = 512;

/// Whether to walk the reduced dims outermost ([`reduce_outer`]): the kept-first order
/// would gather (something is reduced, something is kept, and the innermost reduced run
/// is not contiguous for every operand), unless there are few outputs with many elements
/// in narrow rows. (A count that overflows `usize`, possible with broadcast dims, counts
/// as many.)
fn walks_reduced_first<E: Float>(plan: &Plan, ops: &Operands<'_, E>) -> bool {
    if plan.kept == 0 || plan.kept >= plan.rank {
        return false;
    }
    let few_outputs = plan.count(0, plan.kept).map_or(false, |n| n <= GATHER_MAX_OUTPUTS);
    let reduced = plan.count(plan.kept, plan.rank);
    let many_reduced = reduced.map_or(true, |n| n >= GATHER_MIN_REDUCED);
    // The walk's rows run along the innermost kept dim.
    let width = plan.shape[plan.kept - 1];
    let wide = width >= WALK_MIN_WIDTH || (width >= WALK_MIN_WIDTH / 2 && reduced.map_or(true, |n| n >= WALK_MIN_ROWS_HALF_WIDTH));
    if few_outputs && many_reduced && !wide {
        return false;
    }
    let last = plan.rank - 1;
    let run = Run {
        off: [0; 4],
        stride: [plan.strides[A][last], plan.strides[B][last], plan.strides[W][last], plan.strides[G][last]],
        len: plan.shape[last],
    };
    !run.contiguous(ops)
}

/// The plan with its reduced dims moved in front of its kept dims; `kept` then
/// counts the leading reduced dims.
fn reduced_first(plan: &Plan) -> Plan {
    let mut p = *plan;
    let order = (plan.kept..plan.rank).chain(0..plan.kept);
    for (d, src) in order.enumerate() {
        p.shape[d] = plan.shape[src];
        for o in 0..4 {
            p.strides[o][d] = plan.strides[o][src];
        }
    }
    p.kept = plan.rank - plan.kept;
    p
}

/// TwoSum of `v` into the pair `(s, c)`.
#[inline(always)]
fn two_sum(s: &mut f64, c: &mut f64, v: f64) {
    let t = *s + v;
    let bp = t - *s;
    *c += (*s - (t - bp)) + (v - bp);
    *s = t;
}

/// Walks a reduced-first plan (`plan.kept` leading reduced dims, then the kept dims),
/// sums `term` of each output's elements in its dtype a few at a time and adds each such
/// sum to the output's TwoSum pair; hands each tile's pairs to `emit` (which folds them,
/// [`fold`]). Every output's operations are elementwise and in the same order in the
/// vector and the scalar code, so both builds agree bit for bit.
fn reduce_outer<E: Float, T: Term<E>>(plan: &Plan, ops: &Operands<'_, E>, term: T, weighted: bool, mut emit: impl FnMut(usize, TilePairs<'_>)) {
    // Kept dims are walked outside the reduced ones, in tiles of the innermost kept dim,
    // so each tile's sums stay in cache while every reduced index adds to them. Each
    // output still receives its terms in row-major order of the reduced dims: as in the
    // contiguous kernels, up to `rows_per_flush` of them (8 in f32, 16 in f64: the terms
    // a lane accumulator takes per block there) are summed in the dtype, then the sum goes
    // into the output's TwoSum pair (a TwoSum per term cost ~7 ns per element). The pairs
    // live for their tile only, on the stack: the tile ends by handing them to `emit` (no
    // per-output scratch in memory, no pass over all outputs afterwards).
    // The scalar build has no bulk memory: zeroing the tile's arrays is a software loop
    // there (20 KiB at 512: 2-3 us per call), so it takes half the tile (against 128:
    // small reductions the same, [1024, 1024] 20% faster). Tiles split the outputs only:
    // each output's terms and their order are the same (the same bits).
    const TILE: usize = if crate::lanes::SIMD { 512 } else { 256 };
    let rows_per_flush = BLOCK / step_len::<E>();
    let lead = plan.kept;
    let last = plan.rank - 1;
    let len = plan.shape[last];
    let stride = [plan.strides[A][last], plan.strides[B][last], plan.strides[W][last], plan.strides[G][last]];
    // Operands contiguous along the innermost kept dim (a leading-axis reduction of
    // row-major data): whole vectors of terms, one output per lane.
    let unit = stride[A] == 1
        && stride[B] == 1
        && (ops.w.is_none() || stride[W] == 1)
        && (ops.g.is_none() || stride[G] == 1);
    // Weight sums only for a weight that is there (an absent one reads as ones).
    let weighted = weighted && ops.w.is_some();
    let mut acc = [E::ZERO; TILE];
    let mut wacc = [E::ZERO; TILE];
    let (mut sums, mut comp) = ([0.0; TILE], [0.0; TILE]);
    let (mut wsums, mut wcomp) = ([0.0; TILE], [0.0; TILE]);
    let mut j0 = 0;
    for_each_index(plan, lead, last, [0; 4], |kept| {
        let mut t0 = 0;
        while t0 < len {
            let t1 = if len - t0 < TILE { len } else { t0 + TILE };
            let width = t1 - t0;
            let mut rows = 0;
            // The tile's first flush starts its pairs from zero instead of reading them.
            let mut first = true;
            let mut flush = |acc: &mut [E], wacc: &mut [E], first: bool| {
                flush_outer(&mut acc[..width], &mut sums[..width], &mut comp[..width], first);
                if weighted {
                    flush_outer(&mut wacc[..width], &mut wsums[..width], &mut wcomp[..width], first);
                }
            };
            for_each_index(plan, 0, lead, kept, |off| {
                let mut from = t0;
                if unit {
                    from = outer_vectors(term, ops, off, (t0, t1), &mut acc[..width], weighted.then(|| &mut wacc[..width]));
                }
                for k in from..t1 {
                    let a = ops.a[off[A] + k * stride[A]];
                    let b = ops.b[off[B] + k * stride[B]];
                    let w = ops.w.map(|w| w[off[W] + k * stride[W]]);
                    let g = ops.g.map(|g| g[off[G] + k * stride[G]]);
                    acc[k - t0] = acc[k - t0].add(term.elem(a, b, w, g));
                    if let (true, Some(w)) = (weighted, w) {
                        wacc[k - t0] = wacc[k - t0].add(w);
                    }
                }
                rows += 1;
                if rows == rows_per_flush {
                    flush(&mut acc, &mut wacc, first);
                    first = false;
                    rows = 0;
                }
            });
            // `first` still set: no reduced index at all (an empty reduced dim); the
            // zero-padded flush writes the zero sums.
            if rows > 0 || first {
                flush(&mut acc, &mut wacc, first);
            }
            let weights = if weighted { Some((&wsums[..width], &wcomp[..width])) } else { None };
            emit(j0 + t0, TilePairs { sums: &sums[..width], comp: &comp[..width], weights });
            t0 = t1;
        }
        j0 += len;
    });
}

/// The whole vectors of elements `t0..t1` of one reduced index (`off`) in
/// `reduce_outer`, every operand contiguous there: each lane's term is added to its own
/// output's accumulator (`acc[k - t0]`, and the weight to `wacc`) with the scalar loop's
/// operation, so the bits are the same. Returns where the scalar tail starts.
#[inline(always)]
fn outer_vectors<E: Float, T: Term<E>>(
    term: T,
    ops: &Operands<'_, E>,
    off: [usize; 4],
    (t0, t1): (usize, usize),
    acc: &mut [E],
    wacc: Option<&mut [E]>,
) -> usize {
    let lanes = <E::V as Vector>::LANES;
    let end = (t1 - t0) - (t1 - t0) % lanes;
    let row = |o: usize| o + t0..o + t0 + end;
    let (a, b) = (&ops.a[row(off[A])], &ops.b[row(off[B])]);
    let acc = &mut acc[..end];
    let wacc = wacc.map(|x| &mut x[..end]);
    // Dispatched once per row: each kind of weight and gradOutput gets its own loop (an
    // absent operand costs nothing, where a run-time optional one cost a branch per vector).
    match (ops.w, ops.g) {
        (None, None) => outer_row(term, a, b, Absent, Absent, acc, wacc),
        (Some(w), None) => outer_row(term, a, b, Slice(&w[row(off[W])]), Absent, acc, wacc),
        (None, Some(g)) => outer_row(term, a, b, Absent, Slice(&g[row(off[G])]), acc, wacc),
        (Some(w), Some(g)) => outer_row(term, a, b, Slice(&w[row(off[W])]), Slice(&g[row(off[G])]), acc, wacc),
    }
    t0 + end
}

/// One row of [`outer_vectors`]: `a`, `b` (and `w`, `g` when present) hold the row's
/// whole vectors, `acc` (and `wacc`) their outputs' accumulators. Whole chunks, so the
/// loads and stores need no length checks.
#[inline(always)]
fn outer_row<E: Float, T: Term<E>, W: Src<E>, G: Src<E>>(term: T, a: &[E], b: &[E], w: W, g: G, acc: &mut [E], wacc: Option<&mut [E]>) {
    let lanes = <E::V as Vector>::LANES;
    let rows = a.chunks_exact(lanes).zip(b.chunks_exact(lanes)).zip(acc.chunks_exact_mut(lanes));
    for (i, ((ca, cb), cacc)) in rows.enumerate() {
        let k = i * lanes;
        let t = term.vec::<W, G>(E::V::load(ca), E::V::load(cb), w.vec(k), g.vec(k));
        E::V::load(cacc).add(t).store(cacc);
    }
    if let Some(wacc) = wacc {
        for (i, cw) in wacc.chunks_exact_mut(lanes).enumerate() {
            E::V::load(cw).add(w.vec(i * lanes)).store(cw);
        }
    }
}

/// Adds each accumulator into its output's TwoSum pair and clears it.
#[inline(always)]
fn flush_outer<E: Float>(acc: &mut [E], sums: &mut [f64], comp: &mut [f64], first: bool) {
    for ((x, s), c) in acc.iter_mut().zip(sums.iter_mut()).zip(comp.iter_mut()) {
        // The first flush adds to a zero pair (the same operations as on zeroed memory).
        let (mut s0, mut c0) = if first { (0.0, 0.0) } else { (*s, *c) };
        two_sum(&mut s0, &mut c0, x.to_f64());
        *s = s0;
        *c = c0;
        *x = E::ZERO;
    }
}

/// Elementwise over every dim: `out = (a - b)^2 * w`, row-major.
pub fn squared_strided<E: Float>(plan: &Plan, ops: &Operands<'_, E>, out: &mut [E]) {
    let mut o = 0;
    for_each_run(plan, 0, [0; 4], |run| {
        let dst = &mut out[o..o + run.len];
        if run.contiguous(ops) {
            squared(run_slice(ops.a, run, A), run_slice(ops.b, run, B), ops.w.map(|w| run_slice(w, run, W)), dst);
        } else {
            for (k, d) in dst.iter_mut().enumerate() {
                let w = ops.w.map(|w| w[run.off[W] + k * run.stride[W]]);
                *d = squared_elem(ops.a[run.off[A] + k * run.stride[A]], ops.b[run.off[B] + k * run.stride[B]], w);
            }
        }
        o += run.len;
    });
}

/// Elementwise over every dim: `out = ((a - b) * norm) * g * w`, row-major.
pub fn gradient_strided<E: Float>(plan: &Plan, ops: &Operands<'_, E>, norm: E, out: &mut [E]) {
    let mut o = 0;
    for_each_run(plan, 0, [0; 4], |run| {
        let dst = &mut out[o..o + run.len];
        if run.contiguous(ops) {
            let (a, b) = (run_slice(ops.a, run, A), run_slice(ops.b, run, B));
            gradient(a, b, ops.w.map(|w| run_slice(w, run, W)), run_operand(ops.g, run, G), norm, dst);
        } else {
            for (k, d) in dst.iter_mut().enumerate() {
                let w = ops.w.map(|w| w[run.off[W] + k * run.stride[W]]);
                let g = ops.g.map(|g| g[run.off[G] + k * run.stride[G]]);
                let (a, b) = (ops.a[run.off[A] + k * run.stride[A]], ops.b[run.off[B] + k * run.stride[B]]);
                *d = grad_elem(a, b, w, g, norm);
            }
        }
        o += run.len;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss (and weight) sums of `reduce_strided` in the order given (`None`: its own choice).
    fn sums<E: Float>(p: &Plan, ops: &Operands<'_, E>, loss: &mut [f64], weight: Option<&mut [f64]>, walk: Option<bool>) {
        let mut out = ReduceOut::<E> { loss: Some(loss), weight, result: None, divisor: 1.0 };
        match walk {
            Some(walk) => reduce_strided_in(p, ops, &mut out, walk),
            None => reduce_strided(p, ops, &mut out),
        }
    }

    /// A small deterministic generator (xorshift64*), values in [-1, 1).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
        fn f32s(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|_| self.next() as f32).collect()
        }
        fn f64s(&mut self, n: usize) -> Vec<f64> {
            (0..n).map(|_| self.next()).collect()
        }
    }

    /// Exact-enough reference: every f32 difference and square is exact in f64
    /// for data in [-1, 1]; the sum uses Neumaier compensation.
    fn reference(a: &[f64], b: &[f64], w: Option<&[f64]>) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for i in 0..a.len() {
            let d = a[i] - b[i];
            let t = d * d * w.map_or(1.0, |w| w[i]);
            let u = s + t;
            c += if s.abs() >= t.abs() { (s - u) + t } else { (t - u) + s };
            s = u;
        }
        s + c
    }

    fn sum32(a: &[f32], b: &[f32], w: Option<&[f32]>) -> (f64, f64) {
        let mut st = State::zero();
        sum_squared(&mut st, a, b, w);
        (st.loss.value(), st.weight.value())
    }

    fn sum64(a: &[f64], b: &[f64], w: Option<&[f64]>) -> (f64, f64) {
        let mut st = State::zero();
        sum_squared(&mut st, a, b, w);
        (st.loss.value(), st.weight.value())
    }

    fn widen(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    fn plan(shape: &[usize], strides: [&[usize]; 4], kept: usize) -> Plan {
        let mut p = Plan { rank: shape.len(), kept, shape: [1; MAX_RANK], strides: [[0; MAX_RANK]; 4] };
        for (d, &s) in shape.iter().enumerate() {
            p.shape[d] = s;
            for o in 0..4 {
                p.strides[o][d] = strides[o].get(d).copied().unwrap_or(0);
            }
        }
        p
    }

    #[test]
    fn seed_example_mean() {
        let a = [1.0f64, 2.0, 3.0, 4.0];
        let b = [1.5f64, 2.1, 2.9, 4.2];
        let (s, _) = sum64(&a, &b, None);
        assert!((s / 4.0 - 0.0775).abs() < 1e-15, "{}", s / 4.0);
    }

    #[test]
    fn results_divide_in_f64_and_round_once() {
        // `ReduceOut::put`, the last step of every reduce_strided output.
        fn finish<E: Float>(loss: &[f64], weight: Option<&[f64]>, divisor: f64, result: &mut [E]) {
            let mut sums = vec![0.0; loss.len()];
            let divisor = if weight.is_some() { 0.0 } else { divisor };
            let mut out = ReduceOut { loss: None, weight: weight.map(|_| &mut sums[..]), result: Some(result), divisor };
            for (j, l) in loss.iter().enumerate() {
                out.put(j, *l, weight.map_or(0.0, |w| w[j]));
            }
        }
        let loss = [37.0, 1.0, -0.0, f64::INFINITY, 0.0, 0.1];
        let mut out = [0.0f32; 6];
        finish(&loss, None, 9.0, &mut out);
        let want: Vec<f32> = loss.iter().map(|l| (l / 9.0) as f32).collect();
        assert_eq!(out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        // A sum (divisor 1) is the sums rounded, -0 kept.
        finish(&loss, None, 1.0, &mut out);
        assert_eq!(out[2].to_bits(), (-0.0f32).to_bits());
        assert_eq!(out[5], 0.1f64 as f32);
        // Weighted mean: each sum over its own weight sum (0 / 0 is NaN, as in PyTorch).
        let weight = [2.0, 4.0, 1.0, 1.0, 0.0, 3.0];
        let mut out64 = [0.0f64; 6];
        finish(&loss, Some(&weight), 7.0, &mut out64);
        assert_eq!(&out64[..4], &[18.5, 0.25, -0.0, f64::INFINITY]);
        assert!(out64[4].is_nan());
        assert_eq!(out64[5], 0.1 / 3.0);
    }

    #[test]
    fn seed_example_none_and_sum() {
        let p = [1.0f32, 2.0, 3.0, 2.0, 1.0, 3.0, 3.0, 1.0, 2.0];
        let t = [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let mut out = [0.0f32; 9];
        squared(&p, &t, None, &mut out);
        assert_eq!(out, [0.0, 4.0, 9.0, 4.0, 0.0, 9.0, 9.0, 1.0, 1.0]);
        assert_eq!(sum32(&p, &t, None).0, 37.0);
    }

    #[test]
    fn sums_match_reference_for_every_length() {
        let mut rng = Rng(7);
        for n in (0..300).chain([1000, 4097, 65_537].iter().copied()) {
            let (a, b) = (rng.f32s(n), rng.f32s(n));
            let exact = reference(&widen(&a), &widen(&b), None);
            let got = sum32(&a, &b, None).0;
            assert!((got - exact).abs() <= 1e-6 * exact.abs() + 1e-30, "f32 n={} {} vs {}", n, got, exact);
            let (a, b) = (rng.f64s(n), rng.f64s(n));
            let exact = reference(&a, &b, None);
            let got = sum64(&a, &b, None).0;
            assert!((got - exact).abs() <= 1e-13 * exact.abs() + 1e-300, "f64 n={} {} vs {}", n, got, exact);
        }
    }

    #[test]
    fn old_pytorch_precision_case() {
        // 0.1f32 repeated 1,392,640 times against 0: the mean must be 0.01 to f32 accuracy.
        let n = 1_392_640;
        let a = vec![0.1f32; n];
        let b = vec![0.0f32; n];
        let mean = sum32(&a, &b, None).0 / n as f64;
        let exact = (0.1f32 as f64) * (0.1f32 as f64);
        assert!((mean - exact).abs() <= 1e-7 * exact, "{}", mean);
    }

    #[test]
    fn chunked_feeding_is_bit_identical() {
        let mut rng = Rng(11);
        let n = 10_000;
        let (a, b, w) = (rng.f32s(n), rng.f32s(n), rng.f32s(n));
        let whole = sum32(&a, &b, Some(&w));
        let mut st = State::zero();
        for start in (0..n).step_by(BLOCK * 3) {
            let end = (start + BLOCK * 3).min(n);
            sum_squared(&mut st, &a[start..end], &b[start..end], Some(&w[start..end]));
        }
        assert_eq!(whole.0.to_bits(), st.loss.value().to_bits());
        assert_eq!(whole.1.to_bits(), st.weight.value().to_bits());
        let (a, b) = (rng.f64s(n), rng.f64s(n));
        let whole = sum64(&a, &b, None).0;
        let mut st = State::zero();
        for start in (0..n).step_by(BLOCK * 5) {
            let end = (start + BLOCK * 5).min(n);
            sum_squared(&mut st, &a[start..end], &b[start..end], None);
        }
        assert_eq!(whole.to_bits(), st.loss.value().to_bits());
    }

    #[test]
    fn weighted_sum_and_weight_sum() {
        let mut rng = Rng(3);
        for n in [0usize, 1, 15, 16, 17, 129, 1000] {
            let (a, b, w) = (rng.f64s(n), rng.f64s(n), rng.f64s(n));
            let (s, ws) = sum64(&a, &b, Some(&w));
            let exact = reference(&a, &b, Some(&w));
            assert!((s - exact).abs() <= 1e-13 * exact.abs().max(1e-3), "n={} {} {}", n, s, exact);
            let wsum: f64 = w.iter().sum();
            assert!((ws - wsum).abs() <= 1e-12, "{} {}", ws, wsum);
        }
    }

    #[test]
    fn non_finite_values_propagate() {
        let a = [1.0f32, f32::INFINITY, 2.0];
        let b = [0.0f32; 3];
        assert_eq!(sum32(&a, &b, None).0, f64::INFINITY);
        let a = [1.0f32, f32::NAN, f32::INFINITY];
        assert!(sum32(&a, &b, None).0.is_nan());
        let a = vec![f64::MAX; 40];
        let b = vec![0.0f64; 40];
        assert_eq!(sum64(&a, &b, None).0, f64::INFINITY);
    }

    /// Data that exercises the one-block short path's proof: random values, values
    /// 2^40 apart (inexact widening), subnormal squares, infinities and NaN.
    fn awkward(rng: &mut Rng, n: usize, kind: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let x = rng.next();
                match kind {
                    0 => x,
                    1 => x * if i % 3 == 0 { 1e12 } else { 1e-12 },
                    2 => x * 1e-25,
                    _ => match i % 7 {
                        0 => f64::INFINITY,
                        3 if kind == 4 => f64::NAN,
                        _ => x * 1e30,
                    },
                }
            })
            .collect()
    }

    /// The state words of `reduce_run` over `a`, `b` (and `w`), blocked or flat, as bits;
    /// every NaN as one pattern (IEEE leaves a NaN result's sign and payload open).
    fn run_words<E: Float, const WAY: u8>(a: &[E], b: &[E], w: Option<&[E]>, start: State) -> [u64; 8] {
        let mut state = start;
        with_weight!(w, w => reduce_run::<E, Squared, _, Absent, WAY>(&mut state, Squared, a, b, w, Absent));
        state.to_words().map(|x| if x.is_nan() { f64::NAN.to_bits() } else { x.to_bits() })
    }

    #[test]
    fn blocked_pipelined_runs_equal_flat_runs_bits() {
        // The blocked loop defers each block's flush by one block; the state must get the
        // very same words as from the flat loop that flushes at once: every length around
        // one, two and many blocks, weighted or not, from a zero and from a used state.
        let mut rng = Rng(13);
        let used = State::from_words(&[3.5, 1.25, 1e-17, -2e-17, 7.0, 0.5, 0.0, 1e-16]);
        for kind in 0..5 {
            for n in (0..=3 * BLOCK + 40).chain([1000, 4097, 10_000].iter().copied()) {
                let (a, b, w) = (awkward(&mut rng, n, kind), awkward(&mut rng, n, kind), rng.f64s(n));
                let (a32, b32, w32): (Vec<f32>, Vec<f32>, Vec<f32>) =
                    (a.iter().map(|x| *x as f32).collect(), b.iter().map(|x| *x as f32).collect(), w.iter().map(|x| *x as f32).collect());
                for start in [State::zero(), used] {
                    for weight in [false, true] {
                        let (w64, w32) = if weight { (Some(&w[..]), Some(&w32[..])) } else { (None, None) };
                        let (flat, blocked) = (run_words::<f32, FLAT>(&a32, &b32, w32, start), run_words::<f32, BLOCKED>(&a32, &b32, w32, start));
                        assert_eq!(flat, blocked, "f32 kind {kind} n {n} weighted {weight}");
                        let (flat, blocked) = (run_words::<f64, FLAT>(&a, &b, w64, start), run_words::<f64, BLOCKED>(&a, &b, w64, start));
                        assert_eq!(flat, blocked, "f64 kind {kind} n {n} weighted {weight}");
                    }
                }
            }
        }
    }

    #[test]
    fn one_call_sum_equals_the_state_sum_for_every_length() {
        // `sum_squared_once` skips the TwoSum of a single block; it must give the bits
        // of `sum_squared` into a zero state on both sides of BLOCK and every tail.
        let mut rng = Rng(11);
        for kind in 0..5 {
            for n in 0..=2 * BLOCK + 40 {
                let (a, b) = (awkward(&mut rng, n, kind), awkward(&mut rng, n, kind));
                let a32: Vec<f32> = a.iter().map(|x| *x as f32).collect();
                let b32: Vec<f32> = b.iter().map(|x| *x as f32).collect();
                let mut state = State::zero();
                sum_squared(&mut state, &a32, &b32, None);
                let (want, got) = (state.loss.value(), sum_squared_once(&a32, &b32));
                assert!(want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()), "f32 kind {kind} n {n}: {want} vs {got}");
                let mut state = State::zero();
                sum_squared(&mut state, &a, &b, None);
                let (want, got) = (state.loss.value(), sum_squared_once(&a, &b));
                assert!(want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()), "f64 kind {kind} n {n}: {want} vs {got}");
            }
        }
    }

    #[test]
    fn short_rows_sum_as_the_one_call_sum() {
        // `short_row_sum` writes out `sum_squared_once` for rows of at most SHORT_ROW
        // elements; every length and kind of data (non-finite, subnormal, wide range).
        let mut rng = Rng(17);
        for kind in 0..5 {
            for n in 0..=SHORT_ROW {
                for _ in 0..20 {
                    let (a, b) = (awkward(&mut rng, n, kind), awkward(&mut rng, n, kind));
                    let a32: Vec<f32> = a.iter().map(|x| *x as f32).collect();
                    let b32: Vec<f32> = b.iter().map(|x| *x as f32).collect();
                    let (want, got) = (sum_squared_once(&a32, &b32), short_row_sum(&a32, &b32));
                    assert!(want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()), "f32 kind {kind} n {n}: {want} vs {got}");
                    let (want, got) = (sum_squared_once(&a, &b), short_row_sum(&a, &b));
                    assert!(want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()), "f64 kind {kind} n {n}: {want} vs {got}");
                }
            }
        }
    }

    #[test]
    fn short_rows_take_the_row_path_and_agree_with_the_state_path() {
        // Axis -1 of [rows, len]: the row path (rows of up to a block) against each row's
        // state sum, and longer rows through the state path.
        fn check<E: Float>(a: &[E], b: &[E], rows: usize, len: usize) {
            let p = plan(&[rows, len], [&[len, 1], &[len, 1], &[], &[]], 1);
            let ops = Operands { a, b, w: None, g: None };
            assert_eq!(short_rows(&p, &ops), (len <= BLOCK).then_some(len), "len {len}");
            // a weight takes the state path (the row path has no weight sums)
            assert_eq!(short_rows(&p, &Operands { a, b, w: Some(a), g: None }), None, "len {len} weighted");
            let mut got = vec![0.0f64; rows];
            sums(&p, &ops, &mut got, None, Some(false));
            for r in 0..rows {
                let mut state = State::zero();
                sum_squared(&mut state, &a[r * len..(r + 1) * len], &b[r * len..(r + 1) * len], None);
                assert_eq!(got[r].to_bits(), state.loss.value().to_bits(), "len {len} row {r}");
            }
        }
        let mut rng = Rng(23);
        let rows = 37;
        for len in [0, 1, 2, 3, 4, 5, 8, 9, 15, 16, 17, 31, 100, 128, 129, 300] {
            check(&rng.f32s(rows * len), &rng.f32s(rows * len), rows, len);
            check(&rng.f64s(rows * len), &rng.f64s(rows * len), rows, len);
        }
    }

    #[test]
    fn empty_sum_is_zero() {
        assert_eq!(sum32(&[], &[], None).0, 0.0);
    }

    #[test]
    fn strided_full_reduction_equals_contiguous_bits() {
        let mut rng = Rng(5);
        let n = 1234;
        let (a, b) = (rng.f32s(n), rng.f32s(n));
        let p = plan(&[n], [&[1], &[1], &[], &[]], 0);
        let ops = Operands { a: &a, b: &b, w: None, g: None };
        let mut out = [0.0f64];
        sums(&p, &ops, &mut out, None, Some(false));
        assert_eq!(out[0].to_bits(), sum32(&a, &b, None).0.to_bits());
    }

    #[test]
    fn gathered_runs_equal_contiguous_runs_bits() {
        // a is read with stride 2; its compacted copy must give the same bits.
        let mut rng = Rng(9);
        let n = 777;
        let a2 = rng.f32s(2 * n);
        let b = rng.f32s(n);
        let a: Vec<f32> = a2.iter().step_by(2).copied().collect();
        let p = plan(&[n], [&[2], &[1], &[], &[]], 0);
        let mut out = [0.0f64];
        sums(&p, &Operands { a: &a2, b: &b, w: None, g: None }, &mut out, None, Some(false));
        assert_eq!(out[0].to_bits(), sum32(&a, &b, None).0.to_bits());
    }

    #[test]
    fn broadcast_reduction_and_none() {
        // input [2, 3] vs target [3] (broadcast over dim 0), sum and none.
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f64, 1.0, 2.0];
        let p = plan(&[2, 3], [&[3, 1], &[0, 1], &[], &[]], 0);
        let ops = Operands { a: &a, b: &b, w: None, g: None };
        let mut s = [0.0f64];
        sums(&p, &ops, &mut s, None, Some(false));
        assert_eq!(s[0], 0.0 + 1.0 + 1.0 + 9.0 + 16.0 + 16.0);
        let mut out = [0.0f64; 6];
        squared_strided(&p, &ops, &mut out);
        assert_eq!(out, [0.0, 1.0, 1.0, 9.0, 16.0, 16.0]);
        // axis 0 reduction: kept dim 1 first, then reduced dim 0.
        let p = plan(&[3, 2], [&[1, 3], &[1, 0], &[], &[]], 1);
        let mut cols = [0.0f64; 3];
        sums(&p, &ops, &mut cols, None, Some(false));
        assert_eq!(cols, [9.0, 17.0, 17.0]);
        // The same walked reduced-first: the reduced dim (stride 3 in a) outermost.
        let mut cols2 = [0.0f64; 3];
        sums(&p, &ops, &mut cols2, None, Some(true));
        assert_eq!(cols2, [9.0, 17.0, 17.0]);
    }

    #[test]
    fn gradient_kernels() {
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let b = [0.5f32, 2.5, 3.0, 1.0, 7.0];
        let g = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let mut out = [0.0f32; 5];
        gradient(&a, &b, None, Operand::Slice(&g), 2.0, &mut out);
        assert_eq!(out, [1.0, -2.0, 0.0, 24.0, -20.0]);
        gradient(&a, &b, None, Operand::Splat(0.5), 2.0, &mut out);
        assert_eq!(out, [0.5, -0.5, 0.0, 3.0, -2.0]);
        // input [3, 1] broadcast against target [3, 2]: grad summed over dim 1.
        let a = [1.0f64, 2.0, 3.0];
        let b = [0.0f64, 1.0, 2.0, 2.0, 5.0, 1.0];
        let p = plan(&[3, 2], [&[1, 0], &[2, 1], &[], &[]], 1);
        let mut grad = [0.0f64; 3];
        gradient_reduce_strided_in(&p, &Operands { a: &a, b: &b, w: None, g: None }, 2.0, &mut grad, false);
        assert_eq!(grad, [2.0 * (1.0 + 0.0), 2.0 * (0.0 + 0.0), 2.0 * (-2.0 + 2.0)]);
        // input [2] broadcast against target [3, 2]: the reduced dim is the leading one.
        let a = [1.0f64, 2.0];
        let b = [0.0f64, 1.0, 2.0, 2.0, 5.0, 1.0];
        let p = plan(&[2, 3], [&[1, 0], &[1, 2], &[], &[]], 1);
        let ops = Operands { a: &a, b: &b, w: None, g: None };
        let mut gather = [0.0f64; 2];
        gradient_reduce_strided_in(&p, &ops, 2.0, &mut gather, false);
        let mut outer = [0.0f64; 2];
        gradient_reduce_strided_in(&p, &ops, 2.0, &mut outer, true);
        assert_eq!(gather, [2.0 * (1.0 - 1.0 - 4.0), 2.0 * (1.0 + 0.0 + 1.0)]);
        assert_eq!(outer, gather);
    }

    #[test]
    fn fused_equals_separate_bits() {
        let mut rng = Rng(21);
        for n in [0usize, 1, 7, 16, 17, 128, 129, 1000, 4099] {
            let (a, b, w) = (rng.f32s(n), rng.f32s(n), rng.f32s(n));
            for weighted in [false, true] {
                let wo = if weighted { Some(&w[..]) } else { None };
                let norm = 2.0f32 / n.max(1) as f32;
                let mut st = State::zero();
                let mut grad = vec![0.0f32; n];
                fused(&mut st, &a, &b, wo, Operand::Splat(0.75), norm, &mut grad, None);
                let mut grad2 = vec![0.0f32; n];
                gradient(&a, &b, wo, Operand::Splat(0.75), norm, &mut grad2);
                let (s, ws) = sum32(&a, &b, wo);
                assert_eq!(st.loss.value().to_bits(), s.to_bits(), "n={}", n);
                assert_eq!(st.weight.value().to_bits(), ws.to_bits());
                assert!(grad.iter().zip(&grad2).all(|(x, y)| x.to_bits() == y.to_bits()));
                let mut l = vec![0.0f32; n];
                let mut l2 = vec![0.0f32; n];
                fused(&mut State::zero(), &a, &b, wo, Operand::Absent, 2.0, &mut grad, Some(&mut l));
                squared(&a, &b, wo, &mut l2);
                assert_eq!(l, l2);
            }
        }
    }

    /// The reduced-first walk as crate/ABI.md specifies it, one output at a time: terms in
    /// row order summed in the dtype `BLOCK / step` at a time, each sum added to a TwoSum
    /// pair from zero, the pair folded at the end (the sum alone when non-finite).
    fn outer_reference<E: Float>(a: &[E], b: &[E], w: Option<&[E]>, rows: usize, cols: usize, j: usize) -> (f64, f64) {
        let per_flush = BLOCK / step_len::<E>();
        let (mut s, mut c, mut ws, mut wc) = (0.0, 0.0, 0.0, 0.0);
        let (mut acc, mut wacc, mut k) = (E::ZERO, E::ZERO, 0);
        for r in 0..rows {
            let wj = w.map(|w| w[j]);
            acc = acc.add(squared_elem(a[r * cols + j], b[r * cols + j], wj));
            wacc = wacc.add(wj.unwrap_or(E::ZERO));
            k += 1;
            if k == per_flush || r + 1 == rows {
                two_sum(&mut s, &mut c, acc.to_f64());
                two_sum(&mut ws, &mut wc, wacc.to_f64());
                acc = E::ZERO;
                wacc = E::ZERO;
                k = 0;
            }
        }
        let fold = |s: f64, c: f64| if s.is_finite() { s + c } else { s };
        (fold(s, c), fold(ws, wc))
    }

    fn outer_walk_matches_reference<E: Float + core::fmt::Debug>(a: &[E], b: &[E], w: &[E], rows: usize, cols: usize) {
        // Kept-first plan: dim 0 = column (kept), dim 1 = row (reduced, stride `cols`).
        for weighted in [false, true] {
            let p = plan(&[cols, rows], [&[1, cols], &[1, cols], &[1, 0], &[]], 1);
            let ops = Operands { a, b, w: if weighted { Some(w) } else { None }, g: None };
            let mut loss = vec![7.0f64; cols];
            let mut weight = vec![7.0f64; cols];
            sums(&p, &ops, &mut loss, if weighted { Some(&mut weight) } else { None }, Some(true));
            // The finished results, alone (no sums asked), as `put` divides: over the weight
            // sums when weighted (divisor 0), else over the divisor; outputs pre-filled with junk.
            let mut result = vec![E::from_f64(7.0); cols];
            let mut out = ReduceOut {
                loss: None,
                weight: None,
                result: Some(&mut result[..]),
                divisor: if weighted { 0.0 } else { rows as f64 },
            };
            reduce_strided_in(&p, &ops, &mut out, true);
            for j in 0..cols {
                let (l, ws) = outer_reference(a, b, ops.w, rows, cols, j);
                assert_eq!(loss[j].to_bits(), l.to_bits(), "rows {} col {} weighted {}", rows, j, weighted);
                let want = E::from_f64(l / if weighted { ws } else { rows as f64 });
                // (0 / 0 with no rows: a NaN, whose sign and payload IEEE leaves open.)
                let bits = |x: E| if x.to_f64().is_nan() { f64::NAN.to_bits() } else { x.to_f64().to_bits() };
                assert_eq!(bits(result[j]), bits(want), "result: rows {} col {} weighted {}", rows, j, weighted);
                if weighted {
                    assert_eq!(weight[j].to_bits(), ws.to_bits(), "rows {} col {}", rows, j);
                }
            }
        }
    }

    #[test]
    fn reduced_first_walk_is_the_documented_scheme_bit_for_bit() {
        // 40 outputs (more than the gather limit) over 0..=40 rows: several flushes per
        // output (8 rows per flush in f32, 16 in f64), a partial last one, and no row at all
        // (outputs pre-filled with junk must come back 0). Fails if a pair is not reused
        // after its first flush, if the rows per flush change, or if an empty walk leaves
        // the outputs unwritten.
        let mut rng = Rng(23);
        let cols = 40;
        for rows in [0usize, 1, 7, 8, 9, 16, 17, 40] {
            let (a, b, w) = (rng.f32s(rows * cols), rng.f32s(rows * cols), rng.f32s(cols));
            outer_walk_matches_reference(&a, &b, &w, rows, cols);
            let (a, b, w) = (rng.f64s(rows * cols), rng.f64s(rows * cols), rng.f64s(cols));
            outer_walk_matches_reference(&a, &b, &w, rows, cols);
        }
    }

    #[test]
    fn walk_or_gather_by_outputs_rows_and_width() {
        // Axis 0 of [rows, cols] (kept-first plan: the column, then the row at stride cols).
        let order = |rows: usize, cols: usize| {
            let (a, b) = (vec![0.0f32; rows * cols], vec![0.0f32; rows * cols]);
            let p = plan(&[cols, rows], [&[1, cols], &[1, cols], &[], &[]], 1);
            walks_reduced_first(&p, &Operands { a: &a, b: &b, w: None, g: None })
        };
        for (rows, cols, walk) in [
            (65536, 3, false),
            (65536, 7, false),
            (65536, 8, true),
            (1024, 6, false),
            (1024, 8, true),
            (511, 8, false),
            (512, 8, true),
            (64, 8, false),
            (64, 16, true),
            (200, 16, true),
            (63, 3, true),
            (64, 3, false),
            (2, 17, true),
        ] {
            assert_eq!(order(rows, cols), walk, "[{}, {}]", rows, cols);
        }
    }

    #[test]
    fn few_outputs_with_many_elements_gather() {
        // 3 outputs of 1000 elements each: the column gather (the kept-first order), not the
        // reduced-first walk, whose bits differ. Fails if the few-outputs rule is dropped.
        let mut rng = Rng(29);
        let (rows, cols) = (1000usize, 3usize);
        let (a, b) = (rng.f32s(rows * cols), rng.f32s(rows * cols));
        let p = plan(&[cols, rows], [&[1, cols], &[1, cols], &[], &[]], 1);
        let ops = Operands { a: &a, b: &b, w: None, g: None };
        let mut chosen = vec![0.0f64; cols];
        sums(&p, &ops, &mut chosen, None, None);
        let mut gathered = vec![0.0f64; cols];
        sums(&p, &ops, &mut gathered, None, Some(false));
        assert_eq!(chosen.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), gathered.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        let walked: Vec<u64> = (0..cols).map(|j| outer_reference(&a, &b, None, rows, cols, j).0.to_bits()).collect();
        assert_ne!(walked, gathered.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), "the two orders should differ here");
    }

    #[test]
    fn leading_axis_reduction_spans_several_tiles() {
        // [3, 1300] reduced over dim 0: kept dim 1 (1300 > one 512-element tile) is walked
        // in tiles; every column must equal its own three-term sum, with and without weights.
        let mut rng = Rng(17);
        let (rows, cols) = (3usize, 1300usize);
        let a = rng.f64s(rows * cols);
        let b = rng.f64s(rows * cols);
        let w = rng.f64s(cols);
        // Kept-first plan: dim 0 = column (kept), dim 1 = row (reduced, stride `cols`).
        let p = plan(&[cols, rows], [&[1, cols], &[1, cols], &[1, 0], &[]], 1);
        let ops = Operands { a: &a, b: &b, w: Some(&w), g: None };
        let mut loss = vec![0.0f64; cols];
        let mut weight = vec![0.0f64; cols];
        sums(&p, &ops, &mut loss, Some(&mut weight), Some(true));
        for j in 0..cols {
            let mut expect = 0.0;
            for r in 0..rows {
                let d = a[r * cols + j] - b[r * cols + j];
                expect += d * d * w[j];
            }
            assert!((loss[j] - expect).abs() <= 1e-15 * expect.abs().max(1e-300) * 4.0, "col {}", j);
            assert!((weight[j] - 3.0 * w[j]).abs() <= 1e-15 * w[j].abs() * 4.0, "col {}", j);
        }
        // The gathering order (kept first) agrees to rounding.
        let mut gathered = vec![0.0f64; cols];
        sums(&p, &ops, &mut gathered, None, Some(false));
        for j in 0..cols {
            assert!((gathered[j] - loss[j]).abs() <= 1e-14 * loss[j].abs().max(1e-300));
        }
    }

    /// Every element of `x` at twice the index (the gaps hold junk), for a non-unit stride.
    fn spread<E: Float>(x: &[E], junk: E) -> Vec<E> {
        let mut out = vec![junk; 2 * x.len()];
        for (i, v) in x.iter().enumerate() {
            out[2 * i] = *v;
        }
        out
    }

    fn outer_paths_agree<E: Float + core::fmt::Debug>(cast: impl Fn(f64) -> E) {
        // [3, 1301] reduced over dim 0 (kept-first plan: dim 0 = column, dim 1 = row): the
        // vector path (unit strides) and the scalar path (the same data at stride 2) must
        // give the same bits for the loss, the weight sums and the gradient sums.
        let mut rng = Rng(23);
        let (rows, cols) = (3usize, 1301usize);
        for kind in 0..5 {
            let a: Vec<E> = awkward(&mut rng, rows * cols, kind).into_iter().map(&cast).collect();
            let b: Vec<E> = awkward(&mut rng, rows * cols, kind).into_iter().map(&cast).collect();
            let w: Vec<E> = rng.f64s(cols).into_iter().map(&cast).collect();
            let g: Vec<E> = rng.f64s(rows * cols).into_iter().map(&cast).collect();
            let junk = cast(7.0);
            let (a2, b2, w2, g2) = (spread(&a, junk), spread(&b, junk), spread(&w, junk), spread(&g, junk));
            let unit = plan(&[cols, rows], [&[1, cols], &[1, cols], &[1, 0], &[1, cols]], 1);
            let wide = plan(&[cols, rows], [&[2, 2 * cols], &[2, 2 * cols], &[2, 0], &[2, 2 * cols]], 1);
            let run = |p: &Plan, ops: &Operands<'_, E>, weighted: bool| {
                let mut loss = vec![0.0f64; cols];
                let mut weight = vec![0.0f64; cols];
                let wref = if weighted { Some(&mut weight[..]) } else { None };
                sums(p, ops, &mut loss, wref, Some(true));
                let mut grad = vec![E::ZERO; cols];
                gradient_reduce_strided_in(p, ops, cast(0.25), &mut grad, true);
                (loss, weight, grad)
            };
            for weighted in [false, true] {
                let ops = Operands { a: &a, b: &b, w: if weighted { Some(&w) } else { None }, g: Some(&g) };
                let ops2 = Operands { a: &a2, b: &b2, w: if weighted { Some(&w2) } else { None }, g: Some(&g2) };
                let (l1, w1, g1) = run(&unit, &ops, weighted);
                let (l2, w2_, g2_) = run(&wide, &ops2, weighted);
                for j in 0..cols {
                    let same = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
                    assert!(same(l1[j], l2[j]), "kind {kind} weighted {weighted} loss col {j}: {} vs {}", l1[j], l2[j]);
                    assert!(same(w1[j], w2_[j]), "kind {kind} weight col {j}");
                    assert!(same(g1[j].to_f64(), g2_[j].to_f64()), "kind {kind} grad col {j}");
                }
            }
        }
    }

    #[test]
    fn leading_axis_vector_and_scalar_paths_agree_bits() {
        outer_paths_agree::<f32>(|x| x as f32);
        outer_paths_agree::<f64>(|x| x);
    }

    #[test]
    fn plan_extents() {
        let p = plan(&[2, 3], [&[3, 1], &[0, 1], &[], &[]], 0);
        assert_eq!(p.extent(A), Some(6));
        assert_eq!(p.extent(B), Some(3));
        let p = plan(&[0, 3], [&[3, 1], &[0, 1], &[], &[]], 0);
        assert_eq!(p.extent(A), Some(0));
        let p = plan(&[usize::MAX, 3], [&[3, 1], &[0, 1], &[], &[]], 0);
        assert_eq!(p.extent(A), None);
    }
}
