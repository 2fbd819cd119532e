"""Check a learner's gradients against a central difference of the learner's own loss.

The central difference is taken on sampled elements of every parameter, perturbing the learner's own
arrays in place (so layers that hold references to them see it) and restoring each element in a
``finally``. Their ``gradient()`` or ``numerical_gradient()`` is then compared element by element and
the disagreement is *named*: a constant factor (and whether it is the batch size), a sign flip, a
transpose, all zeros, constant along rows, or one parameter wrong while the others agree.
"""
import re

import numpy as np

from ._doctor_findings import Finding

#: Relative agreement of an element with the central difference (the book's 1e-7 inside the log and the
#: difference's own truncation error are far below it).
RTOL = 2e-3
#: Share of sampled elements allowed to disagree (a relu kink between x-h and x+h spoils one element).
SPOILED = 0.2


def _flat_arrays(result):
    """The arrays of a (nested) tuple/list in order, e.g. ([dW1, dW2], [db1, db2]), passing over numbers (a
    loss returned alongside: (loss, dW1, db1, ...)); None if it holds anything else."""
    out = []
    for item in result:
        if isinstance(item, np.ndarray) and item.ndim:
            out.append(item)
        elif isinstance(item, (int, float, np.number, np.ndarray)) and not isinstance(item, bool):
            continue
        elif isinstance(item, (tuple, list)):
            inner = _flat_arrays(item)
            if inner is None:
                return None
            out += inner
        else:
            return None
    return out


def as_grad_dict(result, params):
    """A gradient result as {key: array}: a dict as is; a tuple/list of arrays (nested lists flattened) matched
    to params in order: one for one, else each array to the first parameter of its shape not yet taken
    (([dW1, dW2], [db1, db2]) against W1, b1, W2, b2; params that also hold arrays the gradient does not
    cover, an object's cached activations)."""
    if isinstance(result, dict):
        return result
    if isinstance(result, (tuple, list)):  # (loss, grads): the dict returned with the loss
        dicts = [v for v in result if isinstance(v, dict)]
        if len(dicts) == 1 and all(np.ndim(v) == 0 for v in result if not isinstance(v, dict)):
            return dicts[0]
    keys = [k for k, v in params.items() if isinstance(v, np.ndarray)]
    flat = _flat_arrays(result) if isinstance(result, (tuple, list)) else None
    if not flat:
        return result
    if len(flat) == len(keys) and all(g.size == params[k].size for g, k in zip(flat, keys)):
        return dict(zip(keys, flat))
    matched = {}
    for g in flat:  # each to the first parameter of its shape not yet taken (same-shaped ones keep their order)
        key = next((k for k in keys if k not in matched and params[k].shape == g.shape), None)
        if key is None:
            return result
        matched[key] = g
    return matched if len(flat) >= 2 else result


def _differences(loss, array, index, h):
    """(central difference, its rounding error) at step h, perturbing the learner's array in place.

    The step is the one the array holds: a float32 element stores saved +- h rounded to its own precision
    (off by up to 4e-5 of h = 1e-4 near 0.05), so the difference divides by what was stored, not by 2h."""
    saved = array[index]
    try:
        array[index] = saved + h
        up = float(array[index])
        fp = float(loss())
        array[index] = saved - h
        down = float(array[index])
        fm = float(loss())
    finally:
        array[index] = saved
    step = up - down if up > down else 2 * h  # (an element too large for h to move it: the plain 2h, as before)
    return (fp - fm) / step, 4 * np.finfo(np.float64).eps * max(abs(fp), abs(fm)) / step


def central_difference(loss, array, index, h):
    """(loss(a[i] + h) - loss(a[i] - h)) / 2h, perturbing the learner's array in place."""
    return _differences(loss, array, index, h)[0]


#: Steps a float64 central difference is refined by when it may straddle a kink (see ``kink_free_difference``).
REFINE = (10.0, 100.0)


