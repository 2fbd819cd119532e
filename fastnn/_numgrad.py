"""Numba kernels: the central-difference gradient of the two-layer net, from per-row loss changes.

Design
------
The reference perturbs one parameter by +-h and runs two full forward passes. Here the forward pass
is run once (row by row, skipping zero inputs) and each perturbation only recomputes what it changes:

* W1[i, j] +- h moves hidden unit j's pre-activation of row b by +-h x[b, i]. Rows with
  x[b, i] == 0 do not change at all (most MNIST pixels), so the kernel walks the nonzeros of column
  i. Row b's hidden output moves by delta = act(a1 + hx) - act(a1); its
  logits move by the rank-one u = delta W2[j, :].
* b1[j] is the same with x[b, i] replaced by 1: an extra input i = D of value 1, whose row of the
  "W1" output is b1's gradient. W2[j, k] moves one logit column only, by +-h z1[b, j];
  b2 likewise, with a column of ones appended to z1.
* A row's loss change is computed directly, never as a difference of two batch totals:
  cross-entropy: dl = log1p(sum_k p_k expm1(u_k)) - u_t;
  MSE: d_k = p_k (expm1(u_k) - S) / (1 + S), dl = sum_k d_k (d_k / 2 + p_k - T_k).
  These forms are accurate for small shifts only: for |u_k| > FAST_SHIFT (large h, raw pixels,
  large weights) expm1 overflows past 709 and 1 + S cancels when the mass moves away from a
  confident class, so there the log-sum-exp form over the row's log-probabilities lp runs instead:
  dl = logsumexp(lp + u) - u_t, q = exp(lp + u - logsumexp(lp + u)), d = q - p. It cannot overflow.
  The gradient is sum_b (dl+ - dl-) / 2h / N: the same central difference as the reference,
  with less rounding error (divided, not multiplied by 1 / 2hN, which overflows for a subnormal h).
* Fast path for W1 under cross-entropy, where almost all the work is: with c_n[b, j] :=
  sum_k p_bk W2[j, k]^n / n! (computed once), sum_k p_k expm1(delta w_k) = sum_n delta^n c_n. The
  wrapper takes this path only when |u| <= SERIES_LIMIT for every perturbation (it bounds |u| by
  lipschitz(act) h max|x| max|W2|); then the truncated exp and log1p series err by less than 1e-18,
  far below float64 rounding of the loss. The sigmoid of a shifted pre-activation reuses
  exp(-a1) (once per row and unit) and exp(-+hx) (once per row and input): 1 / (1 + E e).
  The forward pass itself skips zero inputs (a1 := sum over the nonzeros of x[b] of x[b, i] W1[i]).
  Otherwise (larger weights, raw pixels, MSE) the exact per-logit kernel runs.

One parallel launch in two phases: the forward pass and tables, row by row; then, once every row
is done, chunks of inputs i (W1, b1) and of hidden units j (W2, b2) together. Workers take rows and
chunks one at a time from shared counters (``fastnn._schedule``: numba's OpenMP layer would split a
prange statically, so one delayed thread would hold the launch up; and a second launch would wait at
its join for a worker still waking up). Every work item writes only its own rows of the output, so
there are no races and no reductions, and it sums a row in a local buffer and stores it once (rows
of different threads share cache lines at their ends, and accumulating in place made those lines
bounce between the cores). No BLAS inside.
Arithmetic is float64 whatever the parameter dtype: a central difference in float32 loses ~4 digits.
"""
import math

import numpy as np
from numba import njit, prange

from . import _config, _schedule
from ._codes import CROSS_ENTROPY, RELU, SIGMOID
from ._config import FAST_SHIFT, LOG1P_SERIES_LIMIT, SERIES_TERMS
from ._numerics import activation as _act

_jit = njit(**_config.NUMBA_OPTIONS)
_pjit = njit(**_config.NUMBA_PARALLEL_OPTIONS)

#: Lipschitz constant of each activation (bounds |act(a + e) - act(a)| by L |e|).
LIPSCHITZ = {SIGMOID: 0.25, RELU: 1.0}
LIPSCHITZ_OF = np.array([LIPSCHITZ[SIGMOID], LIPSCHITZ[RELU]])


