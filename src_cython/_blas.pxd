# cython: language_level=3
"""BLAS through scipy.linalg.cython_blas, wrapped once for row-major arrays.

NumPy arrays here are C-ordered (row-major); BLAS is column-major. A row-major matrix is the
column-major view of its transpose, so row-major C = op(A) op(B) is column-major
C^T = op(B)^T op(A)^T: call gemm with the operands swapped and the flags kept.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* A, int lda, const floating* B, int ldb,
                      floating beta, floating* C, int ldc) noexcept nogil:
    """Row-major C[m, n] := alpha op(A)[m, k] @ op(B)[k, n] + beta C; ld* are row lengths."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> B, &ldb, <float*> A, &lda, &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> B, &ldb, <double*> A, &lda, &beta, C, &ldc)
