"""Numba kernels: the central-difference gradient of the two-layer net, from per-row loss changes.

Design
------
The reference perturbs one parameter by +-h and runs two full forward passes. Here the forward pass
is run once (by the wrapper, with BLAS) and each perturbation only recomputes what it changes:

* W1[i, j] +- h moves hidden unit j's pre-activation of row b by +-h x[b, i]. Rows with
  x[b, i] == 0 do not change at all (most MNIST pixels), so the kernel walks the nonzeros of column
  i (a CSC index built once). Row b's hidden output moves by delta = act(a1 + hx) - act(a1); its
  logits move by the rank-one u = delta W2[j, :].
* b1[j] is the same with x[b, i] replaced by 1: the CSC index gets a last column of ones, and the
  last row of the "W1" output is b1's gradient. W2[j, k] moves one logit column only, by +-h z1[b, j];
  b2 likewise, with a column of ones appended to z1.
* A row's loss change is computed directly, never as a difference of two batch totals:
  cross-entropy: dl = log1p(sum_k p_k expm1(u_k)) - u_t;
  MSE: d_k = p_k (expm1(u_k) - S) / (1 + S), dl = sum_k d_k (d_k / 2 + p_k - T_k).
  The gradient is sum_b (dl+ - dl-) / (2 h N): the same central difference as the reference,
  with less rounding error.
* Fast path for W1 under cross-entropy, where almost all the work is: with c_n[b, j] :=
  sum_k p_bk W2[j, k]^n / n! (computed once), sum_k p_k expm1(delta w_k) = sum_n delta^n c_n. The
  wrapper takes this path only when |u| <= SERIES_LIMIT for every perturbation (it bounds |u| by
  lipschitz(act) h max|x| max|W2|); then the truncated exp and log1p series err by less than 1e-18,
  far below float64 rounding of the loss. The sigmoid of a shifted pre-activation reuses
  exp(-a1) (once per row and unit) and exp(-+hx) (once per row and input): 1 / (1 + E e).
  The forward pass itself skips zero inputs (a1 := sum over the nonzeros of x[b] of x[b, i] W1[i]).
  Otherwise (larger weights, raw pixels, MSE) the exact per-logit kernel runs.

Two parallel launches: the forward pass and tables over rows (``prepare``), then one over balanced
chunks of inputs i (W1, b1) and of hidden units j (W2, b2) together; every work item writes
only its own rows of the output, so there are no races and no reductions. No BLAS inside.
Arithmetic is float64 whatever the parameter dtype: a central difference in float32 loses ~4 digits.
"""
import math

import numpy as np
from numba import njit, prange

from . import _config

_jit = njit(**_config.NUMBA_OPTIONS)
_pjit = njit(**_config.NUMBA_PARALLEL_OPTIONS)

SIGMOID, RELU = 0, 1
CROSS_ENTROPY, MSE = 0, 1
#: Lipschitz constant of each activation (bounds |act(a + e) - act(a)| by L |e|).
LIPSCHITZ = {SIGMOID: 0.25, RELU: 1.0}
LIPSCHITZ_OF = np.array([LIPSCHITZ[SIGMOID], LIPSCHITZ[RELU]])


@_jit
def _act(a, act):
    """sigmoid (stable form of the reference) or relu of a scalar."""
    if act == SIGMOID:
        if a >= 0:
            return 1.0 / (1.0 + math.exp(-a))
        e = math.exp(a)
        return e / (1.0 + e)
    return a if a > 0 else 0.0


@_jit
def _row_dloss(p, t, u, g, loss):
    """Exact change of one row's loss when its logits move by u (p = softmax of the row, g scratch)."""
    c = p.shape[0]
    s = 0.0
    for k in range(c):
        g[k] = math.expm1(u[k])
        s += p[k] * g[k]
    if loss == CROSS_ENTROPY:
        return math.log1p(s) - u[t]
    out = 0.0
    for k in range(c):
        d = p[k] * (g[k] - s) / (1.0 + s)
        out += d * (0.5 * d + p[k] - (1.0 if k == t else 0.0))
    return out


