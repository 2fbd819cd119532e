# cython: language_level=3
"""A batch of x over its nonzeros, for the compiled epoch loops' first layer (src_cython/_sparse.h does the
work; see its design note).

The epoch's rows over their nonzeros come from the caller (fastnn/_sparse.py, ``epoch_rows``): epoch row
i's nonzeros lie in ``indices`` / ``values`` from ``begin[i]`` to ``end[i]`` (a CSR of the inputs held for
the whole fit, read through perm; or the epoch's rows compressed in order). ``SparseBatch`` points at those
and at workspaces the caller allocates once per epoch (``sparse_batch`` binds them): two buffers of the
batch by input pixel, intp ``colptr[k]`` (d + 1 each), int32 ``rows[k]`` and values of the network's dtype
``cvalues[k]`` (m each, m at least the most nonzeros any batch of the epoch holds), ``zero`` (h1 zeros: the
sparse forward starts from it, and the first layer's bias is added with its activation, in the dense path's
order), and ``dpad``: the batch's dA_1 (b rows of h1) copied by region 1 with rows ``lda`` apart, a whole
number of 64-byte lines from a 64-byte boundary, for dW1 (its vectors then never straddle two lines:
``sparse_val_room`` gives the values' room). A step:

1. (region 1) each chunk its batch rows: the forward over their nonzeros (``sparse_forward``), and so on,
   and their rows of dA_1 copied to dpad (``sparse_pad_rows``).
2. (region 2) dW1 by input-pixel rows over the batch's CSC, split like the dense path's; meanwhile one more
   chunk, handed out first, builds the next batch's CSC in the other buffer (``sparse_csc``: a counting
   sort of its rows, rows ascending in each column; it depends on the data alone), and each chunk asks the
   outer caches for its share of the nonzeros of the batch after it (``sparse_prefetch_rows``), which the
   next step's CSC then reads from L2 rather than memory (the rows are read through perm, so each starts at
   a random place; asking only a few rows ahead within the build, or for L1, measured slower). The first
   batch's CSC is built before the loop. With one thread region 2 has region 1's chunks of weights, not 4x
   as many (more only balance threads, and cost each small GEMM call again; a small layer gets fewer still:
   CHUNK_WEIGHTS in _mlp.pyx).

Split by input pixels (more than one thread): the steps above read, on each core, the
rows of W1 the other core has just updated, which costs each step a transfer of most of W1 between cores (on a
VM whose two vCPUs were ~480 ns apart, round trip, the 2-thread epoch ran at 145 ms against 160 ms on one).
Instead thread c owns W1's rows cuts[c]:cuts[c + 1] (``sparse_cuts``: edges sharing out the nonzeros of a sample
of the epoch's rows equally) and, a step: (region 0, ``sparse_split_step``) finds each batch row's nonzeros in
its pixels (``bounds``), takes their part of x W1 (thread 0 into z1, the others into ``partial`` blocks) and
builds the batch by its pixels in its own CSC buffer (with dense columns, its share of them first: gathered
and multiplied by the panel kernels; the cuts count a dense column's entry as DENSE_WEIGHT of a nonzero, and
dW1 of thread c's dense rows reads the columns it gathered); region 1 adds the partial blocks by rows
(``sparse_add_partials``, in thread order) before the bias; region 2 gives thread c dW1 and the update of its
own rows. Only the partial products and dA_1 cross between cores (120 ms on that VM).

Dense columns (``kd`` > 0: a held input split by fastnn/_sparse.py ``dense_columns``, the epoch's W1 rows
relabelled so they come first): step 1 gathers the batch's rows of them into ``xd`` and takes their part of
z1 (``sparse_dense_forward``), the forward over the nonzeros then adds the rest; in step 2 the weight rows
below kd are the product over ``xd`` (``sparse_dense_wgrad``, with the SGD step's alpha and beta as a GEMM
takes them), the others the CSC's. Both products are the unpacked register-tiled kernels of
src_cython/_panel.h (a BLAS call packs both operands every time; see there). On MNIST (the 140 pixels nonzero
in at least half the images, 56% of the nonzeros) the split measured 0.84-0.90x the epoch on two threads with
OpenBLAS's AVX-512 GEMMs (Zen 4), and with the panel kernels 0.87x / 0.91x (1 / 2 threads) on an AVX2 build,
where the BLAS calls had lost (fastnn/_config.py, DENSE_COLUMN_ISAS).
"""
from cython cimport floating
from libc.stdint cimport int32_t
from libc.string cimport memcpy

