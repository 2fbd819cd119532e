"""Numba kernels: the central-difference gradient of the two-layer net, from per-row loss changes.

Design
------
The reference perturbs one parameter by +-h and runs two full forward passes. Here the forward pass
is run once (by the wrapper, with BLAS) and each perturbation only recomputes what it changes:

* W1[i, j] +- h moves hidden unit j's pre-activation of row b by +-h x[b, i]. Rows with
  x[b, i] == 0 do not change at all (most MNIST pixels), so the kernel walks the nonzeros of column
  i (a CSC index built once). Row b's hidden output moves by delta = act(a1 + hx) - act(a1); its
  logits move by the rank-one u = delta W2[j, :].
* b1[j] is the same with x[b, i] replaced by 1; W2[j, k] and b2[k] move one logit column only.
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
  Otherwise (larger weights, raw pixels, MSE) the exact per-logit kernel runs.

Parallel over balanced chunks of inputs i (W1) or hidden units j (b1, W2); every work item writes
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
def _column_dloss(v, k, p, t, loss, h, u, g):
    """sum_b (dl+ - dl-) when logit column k moves by +-h v[b]."""
    total = 0.0
    u[:] = 0.0
    for b in range(p.shape[0]):
        u[k] = h * v[b]
        lp = _row_dloss(p[b], t[b], u, g, loss)
        u[k] = -h * v[b]
        total += lp - _row_dloss(p[b], t[b], u, g, loss)
    return total


# --- W1, exact ------------------------------------------------------------------------------------

@_jit
def _w1_exact_chunk(i0, i1, colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, out):
    u = np.empty(W2.shape[1])
    g = np.empty(W2.shape[1])
    for i in range(i0, i1):
        for q in range(colptr[i], colptr[i + 1]):
            b = rows[q]
            for j in range(out.shape[1]):
                out[i, j] += _hidden_dloss(b, j, h * vals[q], a1, z1, W2, p, t, loss, act, u, g)


@_pjit
def _w1_exact(bounds, colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, out):
    for c in prange(bounds.shape[0] - 1):
        _w1_exact_chunk(bounds[c], bounds[c + 1], colptr, rows, vals, a1, z1, W2, p, t, loss, act, h, out)


# --- W1, cross-entropy series ---------------------------------------------------------------------

@_jit
def _series_dloss(d, coef, b, j, w_t):
    """log1p(sum_n d^n c_n) - d w_t, both series truncated where their tails are < 1e-18."""
    s = d * (coef[b, 0, j] + d * (coef[b, 1, j] + d * (coef[b, 2, j] + d * (coef[b, 3, j] + d * coef[b, 4, j]))))
    return s * (1.0 - s * (0.5 - s * (1.0 / 3.0 - s * (0.25 - s * (0.2 - s * (1.0 / 6.0)))))) - d * w_t


@_jit
def _w1_series_chunk(i0, i1, colptr, rows, vals, pre, z1, W2t, coef, act, h, out):
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


@_pjit
def _w1_series(bounds, colptr, rows, vals, pre, z1, W2t, coef, act, h, out):
    for c in prange(bounds.shape[0] - 1):
        _w1_series_chunk(bounds[c], bounds[c + 1], colptr, rows, vals, pre, z1, W2t, coef, act, h, out)


# --- b1, W2, b2 -----------------------------------------------------------------------------------

@_jit
def _b1_chunk(j0, j1, a1, z1, W2, p, t, loss, act, h, out):
    u = np.empty(W2.shape[1])
    g = np.empty(W2.shape[1])
    for j in range(j0, j1):
        for b in range(a1.shape[0]):
            out[j] += _hidden_dloss(b, j, h, a1, z1, W2, p, t, loss, act, u, g)


@_pjit
def _b1(bounds, a1, z1, W2, p, t, loss, act, h, out):
    for c in prange(bounds.shape[0] - 1):
        _b1_chunk(bounds[c], bounds[c + 1], a1, z1, W2, p, t, loss, act, h, out)


@_jit
def _w2_chunk(j0, j1, z1, p, t, loss, h, out):
    u = np.empty(p.shape[1])
    g = np.empty(p.shape[1])
    for j in range(j0, j1):
        v = np.ascontiguousarray(z1[:, j])
        for k in range(p.shape[1]):
            out[j, k] = _column_dloss(v, k, p, t, loss, h, u, g)


@_pjit
def _w2(bounds, z1, p, t, loss, h, out):
    for c in prange(bounds.shape[0] - 1):
        _w2_chunk(bounds[c], bounds[c + 1], z1, p, t, loss, h, out)


@_jit
def _b2(p, t, loss, h, out):
    u = np.empty(p.shape[1])
    g = np.empty(p.shape[1])
    ones = np.ones(p.shape[0])
    for k in range(p.shape[1]):
        out[k] = _column_dloss(ones, k, p, t, loss, h, u, g)
