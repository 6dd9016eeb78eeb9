#!/usr/bin/env python3
"""Generate the test fixtures in test/fixtures/*.json from real PyTorch, NumPy
and scikit-learn.

Every expected value in the fixtures comes from these libraries, never from
mse-wasm itself. The script is deterministic (fixed seeds), so re-running it
gives byte-identical files.

Usage (needs torch, numpy and scikit-learn; Debian: python3-torch python3-numpy
python3-sklearn, which live in the system interpreter):

    python3 scripts/gen_fixtures.py

Encoding, decoded by test/helpers/fixtures.ts:
- a tensor is {"dtype": "float32"|"float64", "shape": [...], "data": [...]}
  with data flat in row-major order (a rank-0 tensor has shape [] and one value);
- a number is a JSON number, or one of the strings "NaN", "Infinity",
  "-Infinity"; float32 values are written as the decimal of the exact double
  that equals them, so JSON.parse gives the float32 value exactly.
- "*64" fields are the same quantity computed in float64 from the same input
  values: the near-exact reference for accuracy bounds on float32 results.
- "scale64" is, per gradient element, the sum of |terms| that make it up
  (|gradient| itself where nothing is summed): the yardstick for a relative
  tolerance when terms of mixed sign cancel.
"""

import json
import math
import os
import sys
import warnings

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from sklearn.metrics import mean_squared_error
except ImportError as err:  # pragma: no cover - environment check
    sys.stderr.write(
        "gen_fixtures.py: cannot import %s with %s.\n"
        "This script needs PyTorch, NumPy and scikit-learn. On Debian they are the\n"
        "packages python3-torch, python3-numpy and python3-sklearn, installed for the\n"
        "system Python; run the script with that interpreter, for example\n"
        "    /usr/bin/python3 scripts/gen_fixtures.py\n" % (err.name or err, sys.executable)
    )
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")

F32 = np.float32
F64 = np.float64
REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- encoding