def kink_free_difference(loss, array, index, h, refine=None):
    """A central difference that does not straddle a kink of the loss (a relu unit's zero, a max).

    When a relu unit's input lies within h of zero for some example, (L(a+h) - L(a-h)) / 2h mixes the slopes
    of both sides and is off by up to a few percent: every element of that unit's weights is then
    "spoiled" (in an MNIST batch of 100 with 50 relu units that happens in about one check in a hundred).
    The difference is therefore taken again at h/10: if the two agree (to RTOL/4, or to the finer step's
    float64 rounding error) there is no kink within h and the value at h is kept; if not, the value at h/10
    is kept when it agrees with the one at h/100 (a kink inside h/10 as well is ten times less likely).
    When no two steps agree the loss cannot resolve the smaller steps (a float32 computation behind float64
    parameters, say) and the plain difference at h is kept. refine (default: whether the array is float64)
    says whether the loss has the digits to spare: a float32 loss has not, but the loss of float32 parameters
    computed in float64 has (``reference_values``'s ``precise``).
    """
    d, _ = _differences(loss, array, index, h)
    if not (np.asarray(array).dtype == np.float64 if refine is None else refine):
        return d
    coarser = d
    for f in REFINE:
        finer, noise = _differences(loss, array, index, h / f)
        if abs(coarser - finer) <= RTOL / 4 * max(abs(coarser), abs(finer)) + noise:
            return coarser
        coarser = finer
    return d


#: h for a loss computed in float32 (it resolves ~1e-7 of itself).
FLOAT32_STEP = 1e-2


def step_for(array, precise=False):
    """h for a central difference of the array's elements: in the array's precision; for float32 elements of a
    loss computed in float64 (precise), 1e-4 (1e-2 would straddle a relu unit's kink for a bias in most checks
    of a batch of 100; the stored step is what the difference divides by)."""
    if np.asarray(array).dtype == np.float32:
        return 1e-4 if precise else FLOAT32_STEP
    return 1e-5


def layer_of(key, position):
    """Layer number of a parameter key ('W2' -> 2), else its position."""
    digits = re.findall(r"\d+", str(key))
    return int(digits[-1]) if digits else position