@_jit
def _hidden_dloss(b, j, hx, a1, z1, W2, p, t, loss, act, u, g):
    """dl+ - dl- of row b when hidden pre-activation a1[b, j] moves by +-hx."""
    c = W2.shape[1]
    dp = _act(a1[b, j] + hx, act) - z1[b, j]
    dm = _act(a1[b, j] - hx, act) - z1[b, j]
    for k in range(c):
        u[k] = dp * W2[j, k]
    lp = _row_dloss(p[b], t[b], u, g, loss)
    for k in range(c):
        u[k] = dm * W2[j, k]
    return lp - _row_dloss(p[b], t[b], u, g, loss)


@_jit
def _column_dloss(p, t, k, u, loss):
    """Exact change of one row's loss when only its logit k moves by u."""
    g = math.expm1(u)
    if loss == CROSS_ENTROPY:
        return math.log1p(p[k] * g) - (u if k == t else 0.0)
    s = p[k] * g
    out = 0.0
    for m in range(p.shape[0]):
        d = p[m] * ((g if m == k else 0.0) - s) / (1.0 + s)
        out += d * (0.5 * d + p[m] - (1.0 if m == t else 0.0))
    return out


# --- preparation: one forward pass and the tables the kernels read ----------------------------------

@_jit
def csc_with_ones(x):
    """Nonzeros of [x, 1] by column: colptr (D+2,), rows, vals; the last column is all ones (for b1)."""
    n, d = x.shape
    colptr = np.zeros(d + 2, np.int64)
    for b in range(n):
        for i in range(d):
            if x[b, i] != 0.0:
                colptr[i + 1] += 1
    colptr[d + 1] = n
    for i in range(d + 1):
        colptr[i + 1] += colptr[i]
    rows = np.empty(colptr[d + 1], np.int64)
    vals = np.empty(colptr[d + 1])
    fill = colptr[:-1].copy()
    for b in range(n):
        for i in range(d):
            if x[b, i] != 0.0:
                rows[fill[i]] = b
                vals[fill[i]] = x[b, i]
                fill[i] += 1
        rows[fill[d]] = b
        vals[fill[d]] = 1.0
        fill[d] += 1
    return colptr, rows, vals


@_pjit
def prepare(x, W1, b1, W2, b2, t, act, a1, z1, pre, zs, p, W2t, coef):
    """Row by row: a1 := x W1 + b1 (skipping zero inputs), z1 := [act(a1), 1], p := softmax(z1 W2 + b2),
    and the series tables pre (exp(-a1) or a1), zs (sigmoid as 1 / (1 + pre)), W2t[b, j] := W2[j, t_b],
    coef[b, q, j] := sum_k p_bk W2[j, k]^(q+1) / (q+1)!."""
    n, d = x.shape
    hidden, c = W2.shape
    for b in prange(n):
        z1[b, hidden] = 1.0  # the unit whose outgoing weights are b2
        for j in range(hidden):
            a1[b, j] = b1[j]
        for i in range(d):
            v = x[b, i]
            if v != 0.0:
                for j in range(hidden):
                    a1[b, j] += v * W1[i, j]
        for j in range(hidden):
            z1[b, j] = _act(a1[b, j], act)
            if act == SIGMOID:
                pre[b, j] = math.exp(-a1[b, j]) if a1[b, j] > -709.0 else math.inf
                zs[b, j] = 1.0 / (1.0 + pre[b, j])
            else:
                pre[b, j] = a1[b, j]
                zs[b, j] = z1[b, j]
            W2t[b, j] = W2[j, t[b]]
        m = -math.inf
        for k in range(c):
            s = b2[k]
            for j in range(hidden):
                s += z1[b, j] * W2[j, k]
            p[b, k] = s
            m = max(m, s)
        total = 0.0
        for k in range(c):
            p[b, k] = math.exp(p[b, k] - m)
            total += p[b, k]
        for k in range(c):
            p[b, k] /= total
        for j in range(hidden):
            for q in range(coef.shape[1]):
                coef[b, q, j] = 0.0
            for k in range(c):
                power = 1.0
                factorial = 1.0
                for q in range(coef.shape[1]):
                    power *= W2[j, k]
                    factorial *= q + 1
                    coef[b, q, j] += p[b, k] * power / factorial


