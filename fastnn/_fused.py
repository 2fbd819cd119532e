"""What a compiled two-layer epoch needs of a fastnn optimizer (its code, hyper-parameters and state), and the
Python epoch loop for the optimizers no kernel fuses.

Used by the cython and numba backends alike, so both fuse the same optimizers the same way. The state
arrays are the Python optimizer's own (created as it would create them), so a loop may switch between
``optimizer.update`` and a compiled epoch and carry on exactly.
"""
import numpy as np

from . import optimizers
from ._codes import FUSED_OPTIMIZERS, MOMENTUM, SGD
from .reference import batches, hits

#: optimizer class -> the code of the compiled loop that runs it.
CODES = {getattr(optimizers, name): code for name, code in FUSED_OPTIMIZERS.items()}
KEYS = ("W1", "b1", "W2", "b2")


def _fits(state, params):
    return state is None or all(
        state[k].dtype == params[k].dtype and state[k].shape == params[k].shape and state[k].flags.c_contiguous
        and state[k].flags.writeable for k in KEYS)


def fused_optimizer(optimizer, params):
    """(code, lr, p1, p2, eps, step, state) for SGD, Momentum and Adam, else None (use a Python loop).

    ``state`` is 8 flat arrays: s1 for W1, b1, W2, b2 (Momentum's v, Adam's m), then s2 (Adam's v);
    unused slots are empty arrays.
    """
    code = CODES.get(type(optimizer))
    if code is None or not all(_fits(getattr(optimizer, name, None), params) for name in ("v", "m")):
        return None
    empty = np.empty(0, params["W1"].dtype)
    zeros = lambda: optimizers.zeros_like({k: params[k] for k in KEYS})  # noqa: E731
    if code == SGD:
        return code, optimizer.lr, 0.0, 0.0, 0.0, 0, [empty] * 8
    if code == MOMENTUM:
        if optimizer.v is None:
            optimizer.v = zeros()
        return (code, optimizer.lr, optimizer.momentum, 0.0, 0.0, 0,
                [optimizer.v[k].reshape(-1) for k in KEYS] + [empty] * 4)
    if optimizer.m is None:
        optimizer.m, optimizer.v = zeros(), zeros()
    state = [optimizer.m[k].reshape(-1) for k in KEYS] + [optimizer.v[k].reshape(-1) for k in KEYS]
    return code, optimizer.lr, optimizer.beta1, optimizer.beta2, optimizer.eps, optimizer.iter, state


def after_epoch(optimizer, step, n_rows, batch_size):
    """Advance Adam's step count by the epoch's number of batches."""
    if isinstance(optimizer, optimizers.Adam):
        optimizer.iter = step + -(-n_rows // batch_size)


def train_epoch_python(gradient, logits, params, x, t, perm, batch_size, optimizer, activation, loss, n_threads):
    """Mini-batch steps over perm with ``gradient`` and ``optimizer.update``; the batch losses and correct counts
    (from ``logits`` of each batch before its update: a forward pass more than the step, on this path only)."""
    losses, correct = [], []
    for idx in batches(perm, batch_size):
        xb, tb = x[idx], t[idx]
        correct.append(hits(logits(params, xb, activation, n_threads), tb))
        value, grads = gradient(params, xb, tb, activation, loss, n_threads)
        optimizer.update(params, grads)
        losses.append(value)
    return np.asarray(losses, dtype=np.float64), np.asarray(correct, dtype=np.int64)
