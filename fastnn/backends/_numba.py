"""The 'numba' backend: wrappers that prepare the forward pass once, then call the jitted kernels.

The numerical gradient is ``fastnn._numgrad``'s (see its design note); backprop and the epoch loop
are ``fastnn._backprop_numba``'s.
"""
import numba
import numpy as np

from .. import _backprop_numba as bp
from .. import _config, _numgrad, reference
from . import _fused
from ._loop import train_epoch_python

NAME = "numba"
NOTES = f"numba {numba.__version__} jitted kernels, threading layer chosen at first parallel call"

ACT = {"sigmoid": _numgrad.SIGMOID, "relu": _numgrad.RELU}
LOSS = {"cross_entropy": _numgrad.CROSS_ENTROPY, "mse": _numgrad.MSE}
#: |u| bound below which the W1 series kernel is exact to float64 rounding (see _numgrad).
SERIES_LIMIT = 1e-3


def set_threads(n_threads):
    """Numba's thread count for the next parallel kernel (capped at NUMBA_NUM_THREADS)."""
    n = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def balanced_bounds(work, n_chunks):
    """Chunk edges over items with the given work so each chunk holds about the same total."""
    cum = np.concatenate(([0], np.cumsum(work, dtype=np.float64)))
    n_chunks = max(1, min(n_chunks, len(work)))
    edges = np.searchsorted(cum, np.linspace(0, cum[-1], n_chunks + 1), side="left")
    edges[0], edges[-1] = 0, len(work)
    return np.unique(edges).astype(np.int64)


def csc(x):
    """Nonzeros of x by column: colptr (D+1,), rows (nnz,), vals (nnz,)."""
    i_idx, b_idx = np.nonzero(x.T)
    colptr = np.zeros(x.shape[1] + 1, np.int64)
    np.cumsum(np.bincount(i_idx, minlength=x.shape[1]), out=colptr[1:])
    return colptr, b_idx.astype(np.int64), np.ascontiguousarray(x.T[i_idx, b_idx])


def _series_coefficients(p, W2, n_terms=5):
    """c_n[b, :, j] := sum_k p[b, k] W2[j, k]^n / n!, n = 1..n_terms, shape (N, n_terms, H)."""
    coef = np.empty((p.shape[0], n_terms, W2.shape[0]))
    power = np.ones_like(W2)
    factorial = 1.0
    for n in range(1, n_terms + 1):
        power = power * W2
        factorial *= n
        coef[:, n - 1, :] = p @ power.T / factorial
    return coef


def numerical_gradient(params, x, t, activation, loss, h, n_threads, series=None):
    """Central differences of the batch loss for every parameter (see ``fastnn._numgrad``).

    ``series=None`` takes the W1 series kernel whenever it is exact to rounding; False forces the
    exact per-logit kernel (tests use it to judge one against the other).
    """
    dtype = params["W1"].dtype
    P = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.ascontiguousarray(x, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.int64)
    act, lc = ACT[activation], LOSS[loss]
    a1 = x @ P["W1"] + P["b1"]
    z1 = np.ascontiguousarray(reference.ACTIVATION_FUNCTIONS[activation](a1), dtype=np.float64)
    p = reference.softmax(z1 @ P["W2"] + P["b2"])
    n, (d, hidden) = x.shape[0], P["W1"].shape
    threads = set_threads(n_threads)
    chunks = threads * _config.CHUNKS_PER_THREAD
    grads = {"W1": np.zeros((d, hidden)), "b1": np.zeros(hidden),
             "W2": np.empty_like(P["W2"]), "b2": np.empty_like(P["b2"])}

    colptr, rows, vals = csc(x)
    bounds = balanced_bounds(np.diff(colptr) + 1, chunks)
    u_max = _numgrad.LIPSCHITZ[act] * h * (np.abs(vals).max() if vals.size else 0.0) * np.abs(P["W2"]).max()
    if lc == _numgrad.CROSS_ENTROPY and u_max <= SERIES_LIMIT and series is not False:
        with np.errstate(over="ignore"):
            pre = np.exp(-a1) if act == _numgrad.SIGMOID else a1
            z1_series = 1.0 / (1.0 + pre) if act == _numgrad.SIGMOID else z1
        W2t = np.ascontiguousarray(P["W2"][:, t].T)
        _numgrad._w1_series(bounds, colptr, rows, vals, np.ascontiguousarray(pre), z1_series, W2t,
                            _series_coefficients(p, P["W2"]), act, h, grads["W1"])
    else:
        _numgrad._w1_exact(bounds, colptr, rows, vals, a1, z1, P["W2"], p, t, lc, act, h, grads["W1"])
    hidden_bounds = balanced_bounds(np.ones(hidden), chunks)
    _numgrad._b1(hidden_bounds, a1, z1, P["W2"], p, t, lc, act, h, grads["b1"])
    _numgrad._w2(hidden_bounds, z1, p, t, lc, h, grads["W2"])
    _numgrad._b2(p, t, lc, h, grads["b2"])
    scale = 1.0 / (2.0 * h * n)
    return {k: (g * scale).astype(dtype) for k, g in grads.items()}


def logits(params, x, activation, n_threads):
    set_threads(n_threads)
    return bp.logits(params["W1"], params["b1"], params["W2"], params["b2"], x, ACT[activation])


def gradient(params, x, t, activation, loss, n_threads):
    set_threads(n_threads)
    grads = {k: np.empty_like(v) for k, v in params.items()}
    value = bp.gradient(params["W1"], params["b1"], params["W2"], params["b2"], x, t, ACT[activation],
                        LOSS[loss], grads["W1"], grads["b1"], grads["W2"], grads["b2"])
    return float(value), grads


def train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss, n_threads):
    set_threads(n_threads)
    fused = _fused.fused_optimizer(optimizer, params)
    if fused is None:
        return train_epoch_python(gradient, params, x, t, perm, batch_size, optimizer, activation, loss,
                                  n_threads)
    code, lr, p1, p2, step, state = fused
    value = bp.train_epoch(params["W1"], params["b1"], params["W2"], params["b2"], x, t, perm, batch_size,
                           ACT[activation], LOSS[loss], code, lr, p1, p2, step, *state)
    _fused.after_epoch(optimizer, step, perm.shape[0], batch_size)
    return float(value)
