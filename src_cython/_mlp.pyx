# cython: language_level=3, cdivision=True
# boundscheck, wraparound and initializedcheck come from setup.py: off, on in a FASTNN_DEBUG_BUILD=1 build.
"""Fused forward/backward kernels of every network (the book's TwoLayerNet is the one-hidden-layer case, a
softmax regression the no-hidden one), and their compiled epoch loop.

Layout
------
``sizes = [n0, n1, ..., nL]`` (input, hidden..., output). All parameters live in one flat array
``theta = [W1 (n0 x n1), b1 (n1), W2 (n1 x n2), b2, ..., WL, bL]`` (row-major blocks); gradients and
optimizer state use the same layout, so an optimizer step is one loop over flat slices. A batch of
``b`` rows has two flat workspaces of blocks ``b x n_l``: ``zs`` (block l = Z_l := act(A_l) for l < L,
block L = the logits A_L, turned into dL/dA_L in place) and ``ds`` (block l = dL/dA_l, l < L).

Design
------
A training step is a few OpenMP ``prange`` regions, each chunk calling single-threaded BLAS
(``_blas.gemm``, row-major) on its own slice; the caller holds BLAS to one thread. Mixing an OpenMP team
with BLAS's own threads on the same cores makes each spin while the other works (10x slower on 2 cores),
so all parallelism is ours.

0. The first layer's input. Dense: x[perm] gathered into xb by rows, then xb W_1 split by units (each
   thread packs its own columns of W_1 once a step; split by rows, every chunk would pack all of W_1 for
   a few rows: most of a small batch's time on AVX2). Sparse: the epoch's rows over their nonzeros, given
   (src_cython/_sparse_batch.pxd), and x W_1 taken over them in region 1; with dense columns (a held input's
   densest, first in W_1's row order for the epoch), region 1 gathers the batch's rows of them and takes
   their part of x W_1 (src_cython/_panel.h) before the nonzeros add the rest.
1. Rows of the batch, one OpenMP chunk each (row-local, no synchronisation): forward through every
   layer, the loss and dL/dA_L per row (softmax cross-entropy, or the MSE of the probabilities), then
   dA_l := (dA_{l+1} W_{l+1}^T) act'(Z_l) down to the first layer (its input gradient is never formed).
2. Rows of the weights (after the barrier that ends region 1): for each layer, chunk c owns rows i0:i1 of
   W_l and entries j0:j1 of b_l (a layer of few weights is split into fewer chunks, at least CHUNK_WEIGHTS
   weights each, and the later chunks have none of it): dW_l[i0:i1] := Z_{l-1}[:, i0:i1]^T dA_l (dW_1 over
   the batch's nonzeros by input pixel when sparse, by _panel.h's product for its dense columns), then the optimizer on
   those rows while they are in cache. For SGD the update
   is the GEMM: W := (1 - lr lambda) W - lr Z^T dA (alpha = -lr, beta = 1 - lr lambda), so dW is never
   stored. Meanwhile the next batch's rows of x are prefetched (dense), or (sparse) one more chunk, handed
   out first, regroups the next batch by input pixel for its dW_1 and the weight chunks prefetch the nonzeros
   of the batch after it.

Weight decay lambda adds 0.5 lambda sum ||W_l||^2 to the loss and lambda W_l to each dW_l (not to biases),
as the book's MultiLayerNet. The caller allocates every output (``*_out``) and workspace (``*_ws``);
kernels never allocate, so a training loop allocates once per epoch and never per step. The scalar
numerics and the codes are src_cython/_numerics.pxd's; fastnn/_flat.py packs the optimizer state into
theta's layout, fastnn/backends/_cython.py is the Python side.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t
from libc.string cimport memcpy

from _blas cimport gemm
from _numerics cimport (ADAM, IDENTITY, SGD, activation_grad, argmax_is, adam_lr, bias_activation_row, codes,
                        column_sums, sum_squares,
                        edge as _edge, softmax_loss_row, update)
from _sparse_batch cimport (SparseBatch, sparse_add_partials, sparse_batch, sparse_buffers, sparse_colptr, sparse_csc,
                            sparse_cuts, sparse_dense_forward, sparse_dense_wgrad, sparse_forward, sparse_forward_add,
                            sparse_gather_dense, sparse_idx_room, sparse_pad_rows, sparse_prefetch_rows,
                            sparse_sgd_step, sparse_split_step, sparse_val_room, sparse_weight_grad)

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    /* volatile asm: GCC deletes a loop whose only effect is __builtin_prefetch (src_cython/_sparse.h) */
    #define fastnn_prefetch(p) __asm__ __volatile__("prefetcht2 %0" : : "m"(*(const char*) (p)))
    #elif defined(__GNUC__) || defined(__clang__)
    #define fastnn_prefetch(p) __builtin_prefetch((p), 0, 1)
    #else
    #define fastnn_prefetch(p) ((void)(p))  /* MSVC: no portable prefetch hint */
    #endif
    """
    void fastnn_prefetch(const void* p) noexcept nogil

