"""The 'numba' backend: wrappers that prepare the forward pass once, then call the jitted kernels.

The numerical gradient is ``fastnn._numgrad``'s (see its design note); backprop and the epoch loop
are ``fastnn._backprop_numba``'s.
"""
import numba
import numpy as np

from .. import _backprop_numba as bp
from .. import _config, _flat, _numgrad, _numgrad_mlp
from .. import _mlp_numba as mlp_kernels
from .._blas_threads import all_threads as all_blas_threads, threads as blas_threads
from .._codes import ACTIVATIONS as ACT, LOSSES as LOSS
from .._flat import train_epoch_python

NAME = "numba"
#: The NumPy reference itself (networks with their own reference path take it instead of this module's).
IS_REFERENCE = False
#: Whether train_epoch / mlp_train_epoch run the first layer over the input's nonzeros when asked.
SPARSE_FIRST_LAYER = True
NOTES = f"numba {numba.__version__} jitted kernels, threading layer chosen at first parallel call"


def set_threads(n_threads):
    """Numba's thread count for the next parallel kernel (capped at NUMBA_NUM_THREADS)."""
    n = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def numerical_gradient(params, x, t, activation, loss, h, n_threads, series=None):
    """Central differences of the batch loss for every parameter (see ``fastnn._numgrad``).

    ``series=None`` takes the W1 series kernel whenever it is exact to rounding; False forces the
    exact per-logit kernel (tests use it to judge one against the other).
    """
    return _numerical_gradient(params, x, t, activation, loss, h, n_threads, series)


def _numerical_gradient(params, x, t, activation, loss, h, n_threads, series):
    dtype = params["W1"].dtype
    P = [np.ascontiguousarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")]
    d, hidden = P[0].shape
    workers = set_threads(n_threads)
    hidden_out, output_out = _numgrad.numerical_gradient(
        np.ascontiguousarray(x, dtype=np.float64), *P, np.ascontiguousarray(t, dtype=np.int64),
        ACT[activation], LOSS[loss], float(h), workers, workers * _config.CHUNKS_PER_THREAD,
        _config.SERIES_LIMIT if series is not False else -1.0, _config.SERIES_TERMS)
    return {"W1": hidden_out[:d].astype(dtype, copy=False), "b1": hidden_out[d].astype(dtype, copy=False),
            "W2": output_out[:hidden].astype(dtype, copy=False), "b2": output_out[hidden].astype(dtype, copy=False)}


def logits(params, x, activation, n_threads):
    with blas_threads(set_threads(n_threads)):
        return bp.logits(params["W1"], params["b1"], params["W2"], params["b2"], x, ACT[activation])


def gradient_and_hits(params, x, t, activation, loss, n_threads, count_hits=True):
    """(loss, grads, rows whose logits pick their label): one forward/backward pass."""
    grads = {k: np.empty_like(v) for k, v in params.items()}
    hits = np.zeros(1 if count_hits else 0, np.int64)
    with blas_threads(set_threads(n_threads)):
        value = bp.gradient(params["W1"], params["b1"], params["W2"], params["b2"], x, t, ACT[activation],
                            LOSS[loss], grads["W1"], grads["b1"], grads["W2"], grads["b2"], hits)
    return float(value), grads, int(hits.sum())


def gradient(params, x, t, activation, loss, n_threads):
    return gradient_and_hits(params, x, t, activation, loss, n_threads, count_hits=False)[:2]


def train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss, n_threads, sparse=False):
    set_threads(n_threads)
    fused = _flat.fused_optimizer(optimizer, params)
    if fused is None:
        return train_epoch_python(gradient_and_hits, params, x, t, perm, batch_size, optimizer, activation, loss,
                                  n_threads)
    code, lr, p1, p2, eps, step, state = fused
    with blas_threads(n_threads):
        losses, correct = bp.train_epoch(params["W1"], params["b1"], params["W2"], params["b2"], x, t, perm, batch_size,
                                         ACT[activation], LOSS[loss], code, lr, p1, p2, eps, step, *state, bool(sparse))
    _flat.after_epoch(optimizer, step, perm.shape[0], batch_size)
    return losses, correct


# --- plain MLPs of any depth (flat parameters; see fastnn/_flat.py) ------------------------------------

def mlp_logits(theta, sizes, x, act, n_threads):
    with blas_threads(set_threads(n_threads)):
        return mlp_kernels.forward(theta, sizes, x, act)


def mlp_gradient_and_hits(theta, sizes, x, t, act, lam, n_threads, count_hits=True):
    grad = np.empty_like(theta)
    hits = np.zeros(1 if count_hits else 0, np.int64)
    with blas_threads(set_threads(n_threads)):
        value = mlp_kernels.gradient(theta, sizes, x, t, act, lam, grad, hits)
    return float(value), grad, int(hits.sum())


def mlp_gradient(theta, sizes, x, t, act, lam, n_threads):
    return mlp_gradient_and_hits(theta, sizes, x, t, act, lam, n_threads, count_hits=False)[:2]


def _mlp_fused_epoch(theta, sizes, x, t, perm, batch_size, act, lam, opt, lr, p1, p2, eps, step, s1, s2, n_threads,
                     sparse):
    with blas_threads(set_threads(n_threads)):
        return mlp_kernels.train_epoch(theta, sizes, x, t, perm, batch_size, act, lam, opt, lr, p1, p2, eps, step,
                                       s1, s2, bool(sparse))


def mlp_train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act, lam, n_threads, sparse=False):
    """One epoch in place (the compiled loop for SGD, Momentum and Adam); the batch losses and correct counts."""
    return _flat.train_epoch(mlp_gradient_and_hits, _mlp_fused_epoch, params, sizes, x, t, perm, batch_size, optimizer, act,
                             lam, n_threads, sparse)


def mlp_numerical_gradient(theta, sizes, x, t, act, lam, h, n_threads, series=True):
    """Central differences of the MLP's loss for every parameter (see ``fastnn._numgrad_mlp``), flat."""
    L = len(sizes) - 1
    views = _flat.unpack(np.asarray(theta, np.float64), L, sizes)
    with all_blas_threads(set_threads(n_threads)):
        gWs, gbs = _numgrad_mlp.numerical_gradient([views[f"W{i}"] for i in range(1, L + 1)],
                                                   [views[f"b{i}"] for i in range(1, L + 1)],
                                                   np.asarray(x, np.float64), t, act, lam, h, series)
    return np.concatenate([g.ravel() for pair in zip(gWs, gbs) for g in pair]).astype(theta.dtype)