@_jit
def _lse_dloss(p, lp, t, u, loss):
    """A row's loss change when its logits move by u, in log-sum-exp form (any u; lp = log p)."""
    c = p.shape[0]
    m = -math.inf
    for k in range(c):
        m = max(m, lp[k] + u[k])
    s = 0.0
    for k in range(c):
        s += math.exp(lp[k] + u[k] - m)
    lse = m + math.log(s)
    if loss == CROSS_ENTROPY:
        return lse - u[t]
    out = 0.0
    for k in range(c):
        d = math.exp(lp[k] + u[k] - lse) - p[k]
        out += d * (0.5 * d + p[k] - (1.0 if k == t else 0.0))
    return out


@_jit
def _row_dloss(p, lp, t, u, g, loss):
    """Exact change of one row's loss when its logits move by u (p = softmax of the row, lp = log p,
    g scratch)."""
    c = p.shape[0]
    for k in range(c):
        if not abs(u[k]) <= FAST_SHIFT:
            return _lse_dloss(p, lp, t, u, loss)
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
def _hidden_dloss(b, j, hx, a1, z1, W2, p, lp, t, loss, act, u, g):
    """dl+ - dl- of row b when hidden pre-activation a1[b, j] moves by +-hx."""
    c = W2.shape[1]
    dp = _act(a1[b, j] + hx, act) - z1[b, j]
    dm = _act(a1[b, j] - hx, act) - z1[b, j]
    for k in range(c):
        u[k] = dp * W2[j, k]
    plus = _row_dloss(p[b], lp[b], t[b], u, g, loss)
    for k in range(c):
        u[k] = dm * W2[j, k]
    return plus - _row_dloss(p[b], lp[b], t[b], u, g, loss)


@_jit
def _column_dloss(p, lp, t, k, u, loss, scratch):
    """Exact change of one row's loss when only its logit k moves by u."""
    if not abs(u) <= FAST_SHIFT:
        scratch[:] = 0.0
        scratch[k] = u
        return _lse_dloss(p, lp, t, scratch, loss)
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
def _prepare_row(b, x, W1, b1, W2, b2, t, act, a1, z1, pre, zs, p, lp, W2t, coef, xmax):
    """Row b: a1 := x W1 + b1 (skipping zero inputs), z1 := [act(a1), 1], p := softmax(z1 W2 + b2), lp := log p,
    the series tables pre (exp(-a1) or a1), zs (sigmoid as 1 / (1 + pre)), W2t[b, j] := W2[j, t_b],
    coef[b, q, j] := sum_k p_bk W2[j, k]^(q+1) / (q+1)!, and xmax[b] := max(1, max_i |x[b, i]|)."""
    d = x.shape[1]
    hidden, c = W2.shape
    z1[b, hidden] = 1.0  # the unit whose outgoing weights are b2
    xmax[b] = 1.0  # the input whose weights are b1
    for j in range(hidden):
        a1[b, j] = b1[j]
    for i in range(d):
        v = x[b, i]
        if v != 0.0:
            xmax[b] = max(xmax[b], abs(v))
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
        lp[b, k] = p[b, k] - m
        p[b, k] = math.exp(lp[b, k])
        total += p[b, k]
    log_total = math.log(total)
    for k in range(c):
        p[b, k] /= total
        lp[b, k] -= log_total
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


@_jit
def _input(x, b, i):
    """x[b, i], and 1 for the extra input i = D whose weights are b1."""
    return x[b, i] if i < x.shape[1] else 1.0


# --- W1 and b1, exact -------------------------------------------------------------------------------
# Chunk c of C owns inputs i = c, c + C, c + 2C, ... (i = D is b1): interleaved, so dense and empty
# regions of the image spread evenly over the chunks without counting nonzeros first.

@_jit
def _hidden_exact_chunk(c, n_chunks, x, a1, z1, W2, p, lp, t, loss, act, h, out):
    u = np.empty(W2.shape[1])
    g = np.empty(W2.shape[1])
    acc = np.empty(out.shape[1])
    for i in range(c, out.shape[0], n_chunks):
        acc[:] = 0.0
        for b in range(x.shape[0]):
            v = _input(x, b, i)
            if v == 0.0:
                continue
            for j in range(out.shape[1]):
                acc[j] += _hidden_dloss(b, j, h * v, a1, z1, W2, p, lp, t, loss, act, u, g)
        for j in range(out.shape[1]):
            out[i, j] = _quotient(acc[j], h, x.shape[0])