def enc_num(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def dtype_name(dt):
    dt = np.dtype(dt) if not isinstance(dt, torch.dtype) else dt
    if dt in (np.dtype(F32), torch.float32):
        return "float32"
    if dt in (np.dtype(F64), torch.float64):
        return "float64"
    raise ValueError("unexpected dtype %r" % (dt,))


def enc_tensor(a):
    """numpy array or torch tensor -> fixture tensor."""
    if isinstance(a, torch.Tensor):
        a = a.detach().numpy()
    a = np.asarray(a)
    return {
        "dtype": dtype_name(a.dtype),
        "shape": list(a.shape),
        "data": [enc_num(v) for v in a.reshape(-1).tolist()],
    }


def enc_scalar(v, v64):
    dt = v.dtype if isinstance(v, (torch.Tensor, np.generic, np.ndarray)) else F64
    return {"dtype": dtype_name(dt), "value": enc_num(v), "value64": enc_num(v64)}


def write_fixture(name, meta, cases_by_key):
    """Compact JSON, one case per line (small diffs, small files)."""
    path = os.path.join(OUT_DIR, name)
    lines = ["{"]
    head = json.dumps(meta, separators=(",", ":"), allow_nan=False)[1:-1]
    lines.append(head + ",")
    keys = list(cases_by_key)
    for ki, key in enumerate(keys):
        items = cases_by_key[key]
        lines.append(json.dumps(key) + ":[")
        for i, item in enumerate(items):
            sep = "," if i + 1 < len(items) else ""
            lines.append(json.dumps(item, separators=(",", ":"), allow_nan=False) + sep)
        lines.append("]" + ("," if ki + 1 < len(keys) else ""))
    lines.append("}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return os.path.getsize(path)


# ---------------------------------------------------------------- data

def normal(rng, shape, dtype, scale=2.0):
    return np.asarray(rng.standard_normal(shape) * scale).astype(dtype)


def dyadic(rng, shape, dtype):
    """Short decimals (k/8) for the long cases, to keep the files small."""
    return np.asarray(rng.integers(-64, 64, size=shape) / 8.0).astype(dtype)


def spread(rng, shape, dtype):
    """Values over many binades, for rounding and accumulation order."""
    mant = rng.uniform(-1.0, 1.0, size=shape)
    expo = rng.integers(-12, 12, size=shape)
    return np.asarray(np.ldexp(mant, expo)).astype(dtype)


def tt(a):
    return torch.from_numpy(np.array(a, copy=True))


def promoted(*arrays):
    return F64 if any(np.asarray(a).dtype == F64 for a in arrays) else F32


def capture_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in caught]


def silently(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# ---------------------------------------------------------------- gradients

def autograd(loss_fn, x, others, g, dtype):
    """input.grad of loss_fn(x, *others).backward(g) with every operand cast to
    `dtype`; returns (grad as float64 numpy, elementwise grad magnitudes summed
    to x's shape as float64 numpy)."""
    xt = tt(x).to(dtype).requires_grad_(True)
    ots = [tt(o).to(dtype) for o in others]
    out = silently(lambda: loss_fn(xt, *ots))
    gt = grad_tensor(g, out)
    out.backward(gt)
    grad = xt.grad.detach().to(torch.float64).numpy()

    # magnitudes: the same loss on x expanded to the broadcast shape, so every
    # term of a broadcast-summed gradient is visible before the sum.
    bshape = torch.broadcast_shapes(xt.shape, *[o.shape for o in ots])
    xe = tt(x).to(torch.float64).expand(bshape).clone().requires_grad_(True)
    oe = [tt(o).to(torch.float64) for o in others]
    out_e = silently(lambda: loss_fn(xe, *oe))
    out_e.backward(grad_tensor(g, out_e))
    scale = xe.grad.detach().abs().sum_to_size(xt.shape).numpy()
    return grad, scale


def grad_tensor(g, out):
    if g is None:
        return torch.ones(out.shape, dtype=out.dtype)
    if isinstance(g, (int, float)):
        return torch.full(out.shape, float(g), dtype=out.dtype)
    return tt(g).to(out.dtype).expand(out.shape).contiguous()


def native_grad(loss_fn, x, others, g):
    """input.grad exactly as torch computes it in the operands' own dtypes, or
    None when torch refuses (mixed dtypes)."""
    xt = tt(x).requires_grad_(True)
    ots = [tt(o) for o in others]
    try:
        out = silently(lambda: loss_fn(xt, *ots))
        out.backward(grad_tensor(g, out))
    except RuntimeError as err:
        return None, str(err)
    return xt.grad.detach().numpy(), None


def grad_entry(loss_fn, x, others, g, exact):
    """A gradient record: torch's grad in x's dtype and float64 references."""
    dt = promoted(x, *others)
    tdt = torch.float64 if dt == F64 else torch.float32
    grad64, scale64 = autograd(loss_fn, x, others, g, torch.float64)
    entry = {}
    same_dtype = all(np.asarray(o).dtype == np.asarray(x).dtype for o in others)
    if same_dtype:
        grad, _ = native_grad(loss_fn, x, others, g)
    else:
        # torch 1.13 raises "Found dtype Double but expected Float" here; the
        # API computes in the promoted dtype and returns input's dtype.
        _, msg = native_grad(loss_fn, x, others, g)
        gp, _ = autograd(loss_fn, x, others, g, tdt)
        grad = gp.astype(np.asarray(x).dtype)
        entry["computedIn"] = "%s (torch: %s)" % (dtype_name(dt), msg or "no error")
    entry["grad"] = enc_tensor(np.asarray(grad).astype(np.asarray(x).dtype))
    # float64 references only where they differ from what is already stored:
    # grad64 for float32 or mixed operands, scale64 where the gradient is a sum
    # over broadcast dimensions (elsewhere scale64 == |grad64|).
    if not (same_dtype and np.asarray(x).dtype == F64):
        entry["grad64"] = enc_tensor(grad64)
    if not np.array_equal(np.abs(grad64), scale64, equal_nan=True):
        entry["scale64"] = enc_tensor(scale64)
    entry["exact"] = bool(exact and same_dtype)
    return entry


def enc_grad_output(g, dtype):
    if g is None or isinstance(g, (int, float)):
        return g
    return enc_tensor(np.asarray(g).astype(dtype))


# ---------------------------------------------------------------- forward

def forward_case(name, x, y, tags=()):
    X, Y = tt(x), tt(y)
    results = {}
    warned = None
    for red in REDUCTIONS:
        out, msgs = capture_warnings(lambda: F.mse_loss(X, Y, reduction=red))
        if warned is None:
            warned = msgs
        ref = silently(lambda: F.mse_loss(X.double(), Y.double(), reduction=red))
        if red == "none":
            results[red] = enc_tensor(out)
        else:
            results[red] = enc_scalar(out, ref)
    case = {
        "name": name,
        "input": enc_tensor(x),
        "target": enc_tensor(y),
        "results": results,
        "warnings": warned,
    }
    if tags:
        case["tags"] = list(tags)
    return case


def forward_fixture():
    rng = np.random.default_rng(20240601)
    cases = []

    # the worked examples (seed): y_pred vs y_true
    for dt in (F64, F32):
        dn = dtype_name(dt)
        cases.append(forward_case(
            "seed-4 " + dn,
            np.array([1.5, 2.1, 2.9, 4.2], dt), np.array([1, 2, 3, 4], dt), ["seed"]))
        cases.append(forward_case(
            "seed-3x3 " + dn,
            np.array([[1, 2, 3], [2, 1, 3], [3, 1, 2]], dt),
            np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dt), ["seed"]))

    # lengths that hit every SIMD tail
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for n in list(range(1, 41)) + [127, 128, 129, 255]:
            cases.append(forward_case("len %d %s" % (n, dn), normal(rng, (n,), dt), normal(rng, (n,), dt), ["length"]))
        for n in (1000, 4097):
            cases.append(forward_case("len %d %s" % (n, dn), dyadic(rng, (n,), dt), dyadic(rng, (n,), dt), ["length"]))
        n = 1031 if dt == F64 else 515
        cases.append(forward_case("spread %d %s" % (n, dn), spread(rng, (n,), dt), spread(rng, (n,), dt), ["length"]))

    # ranks 0..4
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for shape in [(), (5,), (2, 3), (3, 5, 7), (2, 1, 3, 2), (2, 3, 4, 5)]:
            cases.append(forward_case("rank %d %s %s" % (len(shape), list(shape), dn),
                                      normal(rng, shape, dt), normal(rng, shape, dt), ["rank"]))

    # broadcasting
    pairs = [((3, 1), (1, 4)), ((2, 3), (3,)), ((3,), (2, 3)), ((), (2, 3)), ((2, 3), ()),
             ((1,), (5,)), ((5,), (1,)), ((4, 1, 3), (2, 1)), ((2, 1), (4, 1, 3)),
             ((2, 1, 3), (4, 1)), ((1, 1), (3, 3)), ((3, 1), (3, 4)), ((4,), (2, 4)),
             ((), (5,)), ((2, 1, 1, 17), (1, 3, 5, 1)), ((1, 130), (3, 1))]
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for a, b in pairs:
            cases.append(forward_case("broadcast %s vs %s %s" % (list(a), list(b), dn),
                                      normal(rng, a, dt), normal(rng, b, dt), ["broadcast"]))

    # empty
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for a, b in [((0,), (0,)), ((2, 0), (2, 0)), ((0,), (1,)), ((2, 0), (0,)), ((3, 0, 2), (3, 0, 2))]:
            cases.append(forward_case("empty %s vs %s %s" % (list(a), list(b), dn),
                                      np.zeros(a, dt), np.zeros(b, dt), ["empty"]))

    # non-finite values
    inf, nan = float("inf"), float("nan")
    nonfinite = [
        ("nan in input", [1.0, nan, 3.0, 4.0, 5.0], [0.5, 1.0, 2.0, 3.0, 4.0]),
        ("inf in target", [1.0, 2.0, 3.0], [0.0, inf, 3.0]),
        ("-inf in input", [-inf, 2.0, 3.0], [0.0, 1.0, 3.0]),
        ("inf minus inf", [inf, 2.0], [inf, 2.0]),
        ("inf vs -inf", [inf, 1.0], [-inf, 1.0]),
        ("nan long", [nan] + [0.25] * 40, [0.5] * 41),
        ("overflow f32", [3e38, 1.0], [-3e38, 0.0]),
    ]
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for name, a, b in nonfinite:
            cases.append(forward_case("%s %s" % (name, dn), np.array(a, dt), np.array(b, dt), ["nonfinite"]))

    # mixed float32/float64 (promotion)
    mixed = [((3,), F32, (3,), F64), ((3,), F64, (3,), F32), ((), F64, (4,), F32),
             ((4,), F32, (), F64), ((2, 3), F32, (3,), F64), ((33,), F32, (33,), F64)]
    for a, da, b, db in mixed:
        cases.append(forward_case("mixed %s %s vs %s %s" % (list(a), dtype_name(da), list(b), dtype_name(db)),
                                  normal(rng, a, da), normal(rng, b, db), ["mixed"]))

    # legacy size_average / reduce, and the elementwise_mean alias
    x = np.array([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]], F64)
    y = np.array([[1.0, 0.25, -2.0], [2.5, 0.5, 0.25]], F64)
    legacy = []
    for sa in (None, True, False):
        for rd in (None, True, False):
            # invalid or deprecated reductions too: legacy arguments replace them unchecked
            for red in (None, "mean", "sum", "none", "elementwise_mean", "avg"):
                if sa is None and rd is None:
                    continue
                kwargs = {}
                opts = {}
                if sa is not None:
                    kwargs["size_average"] = sa
                    opts["sizeAverage"] = sa
                if rd is not None:
                    kwargs["reduce"] = rd
                    opts["reduce"] = rd
                if red is not None:
                    kwargs["reduction"] = red
                    opts["reduction"] = red
                out, msgs = capture_warnings(lambda: F.mse_loss(tt(x), tt(y), **kwargs))
                chosen = chosen_reduction(out, x, y)
                legacy.append({"options": opts, "chosen": chosen, "warnings": msgs})
    out, msgs = capture_warnings(lambda: F.mse_loss(tt(x), tt(y), reduction="elementwise_mean"))
    alias = [{"options": {"reduction": "elementwise_mean"}, "chosen": chosen_reduction(out, x, y), "warnings": msgs}]

    # incompatible shapes: torch warns first, then raises
    errors = []
    for a, b in [((2, 3), (2, 4)), ((3,), (4,)), ((2, 3), (3, 2)), ((2, 3, 4), (5, 4)), ((4, 2), (2, 3, 2))]:
        X, Y = torch.zeros(a), torch.zeros(b)
        msg = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                F.mse_loss(X, Y)
            except RuntimeError as err:
                msg = str(err)
        assert msg is not None
        errors.append({"inputShape": list(a), "targetShape": list(b), "type": "RuntimeError",
                       "message": msg, "warnings": [str(w.message) for w in caught]})

    try:
        F.mse_loss(tt(x), tt(y), reduction="avg")
        raise AssertionError("torch accepted reduction='avg'")
    except ValueError as err:
        invalid = [{"reduction": "avg", "type": "ValueError", "message": str(err)}]

    return {"legacy": legacy, "alias": alias, "errors": errors, "invalidReduction": invalid, "cases": cases}


