# cython: language_level=3, cdivision=True
# boundscheck, wraparound and initializedcheck come from setup.py: off, on in a FASTNN_DEBUG_BUILD=1 build.
"""Fused forward/backward kernels of the two-layer net and its compiled epoch loop.

Design
------
A training step is a few OpenMP ``prange`` regions over ``n_threads`` chunks, each chunk calling
single-threaded BLAS (``_blas.gemm``, row-major) on its own slice; the caller holds BLAS to one thread.
Mixing an OpenMP team with BLAS's own threads on the same cores makes each spin while the other works
(10x slower on 2 cores), so all parallelism is ours.

0. The first layer's input: dense, gather x[perm] -> xb by rows, then z1 := xb W1 by hidden units (each
   thread packs its own columns of W1 once; split by rows, every chunk would pack all of W1 for a few
   rows). Sparse (src_cython/_sparse_batch.pxd), each row's nonzeros gathered by rows, and x W1 taken
   over them by rows in region 1.
1. Rows of the batch (everything here is row-local, so chunks need no synchronisation):
   z1 := act(z1 + b1); a2 := z1 W2 + b2; da2 := dL/da2 (softmax, loss and its gradient in one pass a
   row); da1 := (da2 W2^T) * act'(z1).
2. Rows of the weights (after the barrier that ends region 1): dW1[d0:d1] := xb[:, d0:d1]^T da1 (sparse:
   over the batch's nonzeros by input pixel), dW2[h0:h1] := z1[:, h0:h1]^T da2, db := column sums; then
   the optimizer updates those same rows while they are in cache. For SGD the update is the GEMM itself:
   W := W - lr x^T da (alpha=-lr, beta=1), so dW is never stored.

The caller allocates every output (``*_out``) and workspace (``*_ws``); kernels never allocate, so a
training loop allocates once per epoch and never per step. The scalar numerics (activations, the per-row
softmax loss, the optimizer update) and the codes are src_cython/_numerics.pxd's, shared with _mlp.pyx;
fastnn/backends/_cython.py is the Python side (workspaces, BLAS held to one thread).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t
from libc.string cimport memcpy

import numpy as np

from _blas cimport gemm
from _numerics cimport (ADAM, SGD, activation_grad, argmax_is, adam_lr, bias_activation_row, codes, edge as _edge,
                        softmax_loss_row, update)
from _sparse_batch cimport (SparseBatch, sparse_batch, sparse_csc, sparse_forward, sparse_gather_rows,
                            sparse_place_rows, sparse_prefix, sparse_sgd_step, sparse_weight_grad)

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define fastnn_prefetch(p) __builtin_prefetch((p), 0, 1)
    #else
    #define fastnn_prefetch(p) ((void)(p))  /* MSVC: no portable prefetch hint */
    #endif
    """
    void fastnn_prefetch(const void* p) noexcept nogil

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

cdef extern from *:
    """
    #ifdef FASTNN_DEBUG_BUILD
    #define FASTNN_DEBUG_BUILD_FLAG 1
    #else
    #define FASTNN_DEBUG_BUILD_FLAG 0
    #endif
    """
    int FASTNN_DEBUG_BUILD_FLAG

#: True in a FASTNN_DEBUG_BUILD=1 build: every memoryview access is bounds-checked (an IndexError, not a
#: stray read or write) and negative indices wrap; for CI, never for speed.
DEBUG_BUILD = bool(FASTNN_DEBUG_BUILD_FLAG)

#: The activation, loss and optimizer codes by name (src_cython/_numerics.pxd).
CODES = codes()


# --- region 1: rows of the batch --------------------------------------------------------------------

