"""The 'cython' backend: thin wrappers over the compiled kernels (fastnn._twolayer, fastnn._mlp).

Wrappers allocate every output and workspace; kernels compute. There is no compiled numerical gradient:
``fastnn/backends/__init__.py`` gives this backend numba's (the fast numerical path), else the reference's.
"""
import numpy as np

from .. import _codes, _config, _flat, _isa
from .._blas_threads import single_threaded
from .._codes import ACTIVATIONS as ACT, LOSSES as LOSS
from .._flat import train_epoch_python

ext = _isa.load_extension("_twolayer")  # the best instruction-set variant built for this CPU
mlp_ext = _isa.load_extension("_mlp")

NAME = "cython"
#: The NumPy reference itself (networks with their own reference path take it instead of this module's).
IS_REFERENCE = False
#: Whether train_epoch / mlp_train_epoch run the first layer over the input's nonzeros when asked.
SPARSE_FIRST_LAYER = True
HAVE_OPENMP = ext.HAVE_OPENMP
NOTES = ("compiled Cython kernels, BLAS from SciPy, OpenMP " + ("on" if HAVE_OPENMP else "off (serial)")
         + f", instruction-set variant {_isa.describe()}")

_PYTHON_CODES = {"activation": _codes.ACTIVATIONS, "loss": _codes.LOSSES, "optimizer": _codes.FUSED_OPTIMIZERS}
for _module in (ext, mlp_ext):
    if _module.CODES != _PYTHON_CODES:  # src_cython/_numerics.pxd and fastnn/_codes.py must say the same
        raise ImportError(f"{_module.__name__} was built with codes {_module.CODES}, fastnn._codes has "
                          f"{_PYTHON_CODES}: rebuild the extension (pip install .)")


def _sizes(params):
    return params["W1"].shape[0], params["W1"].shape[1], params["W2"].shape[1]


def _workspace(n, params, dtype):
    """z1, a2, dz1 and per-row losses for a batch of n rows."""
    _, h, c = _sizes(params)
    return (np.empty((n, h), dtype), np.empty((n, c), dtype), np.empty((n, h), dtype),
            np.empty(n, np.float64))


def logits(params, x, activation, n_threads):
    """a2 := act(x W1 + b1) W2 + b2, fused."""
    z1, a2, _, _ = _workspace(x.shape[0], params, x.dtype)
    with single_threaded():
        ext.forward(x, params["W1"], params["b1"], params["W2"], params["b2"], ACT[activation], z1, a2,
                    n_threads)
    return a2


def gradient_and_hits(params, x, t, activation, loss, n_threads, count_hits=True):
    """(loss, grads, rows whose logits pick their label): one fused forward/backward pass."""
    grads = {k: np.empty_like(v) for k, v in params.items()}
    hit_rows = np.empty(x.shape[0] if count_hits else 0, np.int8)
    with single_threaded():
        value = ext.gradient(x, t, params["W1"], params["b1"], params["W2"], params["b2"], ACT[activation],
                             LOSS[loss], *_workspace(x.shape[0], params, x.dtype),
                             grads["W1"], grads["b1"], grads["W2"], grads["b2"], hit_rows, n_threads)
    return float(value), grads, int(np.count_nonzero(hit_rows))


def gradient(params, x, t, activation, loss, n_threads):
    """(loss, grads): one fused forward/backward pass."""
    return gradient_and_hits(params, x, t, activation, loss, n_threads, count_hits=False)[:2]


def _sparse_workspace(sparse, b, d, h, dtype):
    """The sparse first layer's three flat workspaces for batches of b rows (src_cython/_sparse_batch.pxd);
    empty arrays (the dense path) unless ``sparse``."""
    if not sparse:
        return np.empty(0, np.intp), np.empty(0, np.int32), np.empty(0, dtype)
    values = np.empty(3 * b * d + h, dtype)
    values[3 * b * d:] = 0
    return np.empty(2 * b + d + 2, np.intp), np.empty(3 * b * d, np.int32), values