def chosen_reduction(out, x, y):
    X, Y = tt(x), tt(y)
    for red in REDUCTIONS:
        ref = F.mse_loss(X, Y, reduction=red)
        if ref.shape == out.shape and torch.equal(ref, out):
            return red
    raise AssertionError("no reduction matches")


# ---------------------------------------------------------------- backward

def mse_fn(red):
    return lambda a, b: F.mse_loss(a, b, reduction=red)


def backward_case(name, x, y, g_none=None, g_scalar=None):
    bshape = tuple(torch.broadcast_shapes(tuple(np.shape(x)), tuple(np.shape(y))))
    expanded = bshape != tuple(np.shape(x))
    dt = promoted(x, y)
    entries = []
    for red in REDUCTIONS:
        gs = [None]
        if red == "none":
            gs = [None] + ([g_none] if g_none is not None else [])
        elif g_scalar is not None:
            gs = [None, g_scalar]
        for g in gs:
            entry = {"reduction": red}
            if g is not None:
                entry["gradOutput"] = enc_grad_output(g, dt)
            entry.update(grad_entry(mse_fn(red), x, [y], g, exact=not expanded))
            out = silently(lambda: F.mse_loss(tt(x).to(torch.float64 if dt == F64 else torch.float32),
                                              tt(y).to(torch.float64 if dt == F64 else torch.float32), reduction=red))
            ref = silently(lambda: F.mse_loss(tt(x).double(), tt(y).double(), reduction=red))
            if red != "none":
                entry["loss"] = enc_scalar(out, ref)
            entries.append(entry)
    return {"name": name, "input": enc_tensor(x), "target": enc_tensor(y),
            "expanded": expanded, "grads": entries}


