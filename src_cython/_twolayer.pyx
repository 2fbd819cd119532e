# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused forward/backward kernels of the two-layer net and its compiled epoch loop.

Design
------
One training step is five matrix products through BLAS (``_blas.gemm``, row-major) and three fused
elementwise passes over the rows of the batch, each under OpenMP ``prange`` with the GIL released:

1. z1 := act(x W1 + b1)            GEMM, then bias + activation in one pass;
2. a2 := z1 W2 + b2, da2 := dL/da2  GEMM, then bias + softmax + loss + its gradient, one pass a row;
3. da1 := (da2 W2^T) * act'(z1)    GEMM, then the derivative written from the output z1;
4. dW2 := z1^T da2, dW1 := x^T da1 GEMMs; db := column sums of da.

The caller allocates every output (``*_out``) and workspace (``*_ws``); kernels never allocate, so a
training loop allocates once. The epoch loop gathers each mini-batch of a permutation into a
workspace, runs the step and updates the parameters in place. For SGD the update is folded into the
weight-gradient GEMMs (``W := W - lr x^T da``: alpha=-lr, beta=1), so dW is never stored.

BLAS is only called outside ``prange`` regions; elementwise passes below ``min_parallel_work``
elements run on one thread, where forking a team costs more than it saves.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expf, log, sqrt
from libc.string cimport memcpy

from _blas cimport gemm

cdef extern from *:
    """
    #ifdef _OPENMP
    #define FASTNN_HAVE_OPENMP 1
    #else
    #define FASTNN_HAVE_OPENMP 0
    #endif
    """
    int FASTNN_HAVE_OPENMP

#: True when this module was compiled with OpenMP (otherwise every prange runs serially).
HAVE_OPENMP = bool(FASTNN_HAVE_OPENMP)

# Codes shared with fastnn/backends/_cython.py.
SIGMOID, RELU = 0, 1
CROSS_ENTROPY, MSE = 0, 1
SGD, MOMENTUM, ADAM = 0, 1, 2

cdef Py_ssize_t _min_parallel_work = 16384


def set_min_parallel_work(Py_ssize_t n):
    """Elementwise passes smaller than n elements run on one thread (set from fastnn._config)."""
    global _min_parallel_work
    _min_parallel_work = n


cdef inline int _threads(Py_ssize_t work, int n_threads) noexcept nogil:
    return n_threads if work >= _min_parallel_work else 1


cdef inline floating _exp(floating a) noexcept nogil:
    if floating is float:
        return expf(a)
    else:
        return exp(a)


cdef inline floating _sigmoid(floating a) noexcept nogil:
    """1 / (1 + exp(-a)) from exp(-|a|), which never overflows (the reference's formula)."""
    cdef floating e
    if a >= 0:
        e = _exp(-a)
        return 1 / (1 + e)
    e = _exp(a)
    return e / (1 + e)


# --- elementwise passes ----------------------------------------------------------------------------

cdef void _bias_act(floating[:, ::1] z, const floating[::1] b, int act, int n_threads) noexcept nogil:
    """z := act(z + b), row by row."""
    cdef Py_ssize_t i, j, n = z.shape[0], h = z.shape[1]
    cdef floating a
    for i in prange(n, schedule='static', num_threads=_threads(n * h, n_threads)):
        for j in range(h):
            a = z[i, j] + b[j]
            if act == 0:
                z[i, j] = _sigmoid(a)
            else:
                z[i, j] = a if a > 0 else 0


cdef void _act_grad(floating[:, ::1] dz, const floating[:, ::1] z, int act, int n_threads) noexcept nogil:
    """dz := dz * act'(a), act' written from the output z."""
    cdef Py_ssize_t i, j, n = z.shape[0], h = z.shape[1]
    for i in prange(n, schedule='static', num_threads=_threads(n * h, n_threads)):
        for j in range(h):
            if act == 0:
                dz[i, j] = dz[i, j] * z[i, j] * (1 - z[i, j])
            elif z[i, j] <= 0:
                dz[i, j] = 0