def train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss, n_threads, sparse=False):
    """The compiled epoch loop for SGD, Momentum and Adam; a Python loop for other optimizers."""
    fused = _flat.fused_optimizer(optimizer, params)
    if fused is None:
        return train_epoch_python(gradient_and_hits, params, x, t, perm, batch_size, optimizer, activation, loss,
                                  n_threads)
    code, lr, p1, p2, eps, step, state = fused
    b = min(batch_size, perm.shape[0])  # the largest batch cut from perm (which may be longer than x)
    grads_ws = [np.empty_like(params[k]) for k in _flat.KEYS]
    batch_losses = np.empty(-(-perm.shape[0] // batch_size))
    batch_correct = np.empty(batch_losses.shape[0], np.intp)
    with single_threaded():
        ext.train_epoch(x, t, perm, batch_size, params["W1"], params["b1"], params["W2"], params["b2"],
                                ACT[activation], LOSS[loss], code, lr, p1, p2, eps, step, *state,
                                np.empty((b, x.shape[1]), x.dtype), np.empty(b, np.intp),
                                *_workspace(b, params, x.dtype), *grads_ws, np.empty(b, np.int8),
                                *_sparse_workspace(sparse, b, x.shape[1], params["W1"].shape[1], x.dtype), batch_losses,
                                batch_correct, n_threads, _config.epoch_chunks_per_thread(batch_size))
    _flat.after_epoch(optimizer, step, perm.shape[0], batch_size)
    return batch_losses, batch_correct.astype(np.int64)


# --- plain MLPs of any depth (flat parameters; see fastnn/_flat.py) ------------------------------------

def _blocks(sizes, n, dtype):
    """zs and ds workspaces for n rows: blocks n x n_l of every layer (ds: hidden layers only)."""
    return np.empty(n * int(sum(sizes[1:])), dtype), np.empty(n * int(sum(sizes[1:-1])), dtype)


def mlp_logits(theta, sizes, x, act, n_threads):
    n = x.shape[0]
    zs, _ = _blocks(sizes, n, x.dtype)
    with single_threaded():
        mlp_ext.forward(x, theta, sizes, act, zs, n_threads)
    return zs[zs.shape[0] - n * sizes[-1]:].reshape(n, sizes[-1])


def mlp_gradient_and_hits(theta, sizes, x, t, act, lam, n_threads, count_hits=True):
    grad = np.empty_like(theta)
    hit_rows = np.empty(x.shape[0] if count_hits else 0, np.int8)
    with single_threaded():
        value = mlp_ext.gradient(x, t, theta, sizes, act, lam, *_blocks(sizes, x.shape[0], x.dtype),
                                 np.empty(x.shape[0]), grad, hit_rows, n_threads)
    return float(value), grad, int(np.count_nonzero(hit_rows))


def mlp_gradient(theta, sizes, x, t, act, lam, n_threads):
    return mlp_gradient_and_hits(theta, sizes, x, t, act, lam, n_threads, count_hits=False)[:2]


def _mlp_fused_epoch(theta, sizes, x, t, perm, batch_size, act, lam, opt, lr, p1, p2, eps, step, s1, s2, n_threads,
                     sparse):
    b = min(batch_size, perm.shape[0])
    losses = np.empty(-(-perm.shape[0] // batch_size))
    correct = np.empty(losses.shape[0], np.intp)
    with single_threaded():
        mlp_ext.train_epoch(x, t, perm, batch_size, theta, sizes, act, lam, opt, lr, p1, p2, eps, step, s1, s2,
                            np.empty((b, x.shape[1]), x.dtype), np.empty(b, np.intp), *_blocks(sizes, b, x.dtype),
                            np.empty(b), np.empty(b, np.int8), np.empty_like(theta),
                            *_sparse_workspace(sparse, b, x.shape[1], sizes[1], x.dtype), losses, correct, n_threads,
                            _config.epoch_chunks_per_thread(batch_size))
    return losses, correct.astype(np.int64)


def mlp_train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act, lam, n_threads, sparse=False):
    """One epoch in place (the compiled loop for SGD, Momentum and Adam); the batch losses and correct counts."""
    return _flat.train_epoch(mlp_gradient_and_hits, _mlp_fused_epoch, params, sizes, x, t, perm, batch_size, optimizer, act,
                             lam, n_threads, sparse)
