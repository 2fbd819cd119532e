"""The 'numpy' backend: the pure-NumPy reference itself, behind the backend interface."""
import numpy as np

from .. import _flat
from .. import reference as ref
from .._codes import ACTIVATIONS

NAME = "numpy"
#: The NumPy reference itself (networks with their own reference path take it instead of this module's).
IS_REFERENCE = True
#: Whether train_epoch / mlp_train_epoch run the first layer over the input's nonzeros when asked (the
#: reference is the dense oracle: it takes ``sparse`` and computes densely).
SPARSE_FIRST_LAYER = False
NOTES = "pure NumPy reference; numerical gradient is the book's element-wise loop"
_ACTIVATION_NAMES = {code: name for name, code in ACTIVATIONS.items()}


def logits(params, x, activation, n_threads):
    """a2 := act(x W1 + b1) W2 + b2."""
    return ref.forward(params, x, activation)[1]


def gradient(params, x, t, activation, loss, n_threads):
    return ref.gradient(params, x, t, activation, loss)


def numerical_gradient(params, x, t, activation, loss, h, n_threads):
    return ref.numerical_gradient(params, x, t, activation, loss, h)


def train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss, n_threads, sparse=False):
    return ref.train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss)


# --- plain MLPs of any depth (flat parameters; see fastnn/_flat.py) ------------------------------------

def _params(theta, sizes):
    return _flat.unpack(theta, len(sizes) - 1, sizes)


def mlp_logits(theta, sizes, x, act, n_threads):
    return ref.mlp_forward(_params(theta, sizes), x, _ACTIVATION_NAMES[act])[0]


def mlp_gradient(theta, sizes, x, t, act, lam, n_threads):
    value, grads = ref.mlp_loss_and_gradient(_params(theta, sizes), x, t, _ACTIVATION_NAMES[act], lam)
    return value, _flat.pack(grads, len(sizes) - 1, theta.dtype)


def mlp_numerical_gradient(theta, sizes, x, t, act, lam, h, n_threads):
    grads = ref.mlp_numerical_gradient(_params(theta, sizes), x, t, _ACTIVATION_NAMES[act], lam, h)
    return _flat.pack(grads, len(sizes) - 1, theta.dtype)


def mlp_train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act, lam, n_threads, sparse=False):
    """The reference's steps: ``optimizer.update`` with the backprop gradient of each batch; the batch losses and
    correct counts."""
    losses, correct = [], []
    for idx in ref.batches(perm, batch_size):
        value, grads, scores = ref.mlp_loss_gradient_and_logits(params, x[idx], t[idx], _ACTIVATION_NAMES[act], lam)
        optimizer.update(params, grads)
        losses.append(value)
        correct.append(ref.hits(scores, t[idx]))
    return np.asarray(losses, dtype=np.float64), np.asarray(correct, dtype=np.int64)
