"""The 'numpy' backend: the pure-NumPy reference itself, behind the backend interface.

Every network is the reference's MLP (fastnn.reference.mlp_*; the two-layer net is its one-hidden-layer
case) on views of the flat ``theta`` (fastnn/_flat.py); the numerical gradient is the book's element-wise loop.
"""
import numpy as np

from .. import _flat
from .. import reference as ref
from .._codes import ACTIVATIONS, LOSSES

NAME = "numpy"
#: The NumPy reference itself (networks with their own reference path take it instead of this module's).
IS_REFERENCE = True
#: Whether train_epoch runs the first layer over the input's nonzeros when asked (the reference is the dense
#: oracle: it takes ``sparse`` and computes densely).
SPARSE_FIRST_LAYER = False
NOTES = "pure NumPy reference; numerical gradient is the book's element-wise loop"
_ACTIVATION_NAMES = {code: name for name, code in ACTIVATIONS.items()}
_LOSS_NAMES = {code: name for name, code in LOSSES.items()}


def _params(theta, sizes):
    return _flat.unpack(theta, len(sizes) - 1, sizes)


def logits(theta, sizes, x, act, n_threads):
    """The logits A_L of x's rows."""
    return ref.mlp_forward(_params(theta, sizes), x, _ACTIVATION_NAMES[act])[0]


def sparse_first_layer(indptr, indices, values, W1, b1, n_threads):
    """z1 := x W1 + b1 for the CSR x (indptr, indices, values; rows from indptr[0]), by scipy."""
    import scipy.sparse
    n, lo = indptr.shape[0] - 1, int(indptr[0])
    x = scipy.sparse.csr_matrix((values[lo:indptr[-1]], indices[lo:indptr[-1]], indptr - lo), shape=(n, W1.shape[0]))
    return np.asarray(x @ W1, dtype=W1.dtype) + b1


def gradient_and_hits(theta, sizes, x, t, act, loss, lam, n_threads, count_hits=True):
    """(loss, flat gradient, rows whose logits pick their label): one forward/backward pass."""
    value, grads, scores = ref.mlp_loss_gradient_and_logits(_params(theta, sizes), x, t, _ACTIVATION_NAMES[act], lam,
                                                            loss=_LOSS_NAMES[loss])
    return value, _flat.pack(grads, len(sizes) - 1, theta.dtype), ref.hits(scores, t) if count_hits else 0


def gradient(theta, sizes, x, t, act, loss, lam, n_threads):
    return gradient_and_hits(theta, sizes, x, t, act, loss, lam, n_threads, count_hits=False)[:2]


def numerical_gradient(theta, sizes, x, t, act, loss, lam, h, n_threads):
    """Central differences of the loss for every parameter, flat in theta's dtype, computed in float64 as on the
    compiled backends (in float32, a difference of two losses near 2.3 keeps ~7 digits: h = 1e-4 leaves ~3)."""
    grads = ref.mlp_numerical_gradient(_params(np.asarray(theta, np.float64), sizes), np.asarray(x, np.float64), t,
                                       _ACTIVATION_NAMES[act], lam, h, loss=_LOSS_NAMES[loss])
    return _flat.pack(grads, len(sizes) - 1, theta.dtype)


def train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act, loss, lam, n_threads, sparse=False):
    """The reference's steps: ``optimizer.update`` with the backprop gradient of each batch; the batch losses and
    correct counts."""
    losses, correct = [], []
    for idx in ref.batches(perm, batch_size):
        value, grads, scores = ref.mlp_loss_gradient_and_logits(params, x[idx], t[idx], _ACTIVATION_NAMES[act], lam,
                                                                loss=_LOSS_NAMES[loss])
        optimizer.update(params, grads)
        losses.append(value)
        correct.append(ref.hits(scores, t[idx]))
    return np.asarray(losses, dtype=np.float64), np.asarray(correct, dtype=np.int64)