def sample_indices(shape, theirs, rng, n):
    """n element indices: half where their gradient is largest, half uniformly at random."""
    size = int(np.prod(shape))
    if size <= n:
        return [np.unravel_index(i, shape) for i in range(size)]
    picks = []
    if theirs is not None and np.shape(theirs) == tuple(shape) and np.all(np.isfinite(theirs)):
        flat = np.abs(np.asarray(theirs, np.float64)).ravel()
        picks = [int(i) for i in np.argsort(flat)[::-1][: n // 2] if flat[i] > 0]
    rest = [int(i) for i in rng.choice(size, size=min(size, 4 * n), replace=False) if int(i) not in picks]
    picks += rest[: n - len(picks)]
    return [np.unravel_index(i, shape) for i in picks]


def reference_values(params, loss, rng, theirs=None, n=12, precise=False, coarse=False):
    """{key: (indices, central differences)} on n sampled elements of every parameter; precise: the loss is
    computed in float64 whatever the parameters' dtype, so float32 ones are refined around kinks as well;
    coarse: the loss is computed in float32 whatever the parameters' dtype, so every element takes the float32
    step (a float64 step of 1e-5 moves a float32 loss by less than its rounding: the difference comes out 0)."""
    out = {}
    for key, array in params.items():
        if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
            continue
        hint = None if theirs is None else theirs.get(key)
        idx = sample_indices(array.shape, hint, rng, n)
        h = FLOAT32_STEP if coarse else step_for(array, precise)
        refine = False if coarse else True if precise else None
        out[key] = (idx, np.array([kink_free_difference(loss, array, i, h, refine) for i in idx]))
    return out


#: The same for a float32 loss (float32 parameters, or a loss the learner computes in float32): it is only
#: good to ~1e-7 relative, so the difference takes h = 1e-2.
RTOL_FLOAT32 = 3e-2
#: The same for float32 parameters whose loss ran in float64 (``reference_values``'s precise): the reference
#: is as good as a float64 one, and their float32 gradient carries its own rounding (~1e-6 of its terms).
RTOL_PRECISE32 = 1e-2
#: (rtol, the floor of atol as a share of the reference's largest entry) by the reference's precision.
PRECISION = {"float64": (RTOL, 0.0), "float32": (RTOL_FLOAT32, 1e-3), "precise32": (RTOL_PRECISE32, 1e-4)}


def stored_below_float64(params):
    """Whether any parameter array is stored in a float type narrower than float64 (float32, float16)."""
    return any(isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.dtype.itemsize < 8 for v in params.values())


def _agree(a, b, atol, rtol=RTOL):
    return np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + atol


def _factor(mine, ours, live, atol, rtol):
    """The factor c in mine ~ c * ours, robust to the few spoiled elements SPOILED allows.

    The median of the live elements' ratios, then the least-squares factor of the elements that agree with
    it (a single spoiled element must not pull a least-squares fit over all of them off by more than rtol).
    """
    c = float(np.median(mine[live] / ours[live]))
    inliers = live & _agree(mine, c * ours, atol * abs(c), rtol)
    if np.any(inliers):
        c = float(np.dot(mine[inliers], ours[inliers]) / np.dot(ours[inliers], ours[inliers]))
    return c


def compare_param(key, ours_idx, ours, theirs, shape, atol, rtol=RTOL):
    """What their gradient of one parameter is, measured against ours: a dict with 'pattern'."""
    if theirs is None:
        return {"pattern": "missing"}
    g = np.asarray(theirs)
    if g.dtype == object or not np.issubdtype(g.dtype, np.number):
        return {"pattern": "shape", "shape": list(np.shape(g)), "expected": list(shape)}
    if g.shape != tuple(shape):
        if g.ndim == 2 and g.shape == tuple(shape)[::-1]:
            return {"pattern": "transpose", "shape": list(g.shape), "expected": list(shape)}
        return {"pattern": "shape", "shape": list(g.shape), "expected": list(shape)}
    g = g.astype(np.float64)
    if not np.all(np.isfinite(g)):
        return {"pattern": "nan", "nonfinite": int(np.sum(~np.isfinite(g)))}
    mine = np.array([g[i] for i in ours_idx])
    live = np.abs(ours) > atol
    if np.mean(_agree(mine, ours, atol, rtol)) >= 1 - SPOILED:
        return {"pattern": "agree", "max_error": float(np.max(np.abs(mine - ours))), "all_zero": not np.any(g)}
    if not np.any(g):
        return {"pattern": "zero", "max_reference": float(np.max(np.abs(ours)))}
    if g.ndim == 2 and g.shape[1] > 1 and np.all(np.ptp(g, axis=1) == 0):
        return {"pattern": "rows", "max_error": float(np.max(np.abs(mine - ours)))}
    if np.any(live):
        c = _factor(mine, ours, live, atol, rtol)
        if c != 0 and np.mean(_agree(mine, c * ours, atol * abs(c), rtol)) >= 1 - SPOILED:
            return {"pattern": "factor", "factor": c}
    if g.ndim == 2 and g.shape[0] == g.shape[1]:
        flipped = np.array([g.T[i] for i in ours_idx])
        if np.mean(_agree(flipped, ours, atol, rtol)) >= 1 - SPOILED:
            return {"pattern": "transpose", "shape": list(g.shape), "expected": list(shape)}
    worst = int(np.argmax(np.abs(mine - ours)))
    return {"pattern": "mismatch", "max_error": float(np.max(np.abs(mine - ours))),
            "index": [int(i) for i in ours_idx[worst]], "theirs": float(mine[worst]), "ours": float(ours[worst]),
            "median_ratio": float(np.median(mine[live] / ours[live])) if np.any(live) else None}


def compare(params, reference, theirs, atol_scale=1e-6, precision=None):
    """{key: comparison dict} of their gradient dict against reference_values(); precision: a key of PRECISION
    (default: float32 when any parameter is stored in float32, else float64)."""
    scale = max([float(np.max(np.abs(v))) for _, v in reference.values()] + [0.0])
    if precision is None:
        precision = "float32" if stored_below_float64(params) else "float64"
    rtol, floor = PRECISION[precision]
    atol = max(atol_scale, floor) * scale + 1e-10
    theirs = theirs if isinstance(theirs, dict) else {}
    return {key: compare_param(key, idx, ours, theirs.get(key), np.shape(params[key]), atol, rtol)
            for key, (idx, ours) in reference.items()}


def _is_batch(factor, batch_size):
    return bool(batch_size) and any(abs(abs(factor) - b) <= 0.02 * b for b in (batch_size, 1.0 / batch_size))


def _root(keys, params):
    """The parameter a backprop error most likely starts in: the deepest weight among the wrong ones.

    Backprop runs from the output down, so an error in layer k spoils layers k, k-1, ... 1.
    """
    order = list(params)
    ranked = sorted(keys, key=lambda k: (np.ndim(params[k]) >= 2, layer_of(k, order.index(k))), reverse=True)
    return ranked[0]


def _common_factor(results):
    factors = [r.get("factor") for r in results.values()]
    if all(f is not None for f in factors) and factors:
        if max(factors) - min(factors) <= 0.02 * max(abs(f) for f in factors):
            return float(np.mean(factors))
    return None


def backprop_findings(params, results, batch_size):
    """Findings for their gradient(): shapes first, then NaN, then the named pattern."""
    bad = {k: r for k, r in results.items() if r["pattern"] != "agree"}
    if not bad:
        return []
    for pattern, code in (("shape", "backprop-shape"), ("transpose", "backprop-transpose")):
        keys = [k for k, r in bad.items() if r["pattern"] == pattern]
        if keys:
            key = _root(keys, params)
            return [Finding(code, key, dict(bad[key], params=keys))]
    nan = [k for k, r in bad.items() if r["pattern"] == "nan"]
    if nan:
        return [Finding("nan-gradient", nan[0] if len(nan) == 1 else None, {"params": nan})]
    missing = [k for k, r in bad.items() if r["pattern"] == "missing"]
    if missing:
        return [Finding("zero-gradient", missing[0] if len(missing) == 1 else None, {"params": missing},
                        template="gradient-missing")]
    if len(bad) == len(results) and len(results) > 1:
        c = _common_factor(bad)
        if c is not None:
            return [_factor_finding(None, c, batch_size, list(bad))]
    zero = [k for k, r in bad.items() if r["pattern"] == "zero"]
    if zero:
        key = _root(zero, params)
        return [Finding("zero-gradient", key, dict(bad[key], params=zero))]
    key = _root(list(bad), params)
    r = bad[key]
    if r["pattern"] == "factor":
        return [_factor_finding(key, r["factor"], batch_size, list(bad))]
    return [Finding("backprop-mismatch", key, dict(r, params=list(bad), agree=[k for k in results if k not in bad]))]


def _factor_finding(key, c, batch_size, keys):
    measured = {"factor": c, "batch_size": batch_size, "params": keys}
    if c < 0:
        return Finding("backprop-sign", key, measured, template="backprop-sign" if abs(c + 1) < 0.02
                       else "backprop-sign-factor")
    return Finding("backprop-scale", key, measured,
                   template="backprop-scale-batch" if _is_batch(c, batch_size) else "backprop-scale")


def numgrad_findings(params, results):
    """Findings for their numerical_gradient()."""
    bad = {k: r for k, r in results.items() if r["pattern"] != "agree"}
    if not bad:
        return []
    if all(r["pattern"] == "zero" or r.get("all_zero") for r in results.values()):
        return [Finding("numgrad-no-effect", None, {"params": list(bad)})]
    for pattern, code in (("shape", "numgrad-mismatch"), ("transpose", "numgrad-mismatch"), ("nan", "nan-gradient")):
        keys = [k for k, r in bad.items() if r["pattern"] == pattern]
        if keys:
            return [Finding(code, keys[0] if len(keys) == 1 else None, dict(bad[keys[0]], params=keys),
                            template="numgrad-shape" if code == "numgrad-mismatch" else "")]
    rows = [k for k, r in bad.items() if r["pattern"] == "rows"]
    if rows:  # an all-zero matrix is constant along its rows too (a row of softmax logits' gradients sums to 0)
        rows += [k for k, r in results.items() if k not in rows and np.ndim(params[k]) == 2
                 and (r["pattern"] == "zero" or r.get("all_zero"))]
        return [Finding("numgrad-first-axis", rows[0] if len(rows) == 1 else None, {"params": rows})]
    keys = list(bad)
    key = keys[0] if len(keys) == 1 else None
    c = _common_factor(bad) if len(keys) == len(results) else bad[keys[0]].get("factor") if key else None
    if c is not None:
        return [Finding("numgrad-mismatch", key, {"factor": c, "params": keys}, template="numgrad-factor")]
    first = bad[keys[0]]
    return [Finding("numgrad-mismatch", key, dict(first, params=keys))]