def backward_fixture():
    rng = np.random.default_rng(20240602)
    cases = []
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for n in (1, 2, 7, 15, 16, 17, 33, 127, 128, 129, 255):
            cases.append(backward_case("len %d %s" % (n, dn), normal(rng, (n,), dt), normal(rng, (n,), dt),
                                       g_none=normal(rng, (n,), dt), g_scalar=0.75))
        for shape in [(), (2, 3), (2, 3, 4), (1, 5, 1, 3)]:
            cases.append(backward_case("shape %s %s" % (list(shape), dn), normal(rng, shape, dt), normal(rng, shape, dt),
                                       g_none=normal(rng, shape, dt), g_scalar=-1.5))
        # gradOutput that broadcasts to the loss shape
        cases.append(backward_case("gradOutput [3] for [2, 3] %s" % dn, normal(rng, (2, 3), dt), normal(rng, (2, 3), dt),
                                   g_none=normal(rng, (3,), dt)))
        cases.append(backward_case("gradOutput [2, 1] for [2, 3] %s" % dn, normal(rng, (2, 3), dt), normal(rng, (2, 3), dt),
                                   g_none=normal(rng, (2, 1), dt)))
        cases.append(backward_case("gradOutput 2.5 for [4] %s" % dn, normal(rng, (4,), dt), normal(rng, (4,), dt),
                                   g_none=2.5))
        # target expands input: the gradient is summed back
        for a, b in [((3, 1), (3, 4)), ((4,), (2, 4)), ((), (5,)), ((3, 1), (1, 4)), ((1,), (5,)),
                     ((2, 1, 3), (4, 1)), ((1, 200), (3, 1)), ((2, 4), (4,)), ((5,), ())]:
            bshape = tuple(torch.broadcast_shapes(a, b))
            cases.append(backward_case("broadcast %s vs %s %s" % (list(a), list(b), dn),
                                       normal(rng, a, dt), normal(rng, b, dt),
                                       g_none=normal(rng, bshape, dt), g_scalar=0.75))
        cases.append(backward_case("empty [0] %s" % dn, np.zeros((0,), dt), np.zeros((0,), dt), g_none=np.zeros((0,), dt)))
        cases.append(backward_case("empty [2, 0] %s" % dn, np.zeros((2, 0), dt), np.zeros((2, 0), dt)))
        cases.append(backward_case("nan %s" % dn, np.array([1.0, float("nan"), 2.0], dt), np.array([0.5, 0.5, float("inf")], dt)))
    # mixed dtypes: torch 1.13 raises; computed in float64 and cast to input's dtype
    for a, da, b, db in [((5,), F32, (5,), F64), ((5,), F64, (5,), F32), ((3, 1), F32, (3, 4), F64),
                         ((), F64, (4,), F32), ((2, 3), F32, (3,), F64)]:
        bshape = tuple(torch.broadcast_shapes(a, b))
        dt = promoted(np.zeros(0, da), np.zeros(0, db))
        cases.append(backward_case("mixed %s %s vs %s %s" % (list(a), dtype_name(da), list(b), dtype_name(db)),
                                   normal(rng, a, da), normal(rng, b, db),
                                   g_none=normal(rng, bshape, dt), g_scalar=0.75))
    return {"cases": cases}


