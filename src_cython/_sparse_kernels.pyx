# cython: language_level=3, cdivision=True
# boundscheck, wraparound and initializedcheck come from setup.py: off, on in a FASTNN_DEBUG_BUILD=1 build.
"""Python access to the sparse first-layer kernels of src_cython/_sparse.h, for tests and benchmarks.

Design
------
The kernels are C (_sparse.h, declared in _sparse.pxd) so that the compiled epoch loops can ``cimport``
them and call them inside their own ``prange`` regions; this module only hands NumPy buffers to them, one
call per function, with no validation (fastnn/_sparse.py is the policy and the public side). The same
functions with the same signatures are numba's in fastnn/_sparse_numba.py (but forward_threads, whose
threads here are an argument, numba's its own setting; and count_columns / count_rest / split_columns, which
only this backend's epoch uses: fastnn/_sparse.py ``dense_columns``, with dense_forward / dense_wgrad, the
products over those columns: src_cython/_panel.h). Index buffers: indptr and colptr of
intp, indices and rows of int32; an empty perm means the rows of x themselves.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from _sparse cimport (FASTNN_ISA_AVX2, FASTNN_ISA_AVX512, FASTNN_ISA_SCALAR, fastnn_dense_forward_d,
                      fastnn_dense_forward_f, fastnn_dense_wgrad_d, fastnn_dense_wgrad_f, fastnn_sparse_compress_row_d,
                      fastnn_sparse_compress_row_f, fastnn_sparse_count_row_d, fastnn_sparse_count_row_f,
                      fastnn_sparse_cpu_isa,
                      fastnn_sparse_csr_to_csc_d, fastnn_sparse_csr_to_csc_f, fastnn_sparse_forward_d,
                      fastnn_sparse_forward_f, fastnn_sparse_gather_csr_d, fastnn_sparse_gather_csr_f,
                      fastnn_sparse_isa, fastnn_sparse_set_isa, fastnn_sparse_sgd_step_d,
                      fastnn_sparse_sgd_step_f, fastnn_sparse_weight_grad_d, fastnn_sparse_weight_grad_f)

#: Instruction-set bodies by name, narrowest first.
ISAS = {"scalar": FASTNN_ISA_SCALAR, "avx2": FASTNN_ISA_AVX2, "avx512": FASTNN_ISA_AVX512}
_NAMES = {code: name for name, code in ISAS.items()}


def cpu_isa():
    """The widest body this CPU runs: 'avx512', 'avx2' or 'scalar'."""
    return _NAMES[fastnn_sparse_cpu_isa()]


def isa():
    """The body in use."""
    return _NAMES[fastnn_sparse_isa()]


def set_isa(name):
    """Use the body ``name`` (never one the CPU lacks); returns the one now in use."""
    return _NAMES[fastnn_sparse_set_isa(ISAS[name])]


def count_rows(const floating[:, ::1] x, const Py_ssize_t[::1] rows, Py_ssize_t[::1] counts_out, int n_threads):
    """counts_out[i] := the nonzeros of x[rows[i]] (x's own rows for an empty ``rows``), on n_threads threads."""
    cdef Py_ssize_t i, n = rows.shape[0] if rows.shape[0] > 0 else x.shape[0], d = x.shape[1]
    cdef bint own = rows.shape[0] == 0
    for i in prange(n, nogil=True, schedule='static', num_threads=max(1, n_threads)):
        if floating is float:
            counts_out[i] = fastnn_sparse_count_row_f(&x[i if own else rows[i], 0], d)
        else:
            counts_out[i] = fastnn_sparse_count_row_d(&x[i if own else rows[i], 0], d)


cdef inline Py_ssize_t _compress(const floating* row, Py_ssize_t d, int32_t* indices, floating* values) noexcept nogil:
    if floating is float:
        return fastnn_sparse_compress_row_f(row, d, indices, values)
    else:
        return fastnn_sparse_compress_row_d(row, d, indices, values)


def compress_rows(const floating[:, ::1] x, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] indptr,
                  int32_t[::1] indices_out, floating[::1] values_out, int n_threads):
    """indices_out, values_out[indptr[i]:indptr[i + 1]] := the nonzeros of x[rows[i]] (x's own rows for an
    empty ``rows``), columns ascending; indptr holds count_rows' counts summed (at least one nonzero in all).
    Returns -1 if out of memory, else 0.

    A row's compressor may write up to d entries from the row's start, past its own nonzeros; each chunk of
    rows runs in ascending order, so a row's spill is overwritten by the rows after it, and a row whose d
    entries would reach past its chunk's end goes through a scratch buffer instead (its spill would land in
    another chunk's rows, or past the arrays)."""
    cdef Py_ssize_t n = rows.shape[0] if rows.shape[0] > 0 else x.shape[0], d = x.shape[1]
    cdef Py_ssize_t c, i, r0, r1, k, chunks = max(1, min(n, 8 * max(1, n_threads)))
    cdef bint own = rows.shape[0] == 0
    cdef int32_t* scratch_idx
    cdef floating* scratch_val
    cdef int32_t* idx = &indices_out[0]
    cdef floating* val = &values_out[0]
    cdef int failed = 0
    for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=max(1, n_threads)):
        r0 = c * n // chunks
        r1 = (c + 1) * n // chunks
        scratch_idx = <int32_t*> malloc(d * sizeof(int32_t))
        scratch_val = <floating*> malloc(d * sizeof(floating))
        if scratch_idx == NULL or scratch_val == NULL:
            failed += 1
            r1 = r0
        for i in range(r0, r1):
            if indptr[i] + d <= indptr[r1]:
                _compress(&x[i if own else rows[i], 0], d, idx + indptr[i], val + indptr[i])
            else:
                k = _compress(&x[i if own else rows[i], 0], d, scratch_idx, scratch_val)
                memcpy(idx + indptr[i], scratch_idx, k * sizeof(int32_t))
                memcpy(val + indptr[i], scratch_val, k * sizeof(floating))
        free(scratch_idx)
        free(scratch_val)
    return -1 if failed else 0


