"""The one place the epoch is decided: the compiled loop (for SGD, Momentum and Adam) or a Python loop of
``optimizer.update`` (every other optimizer), for every network; and the flat parameter layout the kernels see.

The kernels (src_cython/_mlp.pyx, fastnn/_mlp_numba.py) see every parameter in one flat array
``theta = [W1, b1, W2, b2, ...]`` and the optimizer state in the same layout. A network owns its theta and
its ``params`` are views of it (fastnn.network.ParamDict), so a user's reference to ``params['W1']`` stays
live. The optimizer state of the compiled loop is packed flat at its first epoch and the optimizer's dicts
rebound to views of it: a state array taken from the optimizer after that epoch stays live, one held from
before it (a dict the user set, say) was copied and is not updated. Used by the cython and numba backends alike, so
both fuse the same optimizers the same way; the state arrays are the Python optimizer's own, so a loop may switch
between ``optimizer.update`` and a compiled epoch and carry on exactly.
"""
import numpy as np

from . import optimizers
from ._codes import ADAM, FUSED_OPTIMIZERS, MOMENTUM
from ._config import OPTIMIZER_EPS
from .reference import batches

#: optimizer class -> the code of the compiled loop that runs it.
CODES = {getattr(optimizers, name): code for name, code in FUSED_OPTIMIZERS.items()}


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


def flat_state(optimizer, name, params, n_layers):
    """The optimizer's state dict ``name`` as one flat array in theta's layout, packed once.

    The first time (or after the user replaced the dict or one of its arrays) the state is packed
    (zeros when there is none yet) and the optimizer's dict is rebound to views of the flat array,
    so later epochs pass that array straight to the kernels and ``optimizer.update(params, grads)``
    still updates the same memory in place.
    """
    state = getattr(optimizer, name)
    for k in keys(n_layers) if state is not None else ():  # e.g. one optimizer object reused for another network
        optimizers.check_state(name, state, k, params[k].shape, f"the network's {k}")  # as update() checks it
    dtype = params["W1"].dtype
    cache = optimizer.__dict__.setdefault("_flat_state", {})
    flat, rebound, views = cache.get(name, (None, None, None))
    if flat is not None and state is rebound and flat.dtype == dtype and all(
            state.get(k) is v and v.base is flat for k, v in views.items()):  # (a copy, e.g. unpickled, is not)
        return flat
    if state is None:
        state = optimizers.zeros_like({k: params[k] for k in keys(n_layers)})
    flat = pack(state, n_layers, dtype)
    sizes = [params["W1"].shape[0]] + [params[f"W{i}"].shape[1] for i in range(1, n_layers + 1)]
    views = unpack(flat, n_layers, sizes)
    rebound = dict(state)
    rebound.update(views)
    cache[name] = (flat, rebound, views)
    setattr(optimizer, name, rebound)
    return flat


def theta_of(params, n_layers, dtype):
    """The flat array the kernels update: the network's own theta (no copy), else params packed."""
    theta = getattr(params, "theta", None)
    return theta if theta is not None else pack(params, n_layers, dtype)


def train_epoch(gradient_and_hits, fused_epoch, params, sizes, x, t, perm, batch_size, optimizer, act, loss, lam,
                n_threads, sparse=False):
    """One epoch in place: the compiled loop ``fused_epoch`` for SGD, Momentum and Adam, else a Python loop
    of ``gradient_and_hits`` (a backend's: the loss, gradient and correct rows of one
    forward pass before the update) and ``optimizer.update``. Returns the batch losses and correct counts.

    ``params`` is the network's ParamDict, whose W_l, b_l are views of its flat ``theta``: the kernels
    update theta in place and the dict sees the result with no pack or unpack per call. ``sparse`` is
    passed to ``fused_epoch`` (the Python loop is dense: see ``_sparse.first_layer_path``).
    """
    L = len(sizes) - 1
    code = CODES.get(type(optimizer))
    sizes_arr = np.asarray(sizes, np.intp)
    theta = theta_of(params, L, x.dtype)
    owned = getattr(params, "theta", None) is theta
    if code is None:
        losses, correct = [], []
        for idx in batches(perm, batch_size):
            if not owned:
                theta = pack(params, L, x.dtype)
            value, grad, n_hits = gradient_and_hits(theta, sizes_arr, x[idx], t[idx], act, loss, lam, n_threads)
            optimizer.update(params, unpack(grad, L, sizes))
            correct.append(n_hits)
            losses.append(value)
        return np.asarray(losses), np.asarray(correct, np.int64)
    empty = np.empty(0, x.dtype)
    s1 = s2 = empty
    p1 = p2 = 0.0
    eps = OPTIMIZER_EPS  # unused but by Adam
    step = 0
    if code == MOMENTUM:
        s1, p1 = flat_state(optimizer, "v", params, L), optimizer.momentum
    elif code == ADAM:
        s1, s2 = flat_state(optimizer, "m", params, L), flat_state(optimizer, "v", params, L)
        p1, p2, eps, step = optimizer.beta1, optimizer.beta2, optimizer.eps, optimizer.iter
    if any(s.size not in (0, theta.size) or s.dtype != theta.dtype for s in (s1, s2)):  # the kernels trust this
        raise ValueError(f"optimizer state of {s1.size} and {s2.size} values for {theta.size} parameters")
    losses, correct = fused_epoch(theta, sizes_arr, x, t, perm, batch_size, act, loss, float(lam), code,
                                  float(optimizer.lr), float(p1), float(p2), float(eps), int(step), s1, s2, n_threads,
                                  sparse)
    if not owned:
        unpack(theta, L, sizes, out=params)
    if code == ADAM:
        optimizer.iter = step + len(losses)
    return losses, correct
