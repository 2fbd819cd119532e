# cython: language_level=3
"""A batch of x over its nonzeros, for the compiled epoch loops' first layer (src_cython/_sparse.h does the
work; see its design note).

``SparseBatch`` points into three flat workspaces the caller allocates once per epoch (``sparse_batch``
binds them): intp ``indptr`` (b + 1), ``colptr`` (d + 1) and ``counts`` (b); int32 ``indices``, ``rows``
and ``pindices`` (b d each); values of the network's dtype ``values``, ``cvalues`` and ``pvalues`` (b d
each) and ``zero`` (h1 zeros: the sparse forward starts from it, and the first layer's bias is added with
its activation, in the dense path's order).

Each step, every part split across the caller's threads:

1. ``sparse_gather_rows``: each batch row r's nonzeros into its own slot of the padded arrays (pindices,
   pvalues at r d; ``counts[r]`` of them): rows are independent, so the gather (a scan of every input
   element) runs on all threads.
2. ``sparse_prefix`` (serial, b additions): ``indptr`` from the counts.
3. ``sparse_place_rows`` (each thread its rows) moves them to their CSR places, then the forward over those
   rows; at the same time one chunk builds the batch by input pixel (``sparse_csc``, a counting sort over
   the padded rows, rows ascending in each column).
4. dW1 by input-pixel rows, split like the dense path's.
"""
from cython cimport floating
from libc.stdint cimport int32_t

from _sparse cimport (fastnn_prefetch_row, fastnn_sparse_compress_row_d, fastnn_sparse_compress_row_f,
                      fastnn_sparse_forward_d, fastnn_sparse_forward_f,
                      fastnn_sparse_sgd_step_d, fastnn_sparse_sgd_step_f, fastnn_sparse_weight_grad_d,
                      fastnn_sparse_weight_grad_f)

from libc.string cimport memcpy, memset

cdef struct SparseBatch:
    Py_ssize_t* indptr
    int32_t* indices
    void* values
    Py_ssize_t* colptr
    int32_t* rows
    void* cvalues
    Py_ssize_t* counts
    int32_t* pindices
    void* pvalues
    void* zero
    Py_ssize_t d


cdef inline bint sparse_batch(SparseBatch* sp, Py_ssize_t[::1] idx_ws, int32_t[::1] int_ws, floating[::1] val_ws,
                              Py_ssize_t b, Py_ssize_t d, Py_ssize_t h) noexcept nogil:
    """Bind sp to the workspaces (sizes above for batches of b rows, d inputs, h first-layer units);
    False (sp untouched) when they are empty: the dense path. The caller checks the sizes."""
    if idx_ws.shape[0] == 0:
        return False
    sp.indptr = &idx_ws[0]
    sp.colptr = &idx_ws[b + 1]
    sp.counts = &idx_ws[b + d + 2]
    sp.indices = &int_ws[0]
    sp.rows = &int_ws[b * d]
    sp.pindices = &int_ws[2 * b * d]
    sp.values = <void*> &val_ws[0]
    sp.cvalues = <void*> &val_ws[b * d]
    sp.pvalues = <void*> &val_ws[2 * b * d]
    sp.zero = <void*> &val_ws[3 * b * d]
    sp.d = d
    return True