def gather_csr(const floating[:, ::1] x, const Py_ssize_t[::1] perm, Py_ssize_t start, Py_ssize_t stop,
               Py_ssize_t[::1] indptr_out, int32_t[::1] indices_out, floating[::1] values_out):
    """CSR of x[perm[start:stop]] (x[start:stop] for an empty perm); returns the number of nonzeros."""
    cdef const Py_ssize_t* p = &perm[0] if perm.shape[0] > 0 else NULL
    cdef Py_ssize_t nnz
    if floating is float:
        with nogil:
            nnz = fastnn_sparse_gather_csr_f(&x[0, 0], x.shape[1], p, start, stop, &indptr_out[0], &indices_out[0],
                                             &values_out[0])
    else:
        with nogil:
            nnz = fastnn_sparse_gather_csr_d(&x[0, 0], x.shape[1], p, start, stop, &indptr_out[0], &indices_out[0],
                                             &values_out[0])
    return nnz


def csr_to_csc(const Py_ssize_t[::1] indptr, const int32_t[::1] indices, const floating[::1] values, Py_ssize_t d,
               Py_ssize_t[::1] colptr_out, int32_t[::1] rows_out, floating[::1] cvalues_out):
    """The batch's CSC (columns = input pixels) from its CSR."""
    if floating is float:
        with nogil:
            fastnn_sparse_csr_to_csc_f(indptr.shape[0] - 1, &indptr[0], &indices[0], &values[0], d, &colptr_out[0],
                                       &rows_out[0], &cvalues_out[0])
    else:
        with nogil:
            fastnn_sparse_csr_to_csc_d(indptr.shape[0] - 1, &indptr[0], &indices[0], &values[0], d, &colptr_out[0],
                                       &rows_out[0], &cvalues_out[0])