# --- W1 and b1, exact ------------------------------------------------------------------------------------

@_jit
def _hidden_exact_chunk(i0, i1, colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, out):
    u = np.empty(W2.shape[1])
    g = np.empty(W2.shape[1])
    for i in range(i0, i1):
        for q in range(colptr[i], colptr[i + 1]):
            b = rows[q]
            for j in range(out.shape[1]):
                out[i, j] += _hidden_dloss(b, j, h * vals[q], a1, z1, W2, p, t, loss, act, u, g)


# --- W1 and b1, cross-entropy series ---------------------------------------------------------------------

@_jit
def _series_dloss(d, coef, b, j, w_t):
    """log1p(sum_n d^n c_n) - d w_t, both series truncated where their tails are < 1e-18."""
    s = d * (coef[b, 0, j] + d * (coef[b, 1, j] + d * (coef[b, 2, j] + d * (coef[b, 3, j] + d * coef[b, 4, j]))))
    return s * (1.0 - s * (0.5 - s * (1.0 / 3.0 - s * (0.25 - s * (0.2 - s * (1.0 / 6.0)))))) - d * w_t


@_jit
def _hidden_series_chunk(i0, i1, colptr, rows, vals, pre, z1, W2t, coef, act, h, out):
    for i in range(i0, i1):
        for q in range(colptr[i], colptr[i + 1]):
            b = rows[q]
            hx = h * vals[q]
            ep = math.exp(-hx)
            em = math.exp(hx)
            for j in range(out.shape[1]):
                if act == SIGMOID:  # pre = exp(-a1): sigmoid(a1 +- hx) = 1 / (1 + exp(-a1) exp(-+hx))
                    dp = 1.0 / (1.0 + pre[b, j] * ep) - z1[b, j]
                    dm = 1.0 / (1.0 + pre[b, j] * em) - z1[b, j]
                else:  # pre = a1
                    dp = max(pre[b, j] + hx, 0.0) - z1[b, j]
                    dm = max(pre[b, j] - hx, 0.0) - z1[b, j]
                out[i, j] += _series_dloss(dp, coef, b, j, W2t[b, j]) - _series_dloss(dm, coef, b, j, W2t[b, j])


# --- W2 (and b2 as a last row of ones in z1) -------------------------------------------------------

@_jit
def _log1p(s):
    """log1p, by its series where |s| < 1e-3 (tail < s^7 / 7 < 1e-21, below rounding)."""
    if abs(s) < 1e-3:
        return s * (1.0 - s * (0.5 - s * (1.0 / 3.0 - s * (0.25 - s * (0.2 - s * (1.0 / 6.0))))))
    return math.log1p(s)


@_jit
def _output_chunk(j0, j1, z1, p, t, loss, h, out):
    """out[j, k] := sum_b (dl+ - dl-) for logit column k moved by +-h z1[b, j].

    Cross-entropy: dl+ - dl- = log1p(p_k g+) - log1p(p_k g-) - 2u [k = t], with g+- = expm1(+-u),
    taken as one log1p((p_k (g+ - g-)) / (1 + p_k g-)).
    """
    for j in range(j0, j1):
        for b in range(p.shape[0]):
            u = h * z1[b, j]
            if u == 0.0:
                continue
            if loss == CROSS_ENTROPY:
                gp, gm = math.expm1(u), math.expm1(-u)
                for k in range(p.shape[1]):
                    out[j, k] += _log1p(p[b, k] * (gp - gm) / (1.0 + p[b, k] * gm))
                out[j, t[b]] -= 2.0 * u
            else:
                for k in range(p.shape[1]):
                    out[j, k] += _column_dloss(p[b], t[b], k, u, loss) - _column_dloss(p[b], t[b], k, -u, loss)