cdef inline void sparse_gather_rows(const SparseBatch* sp, const floating* x, const Py_ssize_t* perm,
                                    Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """Rows r0:r1 of the batch x[perm[start:]]: row r's nonzeros to pindices / pvalues at r d, their number
    to counts[r] (the row compressors write within the row's slot of d); the next row is asked for first."""
    cdef Py_ssize_t r, d = sp.d
    for r in range(r0, r1):
        if r + 1 < r1:
            fastnn_prefetch_row(<const char*> (x + perm[start + r + 1] * d), d * sizeof(floating))
        if floating is float:
            sp.counts[r] = fastnn_sparse_compress_row_f(x + perm[start + r] * d, d, sp.pindices + r * d,
                                                        <float*> sp.pvalues + r * d)
        else:
            sp.counts[r] = fastnn_sparse_compress_row_d(x + perm[start + r] * d, d, sp.pindices + r * d,
                                                        <double*> sp.pvalues + r * d)


cdef inline void sparse_prefix(const SparseBatch* sp, Py_ssize_t n_rows) noexcept nogil:
    """indptr of the batch's CSR from the rows' counts."""
    cdef Py_ssize_t r
    sp.indptr[0] = 0
    for r in range(n_rows):
        sp.indptr[r + 1] = sp.indptr[r] + sp.counts[r]


cdef inline void sparse_place_rows(const SparseBatch* sp, Py_ssize_t r0, Py_ssize_t r1, floating dtype_tag) noexcept nogil:
    """Rows r0:r1 from their padded slots to their CSR places (after ``sparse_prefix``)."""
    cdef Py_ssize_t r, d = sp.d
    for r in range(r0, r1):
        memcpy(sp.indices + sp.indptr[r], sp.pindices + r * d, sp.counts[r] * sizeof(int32_t))
        memcpy(<floating*> sp.values + sp.indptr[r], <floating*> sp.pvalues + r * d, sp.counts[r] * sizeof(floating))


cdef inline void sparse_csc(const SparseBatch* sp, Py_ssize_t n_rows, floating dtype_tag) noexcept nogil:
    """The batch of n_rows rows by input pixel, from the padded rows (a counting sort, as
    fastnn_sparse_csr_to_csc: colptr counts, then is each column's cursor, then is shifted back)."""
    cdef Py_ssize_t d = sp.d, r, p, j, q
    cdef Py_ssize_t* colptr = sp.colptr
    cdef const floating* pvalues = <const floating*> sp.pvalues
    cdef floating* cvalues = <floating*> sp.cvalues
    memset(colptr, 0, (d + 1) * sizeof(Py_ssize_t))
    for r in range(n_rows):
        for p in range(r * d, r * d + sp.counts[r]):
            colptr[sp.pindices[p] + 1] += 1
    for j in range(d):
        colptr[j + 1] += colptr[j]
    for r in range(n_rows):
        for p in range(r * d, r * d + sp.counts[r]):
            j = sp.pindices[p]
            q = colptr[j]
            colptr[j] = q + 1
            sp.rows[q] = <int32_t> r
            cvalues[q] = pvalues[p]
    for j in range(d, 0, -1):
        colptr[j] = colptr[j - 1]
    colptr[0] = 0


cdef inline void sparse_forward(const SparseBatch* sp, Py_ssize_t r0, Py_ssize_t r1, const floating* W1,
                                floating* Z, Py_ssize_t h) noexcept nogil:
    """Z[r, :] := x[r] W1 over row r's nonzeros, rows r0:r1 of the batch (Z's row stride h)."""
    if floating is float:
        fastnn_sparse_forward_f(r0, r1, sp.indptr, sp.indices, <const float*> sp.values, W1,
                                <const float*> sp.zero, Z, h)
    else:
        fastnn_sparse_forward_d(r0, r1, sp.indptr, sp.indices, <const double*> sp.values, W1,
                                <const double*> sp.zero, Z, h)


cdef inline void sparse_weight_grad(const SparseBatch* sp, Py_ssize_t j0, Py_ssize_t j1, const floating* dA1,
                                    floating* dW1, Py_ssize_t h) noexcept nogil:
    """dW1[j, :] := x[:, j]^T dA1 for input pixels j0:j1 (zero rows for pixels without a nonzero)."""
    if floating is float:
        fastnn_sparse_weight_grad_f(j0, j1, sp.colptr, sp.rows, <const float*> sp.cvalues, dA1, dW1, h)
    else:
        fastnn_sparse_weight_grad_d(j0, j1, sp.colptr, sp.rows, <const double*> sp.cvalues, dA1, dW1, h)


cdef inline void sparse_sgd_step(const SparseBatch* sp, Py_ssize_t j0, Py_ssize_t j1, const floating* dA1,
                                 floating* W1, Py_ssize_t h, floating lr) noexcept nogil:
    """W1[j, :] -= lr x[:, j]^T dA1 for input pixels j0:j1 (only those with a nonzero in the batch)."""
    if floating is float:
        fastnn_sparse_sgd_step_f(j0, j1, sp.colptr, sp.rows, <const float*> sp.cvalues, dA1, W1, h, lr, NULL)
    else:
        fastnn_sparse_sgd_step_d(j0, j1, sp.colptr, sp.rows, <const double*> sp.cvalues, dA1, W1, h, lr, NULL)