cdef extern from *:
    """
    #ifdef _OPENMP
    #define FASTNN_MLP_HAVE_OPENMP 1
    #else
    #define FASTNN_MLP_HAVE_OPENMP 0
    #endif
    """
    int FASTNN_MLP_HAVE_OPENMP

HAVE_OPENMP = bool(FASTNN_MLP_HAVE_OPENMP)

cdef extern from *:
    """
    #ifdef FASTNN_DEBUG_BUILD
    #define FASTNN_MLP_DEBUG_BUILD_FLAG 1
    #else
    #define FASTNN_MLP_DEBUG_BUILD_FLAG 0
    #endif
    """
    int FASTNN_MLP_DEBUG_BUILD_FLAG

#: True in a FASTNN_DEBUG_BUILD=1 build: every memoryview access is bounds-checked (an IndexError, not a
#: stray read or write) and negative indices wrap; for CI, never for speed.
DEBUG_BUILD = bool(FASTNN_MLP_DEBUG_BUILD_FLAG)

#: The activation, loss and optimizer codes by name (src_cython/_numerics.pxd).
CODES = codes()

cdef enum:
    GRADIENT_ONLY = -1  # an `opt` for _weights_chunk: store the gradient (with lam W), update nothing
    # Fewest weights per chunk of a layer in region 2: a small layer (784-100-10's W2 has 1,000) goes to fewer
    # chunks than a large one, since each chunk costs another small GEMM call (measured, one chunk for W2 rather
    # than 16 at 2 threads: epochs 0.977x; 1 thread 0.989x, batch 32 0.975x).
    CHUNK_WEIGHTS = 4096
    SPLIT_SAMPLE_ROWS = 4096  # epoch rows whose nonzeros place the cuts between threads' input pixels


cdef inline Py_ssize_t _woff(const Py_ssize_t* sizes, int l) noexcept nogil:
    """Offset of W_l in theta (l = 1..L); b_l follows W_l."""
    cdef Py_ssize_t off = 0
    cdef int m
    for m in range(1, l):
        off = off + sizes[m - 1] * sizes[m] + sizes[m]
    return off


cdef inline Py_ssize_t _zoff(const Py_ssize_t* sizes, int l, Py_ssize_t b) noexcept nogil:
    """Offset of block l (l = 1..L) in a workspace of b rows."""
    cdef Py_ssize_t off = 0
    cdef int m
    for m in range(1, l):
        off = off + b * sizes[m]
    return off


# --- region 1: rows of the batch --------------------------------------------------------------------