cdef void _forward_rows(const floating[:, ::1] x, const floating[:, ::1] W1, const floating[::1] b1,
                        const floating[:, ::1] W2, const floating[::1] b2, int act,
                        floating[:, ::1] z1_out, floating[:, ::1] a2_out,
                        const SparseBatch* sp=NULL, Py_ssize_t r0=0, bint z1_ready=False) noexcept nogil:
    """z1 := act(x W1 + b1), a2 := z1 W2 + b2 for the rows given (all views of one chunk). With sp, x W1
    runs over the nonzeros of the batch's rows r0:r0 + n (x itself is not read); z1_ready: z1 already
    holds x W1."""
    cdef int n = x.shape[0], d = x.shape[1], h = W1.shape[1], c = W2.shape[1]
    cdef Py_ssize_t i, j
    if z1_ready:
        pass
    elif sp != NULL:
        sparse_forward(sp, r0, r0 + n, &W1[0, 0], &z1_out[0, 0] - r0 * h, h)
    else:
        gemm(False, False, n, h, d, <floating> 1, &x[0, 0], d, &W1[0, 0], h, <floating> 0, &z1_out[0, 0], h)
    for i in range(n):
        bias_activation_row(&z1_out[i, 0], &b1[0], h, act)
    for i in range(n):
        for j in range(c):
            a2_out[i, j] = b2[j]
    gemm(False, False, n, c, h, <floating> 1, &z1_out[0, 0], h, &W2[0, 0], c, <floating> 1, &a2_out[0, 0], c)


cdef void _logits_grad_rows(floating[:, ::1] a, const Py_ssize_t[::1] t, int loss, floating inv_n,
                            double[::1] loss_rows_out) noexcept nogil:
    """a := dL/da of the mean batch loss (inv_n = 1 / batch rows); loss_rows_out[i] := row i's loss.

    Cross-entropy: loss_i = logsumexp(a_i) - a_i[t_i], da_i = (softmax(a_i) - e_t) inv_n.
    MSE:           loss_i = |y_i - e_t|^2 / 2, dy = (y - e_t) inv_n, da_i = y (dy - <dy, y>).
    """
    cdef Py_ssize_t i, n = a.shape[0], c = a.shape[1]
    for i in range(n):
        loss_rows_out[i] = softmax_loss_row(&a[i, 0], c, t[i], loss, inv_n)


cdef void _backward_rows(const floating[:, ::1] z1, const floating[:, ::1] da2, const floating[:, ::1] W2,
                         int act, floating[:, ::1] da1_out) noexcept nogil:
    """da1 := (da2 W2^T) * act'(a1), act' written from the output z1."""
    cdef int n = z1.shape[0], h = z1.shape[1], c = W2.shape[1]
    cdef Py_ssize_t i, j
    gemm(False, True, n, h, c, <floating> 1, &da2[0, 0], c, &W2[0, 0], c, <floating> 0, &da1_out[0, 0], h)
    for i in range(n):
        for j in range(h):
            da1_out[i, j] = da1_out[i, j] * activation_grad(z1[i, j], act)


cdef void _step_rows(const floating[:, ::1] x, const Py_ssize_t[::1] t, const Py_ssize_t[::1] perm,
                     Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1, floating inv_n,
                     const floating[:, ::1] W1, const floating[::1] b1,
                     const floating[:, ::1] W2, const floating[::1] b2, int act, int loss,
                     floating[:, ::1] xb_ws, Py_ssize_t[::1] tb_ws, floating[:, ::1] z1_ws,
                     floating[:, ::1] a2_ws, floating[:, ::1] dz1_ws, double[::1] loss_rows_ws,
                     signed char* hits, const SparseBatch* sp=NULL, bint z1_ready=False) noexcept nogil:
    """Region 1 for batch rows r0:r1: forward, loss, da2, da1 of x[perm[start:]] gathered into
    xb_ws, tb_ws (or of x, t themselves when perm is empty); hits[r] := whether row r's logits pick its
    label (unless hits is NULL). With sp (the batch's CSR, gathered by the caller) xb_ws is not written:
    the first layer runs over the nonzeros. z1_ready: xb_ws, tb_ws and z1_ws := xb W1 are the caller's
    (``_first_layer_columns``)."""
    cdef Py_ssize_t r, d = x.shape[1]
    cdef const floating[:, ::1] xs = x
    cdef const Py_ssize_t[::1] ts = t
    if r1 <= r0:
        return
    if z1_ready:
        xs = xb_ws
        ts = tb_ws
    elif perm.shape[0] > 0:
        for r in range(r0, r1):
            if sp == NULL:
                memcpy(&xb_ws[r, 0], &x[perm[start + r], 0], d * sizeof(floating))
            tb_ws[r] = t[perm[start + r]]
        xs = xb_ws
        ts = tb_ws
    _forward_rows(xs[r0:r1], W1, b1, W2, b2, act, z1_ws[r0:r1], a2_ws[r0:r1], sp, r0, z1_ready)
    if hits != NULL:
        for r in range(r0, r1):
            hits[r] = argmax_is(&a2_ws[r, 0], a2_ws.shape[1], ts[r])
    _logits_grad_rows(a2_ws[r0:r1], ts[r0:r1], loss, inv_n, loss_rows_ws[r0:r1])
    _backward_rows(z1_ws[r0:r1], a2_ws[r0:r1], W2, act, dz1_ws[r0:r1])