from _sparse cimport (fastnn_dense_forward_d, fastnn_dense_forward_f, fastnn_dense_wgrad_d, fastnn_dense_wgrad_f,
                      fastnn_prefetch_row_l2, fastnn_sparse_forward_rows_d, fastnn_sparse_forward_rows_f,
                      fastnn_sparse_forward_rows_add_d, fastnn_sparse_forward_rows_add_f,
                      fastnn_sparse_rows_to_csc_d, fastnn_sparse_rows_to_csc_f, fastnn_sparse_sgd_step_d,
                      fastnn_sparse_sgd_step_f, fastnn_sparse_weight_grad_d, fastnn_sparse_weight_grad_f)

cdef struct SparseBatch:
    const Py_ssize_t* begin
    const Py_ssize_t* end
    const int32_t* indices
    const void* values
    Py_ssize_t* colptr0   # nbuf buffers of d + 1 column pointers ...
    int32_t* rows0        # ... and of m batch rows ...
    void* cvalues0        # ... and m values: a batch by input pixel
    Py_ssize_t m
    void* zero
    void* dpad
    Py_ssize_t lda
    Py_ssize_t d
    const void* dense
    const Py_ssize_t* perm
    void* xd
    Py_ssize_t kd
    int teams             # threads of the split by input pixels (sparse_split_* below)
    Py_ssize_t b
    Py_ssize_t h1
    Py_ssize_t* cuts      # teams + 1 input-pixel edges
    Py_ssize_t* bounds    # teams x 2 x b: thread c's rows' nonzeros in its pixels, [lo, hi)
    void* partial         # (teams - 1) x b x h1: threads c >= 1's part of x W_1


cdef inline int sparse_buffers(int teams) noexcept nogil:
    """CSC buffers: two (the running batch's and the next's), or one a thread when split by input pixels."""
    return max(2, teams)


cdef inline Py_ssize_t sparse_lda(Py_ssize_t h1, Py_ssize_t itemsize) noexcept nogil:
    """dpad's row stride: h1 rounded up to whole 64-byte lines."""
    cdef Py_ssize_t vec = 64 // itemsize
    return (h1 + vec - 1) // vec * vec


cdef inline Py_ssize_t sparse_idx_room(Py_ssize_t d, Py_ssize_t b, int teams) noexcept nogil:
    """The intp workspace's entries: the buffers' column pointers, each thread's row bounds, the cuts."""
    return sparse_buffers(teams) * (d + 1) + 2 * teams * b + teams + 1


cdef inline Py_ssize_t sparse_val_room(Py_ssize_t m, Py_ssize_t h1, Py_ssize_t b, Py_ssize_t itemsize,
                                       int teams) noexcept nogil:
    """The values workspace's entries: the CSC buffers' m each, h1 zeros, dpad's b rows and its alignment, and
    the other threads' parts of x W_1."""
    return sparse_buffers(teams) * m + h1 + b * sparse_lda(h1, itemsize) + 64 // itemsize - 1 + (teams - 1) * b * h1


cdef inline Py_ssize_t* sparse_colptr(const SparseBatch* sp, int buf) noexcept nogil:
    return sp.colptr0 + buf * (sp.d + 1)


cdef inline int32_t* sparse_crows(const SparseBatch* sp, int buf) noexcept nogil:
    return sp.rows0 + buf * sp.m


cdef inline floating* sparse_cvalues(const SparseBatch* sp, int buf, floating dtype_tag) noexcept nogil:
    return <floating*> sp.cvalues0 + buf * sp.m


