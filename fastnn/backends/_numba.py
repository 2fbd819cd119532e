"""The 'numba' backend: wrappers that resolve threads and allocate, over the jitted kernels.

Backprop and the epoch loop of every network are ``fastnn._mlp_numba``'s. The numerical gradient is chosen
here: the two-layer kernel of ``fastnn._numgrad`` (one hidden sigmoid or relu layer, no weight decay: the
book's TwoLayerNet, by far the faster) where it applies, else ``fastnn._numgrad_mlp``'s (any depth).
"""
import numba
import numpy as np

from .. import _config, _flat, _numgrad, _numgrad_mlp, _sparse, _sparse_numba
from .. import _mlp_numba as kernels
from .._blas_threads import all_threads as all_blas_threads, threads as blas_threads
from .._codes import CROSS_ENTROPY, RELU, SIGMOID
from .._sparse_numba import csr_rows

NAME = "numba"
#: The NumPy reference itself (networks with their own reference path take it instead of this module's).
IS_REFERENCE = False
#: Whether train_epoch runs the first layer over the input's nonzeros when asked.
SPARSE_FIRST_LAYER = True
#: Whether first_layer='auto' picks it for sparse inputs: no. Its kernels are serial, and on MNIST (density 0.19,
#: AVX2 EPYC, 2 threads, float32) its sparse epoch on inputs held as CSR took the dense epoch's time (337 vs 333 ms
#: at batch 100, 399 vs 421 ms at batch 32), and 471 ms with the dense x compressed first; 'sparse' still forces it.
SPARSE_AUTO = False
NOTES = f"numba {numba.__version__} jitted kernels, threading layer chosen at first parallel call"
#: Hidden activations the two-layer numerical-gradient kernel (fastnn._numgrad) is written for.
TWO_LAYER_NUMGRAD_ACTIVATIONS = (SIGMOID, RELU)


def set_threads(n_threads):
    """Numba's thread count for the next parallel kernel (capped at NUMBA_NUM_THREADS)."""
    n = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def logits(theta, sizes, x, act, n_threads):
    """The logits A_L of x's rows."""
    with blas_threads(set_threads(n_threads)):
        return kernels.forward(theta, sizes, x, act)


def sparse_first_layer(indptr, indices, values, W1, b1, n_threads):
    """z1 := x W1 + b1 for the CSR x (indptr, indices, values), over its nonzeros."""
    z = np.empty((indptr.shape[0] - 1, W1.shape[1]), W1.dtype)
    _sparse_numba.forward_threads(indptr, indices, values, W1, b1, z, _sparse.row_chunks(z.shape[0],
                                                                                        set_threads(n_threads)))
    return z


def gradient_and_hits(theta, sizes, x, t, act, loss, lam, n_threads, count_hits=True):
    """(loss, flat gradient, rows whose logits pick their label): one forward/backward pass."""
    grad = np.empty_like(theta)
    hits = np.zeros(1 if count_hits else 0, np.int64)
    with blas_threads(set_threads(n_threads)):
        value = kernels.gradient(theta, sizes, x, t, act, loss, lam, grad, hits)
    return float(value), grad, int(hits.sum())


def gradient(theta, sizes, x, t, act, loss, lam, n_threads):
    return gradient_and_hits(theta, sizes, x, t, act, loss, lam, n_threads, count_hits=False)[:2]


def _fused_epoch(theta, sizes, x, t, perm, batch_size, act, loss, lam, opt, lr, p1, p2, eps, step, s1, s2, n_threads,
                 sparse):
    if sparse:  # x (dense or SparseRows) is read through the epoch's rows over their nonzeros
        rows = _sparse.epoch_rows(x, perm, csr_rows, n_threads)
        x = np.empty((0, int(sizes[0])), theta.dtype)
    else:
        empty = np.empty(0, np.intp)
        rows = (empty, empty, np.empty(0, np.int32), np.empty(0, theta.dtype))
    with blas_threads(set_threads(n_threads)):
        return kernels.train_epoch(theta, sizes, x, t, perm, batch_size, act, loss, lam, opt, lr, p1, p2, eps, step,
                                   s1, s2, *rows)


def train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act, loss, lam, n_threads, sparse=False):
    """One epoch in place (the compiled loop for SGD, Momentum and Adam); the batch losses and correct counts."""
    return _flat.train_epoch(gradient_and_hits, _fused_epoch, params, sizes, x, t, perm, batch_size, optimizer, act,
                             loss, lam, n_threads, sparse)


def uses_two_layer_numgrad(sizes, act, lam):
    """Whether the numerical gradient runs the two-layer kernel (fastnn._numgrad) for this network."""
    return len(sizes) == 3 and lam == 0 and act in TWO_LAYER_NUMGRAD_ACTIVATIONS


def numerical_gradient(theta, sizes, x, t, act, loss, lam, h, n_threads, series=None):
    """Central differences of the loss for every parameter, flat (in theta's dtype; computed in float64).

    ``series=None`` takes each kernel's series wherever it is exact to rounding; False forces the exact
    differences (tests judge one against the other).
    """
    L = len(sizes) - 1
    P = _flat.unpack(np.asarray(theta, np.float64), L, sizes)
    workers = set_threads(n_threads)
    if uses_two_layer_numgrad(sizes, act, lam):
        hidden_out, output_out = _numgrad.numerical_gradient(
            np.ascontiguousarray(x, dtype=np.float64), P["W1"], P["b1"], P["W2"], P["b2"],
            np.ascontiguousarray(t, dtype=np.int64), act, loss, float(h), workers, workers * _config.CHUNKS_PER_THREAD,
            _config.SERIES_LIMIT if series is not False else -1.0, _config.SERIES_TERMS)
        return np.concatenate([hidden_out.ravel(), output_out.ravel()]).astype(theta.dtype)
    if loss != CROSS_ENTROPY:
        raise ValueError("the numerical gradient of a network other than one sigmoid or relu hidden layer without "
                         "weight decay is written for the cross-entropy loss only")
    with all_blas_threads(workers):
        gWs, gbs = _numgrad_mlp.numerical_gradient([P[f"W{i}"] for i in range(1, L + 1)],
                                                   [P[f"b{i}"] for i in range(1, L + 1)],
                                                   np.asarray(x, np.float64), t, act, lam, h, series is not False)
    return np.concatenate([g.ravel() for pair in zip(gWs, gbs) for g in pair]).astype(theta.dtype)