cdef void _gather_rows(const floating[:, ::1] x, const Py_ssize_t[::1] t, const Py_ssize_t[::1] perm,
                       Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1, floating[:, ::1] xb_ws,
                       Py_ssize_t[::1] tb_ws) noexcept nogil:
    """xb_ws[r], tb_ws[r] := x, t at perm[start + r] for batch rows r0:r1."""
    cdef Py_ssize_t r
    for r in range(r0, r1):
        memcpy(&xb_ws[r, 0], &x[perm[start + r], 0], x.shape[1] * sizeof(floating))
        tb_ws[r] = t[perm[start + r]]


cdef void _first_layer_columns(const floating[:, ::1] xb, const floating[:, ::1] W1, Py_ssize_t k0, Py_ssize_t k1,
                               floating[:, ::1] z1_out) noexcept nogil:
    """z1_out[:, k0:k1] := xb W1[:, k0:k1]: the first layer's product split by hidden units, so that each
    thread's GEMM packs only its own columns of W1 once, for every row of the batch (split by rows, each
    chunk would pack all of W1 for a few rows: most of a small batch's time on AVX2)."""
    cdef int n = xb.shape[0], d = xb.shape[1], h = W1.shape[1]
    if k1 > k0 and n > 0:
        gemm(False, False, n, k1 - k0, d, <floating> 1, &xb[0, 0], d, &W1[0, k0], h, <floating> 0, &z1_out[0, k0], h)


# --- region 2: rows of the weights ------------------------------------------------------------------

cdef void _colsum(const floating[:, ::1] d, Py_ssize_t j0, Py_ssize_t j1, floating alpha, floating beta,
                  floating* out) noexcept nogil:
    """out[j] := alpha sum_i d[i, j] + beta out[j] for j in j0:j1."""
    cdef Py_ssize_t i, j
    cdef floating s
    for j in range(j0, j1):
        s = 0
        for i in range(d.shape[0]):
            s = s + d[i, j]
        out[j] = alpha * s + (beta * out[j] if beta != 0 else 0)


cdef void _weights_chunk(Py_ssize_t c, Py_ssize_t chunks, const floating[:, ::1] xb, const floating[:, ::1] z1,
                         const floating[:, ::1] da2, const floating[:, ::1] da1,
                         floating alpha, floating beta,
                         floating* W1_out, floating* b1_out, floating* W2_out, floating* b2_out,
                         const SparseBatch* sp=NULL) noexcept nogil:
    """Chunk c of region 2: W1_out[d0:d1] := alpha xb[:, d0:d1]^T da1 + beta W1_out[d0:d1], same for W2
    rows h0:h1, b1[h0:h1], and b2 (chunk 0). With sp (its CSC built) the W1 rows run over the batch's
    nonzeros by input pixel, for (alpha, beta) = (1, 0) (the gradient) or (-lr, 1) (the SGD step)."""
    cdef int n = xb.shape[0], d = xb.shape[1], h = z1.shape[1], k = da2.shape[1]
    cdef int d0 = _edge(d, c, chunks), d1 = _edge(d, c + 1, chunks)
    cdef int h0 = _edge(h, c, chunks), h1 = _edge(h, c + 1, chunks)
    if d1 > d0 and sp != NULL:
        if beta == 0:
            sparse_weight_grad(sp, d0, d1, &da1[0, 0], W1_out, h)
        else:
            sparse_sgd_step(sp, d0, d1, &da1[0, 0], W1_out, h, -alpha)
    elif d1 > d0:
        gemm(True, False, d1 - d0, h, n, alpha, &xb[0, d0], d, &da1[0, 0], h, beta, W1_out + d0 * h, h)
    if h1 > h0:
        gemm(True, False, h1 - h0, k, n, alpha, &z1[0, h0], h, &da2[0, 0], k, beta, W2_out + h0 * k, k)
    _colsum(da1, h0, h1, alpha, beta, b1_out)
    if c == 0:
        _colsum(da2, 0, k, alpha, beta, b2_out)