cdef void _logits_grad(floating[:, ::1] a, const floating[::1] b, const Py_ssize_t[::1] t,
                       int loss, double[::1] loss_rows_out, int n_threads) noexcept nogil:
    """a := dL/da for the mean batch loss of logits a + b; loss_rows_out[i] := row i's loss.

    Cross-entropy: loss_i = logsumexp(a_i) - a_i[t_i], da_i = (softmax(a_i) - e_t) / n.
    MSE:           loss_i = 0.5 |y_i - e_t|^2, dy = (y - e_t) / n, da_i = y (dy - <dy, y>).
    """
    cdef Py_ssize_t i, k, n = a.shape[0], c = a.shape[1]
    cdef floating m, s, at, y, dy, sdy, r
    cdef floating inv_n = <floating> 1.0 / n
    cdef double li
    for i in prange(n, schedule='static', num_threads=_threads(n * c * 8, n_threads)):
        m = a[i, 0] + b[0]
        for k in range(c):
            a[i, k] = a[i, k] + b[k]
            if a[i, k] > m:
                m = a[i, k]
        at = a[i, t[i]] - m
        s = 0
        for k in range(c):
            a[i, k] = _exp(a[i, k] - m)
            s = s + a[i, k]
        if loss == 0:
            loss_rows_out[i] = log(s) - at
            for k in range(c):
                a[i, k] = a[i, k] / s * inv_n
            a[i, t[i]] = a[i, t[i]] - inv_n
        else:
            li = 0
            sdy = 0
            for k in range(c):
                y = a[i, k] / s
                r = y - (1 if k == t[i] else 0)
                li = li + 0.5 * r * r
                sdy = sdy + r * inv_n * y
                a[i, k] = y
            loss_rows_out[i] = li
            for k in range(c):
                y = a[i, k]
                dy = (y - (1 if k == t[i] else 0)) * inv_n
                a[i, k] = y * (dy - sdy)


cdef void _colsum(const floating[:, ::1] d, floating* out, floating alpha, bint accumulate) noexcept nogil:
    """out[j] := alpha sum_i d[i, j] (+ out[j] when accumulate)."""
    cdef Py_ssize_t i, j, n = d.shape[0], h = d.shape[1]
    if not accumulate:
        for j in range(h):
            out[j] = 0
        for i in range(n):
            for j in range(h):
                out[j] = out[j] + alpha * d[i, j]
    else:
        for i in range(n):
            for j in range(h):
                out[j] = out[j] + alpha * d[i, j]


