"""Numba kernels: backprop of the two-layer net and its epoch loop.

The same algorithm as the Cython kernels (see src_cython/_twolayer.pyx), threaded differently: the
matrix products go through ``np.dot`` to BLAS, which uses its own threads, and the fused elementwise
passes between them run serially. An OpenMP team (numba's prange) and BLAS's threads running
alternately on the same cores spin against each other and make a step many times slower; the Cython
backend avoids that by owning all the threads and calling BLAS single-threaded; here the wrapper
(fastnn/backends/_numba.py) holds BLAS to n_threads. The epoch loop runs every step without returning to
Python, updating the parameters in place. The scalar numerics (activations, the per-row softmax loss, the
optimizer step) are fastnn._numerics', shared with every numba kernel.
"""
import numpy as np
from numba import njit

from . import _config
from ._numerics import activation, activation_grad, count_hits, softmax_loss_row, step_lr, update
from ._sparse_numba import batch_buffers, first_layer_forward, first_layer_weight_grad

_jit = njit(**_config.NUMBA_OPTIONS)


@_jit
def _bias_act(z, b, act):
    """z := act(z + b), row by row."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = activation(z[i, j] + b[j], act)


@_jit
def _act_grad(dz, z, act):
    """dz := dz * act'(a), written from the output z."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            dz[i, j] = dz[i, j] * activation_grad(z[i, j], act)


@_jit
def _logits_grad(a, b, t, loss, loss_rows):
    """a := dL/da for the mean batch loss of logits a + b; loss_rows[i] := row i's loss."""
    n, c = a.shape
    inv_n = 1.0 / n
    for i in range(n):
        for k in range(c):
            a[i, k] = a[i, k] + b[k]
        loss_rows[i] = softmax_loss_row(a[i], t[i], loss, inv_n)


@_jit
def _forward(W1, b1, W2, x, act, z1, a2, z1_done=False):
    """z1 := act(x W1 + b1); a2 := z1 W2 (bias b2 added by the next pass). z1_done: z1 already holds x W1."""
    if not z1_done:
        np.dot(x, W1, z1)
    _bias_act(z1, b1, act)
    np.dot(z1, W2, a2)


@_jit
def logits(W1, b1, W2, b2, x, act):
    """a2 := act(x W1 + b1) W2 + b2."""
    z1 = np.empty((x.shape[0], W1.shape[1]), x.dtype)
    a2 = np.empty((x.shape[0], W2.shape[1]), x.dtype)
    _forward(W1, b1, W2, x, act, z1, a2)
    return a2 + b2


@_jit
def _forward_backward(W1, b1, W2, b2, x, t, act, loss, z1, a2, dz1, loss_rows, hits, z1_done=False):
    """Forward and loss; a2 := da2, dz1 := da1. Returns the mean loss; hits[0] := rows whose logits pick their
    label (hits empty: not counted). z1_done: z1 already holds x W1 (x is not read)."""
    _forward(W1, b1, W2, x, act, z1, a2, z1_done)
    if hits.shape[0] > 0:
        hits[0] = count_hits(a2, b2, t)
    _logits_grad(a2, b2, t, loss, loss_rows)
    np.dot(a2, W2.T, dz1)
    _act_grad(dz1, z1, act)
    return loss_rows.mean()


@_jit
def _colsum(d, out):
    """out[j] := sum_i d[i, j]."""
    out[:] = 0
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            out[j] += d[i, j]


@_jit
def gradient(W1, b1, W2, b2, x, t, act, loss, gW1, gb1, gW2, gb2, hits):
    """Backprop of the mean batch loss into g*; returns the loss. hits[0] := rows whose logits pick their
    label (the same forward pass; hits empty: not counted)."""
    n = x.shape[0]
    z1 = np.empty((n, W1.shape[1]), x.dtype)
    a2 = np.empty((n, W2.shape[1]), x.dtype)
    dz1 = np.empty_like(z1)
    loss_rows = np.empty(n)
    value = _forward_backward(W1, b1, W2, b2, x, t, act, loss, z1, a2, dz1, loss_rows, hits)
    np.dot(z1.T, a2, gW2)
    np.dot(x.T, dz1, gW1)
    _colsum(a2, gb2)
    _colsum(dz1, gb1)
    return value


@_jit
def _gather(x, t, perm, start, nb, xb, tb):
    """xb[:nb], tb[:nb] := the rows perm[start:start + nb] of x and t."""
    for r in range(nb):
        xb[r] = x[perm[start + r]]
        tb[r] = t[perm[start + r]]


@_jit
def train_epoch(W1, b1, W2, b2, x, t, perm, batch_size, act, loss, opt, lr, p1, p2, eps, step,
                s1_W1, s1_b1, s1_W2, s1_b2, s2_W1, s2_b1, s2_W2, s2_b2, sparse=False):
    """Mini-batch steps over perm (the last batch may be shorter); returns the batch losses and, per batch,
    the rows whose logits (the same forward pass, before the update) pick their label. ``sparse``: the
    first layer's products run over each batch's nonzeros (fastnn/_sparse_numba.py)."""
    n, d = perm.shape[0], x.shape[1]
    b = min(batch_size, n)
    dt = x.dtype
    xb = np.empty((b, d), dt)
    tb = np.empty(b, t.dtype)
    z1 = np.empty((b, W1.shape[1]), dt)
    a2 = np.empty((b, W2.shape[1]), dt)
    dz1 = np.empty_like(z1)
    loss_rows = np.empty(b)
    gW1, gb1, gW2, gb2 = np.empty_like(W1), np.empty_like(b1), np.empty_like(W2), np.empty_like(b2)
    losses = np.empty((n + batch_size - 1) // batch_size)
    correct = np.zeros(losses.shape[0], np.int64)
    n_batches = 0
    sp = batch_buffers(b, d, W1.shape[1], x, sparse)
    for start in range(0, n, batch_size):
        nb = min(batch_size, n - start)
        if sparse:
            for r in range(nb):
                tb[r] = t[perm[start + r]]
            first_layer_forward(sp, x, perm, start, nb, W1, z1)
        else:
            _gather(x, t, perm, start, nb, xb, tb)
        losses[n_batches] = _forward_backward(W1, b1, W2, b2, xb[:nb], tb[:nb], act, loss, z1[:nb], a2[:nb],
                                              dz1[:nb], loss_rows[:nb], correct[n_batches:n_batches + 1], sparse)
        np.dot(z1[:nb].T, a2[:nb], gW2)
        if sparse:
            first_layer_weight_grad(sp, nb, dz1[:nb], gW1)
        else:
            np.dot(xb[:nb].T, dz1[:nb], gW1)
        _colsum(a2[:nb], gb2)
        _colsum(dz1[:nb], gb1)
        lr_t, step = step_lr(opt, lr, p1, p2, step)
        update(W1.reshape(-1), gW1.reshape(-1), s1_W1, s2_W1, opt, lr_t, p1, p2, eps)
        update(b1, gb1, s1_b1, s2_b1, opt, lr_t, p1, p2, eps)
        update(W2.reshape(-1), gW2.reshape(-1), s1_W2, s2_W2, opt, lr_t, p1, p2, eps)
        update(b2, gb2, s1_b2, s2_b2, opt, lr_t, p1, p2, eps)
        n_batches += 1
    return losses, correct