# ---------------------------------------------------------------- weights

def weighted_fn(red):
    """The API's stated formula, written in torch (torch 1.13 has no weight)."""
    def fn(a, b, w):
        l = (a - b) ** 2 * w
        if red == "none":
            return l
        if red == "sum":
            return l.sum()
        return l.sum() / w.expand(l.shape).sum()
    return fn


def weights_case(name, x, y, w, g_none=None):
    dt = promoted(x, y, w)
    tdt = torch.float64 if dt == F64 else torch.float32
    bshape = tuple(torch.broadcast_shapes(np.shape(x), np.shape(y), np.shape(w)))
    expanded = bshape != tuple(np.shape(x))
    entries = []
    for red in REDUCTIONS:
        fn = weighted_fn(red)
        g = g_none if red == "none" else None
        entry = {"reduction": red}
        if g is not None:
            entry["gradOutput"] = enc_grad_output(g, dt)
        X, Y, W = tt(x).to(tdt), tt(y).to(tdt), tt(w).to(tdt)
        out = fn(X, Y, W)
        ref = fn(tt(x).double(), tt(y).double(), tt(w).double())
        entry["loss"] = enc_tensor(out) if red == "none" else enc_scalar(out, ref)
        if red == "none":
            entry["loss64"] = enc_tensor(ref)
        else:
            # signed weights cancel: bound errors by sum|w*l| (over |sum w| for the mean)
            mags = ((tt(x).double() - tt(y).double()) ** 2 * tt(w).double()).abs().sum()
            if red == "mean":
                mags = mags / tt(w).double().expand(torch.broadcast_shapes(bshape)).sum().abs()
            entry["lossScale64"] = enc_num(mags)
        entry.update(grad_entry(fn, x, [y, w], g, exact=False))
        entry["computedIn"] = dtype_name(dt)
        entries.append(entry)
    return {"name": name, "input": enc_tensor(x), "target": enc_tensor(y), "weight": enc_tensor(w),
            "expanded": expanded, "grads": entries}