def forward(const Py_ssize_t[::1] indptr, const int32_t[::1] indices, const floating[::1] values,
            const floating[:, ::1] W1, const floating[::1] b1, floating[:, ::1] z_out, Py_ssize_t r0, Py_ssize_t r1):
    """z_out[b] := b1 + sum over row b's nonzeros of x[b, j] W1[j], for batch rows r0 <= b < r1."""
    if floating is float:
        with nogil:
            fastnn_sparse_forward_f(r0, r1, &indptr[0], &indices[0], &values[0], &W1[0, 0], &b1[0], &z_out[0, 0],
                                    W1.shape[1])
    else:
        with nogil:
            fastnn_sparse_forward_d(r0, r1, &indptr[0], &indices[0], &values[0], &W1[0, 0], &b1[0], &z_out[0, 0],
                                    W1.shape[1])


def forward_threads(const Py_ssize_t[::1] indptr, const int32_t[::1] indices, const floating[::1] values,
                    const floating[:, ::1] W1, const floating[::1] b1, floating[:, ::1] z_out, Py_ssize_t chunks,
                    int n_threads):
    """forward over every row of the CSR (z_out has its rows) in `chunks` chunks of rows (at least 1), handed
    to n_threads threads one at a time."""
    cdef Py_ssize_t c, n = indptr.shape[0] - 1, h = W1.shape[1]
    cdef const int32_t* idx = &indices[0] if indices.shape[0] > 0 else NULL  # NULL: no nonzero (never read)
    cdef const floating* val = &values[0] if values.shape[0] > 0 else NULL
    if n <= 0:
        return
    for c in prange(chunks, nogil=True, schedule='dynamic', chunksize=1, num_threads=max(1, n_threads)):
        if floating is float:
            fastnn_sparse_forward_f(c * n // chunks, (c + 1) * n // chunks, &indptr[0], idx, val, &W1[0, 0],
                                    &b1[0], &z_out[0, 0], h)
        else:
            fastnn_sparse_forward_d(c * n // chunks, (c + 1) * n // chunks, &indptr[0], idx, val, &W1[0, 0],
                                    &b1[0], &z_out[0, 0], h)


def weight_grad(const Py_ssize_t[::1] colptr, const int32_t[::1] rows, const floating[::1] cvalues,
                const floating[:, ::1] dA1, floating[:, ::1] dW1_out, Py_ssize_t j0, Py_ssize_t j1):
    """dW1_out[j] := sum over column j's nonzeros of x[b, j] dA1[b], for pixels j0 <= j < j1."""
    cdef Py_ssize_t lda = dA1.shape[1]
    if floating is float:
        with nogil:
            fastnn_sparse_weight_grad_f(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], lda,
                                        &dW1_out[0, 0], dW1_out.shape[1])
    else:
        with nogil:
            fastnn_sparse_weight_grad_d(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], lda,
                                        &dW1_out[0, 0], dW1_out.shape[1])


def sgd_step(const Py_ssize_t[::1] colptr, const int32_t[::1] rows, const floating[::1] cvalues,
             const floating[:, ::1] dA1, floating[:, ::1] W1, double lr, Py_ssize_t j0, Py_ssize_t j1,
             int32_t[::1] touched_out):
    """W1[j] -= lr dW1[j] for the pixels j0 <= j < j1 with a nonzero in the batch (lr != 0); their indices go
    to touched_out[:n]; returns n."""
    cdef Py_ssize_t n, lda = dA1.shape[1]
    if floating is float:
        with nogil:
            n = fastnn_sparse_sgd_step_f(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], lda,
                                         &W1[0, 0], W1.shape[1], <float> lr, &touched_out[0])
    else:
        with nogil:
            n = fastnn_sparse_sgd_step_d(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], lda,
                                         &W1[0, 0], W1.shape[1], lr, &touched_out[0])
    return n