cdef void _rows(const floating* xin, const SparseBatch* sp, const Py_ssize_t* t, Py_ssize_t r0, Py_ssize_t r1,
                Py_ssize_t b, const floating* theta, const Py_ssize_t* sizes, int L, int act, int loss,
                floating inv_n, floating* zs, floating* ds, double* loss_rows, signed char* hits, bint backward,
                bint z1_ready=False, Py_ssize_t start=0) noexcept nogil:
    """Rows r0:r1 (xin has row stride n0; sp, when not NULL, holds the same rows over their nonzeros, from
    epoch row start, and the first layer runs over those; z1_ready: block 1 of zs already holds xin W_1):
    forward through every layer;
    with ``backward`` also each row's loss and dA_l of every layer (dA_L in place of the logits), and
    hits[i] := whether row i's logits pick its label (unless hits is NULL)."""
    cdef Py_ssize_t n = r1 - r0, i, j, nin, nout, woff, k
    cdef const floating* zin = xin
    cdef floating* zout = zs
    cdef floating* dnext
    cdef floating* dl
    cdef const floating* bias
    cdef int l
    if n <= 0:
        return
    for l in range(1, L + 1):
        nin = sizes[l - 1]
        nout = sizes[l]
        woff = _woff(sizes, l)
        zout = zs + _zoff(sizes, l, b)
        bias = theta + woff + nin * nout
        if l == 1 and z1_ready:
            pass
        elif l == 1 and sp != NULL and sp.kd > 0:  # the dense columns' product, then the rest's nonzeros added
            sparse_gather_dense(sp, start, r0, r1, <floating> 0)
            sparse_dense_forward(sp, r0, r1, theta + woff, zout, nout)
            sparse_forward_add(sp, start, r0, r1, theta + woff, zout, nout)
        elif l == 1 and sp != NULL:
            sparse_forward(sp, start, r0, r1, theta + woff, zout, nout)
        else:
            gemm(False, False, n, nout, nin, <floating> 1, zin + r0 * nin, nin, theta + woff, nout,
                 <floating> 0, zout + r0 * nout, nout)
        for i in range(r0, r1):  # the logits only get their bias
            bias_activation_row(zout + i * nout, bias, nout, act if l < L else IDENTITY)
        zin = zout
    if not backward:
        return
    # per row: cross-entropy loss = logsumexp(a) - a_t, dA_L = (softmax(a) - e_t) / n_batch; or the MSE of
    # y = softmax(a): loss = |y - e_t|^2 / 2, dA_L = y (dy - <dy, y>) with dy = (y - e_t) / n_batch
    nout = sizes[L]
    if hits != NULL:
        for i in range(r0, r1):
            hits[i] = argmax_is(zout + i * nout, nout, t[i])
    for i in range(r0, r1):
        loss_rows[i] = softmax_loss_row(zout + i * nout, nout, t[i], loss, inv_n)
    for l in range(L - 1, 0, -1):
        nin = sizes[l]
        nout = sizes[l + 1]
        dnext = (zs + _zoff(sizes, L, b)) if l + 1 == L else (ds + _zoff(sizes, l + 1, b))
        dl = ds + _zoff(sizes, l, b)
        zout = zs + _zoff(sizes, l, b)
        gemm(False, True, n, nin, nout, <floating> 1, dnext + r0 * nout, nout, theta + _woff(sizes, l + 1), nout,
             <floating> 0, dl + r0 * nin, nin)
        for i in range(r0 * nin, r1 * nin):
            dl[i] = dl[i] * activation_grad(zout[i], act)
    if sp != NULL:  # dA_1's rows for the sparse dW_1, a whole number of cache lines apart
        sparse_pad_rows(sp, (ds + _zoff(sizes, 1, b)) if L > 1 else (zs + _zoff(sizes, L, b)), r0, r1, sizes[1])


cdef void _first_layer_columns(const floating* xb, Py_ssize_t nb, const floating* theta, const Py_ssize_t* sizes,
                               Py_ssize_t k0, Py_ssize_t k1, floating* z1) noexcept nogil:
    """Block 1 of zs, columns k0:k1 := xb W_1[:, k0:k1] for the batch's nb rows: the first layer's product split
    by units, so each thread packs its own columns of W_1 once a step (design note, step 0)."""
    cdef Py_ssize_t n0 = sizes[0], n1 = sizes[1]
    if k1 > k0 and nb > 0:
        gemm(False, False, nb, k1 - k0, n0, <floating> 1, xb, n0, theta + k0, n1, <floating> 0, z1 + k0, n1)


# --- region 2: rows of the weights ------------------------------------------------------------------