# --- the two kernels of a gradient, in one parallel launch -------------------------------------------

@_pjit
def gradients_series(hb, colptr, rows, vals, pre, zs, W2t, coef, act, h, hidden_out, ob, z1, p, t, loss,
                     output_out):
    """W1/b1 by the series kernel over chunks hb of inputs, W2/b2 over chunks ob of hidden units."""
    for c in prange(2 * max(hb.shape[0], ob.shape[0])):
        m = c // 2  # hidden and output chunks interleaved, so a static schedule gives each thread both
        if c % 2 == 0:
            if m < hb.shape[0] - 1:
                _hidden_series_chunk(hb[m], hb[m + 1], colptr, rows, vals, pre, zs, W2t, coef, act, h, hidden_out)
        elif m < ob.shape[0] - 1:
            _output_chunk(ob[m], ob[m + 1], z1, p, t, loss, h, output_out)


@_pjit
def gradients_exact(hb, colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, hidden_out, ob, output_out):
    """W1/b1 by the exact per-logit kernel over chunks hb of inputs, W2/b2 over chunks ob of hidden units."""
    for c in prange(2 * max(hb.shape[0], ob.shape[0])):
        m = c // 2  # hidden and output chunks interleaved, so a static schedule gives each thread both
        if c % 2 == 0:
            if m < hb.shape[0] - 1:
                _hidden_exact_chunk(hb[m], hb[m + 1], colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, hidden_out)
        elif m < ob.shape[0] - 1:
            _output_chunk(ob[m], ob[m + 1], z1, p, t, loss, h, output_out)


@_jit
def balanced_bounds(work, n_chunks):
    """Edges of n_chunks consecutive runs of items holding about equal total work (some may be empty)."""
    n = work.shape[0]
    n_chunks = max(1, min(n_chunks, n))
    total = 0.0
    for i in range(n):
        total += work[i]
    bounds = np.full(n_chunks + 1, n, np.int64)
    bounds[0] = 0
    c = 1
    acc = 0.0
    for i in range(n):
        acc += work[i]
        while c < n_chunks and acc >= total * c / n_chunks:
            bounds[c] = i + 1
            c += 1
    return bounds


@_jit
def numerical_gradient(x, W1, b1, W2, b2, t, act, loss, h, chunks, series_limit, n_terms):
    """(W1|b1 sums (D+1, H), W2|b2 sums (H+1, K)) of dl+ - dl- over rows; the caller scales by 1/(2hN).

    The series kernel runs when loss is cross-entropy and every |u| <= series_limit (then its
    truncation is below rounding); otherwise the exact per-logit kernel.
    """
    n, d = x.shape
    hidden, c = W2.shape
    a1, pre, zs, W2t = (np.empty((n, hidden)), np.empty((n, hidden)), np.empty((n, hidden)),
                        np.empty((n, hidden)))
    z1, p, coef = np.empty((n, hidden + 1)), np.empty((n, c)), np.empty((n, n_terms, hidden))
    prepare(x, W1, b1, W2, b2, t, act, a1, z1, pre, zs, p, W2t, coef)
    colptr, rows, vals = csc_with_ones(x)
    hb = balanced_bounds((colptr[1:] - colptr[:-1] + 1).astype(np.float64), chunks)
    ob = balanced_bounds(np.ones(hidden + 1), chunks)
    hidden_out, output_out = np.zeros((d + 1, hidden)), np.zeros((hidden + 1, c))
    u_max = LIPSCHITZ_OF[act] * h * np.abs(vals).max() * np.abs(W2).max()
    if loss == CROSS_ENTROPY and u_max <= series_limit:
        gradients_series(hb, colptr, rows, vals, pre, zs, W2t, coef, act, h, hidden_out, ob, z1, p, t, loss,
                         output_out)
    else:
        gradients_exact(hb, colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, hidden_out, ob, output_out)
    return hidden_out, output_out