# --- W1 and b1, cross-entropy series -----------------------------------------------------------------

@_jit
def _series_dloss(d, coef, b, j, w_t):
    """log1p(sum_n d^n c_n) - d w_t, both series truncated where their tails are < 1e-18: orders
    1..SERIES_TERMS by Horner's rule (a compile-time trip count, so the loop unrolls and the caller's loop
    over j vectorizes)."""
    s = 0.0
    for q in range(SERIES_TERMS - 1, -1, -1):
        s = d * (coef[b, q, j] + s)
    return _log1p_series(s) - d * w_t


@_jit
def _hidden_series_chunk(c, n_chunks, x, pre, zs, W2t, coef, act, h, out):
    acc = np.empty(out.shape[1])
    for i in range(c, out.shape[0], n_chunks):
        acc[:] = 0.0
        for b in range(x.shape[0]):
            v = _input(x, b, i)
            if v == 0.0:
                continue
            hx = h * v
            ep = math.exp(-hx)
            em = math.exp(hx)
            for j in range(out.shape[1]):
                if act == SIGMOID:  # pre = exp(-a1): sigmoid(a1 +- hx) = 1 / (1 + exp(-a1) exp(-+hx))
                    dp = 1.0 / (1.0 + pre[b, j] * ep) - zs[b, j]
                    dm = 1.0 / (1.0 + pre[b, j] * em) - zs[b, j]
                else:  # pre = a1
                    dp = max(pre[b, j] + hx, 0.0) - zs[b, j]
                    dm = max(pre[b, j] - hx, 0.0) - zs[b, j]
                acc[j] += _series_dloss(dp, coef, b, j, W2t[b, j]) - _series_dloss(dm, coef, b, j, W2t[b, j])
        for j in range(out.shape[1]):
            out[i, j] = _quotient(acc[j], h, x.shape[0])


# --- W2 (and b2 as a last row of ones in z1) -------------------------------------------------------

@_jit
def _log1p_series(s):
    """log1p(s) by its first six terms (tail < s^7 / 7 < 1e-21 for |s| < LOG1P_SERIES_LIMIT)."""
    return s * (1.0 - s * (0.5 - s * (1.0 / 3.0 - s * (0.25 - s * (0.2 - s * (1.0 / 6.0))))))


@_jit
def _log1p(s):
    """log1p, by its series where |s| < LOG1P_SERIES_LIMIT (below rounding there)."""
    if abs(s) < LOG1P_SERIES_LIMIT:
        return _log1p_series(s)
    return math.log1p(s)


@_jit
def _quotient(total, h, n):
    """total / 2h / N, the central difference of a batch mean (1 / 2hN overflows for a subnormal h)."""
    return total / (2.0 * h) / n


@_jit
def _column_lse(lp, k, u):
    """log sum_m p_m exp(u [m = k]): the log-partition change when only logit k moves by u."""
    m = -math.inf
    for q in range(lp.shape[0]):
        m = max(m, lp[q] + (u if q == k else 0.0))
    s = 0.0
    for q in range(lp.shape[0]):
        s += math.exp(lp[q] + (u if q == k else 0.0) - m)
    return m + math.log(s)


@_jit
def _output_chunk(c, n_chunks, z1, p, lp, t, loss, h, out):
    """out[j, k] := sum_b (dl+ - dl-) / 2hN for logit column k moved by +-h z1[b, j], for j = c, c + C, ...

    Cross-entropy: dl+ - dl- = log1p(p_k g+) - log1p(p_k g-) - 2u [k = t], with g+- = expm1(+-u),
    taken as one log1p((p_k (g+ - g-)) / (1 + p_k g-)); for |u| > FAST_SHIFT, in log-sum-exp form.
    """
    acc = np.empty(out.shape[1])
    scratch = np.empty(p.shape[1])
    for j in range(c, out.shape[0], n_chunks):
        acc[:] = 0.0
        for b in range(p.shape[0]):
            u = h * z1[b, j]
            if u == 0.0:
                continue
            if loss == CROSS_ENTROPY and not abs(u) <= FAST_SHIFT:
                for k in range(p.shape[1]):
                    acc[k] += _column_lse(lp[b], k, u) - _column_lse(lp[b], k, -u)
                acc[t[b]] -= 2.0 * u
            elif loss == CROSS_ENTROPY:
                gp, gm = math.expm1(u), math.expm1(-u)
                for k in range(p.shape[1]):
                    acc[k] += _log1p(p[b, k] * (gp - gm) / (1.0 + p[b, k] * gm))
                acc[t[b]] -= 2.0 * u
            else:
                for k in range(p.shape[1]):
                    acc[k] += (_column_dloss(p[b], lp[b], t[b], k, u, loss, scratch)
                               - _column_dloss(p[b], lp[b], t[b], k, -u, loss, scratch))
        for k in range(out.shape[1]):
            out[j, k] = _quotient(acc[k], h, p.shape[0])