def weighted_axis_case(name, x, y, w, axis, keepdims, red):
    dt = promoted(x, y, w)
    tdt = torch.float64 if dt == F64 else torch.float32
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)

    def fn(a, b, ww):
        l = (a - b) ** 2 * ww
        s = l.sum(dim=dims, keepdim=keepdims)
        if red == "sum":
            return s
        return s / ww.expand(l.shape).sum(dim=dims, keepdim=keepdims)

    out = fn(tt(x).to(tdt), tt(y).to(tdt), tt(w).to(tdt))
    ref = fn(tt(x).double(), tt(y).double(), tt(w).double())
    g = normal(np.random.default_rng(len(name)), tuple(out.shape), dt)
    entry = {"name": name, "input": enc_tensor(x), "target": enc_tensor(y), "weight": enc_tensor(w),
             "axis": axis, "keepdims": keepdims, "reduction": red,
             "result": enc_tensor(out), "result64": enc_tensor(ref), "gradOutput": enc_tensor(g)}
    entry.update(grad_entry(fn, x, [y, w], g, exact=False))
    return entry


def weights_fixture():
    rng = np.random.default_rng(20240603)
    cases, axis_cases = [], []
    pos = lambda shape, dt: np.asarray(rng.uniform(0.25, 2.0, size=shape)).astype(dt)
    for dt in (F32, F64):
        dn = dtype_name(dt)
        for wshape in [(2, 3), (3,), (2, 1), (1, 3), ()]:
            cases.append(weights_case("loss [2, 3] weight %s %s" % (list(wshape), dn),
                                      normal(rng, (2, 3), dt), normal(rng, (2, 3), dt), pos(wshape, dt),
                                      g_none=normal(rng, (2, 3), dt)))
        for n in (1, 17, 129):
            cases.append(weights_case("len %d %s" % (n, dn), normal(rng, (n,), dt), normal(rng, (n,), dt),
                                      pos((n,), dt), g_none=normal(rng, (n,), dt)))
        cases.append(weights_case("broadcast [3, 1] vs [1, 4] weight [4] %s" % dn,
                                  normal(rng, (3, 1), dt), normal(rng, (1, 4), dt), pos((4,), dt),
                                  g_none=normal(rng, (3, 4), dt)))
        cases.append(weights_case("broadcast [4] vs [2, 4] weight [2, 1] %s" % dn,
                                  normal(rng, (4,), dt), normal(rng, (2, 4), dt), pos((2, 1), dt),
                                  g_none=normal(rng, (2, 4), dt)))
        cases.append(weights_case("signed weights %s" % dn, normal(rng, (6,), dt), normal(rng, (6,), dt),
                                  normal(rng, (6,), dt), g_none=normal(rng, (6,), dt)))
        cases.append(weights_case("zero weights %s" % dn, normal(rng, (3,), dt), normal(rng, (3,), dt),
                                  np.zeros((3,), dt)))
        axis_cases.append(weighted_axis_case("axis 0 [2, 3] weight [3] %s" % dn, normal(rng, (2, 3), dt),
                                             normal(rng, (2, 3), dt), pos((3,), dt), 0, False, "mean"))
        axis_cases.append(weighted_axis_case("axis -1 keepdims [2, 3] weight [2, 1] %s" % dn, normal(rng, (2, 3), dt),
                                             normal(rng, (2, 3), dt), pos((2, 1), dt), -1, True, "mean"))
        axis_cases.append(weighted_axis_case("axis [0, 2] sum [2, 3, 4] weight [3, 4] %s" % dn,
                                             normal(rng, (2, 3, 4), dt), normal(rng, (2, 3, 4), dt),
                                             pos((3, 4), dt), [0, 2], False, "sum"))
    for a, da, b, db, wd in [((4,), F32, (4,), F32, F64), ((4,), F32, (4,), F64, F32), ((2, 3), F64, (3,), F32, F32)]:
        cases.append(weights_case("mixed %s %s vs %s %s weight %s" % (list(a), dtype_name(da), list(b), dtype_name(db), dtype_name(wd)),
                                  normal(rng, a, da), normal(rng, b, db), pos(a, wd),
                                  g_none=normal(rng, tuple(torch.broadcast_shapes(a, b)), F64)))
    return {"cases": cases, "axisCases": axis_cases}