def dense_forward(const floating[:, ::1] xd, const floating[:, ::1] W, floating[:, ::1] z_out):
    """z_out := xd @ W (the dense columns' part of x W1: xd of m rows, W of xd.shape[1] rows, z_out m x W's
    columns), by the panel kernel of src_cython/_panel.h."""
    cdef Py_ssize_t m = xd.shape[0], k = xd.shape[1], h = W.shape[1]
    if m == 0 or h == 0:
        return
    if floating is float:
        with nogil:
            fastnn_dense_forward_f(m, k, h, &xd[0, 0] if k else NULL, k, &W[0, 0] if k else NULL, &z_out[0, 0])
    else:
        with nogil:
            fastnn_dense_forward_d(m, k, h, &xd[0, 0] if k else NULL, k, &W[0, 0] if k else NULL, &z_out[0, 0])


def dense_wgrad(const floating[:, ::1] xd, const floating[:, ::1] dA, floating[:, ::1] G, double alpha, double beta,
                Py_ssize_t i0, Py_ssize_t i1):
    """G[i] := beta G[i] + alpha xd[:, i] @ dA for columns i0 <= i < i1 of xd (G not read where beta is 0): those
    rows of dW1 (alpha 1, beta 0) or of an SGD step (alpha -lr), by the panel kernel."""
    cdef Py_ssize_t n = xd.shape[0], h = dA.shape[1]
    if i1 <= i0 or h == 0:
        return
    if floating is float:
        with nogil:
            fastnn_dense_wgrad_f(i0, i1, n, h, &xd[0, 0] if n else NULL, xd.shape[1], &dA[0, 0] if n else NULL, h,
                                 &G[0, 0], <float> alpha, <float> beta)
    else:
        with nogil:
            fastnn_dense_wgrad_d(i0, i1, n, h, &xd[0, 0] if n else NULL, xd.shape[1], &dA[0, 0] if n else NULL, h,
                                 &G[0, 0], alpha, beta)


def count_rest(const Py_ssize_t[::1] indptr, const int32_t[::1] indices, const int32_t[::1] place, Py_ssize_t kd,
               Py_ssize_t[::1] counts_out, int n_threads):
    """counts_out[i] := the nonzeros of CSR row i in columns j with place[j] >= kd (split_columns' rest)."""
    cdef Py_ssize_t i, p, k, n = indptr.shape[0] - 1
    for i in prange(n, nogil=True, schedule='static', num_threads=max(1, n_threads)):
        k = 0
        for p in range(indptr[i], indptr[i + 1]):
            k = k + (place[indices[p]] >= kd)
        counts_out[i] = k


def split_columns(const Py_ssize_t[::1] indptr, const int32_t[::1] indices, const floating[::1] values,
                  const int32_t[::1] place, floating[:, ::1] dense_out, const Py_ssize_t[::1] rest_indptr,
                  int32_t[::1] rest_indices, floating[::1] rest_values, int n_threads):
    """The CSR's nonzeros apart by column, each column j renumbered place[j]: those with place[j] < kd
    (kd = dense_out.shape[1], at least 1) into dense_out[i, place[j]] (zeros elsewhere, which the caller
    provides), the others into the CSR rest (rest_indptr from count_rest's counts)."""
    cdef Py_ssize_t i, p, q, j, n = indptr.shape[0] - 1, kd = dense_out.shape[1]
    for i in prange(n, nogil=True, schedule='static', num_threads=max(1, n_threads)):
        q = rest_indptr[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = place[indices[p]]
            if j < kd:
                dense_out[i, j] = values[p]
            else:
                rest_indices[q] = <int32_t> j
                rest_values[q] = values[p]
                q = q + 1


def count_columns(const int32_t[::1] indices, Py_ssize_t[::1] counts_out):
    """counts_out[j] += how many of the indices are j (counts_out has room for every index)."""
    cdef Py_ssize_t p
    with nogil:
        for p in range(indices.shape[0]):
            counts_out[indices[p]] += 1
