# cython: language_level=3
"""A batch of x over its nonzeros, for the compiled epoch loops' first layer (src_cython/_sparse.h does the
work; see its design note).

``SparseBatch`` points into three flat workspaces the caller allocates once per epoch (``sparse_batch``
binds them): intp ``starts``, ``ends[0]``, ``ends[1]`` (b each) and ``colptr`` (d + 1); int32 ``indices[0]``,
``rows`` and ``indices[1]`` (b d each); values of the network's dtype ``values[0]``, ``cvalues`` and
``values[1]`` (b d each) and ``zero`` (h1 zeros: the sparse forward starts from it, and the first layer's
bias is added with its activation, in the dense path's order).

Two buffers of padded rows: batch row r's nonzeros lie in its own slot, ``indices[k]`` / ``values[k]`` from
``starts[r] = r d`` to ``ends[k][r]``, so rows are gathered independently (no prefix sum, no compaction) and
the loop gathers the next batch into one buffer while the current batch, in the other, finishes. A step:

1. (region 1) each chunk its batch rows: the forward over their nonzeros (``sparse_forward``), and so on;
   one more chunk meanwhile builds the batch by input pixel (``sparse_csc``: a counting sort of the slots,
   rows ascending in each column).
2. (region 2) dW1 by input-pixel rows over that CSC, split like the dense path's; and each chunk gathers its
   share of the next batch's rows into the other buffer (``sparse_gather_rows``: a scan of every input
   element, so it is spread over all threads).
"""
from cython cimport floating
from libc.stdint cimport int32_t

from _sparse cimport (fastnn_prefetch_row, fastnn_sparse_compress_row_d, fastnn_sparse_compress_row_f,
                      fastnn_sparse_forward_rows_d, fastnn_sparse_forward_rows_f, fastnn_sparse_rows_to_csc_d,
                      fastnn_sparse_rows_to_csc_f, fastnn_sparse_sgd_step_d, fastnn_sparse_sgd_step_f,
                      fastnn_sparse_weight_grad_d, fastnn_sparse_weight_grad_f)

cdef struct SparseBatch:
    Py_ssize_t* starts
    Py_ssize_t* ends[2]
    int32_t* indices[2]
    void* values[2]
    Py_ssize_t* colptr
    int32_t* rows
    void* cvalues
    void* zero
    Py_ssize_t d


cdef inline bint sparse_batch(SparseBatch* sp, Py_ssize_t[::1] idx_ws, int32_t[::1] int_ws, floating[::1] val_ws,
                              Py_ssize_t b, Py_ssize_t d, Py_ssize_t h) noexcept nogil:
    """Bind sp to the workspaces (sizes above for batches of b rows, d inputs, h first-layer units);
    False (sp untouched) when they are empty: the dense path. The caller checks the sizes."""
    cdef Py_ssize_t r
    if idx_ws.shape[0] == 0:
        return False
    sp.starts = &idx_ws[0]
    sp.ends[0] = &idx_ws[b]
    sp.ends[1] = &idx_ws[2 * b]
    sp.colptr = &idx_ws[3 * b]
    sp.indices[0] = &int_ws[0]
    sp.rows = &int_ws[b * d]
    sp.indices[1] = &int_ws[2 * b * d]
    sp.values[0] = <void*> &val_ws[0]
    sp.cvalues = <void*> &val_ws[b * d]
    sp.values[1] = <void*> &val_ws[2 * b * d]
    sp.zero = <void*> &val_ws[3 * b * d]
    sp.d = d
    for r in range(b):
        sp.starts[r] = r * d
    return True


cdef inline void sparse_gather_rows(const SparseBatch* sp, int buf, const floating* x, const Py_ssize_t* perm,
                                    Py_ssize_t start, Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """Rows r0:r1 of the batch x[perm[start:]] into buffer buf: row r's nonzeros to its slot at r d, ends[buf][r]
    := the slot's end (the row compressors write within the slot); the next row is asked for first."""
    cdef Py_ssize_t r, d = sp.d
    for r in range(r0, r1):
        if r + 1 < r1:
            fastnn_prefetch_row(<const char*> (x + perm[start + r + 1] * d), d * sizeof(floating))
        if floating is float:
            sp.ends[buf][r] = r * d + fastnn_sparse_compress_row_f(x + perm[start + r] * d, d, sp.indices[buf] + r * d,
                                                                   <float*> sp.values[buf] + r * d)
        else:
            sp.ends[buf][r] = r * d + fastnn_sparse_compress_row_d(x + perm[start + r] * d, d, sp.indices[buf] + r * d,
                                                                   <double*> sp.values[buf] + r * d)


cdef inline void sparse_csc(const SparseBatch* sp, int buf, Py_ssize_t n_rows, floating dtype_tag) noexcept nogil:
    """The batch of n_rows rows in buffer buf by input pixel (colptr, rows, cvalues)."""
    if floating is float:
        fastnn_sparse_rows_to_csc_f(n_rows, sp.starts, sp.ends[buf], sp.indices[buf], <const float*> sp.values[buf],
                                    sp.d, sp.colptr, sp.rows, <float*> sp.cvalues)
    else:
        fastnn_sparse_rows_to_csc_d(n_rows, sp.starts, sp.ends[buf], sp.indices[buf], <const double*> sp.values[buf],
                                    sp.d, sp.colptr, sp.rows, <double*> sp.cvalues)


cdef inline void sparse_forward(const SparseBatch* sp, int buf, Py_ssize_t r0, Py_ssize_t r1, const floating* W1,
                                floating* Z, Py_ssize_t h) noexcept nogil:
    """Z[r, :] := x[r] W1 over row r's nonzeros in buffer buf, rows r0:r1 of the batch (Z's row stride h)."""
    if floating is float:
        fastnn_sparse_forward_rows_f(r0, r1, sp.starts, sp.ends[buf], sp.indices[buf], <const float*> sp.values[buf],
                                     W1, <const float*> sp.zero, Z, h)
    else:
        fastnn_sparse_forward_rows_d(r0, r1, sp.starts, sp.ends[buf], sp.indices[buf], <const double*> sp.values[buf],
                                     W1, <const double*> sp.zero, Z, h)


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
