"""Numba kernels: backprop of every network (the two-layer net is the one-hidden-layer case) and its epoch
loop, on flat parameters.

The layout and the algorithm are those of the Cython kernels (src_cython/_mlp.pyx): ``theta`` holds
W1, b1, W2, b2, ... flat; gradients and optimizer state share the layout. Threaded differently: the matrix
products go through ``np.dot`` to BLAS, which uses its own threads (the wrapper, fastnn/backends/_numba.py,
holds them to n_threads), and the fused elementwise passes between them run serially. An OpenMP team
(numba's prange) and BLAS's threads running alternately on the same cores would spin against each other and
make a step many times slower; the Cython kernels avoid that by owning all the threads and calling BLAS
single-threaded. The epoch loop runs every step without returning to Python, updating theta in place. The
scalar numerics (activations, the per-row softmax loss, the optimizer step) are fastnn._numerics'.
"""
import numpy as np
from numba import njit

from . import _config
from ._numerics import activation, activation_grad, count_hits, softmax_loss_row, step_lr, update
from ._sparse_numba import batch_buffers, first_layer_forward, first_layer_weight_grad

_jit = njit(**_config.NUMBA_OPTIONS)


@_jit
def _gather(x, t, perm, start, nb, xb, tb):
    """xb[:nb], tb[:nb] := the rows perm[start:start + nb] of x and t."""
    for r in range(nb):
        xb[r] = x[perm[start + r]]
        tb[r] = t[perm[start + r]]


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
def _views(theta, sizes):
    """Lists of the W_l (2-D) and b_l views of a flat parameter array."""
    Ws = []
    bs = []
    off = 0
    for l in range(1, sizes.shape[0]):
        nin, nout = sizes[l - 1], sizes[l]
        Ws.append(theta[off:off + nin * nout].reshape((nin, nout)))
        off += nin * nout
        bs.append(theta[off:off + nout])
        off += nout
    return Ws, bs


@_jit
def _forward(Ws, bs, x, act, zs, last_bias, z1_done=False):
    """zs[l-1] := act(Z_{l-1} W_l + b_l) for hidden layers, zs[L-1] := the logits (without b_L unless
    last_bias: the loss pass adds it). z1_done: zs[0] already holds x W_1 (x is not read)."""
    L = len(Ws)
    zin = x
    for l in range(L):
        z = zs[l]
        if l > 0 or not z1_done:
            np.dot(zin, Ws[l], z)
        b = bs[l]
        if l < L - 1 or last_bias:
            for i in range(z.shape[0]):
                for j in range(z.shape[1]):
                    z[i, j] = activation(z[i, j] + b[j], act) if l < L - 1 else z[i, j] + b[j]
        zin = z


@_jit
def _backward_rows(Ws, bs, t, act, loss, zs, ds, loss_rows, hits):
    """Per-row loss of the logits zs[L-1] + b_L into loss_rows, zs[L-1] := dA_L, ds[l] := dA_{l+1}
    for the hidden layers; hits[0] := rows whose logits pick their label (hits empty: not counted)."""
    L = len(Ws)
    a = zs[L - 1]
    if hits.shape[0] > 0:
        hits[0] = count_hits(a, bs[L - 1], t)
    _logits_grad(a, bs[L - 1], t, loss, loss_rows)
    dnext = a
    for l in range(L - 2, -1, -1):
        d = ds[l]
        np.dot(dnext, Ws[l + 1].T, d)
        z = zs[l]
        for i in range(d.shape[0]):
            for j in range(d.shape[1]):
                d[i, j] *= activation_grad(z[i, j], act)
        dnext = d


@_jit
def _weight_grads(Ws, x, zs, ds, gWs, gbs, lam, sp=None, rows=None):
    """gW_l := Z_{l-1}^T dA_l + lam W_l, gb_l := column sums of dA_l; returns sum ||W||^2. With sp (the
    batch workspaces) and rows (the batch's (begin, end, indices, values), as first_layer_forward's) gW_1
    runs over the batch's nonzeros."""
    L = len(Ws)
    sq = 0.0
    for l in range(L):
        zin = x if l == 0 else zs[l - 1]
        delta = zs[L - 1] if l == L - 1 else ds[l]
        if l == 0 and sp is not None:
            first_layer_weight_grad(sp, rows[0], rows[1], rows[2], rows[3], delta, gWs[l])
        else:
            np.dot(zin.T, delta, gWs[l])
        gb = gbs[l]
        gb[:] = 0
        for i in range(delta.shape[0]):
            for j in range(delta.shape[1]):
                gb[j] += delta[i, j]
        if lam != 0:
            W = Ws[l].reshape(-1)
            g = gWs[l].reshape(-1)
            sq += _sum_squares(W)
            for i in range(W.shape[0]):
                g[i] += lam * W[i]
    return sq


