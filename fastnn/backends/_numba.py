"""The 'numba' backend: wrappers that prepare the forward pass once, then call the jitted kernels.

The numerical gradient is ``fastnn._numgrad``'s (see its design note); backprop and the epoch loop
are ``fastnn._backprop_numba``'s.
"""
import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from .. import _backprop_numba as bp
from .. import _config, _numgrad, reference
from . import _fused
from ._loop import train_epoch_python

_blas = ThreadpoolController().select(user_api="blas")
NAME = "numba"
NOTES = f"numba {numba.__version__} jitted kernels, threading layer chosen at first parallel call"

ACT = {"sigmoid": _numgrad.SIGMOID, "relu": _numgrad.RELU}
LOSS = {"cross_entropy": _numgrad.CROSS_ENTROPY, "mse": _numgrad.MSE}
#: |u| bound below which the W1 series kernel is exact to float64 rounding (see _numgrad).
SERIES_LIMIT = 1e-3
#: Terms of the exp series in the W1 kernel (its tail is below 1e-18 when |u| <= SERIES_LIMIT).
SERIES_TERMS = 5


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


def numerical_gradient(params, x, t, activation, loss, h, n_threads, series=None):
    """Central differences of the batch loss for every parameter (see ``fastnn._numgrad``).

    ``series=None`` takes the W1 series kernel whenever it is exact to rounding; False forces the
    exact per-logit kernel (tests use it to judge one against the other).
    """
    with _blas.limit(limits=1):  # numba's threads do the parallel work; BLAS must not compete
        return _numerical_gradient(params, x, t, activation, loss, h, n_threads, series)


def _numerical_gradient(params, x, t, activation, loss, h, n_threads, series):
    dtype = params["W1"].dtype
    P = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.ascontiguousarray(x, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.int64)
    n, (d, hidden), c = x.shape[0], P["W1"].shape, P["W2"].shape[1]
    act, lc = ACT[activation], LOSS[loss]
    threads = set_threads(n_threads)
    chunks = threads * _config.CHUNKS_PER_THREAD

    a1, z1, pre, zs, W2t = (np.empty((n, hidden)) for _ in range(5))
    p, coef = np.empty((n, c)), np.empty((n, SERIES_TERMS, hidden))
    _numgrad.prepare(x, P["W1"], P["b1"], P["W2"], P["b2"], t, act, a1, z1, pre, zs, p, W2t, coef)
    colptr, rows, vals = _numgrad.csc_with_ones(x)  # b1 is W1's row for a last input of 1

    hidden_out = np.zeros((d + 1, hidden))
    bounds = balanced_bounds(np.diff(colptr) + 1, chunks)
    u_max = _numgrad.LIPSCHITZ[act] * h * np.abs(vals).max() * np.abs(P["W2"]).max()
    if lc == _numgrad.CROSS_ENTROPY and u_max <= SERIES_LIMIT and series is not False:
        _numgrad._hidden_series(bounds, colptr, rows, vals, pre, zs, W2t, coef, act, h, hidden_out)
    else:
        _numgrad._hidden_exact(bounds, colptr, rows, vals, a1, z1, P["W2"], p, t, lc, act, h, hidden_out)

    output_out = np.zeros((hidden + 1, c))
    z1a = np.hstack([z1, np.ones((n, 1))])  # b2 is W2's row for a last hidden unit of 1
    _numgrad._output(balanced_bounds(np.ones(hidden + 1), chunks), z1a, p, t, lc, h, output_out)
    scale = 1.0 / (2.0 * h * n)
    hidden_out *= scale
    output_out *= scale
    return {"W1": hidden_out[:d].astype(dtype), "b1": hidden_out[d].astype(dtype),
            "W2": output_out[:hidden].astype(dtype), "b2": output_out[hidden].astype(dtype)}


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
