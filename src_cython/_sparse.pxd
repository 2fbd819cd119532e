# cython: language_level=3
"""src_cython/_sparse.h for Cython: the sparse first-layer kernels (see the design note there), and
src_cython/_panel.h: the products over a held input's dense columns.

Buffers are the caller's: indptr (rows + 1) and colptr (d + 1) of Py_ssize_t, indices and rows of int32,
values and cvalues of the network's dtype, each nonzero array sized for rows * d. All functions are
nogil and noexcept; ranges [r0, r1) / [j0, j1) are for the caller to split across threads.
"""
from libc.stdint cimport int32_t

cdef extern from "_sparse.h" nogil:
    enum:
        FASTNN_ISA_SCALAR
        FASTNN_ISA_AVX2
        FASTNN_ISA_AVX512
    int fastnn_sparse_cpu_isa()
    int fastnn_sparse_isa()
    int fastnn_sparse_set_isa(int isa)

    Py_ssize_t fastnn_sparse_count_row_f(const float* row, Py_ssize_t d)
    Py_ssize_t fastnn_sparse_count_row_d(const double* row, Py_ssize_t d)
    Py_ssize_t fastnn_sparse_compress_row_f(const float* row, Py_ssize_t d, int32_t* indices, float* values)
    Py_ssize_t fastnn_sparse_compress_row_d(const double* row, Py_ssize_t d, int32_t* indices, double* values)
    void fastnn_prefetch_row(const char* p, Py_ssize_t n)
    void fastnn_prefetch_row_l2(const char* p, Py_ssize_t n)
    Py_ssize_t fastnn_sparse_gather_csr_f(const float* x, Py_ssize_t d, const Py_ssize_t* perm, Py_ssize_t start,
                                          Py_ssize_t stop, Py_ssize_t* indptr, int32_t* indices, float* values)
    Py_ssize_t fastnn_sparse_gather_csr_d(const double* x, Py_ssize_t d, const Py_ssize_t* perm, Py_ssize_t start,
                                          Py_ssize_t stop, Py_ssize_t* indptr, int32_t* indices, double* values)
    void fastnn_sparse_csr_to_csc_f(Py_ssize_t n_rows, const Py_ssize_t* indptr, const int32_t* indices,
                                    const float* values, Py_ssize_t d, Py_ssize_t* colptr, int32_t* rows,
                                    float* cvalues)
    void fastnn_sparse_csr_to_csc_d(Py_ssize_t n_rows, const Py_ssize_t* indptr, const int32_t* indices,
                                    const double* values, Py_ssize_t d, Py_ssize_t* colptr, int32_t* rows,
                                    double* cvalues)
    void fastnn_sparse_rows_to_csc_f(Py_ssize_t n_rows, const Py_ssize_t* begin, const Py_ssize_t* end,
                                     const int32_t* indices, const float* values, Py_ssize_t d, Py_ssize_t* colptr,
                                     int32_t* rows, float* cvalues)
    void fastnn_sparse_rows_to_csc_d(Py_ssize_t n_rows, const Py_ssize_t* begin, const Py_ssize_t* end,
                                     const int32_t* indices, const double* values, Py_ssize_t d, Py_ssize_t* colptr,
                                     int32_t* rows, double* cvalues)
    void fastnn_sparse_forward_rows_f(Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* begin, const Py_ssize_t* end,
                                      const int32_t* indices, const float* values, const float* W1, const float* bias,
                                      float* Z, Py_ssize_t h)
    void fastnn_sparse_forward_rows_d(Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* begin, const Py_ssize_t* end,
                                      const int32_t* indices, const double* values, const double* W1,
                                      const double* bias, double* Z, Py_ssize_t h)
    void fastnn_sparse_forward_rows_add_f(Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* begin,
                                          const Py_ssize_t* end, const int32_t* indices, const float* values,
                                          const float* W1, float* Z, Py_ssize_t h)
    void fastnn_sparse_forward_rows_add_d(Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* begin,
                                          const Py_ssize_t* end, const int32_t* indices, const double* values,
                                          const double* W1, double* Z, Py_ssize_t h)
    void fastnn_sparse_forward_f(Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* indptr, const int32_t* indices,
                                 const float* values, const float* W1, const float* bias, float* Z, Py_ssize_t h)
    void fastnn_sparse_forward_d(Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* indptr, const int32_t* indices,
                                 const double* values, const double* W1, const double* bias, double* Z,
                                 Py_ssize_t h)
    void fastnn_sparse_weight_grad_f(Py_ssize_t j0, Py_ssize_t j1, const Py_ssize_t* colptr, const int32_t* rows,
                                     const float* cvalues, const float* dA1, Py_ssize_t lda, float* dW1,
                                     Py_ssize_t h)
    void fastnn_sparse_weight_grad_d(Py_ssize_t j0, Py_ssize_t j1, const Py_ssize_t* colptr, const int32_t* rows,
                                     const double* cvalues, const double* dA1, Py_ssize_t lda, double* dW1,
                                     Py_ssize_t h)
    Py_ssize_t fastnn_sparse_sgd_step_f(Py_ssize_t j0, Py_ssize_t j1, const Py_ssize_t* colptr, const int32_t* rows,
                                        const float* cvalues, const float* dA1, Py_ssize_t lda, float* W1,
                                        Py_ssize_t h, float lr, int32_t* touched)
    Py_ssize_t fastnn_sparse_sgd_step_d(Py_ssize_t j0, Py_ssize_t j1, const Py_ssize_t* colptr, const int32_t* rows,
                                        const double* cvalues, const double* dA1, Py_ssize_t lda, double* W1,
                                        Py_ssize_t h, double lr, int32_t* touched)

cdef extern from "_panel.h" nogil:
    void fastnn_dense_forward_f(Py_ssize_t m, Py_ssize_t k, Py_ssize_t h, const float* X, Py_ssize_t ldx,
                                const float* W, float* Z)
    void fastnn_dense_forward_d(Py_ssize_t m, Py_ssize_t k, Py_ssize_t h, const double* X, Py_ssize_t ldx,
                                const double* W, double* Z)
    void fastnn_dense_wgrad_f(Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t n, Py_ssize_t h, const float* X, Py_ssize_t ldx,
                              const float* D, Py_ssize_t ldd, float* G, float alpha, float beta)
    void fastnn_dense_wgrad_d(Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t n, Py_ssize_t h, const double* X,
                              Py_ssize_t ldx, const double* D, Py_ssize_t ldd, double* G, double alpha, double beta)