@_jit
def _sum_squares(w):
    """sum w[i]^2 in float64 over 8 interleaved partial sums (one running sum is a chain of dependent
    additions, one per weight; fastmath is off, so the compiler would not split it), added pairwise."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    n = w.shape[0]
    m = n - n % 8
    for i in range(0, m, 8):
        s0 += np.float64(w[i]) * w[i]
        s1 += np.float64(w[i + 1]) * w[i + 1]
        s2 += np.float64(w[i + 2]) * w[i + 2]
        s3 += np.float64(w[i + 3]) * w[i + 3]
        s4 += np.float64(w[i + 4]) * w[i + 4]
        s5 += np.float64(w[i + 5]) * w[i + 5]
        s6 += np.float64(w[i + 6]) * w[i + 6]
        s7 += np.float64(w[i + 7]) * w[i + 7]
    for i in range(m, n):
        s0 += np.float64(w[i]) * w[i]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@_jit
def _workspace(sizes, n, dtype_like):
    zs = [np.empty((n, sizes[l]), dtype_like.dtype) for l in range(1, sizes.shape[0])]
    ds = [np.empty((n, sizes[l]), dtype_like.dtype) for l in range(1, sizes.shape[0] - 1)]
    return zs, ds


@_jit
def forward(theta, sizes, x, act):
    """The logits of x's rows."""
    Ws, bs = _views(theta, sizes)
    zs, _ = _workspace(sizes, x.shape[0], x)
    _forward(Ws, bs, x, act, zs, True)
    return zs[len(zs) - 1]


@_jit
def gradient(theta, sizes, x, t, act, loss, lam, grad_out, hits):
    """grad_out := d loss / d theta (flat); returns the mean loss + 0.5 lam sum ||W||^2. hits[0] := rows
    whose logits pick their label (hits empty: not counted)."""
    Ws, bs = _views(theta, sizes)
    gWs, gbs = _views(grad_out, sizes)
    zs, ds = _workspace(sizes, x.shape[0], x)
    loss_rows = np.empty(x.shape[0])
    _forward(Ws, bs, x, act, zs, False)
    _backward_rows(Ws, bs, t, act, loss, zs, ds, loss_rows, hits)
    sq = _weight_grads(Ws, x, zs, ds, gWs, gbs, lam)
    return loss_rows.mean() + 0.5 * lam * sq


@_jit
def train_epoch(theta, sizes, x, t, perm, batch_size, act, loss, lam, opt, lr, p1, p2, eps, step, s1, s2, begin, end,
                indices, values):
    """Mini-batch steps over perm (the last batch may be shorter); returns the batch losses and, per batch,
    the rows whose logits (the same forward pass, before the update) pick their label.

    Dense (begin empty): x's rows perm[i]. Sparse: epoch row i's nonzeros are indices / values[begin[i]:end[i]]
    and the first layer's products run over them (fastnn/_sparse_numba.py); x is not read. The labels are
    t[perm[i]] either way."""
    sparse = begin.shape[0] > 0
    n, d = perm.shape[0], sizes[0]
    b = min(batch_size, n)
    Ws, bs = _views(theta, sizes)
    grad = np.empty_like(theta)
    gWs, gbs = _views(grad, sizes)
    xb = np.empty((b if not sparse else 0, d), theta.dtype)
    tb = np.empty(b, t.dtype)
    zs, ds = _workspace(sizes, b, theta)
    loss_rows = np.empty(b)
    losses = np.empty((n + batch_size - 1) // batch_size)
    correct = np.zeros(losses.shape[0], np.int64)
    s = 0
    m = 0  # the most nonzeros of any batch (room for its regrouping by pixel)
    for start in range(0, n if sparse else 0, batch_size):
        k = 0
        for i in range(start, min(start + batch_size, n)):
            k += end[i] - begin[i]
        m = max(m, k)
    sp = batch_buffers(max(m, 1), d, sizes[1], theta, sparse)
    for start in range(0, n, batch_size):
        nb = min(batch_size, n - start)
        zb = [z[:nb] for z in zs]
        db = [dd[:nb] for dd in ds]
        if sparse:
            for r in range(nb):
                tb[r] = t[perm[start + r]]
            rows = (begin[start:start + nb], end[start:start + nb], indices, values)
            first_layer_forward(sp, rows[0], rows[1], indices, values, Ws[0], zs[0])
            _forward(Ws, bs, xb[:nb], act, zb, False, True)
            _backward_rows(Ws, bs, tb[:nb], act, loss, zb, db, loss_rows[:nb], correct[s:s + 1])
            sq = _weight_grads(Ws, xb[:nb], zb, db, gWs, gbs, lam, sp, rows)
        else:
            _gather(x, t, perm, start, nb, xb, tb)
            _forward(Ws, bs, xb[:nb], act, zb, False)
            _backward_rows(Ws, bs, tb[:nb], act, loss, zb, db, loss_rows[:nb], correct[s:s + 1])
            sq = _weight_grads(Ws, xb[:nb], zb, db, gWs, gbs, lam)
        losses[s] = loss_rows[:nb].mean() + 0.5 * lam * sq
        lr_t, step = step_lr(opt, lr, p1, p2, step)
        update(theta, grad, s1, s2, opt, lr_t, p1, p2, eps)
        s += 1
    return losses, correct