# ---------------------------------------------------------------- axis / keepdims

def np_reduce(sq, red, axis, keepdims):
    fn = np.mean if red == "mean" else np.sum
    ax = tuple(axis) if isinstance(axis, list) else axis
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty slice is NaN
        return fn(sq, axis=ax, keepdims=keepdims)


def axis_case(name, x, y, axis, keepdims, red, with_g=True):
    dt = promoted(x, y)
    sq = np.square(np.asarray(y).astype(dt) - np.asarray(x).astype(dt))
    res = np_reduce(sq, red, axis, keepdims)
    sq64 = np.square(np.asarray(y).astype(F64) - np.asarray(x).astype(F64))
    res64 = np_reduce(sq64, red, axis, keepdims)
    # a number when every axis is reduced without keepdims (axis [] reduces nothing)
    is_number = np.ndim(res) == 0 and not keepdims and axis != []
    rank = np.ndim(sq)

    def fn(a, b):
        l = (a - b) ** 2
        if isinstance(axis, list) and len(axis) == 0:
            return l  # axis [] reduces nothing (torch 1.13 would reduce all)
        if axis is None:
            dims = tuple(range(rank))
        else:
            dims = tuple(axis) if isinstance(axis, list) else (axis,)
        return (torch.sum if red == "sum" else torch.mean)(l, dim=dims, keepdim=keepdims)

    out_shape = tuple(np.shape(res))
    g = normal(np.random.default_rng(len(name) + 7), out_shape, dt) if with_g and out_shape != () else None
    entry = {"name": name, "input": enc_tensor(x), "target": enc_tensor(y), "axis": axis,
             "keepdims": keepdims, "reduction": red}
    if is_number:
        entry["result"] = {"dtype": dtype_name(dt), "value": enc_num(res), "value64": enc_num(res64)}
    else:
        entry["result"] = enc_tensor(np.asarray(res).astype(dt))
        entry["result64"] = enc_tensor(np.asarray(res64))
    if g is not None:
        entry["gradOutput"] = enc_tensor(g)
    entry.update(grad_entry(fn, x, [y], g, exact=False))
    # cross-check numpy against torch's forward
    check = fn(tt(x).double(), tt(y).double()).detach().numpy()
    assert np.allclose(check, res64, rtol=1e-12, atol=0, equal_nan=True), name
    return entry


