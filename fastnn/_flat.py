"""The flat parameter layout of plain MLPs (no dropout, no batchnorm), and their epoch on the compiled kernels.

The kernels (src_cython/_mlp.pyx, fastnn/_mlp_numba.py) see every parameter in one flat array
``theta = [W1, b1, W2, b2, ...]`` and the optimizer state in the same layout. These helpers pack a
network's ``params`` (and its optimizer's state) into that layout and write the results back into
the very same arrays, so a user's references to ``params['W1']`` or ``optimizer.v['W1']`` stay live.
"""
import numpy as np

from . import optimizers
from ._codes import ADAM, MOMENTUM
from ._config import OPTIMIZER_EPS
from ._fused import CODES
from .reference import batches, hits


def keys(n_layers):
    """'W1', 'b1', ..., 'W{L}', 'b{L}' in theta's order."""
    return [k for i in range(1, n_layers + 1) for k in (f"W{i}", f"b{i}")]


def pack(arrays, n_layers, dtype):
    """One flat array of the W_l, b_l in theta's order."""
    return np.concatenate([np.asarray(arrays[k], dtype).reshape(-1) for k in keys(n_layers)])


def unpack(theta, n_layers, sizes, out=None):
    """Views of theta as {'W1': (n0, n1), 'b1': ...}; with ``out``, copied into out's arrays in place."""
    views, off = {}, 0
    for i in range(1, n_layers + 1):
        nin, nout = sizes[i - 1], sizes[i]
        views[f"W{i}"] = theta[off:off + nin * nout].reshape(nin, nout)
        off += nin * nout
        views[f"b{i}"] = theta[off:off + nout]
        off += nout
    if out is not None:
        for k, v in views.items():
            np.copyto(out[k], v)
    return views


def _state(optimizer, name, params, n_layers):
    """The optimizer's state dict `name` packed flat (zeros when it has none yet)."""
    state = getattr(optimizer, name)
    if state is None:
        state = optimizers.zeros_like({k: params[k] for k in keys(n_layers)})
        setattr(optimizer, name, state)
    return pack(state, n_layers, params["W1"].dtype)


def train_epoch(gradient, logits, fused_epoch, params, sizes, x, t, perm, batch_size, optimizer, act, lam,
                n_threads):
    """One epoch in place: the compiled loop ``fused_epoch`` for SGD, Momentum and Adam, else a Python loop
    of ``gradient`` (a backend's mlp_gradient) and ``optimizer.update``, counting each batch's correct rows
    with ``logits`` (a backend's mlp_logits) before its update. Returns the batch losses and correct counts."""
    L = len(sizes) - 1
    code = CODES.get(type(optimizer))
    sizes_arr = np.asarray(sizes, np.intp)
    if code is None:
        losses, correct = [], []
        for idx in batches(perm, batch_size):
            theta = pack(params, L, x.dtype)
            xb, tb = x[idx], t[idx]
            correct.append(hits(logits(theta, sizes_arr, xb, act, n_threads), tb))
            value, grad = gradient(theta, sizes_arr, xb, tb, act, lam, n_threads)
            optimizer.update(params, unpack(grad, L, sizes))
            losses.append(value)
        return np.asarray(losses), np.asarray(correct, np.int64)
    theta = pack(params, L, x.dtype)
    empty = np.empty(0, x.dtype)
    s1 = s2 = empty
    p1 = p2 = 0.0
    eps = OPTIMIZER_EPS  # unused but by Adam
    step = 0
    if code == MOMENTUM:
        s1, p1 = _state(optimizer, "v", params, L), optimizer.momentum
    elif code == ADAM:
        s1, s2 = _state(optimizer, "m", params, L), _state(optimizer, "v", params, L)
        p1, p2, eps, step = optimizer.beta1, optimizer.beta2, optimizer.eps, optimizer.iter
    losses, correct = fused_epoch(theta, sizes_arr, x, t, perm, batch_size, act, float(lam), code, float(optimizer.lr),
                         float(p1), float(p2), float(eps), int(step), s1, s2, n_threads)
    unpack(theta, L, sizes, out=params)
    if code == MOMENTUM:
        unpack(s1, L, sizes, out=optimizer.v)
    elif code == ADAM:
        unpack(s1, L, sizes, out=optimizer.m)
        unpack(s2, L, sizes, out=optimizer.v)
        optimizer.iter = step + len(losses)
    return losses, correct