cdef inline void sparse_batch(SparseBatch* sp, const Py_ssize_t[::1] begin, const Py_ssize_t[::1] end,
                              const int32_t[::1] indices, const floating[::1] values, Py_ssize_t[::1] idx_ws,
                              int32_t[::1] int_ws, floating[::1] val_ws, Py_ssize_t d, Py_ssize_t h1,
                              const floating[:, ::1] dense, const Py_ssize_t[::1] perm,
                              floating[:, ::1] xd, Py_ssize_t b, int teams) noexcept nogil:
    """Bind sp to the epoch's rows (begin not empty) and the workspaces (sizes above for d inputs, h1 units,
    batches of b rows and teams threads: int_ws holds sparse_buffers(teams) m, idx_ws sparse_idx_room, val_ws
    sparse_val_room), which the caller has checked. dense (kd columns, kd = dense.shape[1], possibly 0): the
    inputs' first kd columns, epoch row i's at dense[perm[i]], which the sparse rows then do not hold; xd (b rows
    of kd) takes a batch of them."""
    cdef int nbuf = sparse_buffers(teams)
    cdef Py_ssize_t m = int_ws.shape[0] // nbuf, skip, k
    cdef floating* pad
    sp.kd = dense.shape[1] if dense.shape[0] > 0 else 0
    sp.dense = <const void*> &dense[0, 0] if sp.kd > 0 else NULL
    sp.xd = <void*> &xd[0, 0] if sp.kd > 0 else NULL
    sp.perm = &perm[0]
    sp.begin = &begin[0]
    sp.end = &end[0]
    sp.indices = &indices[0] if indices.shape[0] > 0 else NULL  # NULL: no nonzero at all (never read)
    sp.values = <const void*> &values[0] if values.shape[0] > 0 else NULL
    sp.m = m
    sp.colptr0 = &idx_ws[0]
    sp.rows0 = &int_ws[0]
    sp.cvalues0 = <void*> &val_ws[0]
    sp.zero = <void*> &val_ws[nbuf * m]
    for k in range(h1):
        (<floating*> sp.zero)[k] = 0
    pad = &val_ws[nbuf * m + h1]
    skip = ((64 - <size_t> pad % 64) % 64) // sizeof(floating)
    sp.dpad = <void*> (pad + skip)
    sp.lda = sparse_lda(h1, sizeof(floating))
    sp.d = d
    sp.teams = teams
    sp.b = b
    sp.h1 = h1
    sp.bounds = &idx_ws[nbuf * (d + 1)]
    sp.cuts = sp.bounds + 2 * teams * b
    sp.partial = <void*> (pad + 64 // sizeof(floating) - 1 + b * sp.lda)


cdef inline void sparse_prefetch_rows(const SparseBatch* sp, Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1,
                                      floating dtype_tag) noexcept nogil:
    """Ask the outer caches (not L1) for the nonzeros of epoch rows start + r0 .. start + r1 - 1 (and their
    dense columns)."""
    cdef Py_ssize_t i, k
    for i in range(start + r0, start + r1):
        if sp.kd > 0:
            fastnn_prefetch_row_l2(<const char*> (<const floating*> sp.dense + sp.perm[i] * sp.kd),
                                   sp.kd * sizeof(floating))
        k = sp.end[i] - sp.begin[i]
        if k > 0:
            fastnn_prefetch_row_l2(<const char*> (sp.indices + sp.begin[i]), k * sizeof(int32_t))
            fastnn_prefetch_row_l2(<const char*> (<const floating*> sp.values + sp.begin[i]), k * sizeof(floating))


cdef inline void sparse_csc(const SparseBatch* sp, int buf, Py_ssize_t start, Py_ssize_t n_rows,
                            floating dtype_tag) noexcept nogil:
    """The batch of epoch rows start .. start + n_rows - 1 by input pixel, into CSC buffer buf."""
    if floating is float:
        fastnn_sparse_rows_to_csc_f(n_rows, sp.begin + start, sp.end + start, sp.indices, <const float*> sp.values,
                                    sp.d, sparse_colptr(sp, buf), sparse_crows(sp, buf),
                                    sparse_cvalues(sp, buf, <float> 0))
    else:
        fastnn_sparse_rows_to_csc_d(n_rows, sp.begin + start, sp.end + start, sp.indices, <const double*> sp.values,
                                    sp.d, sparse_colptr(sp, buf), sparse_crows(sp, buf),
                                    sparse_cvalues(sp, buf, <double> 0))


cdef inline void sparse_forward(const SparseBatch* sp, Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1,
                                const floating* W1, floating* Z, Py_ssize_t h) noexcept nogil:
    """Z[r, :] := x[r] W1 over row r's nonzeros, rows r0:r1 of the batch that starts at epoch row start (Z's
    row stride h)."""
    if floating is float:
        fastnn_sparse_forward_rows_f(r0, r1, sp.begin + start, sp.end + start, sp.indices, <const float*> sp.values,
                                     W1, <const float*> sp.zero, Z, h)
    else:
        fastnn_sparse_forward_rows_d(r0, r1, sp.begin + start, sp.end + start, sp.indices, <const double*> sp.values,
                                     W1, <const double*> sp.zero, Z, h)


cdef inline void sparse_forward_add(const SparseBatch* sp, Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1,
                                    const floating* W1, floating* Z, Py_ssize_t h) noexcept nogil:
    """Z[r, :] += x[r] W1 over row r's nonzeros (as sparse_forward)."""
    if floating is float:
        fastnn_sparse_forward_rows_add_f(r0, r1, sp.begin + start, sp.end + start, sp.indices,
                                         <const float*> sp.values, W1, Z, h)
    else:
        fastnn_sparse_forward_rows_add_d(r0, r1, sp.begin + start, sp.end + start, sp.indices,
                                         <const double*> sp.values, W1, Z, h)


cdef inline void sparse_gather_dense(const SparseBatch* sp, Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1,
                                     floating dtype_tag) noexcept nogil:
    """Rows r0:r1 of the batch that starts at epoch row start: their dense columns into xd."""
    cdef Py_ssize_t r
    for r in range(r0, r1):
        memcpy(<floating*> sp.xd + r * sp.kd, <const floating*> sp.dense + sp.perm[start + r] * sp.kd,
               sp.kd * sizeof(floating))


cdef inline void sparse_dense_forward(const SparseBatch* sp, Py_ssize_t r0, Py_ssize_t r1, const floating* W1,
                                      floating* Z, Py_ssize_t h) noexcept nogil:
    """Z[r, :] := xd[r] W1[:kd] for rows r0:r1 of the batch (gathered into xd; Z's rows h apart): the dense
    columns' part of x W1, by the panel kernels (src_cython/_panel.h)."""
    if floating is float:
        fastnn_dense_forward_f(r1 - r0, sp.kd, h, <const float*> sp.xd + r0 * sp.kd, sp.kd, W1, Z + r0 * h)
    else:
        fastnn_dense_forward_d(r1 - r0, sp.kd, h, <const double*> sp.xd + r0 * sp.kd, sp.kd, W1, Z + r0 * h)


cdef inline void sparse_dense_wgrad(const SparseBatch* sp, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t nb,
                                    const floating* dA1, Py_ssize_t ldd, floating* G, Py_ssize_t h, floating alpha,
                                    floating beta) noexcept nogil:
    """G[i, :] := beta G[i, :] + alpha xd[:nb, i]^T dA1 for dense columns i0:i1 (dA1's rows ldd apart, G's h): their
    rows of dW1, or (alpha -lr) of the SGD step, by the panel kernels."""
    if floating is float:
        fastnn_dense_wgrad_f(i0, i1, nb, h, <const float*> sp.xd, sp.kd, dA1, ldd, G, alpha, beta)
    else:
        fastnn_dense_wgrad_d(i0, i1, nb, h, <const double*> sp.xd, sp.kd, dA1, ldd, G, alpha, beta)


cdef inline void sparse_pad_rows(const SparseBatch* sp, const floating* dA1, Py_ssize_t r0, Py_ssize_t r1,
                                 Py_ssize_t h) noexcept nogil:
    """Rows r0:r1 of the batch's dA1 (rows h apart) into dpad (rows sp.lda apart), for dW1."""
    cdef Py_ssize_t r, k
    cdef floating* out
    for r in range(r0, r1):
        out = <floating*> sp.dpad + r * sp.lda
        for k in range(h):
            out[k] = dA1[r * h + k]


cdef inline void sparse_weight_grad(const SparseBatch* sp, int buf, Py_ssize_t j0, Py_ssize_t j1, floating* dW1,
                                    Py_ssize_t h) noexcept nogil:
    """dW1[j, :] := x[:, j]^T dA1 for input pixels j0:j1 (zero rows for pixels without a nonzero), over the
    batch in CSC buffer buf and dA1 as region 1 copied it to dpad."""
    if floating is float:
        fastnn_sparse_weight_grad_f(j0, j1, sparse_colptr(sp, buf), sparse_crows(sp, buf),
                                    sparse_cvalues(sp, buf, <float> 0),
                                    <const float*> sp.dpad, sp.lda, dW1, h)
    else:
        fastnn_sparse_weight_grad_d(j0, j1, sparse_colptr(sp, buf), sparse_crows(sp, buf),
                                    sparse_cvalues(sp, buf, <double> 0),
                                    <const double*> sp.dpad, sp.lda, dW1, h)


cdef inline void sparse_sgd_step(const SparseBatch* sp, int buf, Py_ssize_t j0, Py_ssize_t j1, floating* W1,
                                 Py_ssize_t h, floating lr) noexcept nogil:
    """W1[j, :] -= lr x[:, j]^T dA1 for input pixels j0:j1 (only those with a nonzero in the batch), over the
    batch in CSC buffer buf and dA1 in dpad."""
    if floating is float:
        fastnn_sparse_sgd_step_f(j0, j1, sparse_colptr(sp, buf), sparse_crows(sp, buf),
                                 sparse_cvalues(sp, buf, <float> 0),
                                 <const float*> sp.dpad, sp.lda, W1, h, lr, NULL)
    else:
        fastnn_sparse_sgd_step_d(j0, j1, sparse_colptr(sp, buf), sparse_crows(sp, buf),
                                 sparse_cvalues(sp, buf, <double> 0),
                                 <const double*> sp.dpad, sp.lda, W1, h, lr, NULL)


# --- split by input pixels: thread c owns W_1's rows cuts[c]:cuts[c + 1] ------------------------------------

# A dense column's cost against a nonzero's, per row, for the cuts (DENSE_WEIGHT_NUM / DENSE_WEIGHT_DEN): the panel
# kernels' two products take ~2 ns an entry against ~11 ns a nonzero for the sparse forward, CSC and dW1 (one
# thread, Xeon, float32, 100 units): 0.2; counted 0.4 because the panel's share also gathers its columns.
cdef enum:
    DENSE_WEIGHT_NUM = 2
    DENSE_WEIGHT_DEN = 5


cdef inline void sparse_cuts(const SparseBatch* sp, Py_ssize_t n_rows, Py_ssize_t* counts) noexcept nogil:
    """sp.cuts := teams + 1 input-pixel edges that share the work of epoch rows 0 .. n_rows - 1 (a sample of
    the epoch: its rows are in random order) equally: a nonzero counts 1, a dense column's entry (its rows of
    the sample, columns below sp.kd) DENSE_WEIGHT; counts: d scratch entries."""
    cdef Py_ssize_t i, p, j, total = 0, acc = 0
    cdef int c = 1
    for j in range(sp.d):
        counts[j] = n_rows * DENSE_WEIGHT_NUM // DENSE_WEIGHT_DEN if j < sp.kd else 0
        total += counts[j]
    for i in range(n_rows):
        for p in range(sp.begin[i], sp.end[i]):
            counts[sp.indices[p]] += 1
            total += 1
    sp.cuts[0] = 0
    for j in range(sp.d):
        acc += counts[j]
        while c < sp.teams and acc * sp.teams >= c * total:
            sp.cuts[c] = j + 1
            c += 1
    while c < sp.teams:  # no nonzero at all
        sp.cuts[c] = sp.d * c // sp.teams
        c += 1
    sp.cuts[sp.teams] = sp.d


cdef inline Py_ssize_t _first_at_least(const int32_t* indices, Py_ssize_t lo, Py_ssize_t hi,
                                       Py_ssize_t j) noexcept nogil:
    """The first p in [lo, hi) with indices[p] >= j (hi if none; indices ascending)."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void sparse_split_step(const SparseBatch* sp, int c, Py_ssize_t start, Py_ssize_t nb,
                                   const floating* W1, floating* z1) noexcept nogil:
    """Thread c's part of the batch of epoch rows start .. start + nb - 1, over its input pixels: its dense
    columns of the batch's rows gathered into xd and their product, each row's nonzeros in its other pixels
    (sp.bounds) added (their part of x W_1, into z1 for c == 0, else its partial block), and the batch by input
    pixel (its CSC buffer c) for its rows of dW_1."""
    cdef Py_ssize_t* lo = sp.bounds + 2 * c * sp.b
    cdef Py_ssize_t* hi = lo + sp.b
    cdef Py_ssize_t r, p0, p1, j0 = sp.cuts[c], j1 = sp.cuts[c + 1]
    cdef Py_ssize_t jd0 = min(j0, sp.kd), jd1 = min(j1, sp.kd)  # its dense columns (the sparse rows hold none)
    cdef floating* z = z1 if c == 0 else <floating*> sp.partial + (c - 1) * sp.b * sp.h1
    for r in range(nb):
        p0 = sp.begin[start + r]
        p1 = sp.end[start + r]
        lo[r] = p0 if c == 0 else _first_at_least(sp.indices, p0, p1, j0)
        hi[r] = p1 if c == sp.teams - 1 else _first_at_least(sp.indices, lo[r], p1, j1)
    if jd1 > jd0:
        for r in range(nb):
            memcpy(<floating*> sp.xd + r * sp.kd + jd0, <const floating*> sp.dense + sp.perm[start + r] * sp.kd + jd0,
                   (jd1 - jd0) * sizeof(floating))
        if floating is float:
            fastnn_dense_forward_f(nb, jd1 - jd0, sp.h1, <const float*> sp.xd + jd0, sp.kd, W1 + jd0 * sp.h1, z)
            fastnn_sparse_forward_rows_add_f(0, nb, lo, hi, sp.indices, <const float*> sp.values, W1, z, sp.h1)
        else:
            fastnn_dense_forward_d(nb, jd1 - jd0, sp.h1, <const double*> sp.xd + jd0, sp.kd, W1 + jd0 * sp.h1, z)
            fastnn_sparse_forward_rows_add_d(0, nb, lo, hi, sp.indices, <const double*> sp.values, W1, z, sp.h1)
    elif floating is float:
        fastnn_sparse_forward_rows_f(0, nb, lo, hi, sp.indices, <const float*> sp.values, W1,
                                     <const float*> sp.zero, z, sp.h1)
    else:
        fastnn_sparse_forward_rows_d(0, nb, lo, hi, sp.indices, <const double*> sp.values, W1,
                                     <const double*> sp.zero, z, sp.h1)
    if floating is float:
        fastnn_sparse_rows_to_csc_f(nb, lo, hi, sp.indices, <const float*> sp.values, sp.d, sparse_colptr(sp, c),
                                    sparse_crows(sp, c), sparse_cvalues(sp, c, <float> 0))
    else:
        fastnn_sparse_rows_to_csc_d(nb, lo, hi, sp.indices, <const double*> sp.values, sp.d, sparse_colptr(sp, c),
                                    sparse_crows(sp, c), sparse_cvalues(sp, c, <double> 0))


cdef inline void sparse_add_partials(const SparseBatch* sp, floating* z1, Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """Rows r0:r1 of z1 (thread 0's part of x W_1) += the other threads' parts, in thread order."""
    cdef Py_ssize_t i
    cdef int c
    cdef const floating* part
    for c in range(1, sp.teams):
        part = <const floating*> sp.partial + (c - 1) * sp.b * sp.h1
        for i in range(r0 * sp.h1, r1 * sp.h1):
            z1[i] = z1[i] + part[i]