cdef double _mean(const double[::1] v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef double s = 0
    for i in range(n):
        s += v[i]
    return s / n


# --- forward and backward --------------------------------------------------------------------------

cdef void _forward(const floating[:, ::1] x, const floating[:, ::1] W1, const floating[::1] b1,
                   const floating[:, ::1] W2, int act,
                   floating[:, ::1] z1_out, floating[:, ::1] a2_out, int n_threads) noexcept nogil:
    """z1 := act(x W1 + b1); a2 := z1 W2 (bias b2 is added by the caller's pass)."""
    cdef int n = x.shape[0], d = x.shape[1], h = W1.shape[1], c = W2.shape[1]
    gemm(False, False, n, h, d, <floating> 1, &x[0, 0], d, &W1[0, 0], h, <floating> 0, &z1_out[0, 0], h)
    _bias_act(z1_out, b1, act, n_threads)
    gemm(False, False, n, c, h, <floating> 1, &z1_out[0, 0], h, &W2[0, 0], c, <floating> 0, &a2_out[0, 0], c)


cdef double _forward_backward(const floating[:, ::1] x, const Py_ssize_t[::1] t,
                              const floating[:, ::1] W1, const floating[::1] b1,
                              const floating[:, ::1] W2, const floating[::1] b2, int act, int loss,
                              floating[:, ::1] z1_ws, floating[:, ::1] a2_ws, floating[:, ::1] dz1_ws,
                              double[::1] loss_rows_ws, int n_threads) noexcept nogil:
    """Forward, loss and the logit/hidden gradients: a2_ws := da2, dz1_ws := da1; returns the loss."""
    cdef int n = x.shape[0], h = W1.shape[1], c = W2.shape[1]
    _forward(x, W1, b1, W2, act, z1_ws, a2_ws, n_threads)
    _logits_grad(a2_ws, b2, t, loss, loss_rows_ws, n_threads)
    gemm(False, True, n, h, c, <floating> 1, &a2_ws[0, 0], c, &W2[0, 0], c, <floating> 0, &dz1_ws[0, 0], h)
    _act_grad(dz1_ws, z1_ws, act, n_threads)
    return _mean(loss_rows_ws, n)


cdef void _weight_grads(const floating[:, ::1] x, const floating[:, ::1] z1, const floating[:, ::1] da2,
                        const floating[:, ::1] da1, floating alpha, floating beta,
                        floating* W1_out, floating* b1_out, floating* W2_out, floating* b2_out) noexcept nogil:
    """W1 := alpha x^T da1 + beta W1, W2 := alpha z1^T da2 + beta W2, b := alpha colsum(da) (+ b)."""
    cdef int n = x.shape[0], d = x.shape[1], h = z1.shape[1], c = da2.shape[1]
    gemm(True, False, h, c, n, alpha, &z1[0, 0], h, &da2[0, 0], c, beta, W2_out, c)
    gemm(True, False, d, h, n, alpha, &x[0, 0], d, &da1[0, 0], h, beta, W1_out, h)
    _colsum(da2, b2_out, alpha, beta != 0)
    _colsum(da1, b1_out, alpha, beta != 0)


def forward(const floating[:, ::1] x, const floating[:, ::1] W1, const floating[::1] b1,
            const floating[:, ::1] W2, const floating[::1] b2, int act,
            floating[:, ::1] z1_out, floating[:, ::1] a2_out, int n_threads):
    """z1_out := act(x W1 + b1), a2_out := z1 W2 + b2 (the logits)."""
    cdef Py_ssize_t i, k
    with nogil:
        _forward(x, W1, b1, W2, act, z1_out, a2_out, n_threads)
        for i in range(a2_out.shape[0]):
            for k in range(a2_out.shape[1]):
                a2_out[i, k] = a2_out[i, k] + b2[k]


def gradient(const floating[:, ::1] x, const Py_ssize_t[::1] t,
             const floating[:, ::1] W1, const floating[::1] b1,
             const floating[:, ::1] W2, const floating[::1] b2, int act, int loss,
             floating[:, ::1] z1_ws, floating[:, ::1] a2_ws, floating[:, ::1] dz1_ws, double[::1] loss_rows_ws,
             floating[:, ::1] W1_out, floating[::1] b1_out, floating[:, ::1] W2_out, floating[::1] b2_out,
             int n_threads):
    """Backprop of the mean batch loss into *_out; returns the loss."""
    cdef double value
    with nogil:
        value = _forward_backward(x, t, W1, b1, W2, b2, act, loss, z1_ws, a2_ws, dz1_ws, loss_rows_ws,
                                  n_threads)
        _weight_grads(x, z1_ws, a2_ws, dz1_ws, <floating> 1, <floating> 0,
                      &W1_out[0, 0], &b1_out[0], &W2_out[0, 0], &b2_out[0])
    return value


# --- optimizer updates -----------------------------------------------------------------------------

cdef void _update(floating* w, const floating* g, floating* s1, floating* s2, Py_ssize_t size,
                  int opt, floating lr, floating p1, floating p2, int n_threads) noexcept nogil:
    """One parameter's update in place, as fastnn.optimizers writes it.

    Momentum: s1 := p1 s1 - lr g; w := w + s1.
    Adam (lr is lr_t): s1 := s1 + (1 - p1)(g - s1); s2 := s2 + (1 - p2)(g^2 - s2); w := w - lr s1 / (sqrt(s2) + 1e-7).
    """
    cdef Py_ssize_t i
    for i in prange(size, schedule='static', num_threads=_threads(size, n_threads)):
        if opt == 1:
            s1[i] = s1[i] * p1 - lr * g[i]
            w[i] = w[i] + s1[i]
        else:
            s1[i] = s1[i] + (1 - p1) * (g[i] - s1[i])
            s2[i] = s2[i] + (1 - p2) * (g[i] * g[i] - s2[i])
            w[i] = w[i] - lr * s1[i] / (sqrt(s2[i]) + <floating> 1e-7)


cdef void _gather(const floating[:, ::1] x, const Py_ssize_t[::1] t, const Py_ssize_t[::1] perm,
                  Py_ssize_t start, floating[:, ::1] xb_out, Py_ssize_t[::1] tb_out, int n_threads) noexcept nogil:
    """xb_out[r] := x[perm[start + r]], tb_out[r] := t[perm[start + r]]."""
    cdef Py_ssize_t r, n = xb_out.shape[0], d = x.shape[1]
    for r in prange(n, schedule='static', num_threads=_threads(n * d, n_threads)):
        memcpy(&xb_out[r, 0], &x[perm[start + r], 0], d * sizeof(floating))
        tb_out[r] = t[perm[start + r]]


def train_epoch(const floating[:, ::1] x, const Py_ssize_t[::1] t, const Py_ssize_t[::1] perm,
                Py_ssize_t batch_size,
                floating[:, ::1] W1, floating[::1] b1, floating[:, ::1] W2, floating[::1] b2,
                int act, int loss, int opt, double lr, double p1, double p2, long step,
                floating[::1] s1_W1, floating[::1] s1_b1, floating[::1] s1_W2, floating[::1] s1_b2,
                floating[::1] s2_W1, floating[::1] s2_b1, floating[::1] s2_W2, floating[::1] s2_b2,
                floating[:, ::1] xb_ws, Py_ssize_t[::1] tb_ws,
                floating[:, ::1] z1_ws, floating[:, ::1] a2_ws, floating[:, ::1] dz1_ws, double[::1] loss_rows_ws,
                floating[:, ::1] gW1_ws, floating[::1] gb1_ws, floating[:, ::1] gW2_ws, floating[::1] gb2_ws,
                int n_threads):
    """Mini-batch steps over perm (the last batch may be shorter); returns the mean batch loss.

    Optimizer state s1/s2 (flat views of Momentum's v or Adam's m, v) is updated in place; ``step``
    is Adam's step count before this epoch. Workspaces hold ``batch_size`` rows.
    """
    cdef Py_ssize_t n = perm.shape[0], start, nb, n_batches = 0
    cdef double total = 0, lr_t
    cdef floating flr = <floating> lr
    with nogil:
        start = 0
        while start < n:
            nb = min(batch_size, n - start)
            _gather(x, t, perm, start, xb_ws[:nb], tb_ws[:nb], n_threads)
            total += _forward_backward(xb_ws[:nb], tb_ws[:nb], W1, b1, W2, b2, act, loss,
                                       z1_ws[:nb], a2_ws[:nb], dz1_ws[:nb], loss_rows_ws[:nb], n_threads)
            if opt == 0:
                _weight_grads(xb_ws[:nb], z1_ws[:nb], a2_ws[:nb], dz1_ws[:nb], -flr, <floating> 1,
                              &W1[0, 0], &b1[0], &W2[0, 0], &b2[0])
            else:
                _weight_grads(xb_ws[:nb], z1_ws[:nb], a2_ws[:nb], dz1_ws[:nb], <floating> 1, <floating> 0,
                              &gW1_ws[0, 0], &gb1_ws[0], &gW2_ws[0, 0], &gb2_ws[0])
                lr_t = lr
                if opt == 2:
                    step += 1
                    lr_t = lr * sqrt(1.0 - p2 ** step) / (1.0 - p1 ** step)
                _update(&W1[0, 0], &gW1_ws[0, 0], &s1_W1[0], &s2_W1[0] if opt == 2 else NULL,
                        W1.shape[0] * W1.shape[1], opt, <floating> lr_t, <floating> p1, <floating> p2, n_threads)
                _update(&b1[0], &gb1_ws[0], &s1_b1[0], &s2_b1[0] if opt == 2 else NULL,
                        b1.shape[0], opt, <floating> lr_t, <floating> p1, <floating> p2, n_threads)
                _update(&W2[0, 0], &gW2_ws[0, 0], &s1_W2[0], &s2_W2[0] if opt == 2 else NULL,
                        W2.shape[0] * W2.shape[1], opt, <floating> lr_t, <floating> p1, <floating> p2, n_threads)
                _update(&b2[0], &gb2_ws[0], &s1_b2[0], &s2_b2[0] if opt == 2 else NULL,
                        b2.shape[0], opt, <floating> lr_t, <floating> p1, <floating> p2, n_threads)
            n_batches += 1
            start += nb
    return total / n_batches
