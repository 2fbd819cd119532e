# cython: language_level=3
"""A batch of x over its nonzeros, for the compiled epoch loops' first layer (src_cython/_sparse.h does the
work; see its design note).

``SparseBatch`` points into three flat workspaces the caller allocates once per epoch (``sparse_batch``
binds them): intp ``indptr`` (b + 1) and ``colptr`` (d + 1); int32 ``indices`` and ``rows`` (b d each); values of the network's dtype ``values`` and ``cvalues`` (b d each) and ``zero`` (h1 zeros:
the sparse forward starts from it, and the first layer's bias is added with its activation, in the dense
path's order). Each step: ``sparse_gather`` (CSR of the batch), the forward over its rows, ``sparse_csc``
(the same batch by input pixel), then dW1 by pixel rows, split across threads like the dense path's.
"""
from cython cimport floating
from libc.stdint cimport int32_t

from _sparse cimport (fastnn_sparse_csr_to_csc_d, fastnn_sparse_csr_to_csc_f, fastnn_sparse_forward_d,
                      fastnn_sparse_forward_f, fastnn_sparse_gather_csr_d, fastnn_sparse_gather_csr_f,
                      fastnn_sparse_sgd_step_d, fastnn_sparse_sgd_step_f, fastnn_sparse_weight_grad_d,
                      fastnn_sparse_weight_grad_f)

cdef struct SparseBatch:
    Py_ssize_t* indptr
    int32_t* indices
    void* values
    Py_ssize_t* colptr
    int32_t* rows
    void* cvalues
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
    sp.indices = &int_ws[0]
    sp.rows = &int_ws[b * d]
    sp.values = <void*> &val_ws[0]
    sp.cvalues = <void*> &val_ws[b * d]
    sp.zero = <void*> &val_ws[2 * b * d]
    sp.d = d
    return True


cdef inline Py_ssize_t sparse_gather(const SparseBatch* sp, const floating* x, const Py_ssize_t* perm,
                                     Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """CSR of x[perm[start:stop]] (x[start:stop] for perm NULL); returns its nonzeros."""
    if floating is float:
        return fastnn_sparse_gather_csr_f(x, sp.d, perm, start, stop, sp.indptr, sp.indices, <float*> sp.values)
    else:
        return fastnn_sparse_gather_csr_d(x, sp.d, perm, start, stop, sp.indptr, sp.indices, <double*> sp.values)


cdef inline void sparse_csc(const SparseBatch* sp, Py_ssize_t n_rows, floating dtype_tag) noexcept nogil:
    """The gathered batch of n_rows rows by input pixel (dtype_tag only picks the dtype)."""
    if floating is float:
        fastnn_sparse_csr_to_csc_f(n_rows, sp.indptr, sp.indices, <const float*> sp.values, sp.d, sp.colptr,
                                   sp.rows, <float*> sp.cvalues)
    else:
        fastnn_sparse_csr_to_csc_d(n_rows, sp.indptr, sp.indices, <const double*> sp.values, sp.d, sp.colptr,
                                   sp.rows, <double*> sp.cvalues)


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
