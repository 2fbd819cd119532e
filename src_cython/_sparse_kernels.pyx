# cython: language_level=3, cdivision=True
# boundscheck, wraparound and initializedcheck come from setup.py: off, on in a FASTNN_DEBUG_BUILD=1 build.
"""Python access to the sparse first-layer kernels of src_cython/_sparse.h, for tests and benchmarks.

Design
------
The kernels are C (_sparse.h, declared in _sparse.pxd) so that the compiled epoch loops can ``cimport``
them and call them inside their own ``prange`` regions; this module only hands NumPy buffers to them, one
call per function, with no validation (fastnn/_sparse.py is the policy and the public side). The same
functions with the same signatures are numba's in fastnn/_sparse_numba.py. Index buffers: indptr and
colptr of intp, indices and rows of int32; an empty perm means the rows of x themselves.
"""
from cython cimport floating
from libc.stdint cimport int32_t

from _sparse cimport (FASTNN_ISA_AVX2, FASTNN_ISA_AVX512, FASTNN_ISA_SCALAR, fastnn_sparse_cpu_isa,
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


def weight_grad(const Py_ssize_t[::1] colptr, const int32_t[::1] rows, const floating[::1] cvalues,
                const floating[:, ::1] dA1, floating[:, ::1] dW1_out, Py_ssize_t j0, Py_ssize_t j1):
    """dW1_out[j] := sum over column j's nonzeros of x[b, j] dA1[b], for pixels j0 <= j < j1."""
    if floating is float:
        with nogil:
            fastnn_sparse_weight_grad_f(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], &dW1_out[0, 0],
                                        dW1_out.shape[1])
    else:
        with nogil:
            fastnn_sparse_weight_grad_d(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], &dW1_out[0, 0],
                                        dW1_out.shape[1])


def sgd_step(const Py_ssize_t[::1] colptr, const int32_t[::1] rows, const floating[::1] cvalues,
             const floating[:, ::1] dA1, floating[:, ::1] W1, double lr, Py_ssize_t j0, Py_ssize_t j1,
             int32_t[::1] touched_out):
    """W1[j] -= lr dW1[j] for the pixels j0 <= j < j1 with a nonzero in the batch (lr != 0); their indices go
    to touched_out[:n]; returns n."""
    cdef Py_ssize_t n
    if floating is float:
        with nogil:
            n = fastnn_sparse_sgd_step_f(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], &W1[0, 0],
                                         W1.shape[1], <float> lr, &touched_out[0])
    else:
        with nogil:
            n = fastnn_sparse_sgd_step_d(j0, j1, &colptr[0], &rows[0], &cvalues[0], &dA1[0, 0], &W1[0, 0],
                                         W1.shape[1], lr, &touched_out[0])
    return n