def axis_fixture():
    rng = np.random.default_rng(20240604)
    cases = []
    # the seed: np.mean(np.square(y_true - y_pred), axis=0)
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], F64)
    y_pred = np.array([[1, 2, 3], [2, 1, 3], [3, 1, 2]], F64)
    cases.append(axis_case("seed 3x3 axis 0", y_pred, y_true, 0, False, "mean"))
    cases.append(axis_case("seed 3x3 axis -1", y_pred, y_true, -1, False, "mean"))
    specs = [
        ((2, 3), 0, False), ((2, 3), 1, False), ((2, 3), -1, True), ((2, 3), [0, 1], False),
        ((2, 3), [0, 1], True), ((2, 3), [], False), ((2, 3), None, True), ((2, 3), [-2], True),
        ((2, 3, 4), [0, 2], False), ((2, 3, 4), -2, False), ((2, 3, 4), [-1, -3], True),
        ((2, 3, 4), [2, 0], False), ((2, 3, 4), 1, True), ((2, 130), 1, False), ((130, 2), 0, False),
        ((2, 3, 4, 5), [1, 3], False), ((2, 3, 4, 5), [0, -1], True), ((17,), 0, False), ((17,), 0, True),
        ((4, 0), 1, False), ((4, 0), 0, False),
    ]
    for dt in (F64, F32):
        dn = dtype_name(dt)
        for shape, axis, keep in specs:
            for red in ("mean", "sum"):
                cases.append(axis_case("%s axis %s keepdims %s %s %s" % (list(shape), axis, keep, red, dn),
                                       normal(rng, shape, dt), normal(rng, shape, dt), axis, keep, red))
        for a, b, axis, keep in [((3, 1), (1, 4), 0, False), ((3, 1), (1, 4), 1, True),
                                 ((4,), (2, 4), 0, False), ((2, 3), (3,), -1, False), ((), (5,), 0, False)]:
            for red in ("mean", "sum"):
                cases.append(axis_case("broadcast %s vs %s axis %s keepdims %s %s %s" % (list(a), list(b), axis, keep, red, dn),
                                       normal(rng, a, dt), normal(rng, b, dt), axis, keep, red))
    cases.append(axis_case("mixed [2, 3] float32 vs float64 axis 0 mean", normal(rng, (2, 3), F32),
                           normal(rng, (2, 3), F64), 0, False, "mean"))
    return {"cases": cases}


# ---------------------------------------------------------------- metric

def metric_fixture():
    rng = np.random.default_rng(20240605)
    datasets = []

    def add(name, pred, target, splits):
        assert sum(splits) == len(pred)
        batches, i = [], 0
        for s in splits:
            batches.append({"pred": enc_tensor(pred[i:i + s]), "target": enc_tensor(target[i:i + s])})
            i += s
        # torchmetrics' RMSE is sqrt of the overall MSE; sklearn averages per-column
        # RMSEs of 2-D data, so give it the flattened arrays
        pred, target = pred.reshape(-1), target.reshape(-1)
        p64, t64 = pred.astype(F64), target.astype(F64)
        datasets.append({
            "name": name,
            "batches": batches,
            "mse": enc_num(mean_squared_error(target, pred)),
            "rmse": enc_num(mean_squared_error(target, pred, squared=False)),
            "mse64": enc_num(mean_squared_error(t64, p64)),
            "rmse64": enc_num(mean_squared_error(t64, p64, squared=False)),
        })

    add("sklearn doc example", np.array([2.5, 0.0, 2, 8], F64), np.array([3, -0.5, 2, 7], F64), [2, 2])
    add("1000 float64", normal(rng, (1000,), F64), normal(rng, (1000,), F64), [1, 10, 100, 500, 389])
    add("1000 float32", normal(rng, (1000,), F32), normal(rng, (1000,), F32), [128, 500, 7, 365])
    add("[200, 3] float64 rows", normal(rng, (200, 3), F64), normal(rng, (200, 3), F64), [50, 50, 100])
    add("spread 777 float64", spread(rng, (777,), F64), spread(rng, (777,), F64), [777])
    return {"datasets": datasets}


# ---------------------------------------------------------------- main

def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(0)
    meta = {"generator": "scripts/gen_fixtures.py", "torch": torch.__version__.split("+")[0],
            "numpy": np.__version__}
    total = 0
    for fname, build in [("forward.json", forward_fixture), ("backward.json", backward_fixture),
                         ("weights.json", weights_fixture), ("axis.json", axis_fixture),
                         ("metric.json", metric_fixture)]:
        data = build()
        m = dict(meta)
        if fname == "metric.json":
            import sklearn
            m["sklearn"] = sklearn.__version__
        size = write_fixture(fname, m, data)
        counts = ", ".join("%s %d" % (k, len(v)) for k, v in data.items())
        print("%-14s %7d bytes  (%s)" % (fname, size, counts))
        total += size
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