cdef double _weights_chunk(Py_ssize_t c, Py_ssize_t chunks, const floating* xin, const SparseBatch* sp,
                           Py_ssize_t nb, Py_ssize_t b, floating* theta, const Py_ssize_t* sizes, int L,
                           const floating* zs, const floating* ds, floating* g, floating* s1, floating* s2, int opt,
                           bint fused_sgd, floating lr, floating p1, floating p2, floating eps,
                           floating lam, int buf=0, const Py_ssize_t* cuts=NULL) noexcept nogil:
    """Chunk c of region 2 for every layer (of a layer split in fewer chunks, CHUNK_WEIGHTS, none for c past them);
    returns sum W^2 over its weight rows (before any update).

    fused_sgd: theta := theta - lr (dtheta + lam W) through the GEMM itself. Else g := dtheta (plain
    gradient), and the optimizer `opt` then updates those rows (opt == GRADIENT_ONLY: no update, lam W
    added to g). With sp (not NULL, the batch's CSC built in its buffer buf) dW_1 runs over the batch's
    nonzeros by input pixel; cuts (not NULL: split by input pixels) gives chunk c W_1's rows cuts[c]:cuts[c + 1].
    """
    cdef Py_ssize_t nin, nout, woff, i0, i1, ie, j0, j1, i, j, lc
    cdef const floating* zin
    cdef const floating* delta
    cdef floating* W
    cdef floating* gw
    cdef floating alpha, beta
    cdef double sq = 0
    cdef int l
    for l in range(1, L + 1):
        nin = sizes[l - 1]
        nout = sizes[l]
        woff = _woff(sizes, l)
        zin = xin if l == 1 else zs + _zoff(sizes, l - 1, b)
        delta = (zs + _zoff(sizes, L, b)) if l == L else (ds + _zoff(sizes, l, b))
        lc = max(1, min(chunks, nin * nout // CHUNK_WEIGHTS))  # this layer's chunks: c >= lc has none of it
        if l == 1 and cuts != NULL:  # split by input pixels: chunk c is thread c's
            lc = chunks
            i0 = cuts[c]
            i1 = cuts[c + 1]
        else:
            i0 = _edge(nin, c, lc)
            i1 = _edge(nin, c + 1, lc)
        if c >= lc:
            continue
        j0 = _edge(nout, c, lc)
        j1 = _edge(nout, c + 1, lc)
        W = theta + woff
        if lam != 0:
            sq = sq + sum_squares(W + i0 * nout, (i1 - i0) * nout)
        gw = (theta if fused_sgd else g) + woff
        alpha = -lr if fused_sgd else 1
        beta = (1 - lr * lam) if fused_sgd else 0
        if i1 > i0 and l == 1 and sp != NULL:
            ie = min(i1, max(i0, sp.kd))  # rows i0:ie are dense columns of x (_panel.h), ie:i1 sparse ones
            if ie > i0:
                sparse_dense_wgrad(sp, i0, ie, nb, delta, nout, gw, nout, alpha, beta)
            if i1 > ie and not fused_sgd:
                sparse_weight_grad(sp, buf, ie, i1, gw, nout)
            elif i1 > ie:
                if beta != 1:
                    for i in range(ie * nout, i1 * nout):
                        gw[i] = beta * gw[i]
                sparse_sgd_step(sp, buf, ie, i1, gw, nout, lr)
        elif i1 > i0:
            gemm(True, False, i1 - i0, nout, nb, alpha, zin + i0, nin, delta, nout, beta, gw + i0 * nout, nout)
        if j1 > j0:  # db_l[j0:j1] into g (gw is g unless fused_sgd)
            column_sums(delta + j0, nb, j1 - j0, nout, g + woff + nin * nout + j0)
            if fused_sgd:
                for j in range(j0, j1):
                    gw[nin * nout + j] = gw[nin * nout + j] - lr * g[woff + nin * nout + j]
        if fused_sgd:
            continue
        if opt != GRADIENT_ONLY:
            update(W + i0 * nout, gw + i0 * nout, s1 + woff + i0 * nout, s2 + woff + i0 * nout if opt == ADAM else NULL,
                   (i1 - i0) * nout, opt, lr, p1, p2, eps, lam)
            update(W + nin * nout + j0, gw + nin * nout + j0, s1 + woff + nin * nout + j0,
                   s2 + woff + nin * nout + j0 if opt == ADAM else NULL, j1 - j0, opt, lr, p1, p2, eps, 0)
        elif lam != 0:
            for i in range(i0 * nout, i1 * nout):
                gw[i] = gw[i] + lam * W[i]
    return sq


cdef void _prefetch_rows(const floating* x, Py_ssize_t d, const Py_ssize_t* perm, Py_ssize_t start,
                         Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """Ask for rows x[perm[start + r0:start + r1]] (d values each) to be brought into cache: the next
    batch's gather."""
    cdef Py_ssize_t r, off, nbytes = d * sizeof(floating)
    cdef const char* row
    for r in range(r0, r1):
        row = <const char*> (x + perm[start + r] * d)
        for off in range(0, nbytes, 64):
            fastnn_prefetch(row + off)


# --- public entry points ----------------------------------------------------------------------------

def forward(const floating[:, ::1] x, const floating[::1] theta, const Py_ssize_t[::1] sizes, int act,
            floating[::1] zs_ws, int n_threads):
    """Forward pass of x's rows into zs_ws (blocks of x.shape[0] rows; the last block holds the logits)."""
    cdef Py_ssize_t c, n = x.shape[0], chunks = max(1, min(n_threads, n))
    cdef int L = sizes.shape[0] - 1
    for c in prange(chunks, nogil=True, schedule='static', num_threads=chunks):
        _rows(&x[0, 0], NULL, NULL, _edge(n, c, chunks), _edge(n, c + 1, chunks), n, &theta[0], &sizes[0], L, act,
              0, 0, &zs_ws[0], NULL, NULL, NULL, False)


def gradient(const floating[:, ::1] x, const Py_ssize_t[::1] t, floating[::1] theta, const Py_ssize_t[::1] sizes,
             int act, int loss, double lam, floating[::1] zs_ws, floating[::1] ds_ws, double[::1] loss_rows_ws,
             floating[::1] grad_out, signed char[::1] hit_rows_ws, int n_threads):
    """grad_out := d(loss)/d(theta) (flat, theta's layout); returns the mean loss + 0.5 lam sum ||W||^2.
    A non-empty hit_rows_ws (n rows) gets whether each row's logits pick its label."""
    cdef Py_ssize_t c, i, n = x.shape[0], chunks = max(1, n_threads)
    cdef int L = sizes.shape[0] - 1
    cdef floating inv_n = <floating> 1.0 / n
    cdef double total = 0, sq = 0
    cdef signed char* hits = &hit_rows_ws[0] if hit_rows_ws.shape[0] > 0 else NULL
    for c in prange(chunks, nogil=True, schedule='static', num_threads=chunks):
        _rows(&x[0, 0], NULL, &t[0], _edge(n, c, chunks), _edge(n, c + 1, chunks), n, &theta[0], &sizes[0], L, act,
              loss, inv_n, &zs_ws[0], &ds_ws[0] if ds_ws.shape[0] > 0 else NULL, &loss_rows_ws[0], hits, True)
    for c in prange(chunks, nogil=True, schedule='static', num_threads=chunks):
        sq += _weights_chunk(c, chunks, &x[0, 0], NULL, n, n, &theta[0], &sizes[0], L, &zs_ws[0],
                             &ds_ws[0] if ds_ws.shape[0] > 0 else NULL, &grad_out[0], NULL, NULL, GRADIENT_ONLY, False,
                             0, 0, 0, 0, <floating> lam)
    for i in range(n):
        total += loss_rows_ws[i]
    return total / n + 0.5 * lam * sq


def sparse_rooms(Py_ssize_t m, Py_ssize_t d, Py_ssize_t h1, Py_ssize_t b, Py_ssize_t itemsize, int n_threads):
    """Entries of train_epoch's sparse workspaces (intp, int32, values) for batches of at most m nonzeros and b
    rows, d inputs, h1 units, values of itemsize bytes and n_threads threads (src_cython/_sparse_batch.pxd)."""
    cdef int teams = max(1, n_threads)
    return (sparse_idx_room(d, b, teams), sparse_buffers(teams) * m, sparse_val_room(m, h1, b, itemsize, teams))


def train_epoch(const floating[:, ::1] x, const Py_ssize_t[::1] t, const Py_ssize_t[::1] perm,
                Py_ssize_t batch_size, floating[::1] theta, const Py_ssize_t[::1] sizes, int act, int loss, double lam,
                int opt, double lr, double p1, double p2, double eps, long step, floating[::1] s1, floating[::1] s2,
                floating[:, ::1] xb_ws, Py_ssize_t[::1] tb_ws, floating[::1] zs_ws, floating[::1] ds_ws,
                double[::1] loss_rows_ws, signed char[::1] hit_rows_ws, floating[::1] grad_ws,
                const Py_ssize_t[::1] sp_begin, const Py_ssize_t[::1] sp_end, const int32_t[::1] sp_indices,
                const floating[::1] sp_values, Py_ssize_t[::1] sp_idx_ws, int32_t[::1] sp_int_ws,
                floating[::1] sp_val_ws, double[::1] batch_losses_out, Py_ssize_t[::1] batch_correct_out,
                int n_threads, int chunks_per_thread=1):
    """Mini-batch steps over perm (the last batch may be shorter); returns the number of steps.

    batch_losses_out[s] := loss of step s (with the decay term, before its update); batch_correct_out[s]
    := its rows whose logits (the same forward pass) pick their label. s1/s2: flat
    optimizer state (Momentum's v; Adam's m, v), updated in place; ``step`` is Adam's count before
    this epoch. Workspaces hold ``batch_size`` rows (``tb_ws.shape[0]``). Each region is split into
    n_threads * chunks_per_thread chunks handed out dynamically.

    Dense: x's rows perm[i] (xb_ws holds a batch). Sparse (sp_begin not empty): epoch row i's nonzeros are
    sp_indices / sp_values[sp_begin[i]:sp_end[i]], and sp_*_ws are sized as src_cython/_sparse_batch.pxd says;
    x, when not empty, holds the inputs' first x.shape[1] columns densely (row perm[i] for epoch row i; the
    sparse rows then hold only later columns), whose products are GEMMs (xb_ws holds a batch of them). The
    labels are t[perm[i]] either way.
    """
    cdef int teams = max(1, n_threads)
    cdef Py_ssize_t n = perm.shape[0], start = 0, nb, nxt, nxt2, s = 0, c, r, r0, r1, chunks = teams * max(1, chunks_per_thread)
    cdef Py_ssize_t b = tb_ws.shape[0], d = sizes[0]
    cdef int L = sizes.shape[0] - 1
    cdef double batch_loss, lr_t, sq
    cdef floating* s2p = &s2[0] if s2.shape[0] > 0 else NULL
    cdef floating* s1p = &s1[0] if s1.shape[0] > 0 else NULL
    cdef floating* dsp = &ds_ws[0] if ds_ws.shape[0] > 0 else NULL
    cdef floating* xbp = NULL
    cdef SparseBatch batch
    cdef SparseBatch* sp = NULL
    cdef int buf = 0, nxt_csc, nbuf = sparse_buffers(teams)
    cdef bint split = False
    cdef floating* z1p = &zs_ws[0] + _zoff(&sizes[0], 1, b)
    cdef Py_ssize_t most = 0, k, wchunks = chunks
    if sp_begin.shape[0] > 0:  # sparse: the workspaces checked before sparse_batch binds pointers into them
        if sp_begin.shape[0] < n or sp_end.shape[0] < n:
            raise ValueError(f"sparse rows: {sp_begin.shape[0]} and {sp_end.shape[0]} offsets for {n} epoch rows")
        for start in range(0, n, batch_size):  # the CSC buffers must hold every batch's nonzeros
            k = 0
            for r in range(start, min(start + batch_size, n)):
                k += sp_end[r] - sp_begin[r]
            most = max(most, k)
        k = sp_int_ws.shape[0] // nbuf  # each CSC buffer's room (src_cython/_sparse_batch.pxd)
        if (k < max(most, 1) or sp_val_ws.shape[0] < sparse_val_room(k, sizes[1], b, sizeof(floating), teams)
                or sp_idx_ws.shape[0] < sparse_idx_room(d, b, teams)):
            raise ValueError(f"sparse workspaces of {sp_idx_ws.shape[0]}, {sp_int_ws.shape[0]} and "
                             f"{sp_val_ws.shape[0]} entries too small for {d} inputs, batches of up to {most} "
                             f"nonzeros and {sizes[1]} units (src_cython/_sparse_batch.pxd)")
        if x.shape[0] > 0 and (x.shape[1] > d or xb_ws.shape[0] < b or xb_ws.shape[1] != x.shape[1]):
            raise ValueError(f"sparse rows' dense columns: x of {x.shape[1]} columns (at most {d}) and a batch "
                             f"workspace of {xb_ws.shape[0]} x {xb_ws.shape[1]} for batches of {b}")
        sparse_batch(&batch, sp_begin, sp_end, sp_indices, sp_values, sp_idx_ws, sp_int_ws, sp_val_ws, d, sizes[1],
                     x, perm, xb_ws, b, teams)
        start = 0
        sp = &batch
        split = teams > 1
        if split:  # W_1's rows cut by input pixel, one part a thread, sharing the nonzeros of a sample of the epoch
            sparse_cuts(sp, min(n, SPLIT_SAMPLE_ROWS), sparse_colptr(sp, 0))
        else:
            wchunks = chunks * 4 if teams > 1 else chunks  # more, smaller chunks only balance threads
            sparse_csc(sp, 0, 0, min(batch_size, n), <floating> 0)  # the first batch's; later ones in region 2
    else:
        xbp = &xb_ws[0, 0]
    while start < n:
        nb = min(batch_size, n - start)
        if split:  # each thread its input pixels' part of x W_1, and the batch by those pixels
            for c in prange(teams, nogil=True, schedule='static', num_threads=teams):
                sparse_split_step(sp, c, start, nb, &theta[0], z1p)
        if sp == NULL:  # dense: gather by rows, then xb W_1 by units (W_1 packed once a step)
            for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=teams):
                for r in range(_edge(nb, c, chunks), _edge(nb, c + 1, chunks)):
                    memcpy(&xb_ws[r, 0], &x[perm[start + r], 0], d * sizeof(floating))
            for c in prange(teams, nogil=True, schedule='static', num_threads=teams):
                _first_layer_columns(xbp, nb, &theta[0], &sizes[0], _edge(sizes[1], c, teams),
                                     _edge(sizes[1], c + 1, teams), &zs_ws[0])
        for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=teams):
            r0 = _edge(nb, c, chunks)
            r1 = _edge(nb, c + 1, chunks)
            for r in range(r0, r1):
                tb_ws[r] = t[perm[start + r]]
            if split:
                sparse_add_partials(sp, z1p, r0, r1)
            _rows(xbp, sp, &tb_ws[0], r0, r1, b, &theta[0], &sizes[0], L, act, loss,
                  <floating> (1.0 / nb), &zs_ws[0], dsp, &loss_rows_ws[0], &hit_rows_ws[0], True,
                  sp == NULL or split, start)
        lr_t = lr
        if opt == ADAM:
            step += 1
            lr_t = adam_lr(lr, p1, p2, step)
        sq = 0
        nxt = min(batch_size, n - start - nb)  # rows of the next batch: prefetched meanwhile, and (sparse) its CSC
        nxt_csc = sp != NULL and nxt > 0 and not split  # built by chunk 0, handed out first
        nxt2 = min(batch_size, n - start - nb - nxt)  # (sparse) the batch after it: prefetched meanwhile
        if split:  # each thread its rows of W_1 (and its chunk of the other layers), then the next batch asked for
            for c in prange(teams, nogil=True, schedule='static', num_threads=teams):
                sq += _weights_chunk(c, teams, xbp, sp, nb, b, &theta[0], &sizes[0], L, &zs_ws[0], dsp,
                                     &grad_ws[0], s1p, s2p, opt, opt == SGD, <floating> lr_t, <floating> p1,
                                     <floating> p2, <floating> eps, <floating> lam, c, sp.cuts)
                if nxt > 0:
                    sparse_prefetch_rows(sp, start + nb, 0, nxt, <floating> 0)
        for c in prange(0 if split else wchunks + nxt_csc, nogil=True, schedule='dynamic', chunksize=1,
                        num_threads=teams):
            if nxt_csc and c == 0:
                sparse_csc(sp, 1 - buf, start + nb, nxt, <floating> 0)
            elif sp != NULL:
                if nxt2 > 0:
                    sparse_prefetch_rows(sp, start + nb + nxt, _edge(nxt2, c - 1, wchunks), _edge(nxt2, c, wchunks),
                                         <floating> 0)
            elif nxt > 0:
                _prefetch_rows(&x[0, 0], d, &perm[0], start + nb, _edge(nxt, c, chunks), _edge(nxt, c + 1, chunks))
            if not (nxt_csc and c == 0):
                sq += _weights_chunk(c - nxt_csc, wchunks, xbp, sp, nb, b, &theta[0], &sizes[0], L, &zs_ws[0], dsp,
                                     &grad_ws[0], s1p, s2p, opt, opt == SGD, <floating> lr_t, <floating> p1,
                                     <floating> p2, <floating> eps, <floating> lam, buf)
        buf = 1 - buf
        batch_loss = 0
        batch_correct_out[s] = 0
        for r in range(nb):
            batch_loss += loss_rows_ws[r]
            batch_correct_out[s] += hit_rows_ws[r]
        batch_losses_out[s] = batch_loss / nb + 0.5 * lam * sq
        s += 1
        start += nb
    return s