cdef void _prefetch_rows(const floating[:, ::1] x, const Py_ssize_t[::1] perm, Py_ssize_t start,
                         Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """Ask for rows x[perm[start + r0:start + r1]] to be brought into cache (the next batch's gather)."""
    cdef Py_ssize_t r, off, n = x.shape[1] * sizeof(floating)
    cdef const char* row
    for r in range(r0, r1):
        row = <const char*> &x[perm[start + r], 0]
        for off in range(0, n, 64):
            fastnn_prefetch(row + off)


cdef void _update_chunk(Py_ssize_t c, Py_ssize_t chunks, Py_ssize_t d, Py_ssize_t h, Py_ssize_t k,
                        floating* W1, floating* b1, floating* W2, floating* b2,
                        const floating* gW1, const floating* gb1, const floating* gW2, const floating* gb2,
                        floating* s1_W1, floating* s1_b1, floating* s1_W2, floating* s1_b2,
                        floating* s2_W1, floating* s2_b1, floating* s2_W2, floating* s2_b2,
                        int opt, floating lr, floating p1, floating p2, floating eps) noexcept nogil:
    """The optimizer on chunk c's rows of W1, W2 and entries of b1 (and b2 for chunk 0)."""
    cdef Py_ssize_t d0 = _edge(d, c, chunks) * h, d1 = _edge(d, c + 1, chunks) * h
    cdef Py_ssize_t h0 = _edge(h, c, chunks), h1 = _edge(h, c + 1, chunks)
    cdef bint adam = opt == ADAM
    update(W1 + d0, gW1 + d0, s1_W1 + d0, s2_W1 + d0 if adam else NULL, d1 - d0, opt, lr, p1, p2, eps, 0)
    update(W2 + h0 * k, gW2 + h0 * k, s1_W2 + h0 * k, s2_W2 + h0 * k if adam else NULL, (h1 - h0) * k,
           opt, lr, p1, p2, eps, 0)
    update(b1 + h0, gb1 + h0, s1_b1 + h0, s2_b1 + h0 if adam else NULL, h1 - h0, opt, lr, p1, p2, eps, 0)
    if c == 0:
        update(b2, gb2, s1_b2, s2_b2 if adam else NULL, k, opt, lr, p1, p2, eps, 0)


# --- public entry points ----------------------------------------------------------------------------

def forward(const floating[:, ::1] x, const floating[:, ::1] W1, const floating[::1] b1,
            const floating[:, ::1] W2, const floating[::1] b2, int act,
            floating[:, ::1] z1_ws, floating[:, ::1] a2_out, int n_threads):
    """a2_out := act(x W1 + b1) W2 + b2 (the logits), over row chunks."""
    cdef Py_ssize_t c, r0, r1, n = x.shape[0], chunks = max(1, min(n_threads, n))
    for c in prange(chunks, nogil=True, schedule='static', num_threads=chunks):
        r0 = _edge(n, c, chunks)
        r1 = _edge(n, c + 1, chunks)
        if r1 > r0:
            _forward_rows(x[r0:r1], W1, b1, W2, b2, act, z1_ws[r0:r1], a2_out[r0:r1])


def gradient(const floating[:, ::1] x, const Py_ssize_t[::1] t,
             const floating[:, ::1] W1, const floating[::1] b1,
             const floating[:, ::1] W2, const floating[::1] b2, int act, int loss,
             floating[:, ::1] z1_ws, floating[:, ::1] a2_ws, floating[:, ::1] dz1_ws, double[::1] loss_rows_ws,
             floating[:, ::1] W1_out, floating[::1] b1_out, floating[:, ::1] W2_out, floating[::1] b2_out,
             signed char[::1] hit_rows_ws, int n_threads):
    """Backprop of the mean batch loss into *_out; returns the loss. A non-empty hit_rows_ws (n rows) gets
    whether each row's logits pick its label (the same forward pass)."""
    cdef Py_ssize_t c, n = x.shape[0], chunks = max(1, n_threads)
    cdef floating[:, ::1] no_xb = W1_out[:0]
    cdef Py_ssize_t[::1] no_tb = np.empty(0, dtype=np.intp)
    cdef const Py_ssize_t[::1] no_perm = t[:0]
    cdef floating inv_n = <floating> 1.0 / n
    cdef double total = 0
    cdef signed char* hits = &hit_rows_ws[0] if hit_rows_ws.shape[0] > 0 else NULL
    for c in prange(chunks, nogil=True, schedule='static', num_threads=chunks):
        _step_rows(x, t, no_perm, 0, _edge(n, c, chunks), _edge(n, c + 1, chunks), inv_n, W1, b1, W2, b2,
                   act, loss, no_xb, no_tb, z1_ws, a2_ws, dz1_ws, loss_rows_ws, hits)
    for c in prange(chunks, nogil=True, schedule='static', num_threads=chunks):
        _weights_chunk(c, chunks, x, z1_ws, a2_ws, dz1_ws, <floating> 1, <floating> 0,
                       &W1_out[0, 0], &b1_out[0], &W2_out[0, 0], &b2_out[0])
    for c in range(n):
        total += loss_rows_ws[c]
    return total / n


def train_epoch(const floating[:, ::1] x, const Py_ssize_t[::1] t, const Py_ssize_t[::1] perm,
                Py_ssize_t batch_size,
                floating[:, ::1] W1, floating[::1] b1, floating[:, ::1] W2, floating[::1] b2,
                int act, int loss, int opt, double lr, double p1, double p2, double eps, long step,
                floating[::1] s1_W1, floating[::1] s1_b1, floating[::1] s1_W2, floating[::1] s1_b2,
                floating[::1] s2_W1, floating[::1] s2_b1, floating[::1] s2_W2, floating[::1] s2_b2,
                floating[:, ::1] xb_ws, Py_ssize_t[::1] tb_ws,
                floating[:, ::1] z1_ws, floating[:, ::1] a2_ws, floating[:, ::1] dz1_ws, double[::1] loss_rows_ws,
                floating[:, ::1] gW1_ws, floating[::1] gb1_ws, floating[:, ::1] gW2_ws, floating[::1] gb2_ws,
                signed char[::1] hit_rows_ws, Py_ssize_t[::1] sp_idx_ws, int32_t[::1] sp_int_ws,
                floating[::1] sp_val_ws, double[::1] batch_losses_out, Py_ssize_t[::1] batch_correct_out,
                int n_threads, int chunks_per_thread=1):
    """Mini-batch steps over perm (the last batch may be shorter); returns the number of steps.

    batch_losses_out[s] := loss of step s; batch_correct_out[s] := its rows whose logits (the same forward
    pass, before the update) pick their label. Optimizer state s1/s2 (flat views of Momentum's v or
    Adam's m, v) is updated in place; ``step`` is Adam's step count before this epoch.
    Workspaces hold ``batch_size`` rows. Each region is split into n_threads * chunks_per_thread chunks
    handed out dynamically (a thread the OS delays leaves its share to the others). Non-empty sp_*_ws
    (sized as src_cython/_sparse_batch.pxd says) run the first layer over each batch's nonzeros.
    """
    cdef Py_ssize_t n = perm.shape[0], start = 0, nb, nxt, s = 0, c, r
    cdef int teams = max(1, n_threads)
    cdef Py_ssize_t chunks = teams * max(1, chunks_per_thread)
    cdef Py_ssize_t d = W1.shape[0], h = W1.shape[1], k = W2.shape[1]
    cdef double batch_loss, lr_t
    cdef floating inv_n, flr = <floating> lr
    cdef bint sgd = opt == SGD
    cdef floating* no_state = NULL
    cdef SparseBatch batch
    cdef SparseBatch* sp = NULL
    if sparse_batch(&batch, sp_idx_ws, sp_int_ws, sp_val_ws, xb_ws.shape[0], d, h):
        sp = &batch
    while start < n:
        nb = min(batch_size, n - start)
        inv_n = <floating> 1.0 / nb
        if sp != NULL:  # each row's nonzeros into its own slot, on every thread; then the row pointers
            for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=teams):
                sparse_gather_rows(sp, &x[0, 0], &perm[0], start, _edge(nb, c, chunks), _edge(nb, c + 1, chunks))
            sparse_prefix(sp, nb)
        else:  # dense: gather by rows, then x W1 by hidden units (W1 packed once a step)
            for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=teams):
                _gather_rows(x, t, perm, start, _edge(nb, c, chunks), _edge(nb, c + 1, chunks), xb_ws, tb_ws)
            for c in prange(teams, nogil=True, schedule='static', num_threads=teams):
                _first_layer_columns(xb_ws[:nb], W1, _edge(h, c, teams), _edge(h, c + 1, teams), z1_ws[:nb])
        # chunk `chunks` (sparse only): the batch by input pixel, for region 2's dW1
        for c in prange(chunks + (sp != NULL), nogil=True, schedule='dynamic', chunksize=1, num_threads=teams):
            if c == chunks:
                sparse_csc(sp, nb, <floating> 0)
            else:
                if sp != NULL:
                    sparse_place_rows(sp, _edge(nb, c, chunks), _edge(nb, c + 1, chunks), <floating> 0)
                _step_rows(x, t, perm, start, _edge(nb, c, chunks), _edge(nb, c + 1, chunks), inv_n,
                           W1, b1, W2, b2, act, loss, xb_ws, tb_ws, z1_ws, a2_ws, dz1_ws, loss_rows_ws,
                           &hit_rows_ws[0], sp, sp == NULL)
        lr_t = lr
        if opt == ADAM:
            step += 1
            lr_t = adam_lr(lr, p1, p2, step)
        nxt = min(batch_size, n - start - nb)  # rows of the next batch, fetched while this one finishes
        for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=teams):
            if nxt > 0:
                _prefetch_rows(x, perm, start + nb, _edge(nxt, c, chunks), _edge(nxt, c + 1, chunks))
            if sgd:
                _weights_chunk(c, chunks, xb_ws[:nb], z1_ws[:nb], a2_ws[:nb], dz1_ws[:nb], -flr, <floating> 1,
                               &W1[0, 0], &b1[0], &W2[0, 0], &b2[0], sp)
            else:
                _weights_chunk(c, chunks, xb_ws[:nb], z1_ws[:nb], a2_ws[:nb], dz1_ws[:nb],
                               <floating> 1, <floating> 0, &gW1_ws[0, 0], &gb1_ws[0], &gW2_ws[0, 0], &gb2_ws[0], sp)
                _update_chunk(c, chunks, d, h, k, &W1[0, 0], &b1[0], &W2[0, 0], &b2[0],
                              &gW1_ws[0, 0], &gb1_ws[0], &gW2_ws[0, 0], &gb2_ws[0],
                              &s1_W1[0], &s1_b1[0], &s1_W2[0], &s1_b2[0],
                              &s2_W1[0] if opt == ADAM else no_state, &s2_b1[0] if opt == ADAM else no_state,
                              &s2_W2[0] if opt == ADAM else no_state, &s2_b2[0] if opt == ADAM else no_state,
                              opt, <floating> lr_t, <floating> p1, <floating> p2, <floating> eps)
        batch_loss = 0
        batch_correct_out[s] = 0
        for r in range(nb):
            batch_loss += loss_rows_ws[r]
            batch_correct_out[s] += hit_rows_ws[r]
        batch_losses_out[s] = batch_loss / nb
        s += 1
        start += nb
    return s