# --- everything in one parallel launch ---------------------------------------------------------------
# Phase 1: the rows of the batch (forward pass and tables). Phase 2, once every row is done: chunks
# 0 .. C-1 of W1/b1, then C .. 2C-1 of the much lighter W2/b2 (heavy ones first, light ones fill the
# threads' last gaps). A worker waits only for rows already taken by others (``_schedule``), so a
# thread that starts late never holds the others up.

@_pjit
def gradients(n_workers, n_chunks, x, W1, b1, W2, b2, t, act, loss, h, series_limit, w2_max,
              a1, z1, pre, zs, p, lp, W2t, coef, xmax, hidden_out, output_out):
    """Both phases; the series kernel for W1/b1 when loss is cross-entropy and every |u| <= series_limit
    (u is bounded by lipschitz(act) h max|x| max|W2|; then its truncation is below rounding)."""
    n = x.shape[0]
    rows, rows_done, chunks = _schedule.counter(), _schedule.counter(), _schedule.counter()
    for _ in prange(n_workers):
        b = _schedule.take(rows)
        while b < n:
            _prepare_row(b, x, W1, b1, W2, b2, t, act, a1, z1, pre, zs, p, lp, W2t, coef, xmax)
            _schedule.finish(rows_done)
            b = _schedule.take(rows)
        _schedule.wait_for(rows_done, n)
        series = loss == CROSS_ENTROPY and LIPSCHITZ_OF[act] * h * _max(xmax) * w2_max <= series_limit
        c = _schedule.take(chunks)
        while c < 2 * n_chunks:
            if c >= n_chunks:
                _output_chunk(c - n_chunks, n_chunks, z1, p, lp, t, loss, h, output_out)
            elif series:
                _hidden_series_chunk(c, n_chunks, x, pre, zs, W2t, coef, act, h, hidden_out)
            else:
                _hidden_exact_chunk(c, n_chunks, x, a1, z1, W2, p, lp, t, loss, act, h, hidden_out)
            c = _schedule.take(chunks)


@_jit
def _max(a):
    """max of a 1-D array (a plain loop: an array method inside a prange body would be parallelised)."""
    m = a[0]
    for v in a:
        m = max(m, v)
    return m


@_jit
def _max_abs(a):
    """max |a| of a 2-D array, serially (np.abs(a).max() here would be a parallel launch of its own)."""
    m = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            m = max(m, abs(a[i, j]))
    return m


@_jit
def numerical_gradient(x, W1, b1, W2, b2, t, act, loss, h, n_workers, n_chunks, series_limit, n_terms):
    """(W1 with b1 as a last row (D+1, H), W2 with b2 as a last row (H+1, K)): the central differences.

    The series kernel runs when loss is cross-entropy and every |u| <= series_limit (then its
    truncation is below rounding); otherwise the exact per-logit kernel.
    """
    n, d = x.shape
    hidden, c = W2.shape
    a1, pre, zs, W2t = (np.empty((n, hidden)), np.empty((n, hidden)), np.empty((n, hidden)),
                        np.empty((n, hidden)))
    z1, p, lp = np.empty((n, hidden + 1)), np.empty((n, c)), np.empty((n, c))
    coef, xmax = np.empty((n, n_terms, hidden)), np.empty(n)
    hidden_out, output_out = np.empty((d + 1, hidden)), np.empty((hidden + 1, c))  # every row written once
    gradients(n_workers, n_chunks, x, W1, b1, W2, b2, t, act, loss, h, series_limit,
              _max_abs(W2), a1, z1, pre, zs, p, lp, W2t, coef, xmax, hidden_out, output_out)
    return hidden_out, output_out
