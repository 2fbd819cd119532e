/* Sparse first-layer kernels: the two products of the first layer over the nonzeros of a batch of x.
 *
 * Design
 * ------
 * MNIST is 81% zeros and the first layer's products (z1 := xb W1 + b1 and dW1 := xb^T da1) are nearly all
 * of an epoch's FLOPs, so both are taken over the batch's nonzeros only:
 *
 *   count_row,   a row's nonzeros counted, then packed to the front (branch-free scan; AVX-512 compress,
 *   compress_row or an AVX2 left-pack by table in float32, where present): the inputs' CSR is built from
 *                these on every thread (src_cython/_sparse_kernels.pyx, count_rows and compress_rows), once
 *                for a fit or once per epoch; rows_to_csc and forward_rows take a row's nonzeros between
 *                begin[r] and end[r] (a CSR's indptr and indptr + 1, or the held CSR's through perm).
 *   gather_csr   xb = x[perm[start:stop]] as CSR (row pointers, int32 columns, values): one serial driver
 *                over compress_row, for tests and benchmarks.
 *   csr_to_csc   the same batch by column (a counting sort): for each input pixel j, its (batch row, value)
 *                pairs, rows ascending.
 *   forward      Z[b, :] := bias + sum_{nz j of row b} x[b, j] W1[j, :] for batch rows [r0, r1).
 *   weight_grad  dW1[j, :] := sum_{(b, v) in column j} v dA1[b, :] for pixels [j0, j1).
 *   sgd_step     the same, applied at once: W1[j, :] := W1[j, :] - lr * (that sum), only for the pixels
 *                with a nonzero in the batch (the others' gradient is 0); lists the pixels it touched.
 *
 * A per-nonzero update of an accumulator row in memory is load/store bound, so both products keep their
 * accumulators in vector registers: the hidden units are cut into blocks of at most NV_MAX vectors (16 on
 * AVX-512, 13 on AVX2: all accumulators plus the broadcast value fit the register file, the FMA taking its
 * W1 operand from memory; 13 covers a width of 100 in one block, measured 1.7x faster than 7 + 6), each block's
 * accumulators start from the bias (forward) or zero (dW1), take one FMA per nonzero and vector, and are
 * stored once. The last vector of a block covers the width's tail under a mask, so any hidden width works.
 * The block's vector count is a compile-time constant (a switch over 1..NV_MAX of one always-inline body)
 * so that the compiler unrolls the vector loop and keeps the accumulators in registers. The forward pass
 * prefetches the W1 row of a nonzero PREFETCH_AHEAD nonzeros ahead (rows of W1 are visited at random and
 * come from L2); dW1 reads rows of dA1, which stay in L1 (the epoch loop gives them a stride of whole
 * 64-byte lines: measured ~15-20% faster than rows 400 bytes apart, whose vectors straddle lines).
 *
 * Sums run in the order of the nonzeros (columns ascending in a CSR row, batch rows ascending in a CSC
 * column), so results differ from a dense GEMM's only by rounding.
 *
 * Portability: the AVX-512 and AVX2+FMA bodies are compiled with GCC/Clang target attributes and chosen
 * once at run time from __builtin_cpu_supports (fastnn_sparse_set_isa lowers the choice, for tests and for
 * measuring an AVX2 machine on an AVX-512 one; the x86-64-v3 variant of the extensions, an AVX2 machine's
 * build, never goes above AVX2); every compiler (MSVC included) builds the portable scalar body. Kernels never allocate (the caller sizes the buffers for the worst case, rows * d nonzeros) and
 * never start threads: the ranges [r0, r1) and [j0, j1) are for the caller to split across its threads.
 * gather_csr and csr_to_csc work on a whole batch (each is a prefix sum; both are cheap next to the products).
 */
#ifndef FASTNN_SPARSE_H
#define FASTNN_SPARSE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define FASTNN_SPARSE_X86 1
#include <immintrin.h>
#define FASTNN_TARGET(isa) __attribute__((target(isa)))
#define FASTNN_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define FASTNN_SPARSE_X86 0
#define FASTNN_TARGET(isa)
#define FASTNN_ALWAYS_INLINE static inline
#endif
#if defined(__GNUC__) || defined(__clang__)
#define FASTNN_UNROLL _Pragma("GCC unroll 16")
#if FASTNN_SPARSE_X86
/* A volatile asm, not __builtin_prefetch: GCC 12 deletes a loop whose only effect is __builtin_prefetch (the
 * prefetch of a row whose length is known at run time vanished from the binary). */
#define FASTNN_PREFETCH(p) __asm__ __volatile__("prefetcht0 %0" : : "m"(*(const char*) (p)))
#define FASTNN_PREFETCH_L2(p) __asm__ __volatile__("prefetcht2 %0" : : "m"(*(const char*) (p)))
#else
#define FASTNN_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define FASTNN_PREFETCH_L2(p) __builtin_prefetch((p), 0, 1)
#endif
#else
#define FASTNN_UNROLL
#define FASTNN_PREFETCH(p) ((void)(p))
#define FASTNN_PREFETCH_L2(p) ((void)(p))
#endif

/* Nonzeros ahead of the current one whose W1 row the forward pass asks the cache for. */
#define FASTNN_SPARSE_PREFETCH_AHEAD 8

enum { FASTNN_ISA_SCALAR = 0, FASTNN_ISA_AVX2 = 1, FASTNN_ISA_AVX512 = 2 };

/* The widest body this CPU runs. */
static int fastnn_sparse_cpu_isa(void) {
#if FASTNN_SPARSE_X86
    __builtin_cpu_init();
#if !(defined(__AVX2__) && !defined(__AVX512F__))
    /* (not in the x86-64-v3 variant: it is an AVX2 machine's build, run on a wider CPU only when FASTNN_ISA=v3
     * asks for one, and then its kernels must be an AVX2 machine's too) */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt")) return FASTNN_ISA_AVX512;
#endif
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FASTNN_ISA_AVX2;
#endif
    return FASTNN_ISA_SCALAR;
}

static int fastnn_sparse_isa_level = -1;

/* The body in use: the CPU's widest unless lowered by fastnn_sparse_set_isa. */
static int fastnn_sparse_isa(void) {
    if (fastnn_sparse_isa_level < 0) fastnn_sparse_isa_level = fastnn_sparse_cpu_isa();
    return fastnn_sparse_isa_level;
}

/* Use body isa (never above the CPU's); returns the one now in use. */
static int fastnn_sparse_set_isa(int isa) {
    int cpu = fastnn_sparse_cpu_isa();
    fastnn_sparse_isa_level = isa < 0 ? 0 : (isa > cpu ? cpu : isa);
    return fastnn_sparse_isa_level;
}

/* Ask for the n bytes at p (the next row of a gather: x's rows come from memory in random order). */
static inline void fastnn_prefetch_row(const char* p, ptrdiff_t n) {
    for (ptrdiff_t c = 0; c < n; c += 64) FASTNN_PREFETCH(p + c);
}

/* Ask for the n bytes at p to be brought to the outer caches only (L2 and beyond): data wanted a while from
 * now, which would only evict what is in use from L1. */
static inline void fastnn_prefetch_row_l2(const char* p, ptrdiff_t n) {
    for (ptrdiff_t c = 0; c < n; c += 64) FASTNN_PREFETCH_L2(p + c);
}

/* Rows ahead of the current one whose nonzeros the CSC build asks the cache for: the rows of a held CSR are
 * read through perm, so each starts at a random place of an array far larger than the caches. */
#define FASTNN_CSC_ROWS_AHEAD 4

/* Ask for the nonzeros p0 .. p1 - 1 (their int32 indices and their values of `size` bytes each). */
static inline void fastnn_prefetch_nonzeros(const int32_t* indices, const void* values, ptrdiff_t p0, ptrdiff_t p1,
                                            size_t size) {
    if (p1 <= p0) return;
    fastnn_prefetch_row((const char*) (indices + p0), (p1 - p0) * (ptrdiff_t) sizeof(int32_t));
    fastnn_prefetch_row((const char*) values + p0 * (ptrdiff_t) size, (p1 - p0) * (ptrdiff_t) size);
}

/* ---- gather and transpose (type-generic, scalar) ------------------------------------------------------ */

/* One row's nonzeros (columns ascending) to indices/values; returns how many. Every body may write up to d
 * entries there (full vectors at the cursor), never more. Scalar, branch-free: every element is written at
 * the cursor, which advances only past a nonzero. */
#define FASTNN_COMPRESS_SCALAR(T, SUF)                                                                       \
static ptrdiff_t fastnn_compress_row_scalar_##SUF(const T* row, ptrdiff_t d, int32_t* indices, T* values) {  \
    ptrdiff_t nnz = 0;                                                                                       \
    for (ptrdiff_t k = 0; k < d; ++k) {                                                                      \
        T v = row[k];                                                                                        \
        values[nnz] = v;                                                                                     \
        indices[nnz] = (int32_t) k;                                                                          \
        nnz += (v != 0);                                                                                     \
    }                                                                                                        \
    return nnz;                                                                                              \
}

/* The batch's CSC from its rows (row r's nonzeros at begin[r] .. end[r] - 1: a CSR's indptr and indptr + 1, or
 * padded slots; counting sort by column, rows ascending within a column). colptr (d + 1 entries) first counts,
 * then serves as each column's write cursor, then is shifted back to the starts.
 */
#define FASTNN_ROWS_TO_CSC(T, SUF)                                                                           \
static void fastnn_rows_to_csc_##SUF(ptrdiff_t n_rows, const ptrdiff_t* begin, const ptrdiff_t* end,         \
                                     const int32_t* indices, const T* values, ptrdiff_t d, ptrdiff_t* colptr, \
                                     int32_t* rows, T* cvalues) {                                            \
    memset(colptr, 0, (size_t) (d + 1) * sizeof(ptrdiff_t));                                                 \
    for (ptrdiff_t r = 0; r < n_rows && r < FASTNN_CSC_ROWS_AHEAD; ++r)                                       \
        fastnn_prefetch_nonzeros(indices, values, begin[r], end[r], sizeof(T));                              \
    for (ptrdiff_t r = 0; r < n_rows; ++r) {                                                                 \
        const ptrdiff_t p1 = end[r];                                                                         \
        if (r + FASTNN_CSC_ROWS_AHEAD < n_rows)                                                              \
            fastnn_prefetch_nonzeros(indices, values, begin[r + FASTNN_CSC_ROWS_AHEAD],                      \
                                     end[r + FASTNN_CSC_ROWS_AHEAD], sizeof(T));                             \
        for (ptrdiff_t p = begin[r]; p < p1; ++p) colptr[indices[p] + 1]++;                                  \
    }                                                                                                        \
    for (ptrdiff_t j = 0; j < d; ++j) colptr[j + 1] += colptr[j];                                            \
    for (ptrdiff_t r = 0; r < n_rows; ++r) {                                                                 \
        const ptrdiff_t p1 = end[r];                                                                         \
        for (ptrdiff_t p = begin[r]; p < p1; ++p) {                                                          \
            ptrdiff_t q = colptr[indices[p]]++;                                                              \
            rows[q] = (int32_t) r;                                                                           \
            cvalues[q] = values[p];                                                                          \
        }                                                                                                    \
    }                                                                                                        \
    for (ptrdiff_t j = d; j > 0; --j) colptr[j] = colptr[j - 1];                                             \
    colptr[0] = 0;                                                                                           \
}

FASTNN_COMPRESS_SCALAR(float, f)
FASTNN_COMPRESS_SCALAR(double, d)
FASTNN_ROWS_TO_CSC(float, f)
FASTNN_ROWS_TO_CSC(double, d)

#if FASTNN_SPARSE_X86
/* AVX-512: 16 (8) elements at a time, nonzeros compressed to the front of a register and stored; a full
 * chunk stores a whole register, the row's tail chunk stores under a mask. */
FASTNN_TARGET("avx512f,popcnt")
static ptrdiff_t fastnn_compress_row_avx512_f(const float* row, ptrdiff_t d, int32_t* indices, float* values) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 zero = _mm512_setzero_ps();
    ptrdiff_t nnz = 0, k = 0;
    for (; k + 16 <= d; k += 16) {
        __m512 v = _mm512_loadu_ps(row + k);
        __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
        _mm512_storeu_ps(values + nnz, _mm512_maskz_compress_ps(m, v));
        _mm512_storeu_si512((void*) (indices + nnz),
                            _mm512_maskz_compress_epi32(m, _mm512_add_epi32(iota, _mm512_set1_epi32((int) k))));
        nnz += _mm_popcnt_u32((unsigned) m);
    }
    if (k < d) {
        __mmask16 tail = (__mmask16) ((1u << (d - k)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(tail, row + k);
        __mmask16 m = _mm512_mask_cmp_ps_mask(tail, v, zero, _CMP_NEQ_UQ);
        int c = _mm_popcnt_u32((unsigned) m);
        __mmask16 out = (__mmask16) ((1u << c) - 1);
        _mm512_mask_storeu_ps(values + nnz, out, _mm512_maskz_compress_ps(m, v));
        _mm512_mask_storeu_epi32(indices + nnz, out,
                                 _mm512_maskz_compress_epi32(m, _mm512_add_epi32(iota, _mm512_set1_epi32((int) k))));
        nnz += c;
    }
    return nnz;
}

FASTNN_TARGET("avx512f,popcnt")
static ptrdiff_t fastnn_compress_row_avx512_d(const double* row, ptrdiff_t d, int32_t* indices, double* values) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512d zero = _mm512_setzero_pd();
    ptrdiff_t nnz = 0;
    for (ptrdiff_t k = 0; k < d; k += 8) {
        __mmask8 tail = (__mmask8) (k + 8 <= d ? 0xFF : (1u << (d - k)) - 1);
        __m512d v = _mm512_maskz_loadu_pd(tail, row + k);
        __mmask8 m = _mm512_mask_cmp_pd_mask(tail, v, zero, _CMP_NEQ_UQ);
        int c = _mm_popcnt_u32((unsigned) m);
        __mmask8 out = (__mmask8) ((1u << c) - 1);
        _mm512_mask_storeu_pd(values + nnz, out, _mm512_maskz_compress_pd(m, v));
        _mm512_mask_storeu_epi32(indices + nnz, (__mmask16) out,
                                 _mm512_maskz_compress_epi32((__mmask16) m,
                                                             _mm512_add_epi32(iota, _mm512_set1_epi32((int) k))));
        nnz += c;
    }
    return nnz;
}
#endif

/* ---- the products: one body per (instruction set, type), from the vector operations below ------------- *
 * VT vector, W lanes, MT tail mask; LOAD/STORE full vectors, LOADM/STOREM the tail vector; NV_MAX vectors
 * per block of hidden units. */

#define FASTNN_SCALAR_OPS(T)                                                                                 \
    typedef T VT; typedef int MT;                                                                            \
    enum { W = 1, NV_MAX = 8 }; (void) sizeof(VT); (void) sizeof(MT);

/* The block bodies, written once. N (vectors in the block) is a constant at every call site; the last vector
 * has `tail` valid lanes, under mask `m`. */
#define FASTNN_SPARSE_BODIES(T, SUF, TGT, OPS, LOAD, LOADM, STORE, STOREM, FMA, SET1, ZERO, MUL, SUB, MASKOF) \
                                                                                                             \
/* Z[b, k0:k0 + width] for rows [r0, r1): bias (row b of it, rows bstride apart: 0 for one bias vector),    \
 * plus one FMA per nonzero and vector. */                                                                   \
FASTNN_ALWAYS_INLINE TGT void fastnn_fwd_block_##SUF(int N, ptrdiff_t r0, ptrdiff_t r1, const ptrdiff_t* begin, \
        const ptrdiff_t* end,                                                                                \
        const int32_t* indices, const T* values, const T* W1, const T* bias, ptrdiff_t bstride, T* Z,        \
        ptrdiff_t h, ptrdiff_t k0, int tail) {                                                               \
    OPS                                                                                                      \
    MT m = MASKOF(tail);                                                                                     \
    VT acc[16];                                                                                                \
    (void) m;                                                                                                \
    for (ptrdiff_t b = r0; b < r1; ++b) {                                                                    \
        const T* bk = bias + b * bstride + k0;                                                               \
        FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) acc[v] = LOAD(bk + v * W);                             \
        acc[N - 1] = LOADM(bk + (N - 1) * W, m);                                                             \
        ptrdiff_t p1 = end[b];                                                                               \
        ptrdiff_t pf = p1 - FASTNN_SPARSE_PREFETCH_AHEAD;                                                    \
        for (ptrdiff_t p = begin[b]; p < p1; ++p) {                                                          \
            if (p < pf) {                                                                                    \
                const char* next = (const char*) (W1 + (ptrdiff_t) indices[p + FASTNN_SPARSE_PREFETCH_AHEAD] * h + k0); \
                FASTNN_UNROLL for (int c = 0; c < (int) ((N * W * sizeof(T) + 63) / 64); ++c)                \
                    FASTNN_PREFETCH(next + 64 * c);                                                          \
            }                                                                                                \
            VT xv = SET1(values[p]);                                                                         \
            const T* w = W1 + (ptrdiff_t) indices[p] * h + k0;                                               \
            FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) acc[v] = FMA(xv, LOAD(w + v * W), acc[v]);         \
            acc[N - 1] = FMA(xv, LOADM(w + (N - 1) * W, m), acc[N - 1]);                                     \
        }                                                                                                    \
        T* zb = Z + b * h + k0;                                                                              \
        FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) STORE(zb + v * W, acc[v]);                             \
        STOREM(zb + (N - 1) * W, acc[N - 1], m);                                                             \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
/* sum_{(b, v) in column j} v dA1[b, k0:k0 + width] for pixels [j0, j1): into G (lr == 0), or subtracted   \
 * as lr times it from G = W1 (lr != 0, pixels without a nonzero skipped). */                               \
FASTNN_ALWAYS_INLINE TGT void fastnn_wgrad_block_##SUF(int N, ptrdiff_t j0, ptrdiff_t j1, const ptrdiff_t* colptr, \
        const int32_t* rows, const T* cvalues, const T* dA1, ptrdiff_t lda, T* G, ptrdiff_t h, ptrdiff_t k0,   \
        int tail, T lr) {                                                                                    \
    OPS                                                                                                      \
    MT m = MASKOF(tail);                                                                                     \
    VT acc[16];                                                                                                \
    VT lrv = SET1(lr);                                                                                       \
    (void) m;                                                                                                \
    for (ptrdiff_t j = j0; j < j1; ++j) {                                                                    \
        ptrdiff_t q0 = colptr[j], q1 = colptr[j + 1];                                                        \
        if (lr != 0 && q0 == q1) continue;                                                                   \
        FASTNN_UNROLL for (int v = 0; v < N; ++v) acc[v] = ZERO;                                             \
        for (ptrdiff_t q = q0; q < q1; ++q) {                                                                \
            VT xv = SET1(cvalues[q]);                                                                        \
            const T* a = dA1 + (ptrdiff_t) rows[q] * lda + k0;                                               \
            FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) acc[v] = FMA(xv, LOAD(a + v * W), acc[v]);         \
            acc[N - 1] = FMA(xv, LOADM(a + (N - 1) * W, m), acc[N - 1]);                                     \
        }                                                                                                    \
        T* g = G + j * h + k0;                                                                               \
        if (lr != 0) {                                                                                       \
            FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) STORE(g + v * W, SUB(LOAD(g + v * W), MUL(lrv, acc[v]))); \
            STOREM(g + (N - 1) * W, SUB(LOADM(g + (N - 1) * W, m), MUL(lrv, acc[N - 1])), m);                \
        } else {                                                                                             \
            FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) STORE(g + v * W, acc[v]);                          \
            STOREM(g + (N - 1) * W, acc[N - 1], m);                                                          \
        }                                                                                                    \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
/* The hidden units in blocks of equal vector counts (at most NV_MAX each); each block by its constant N. */ \
TGT static void fastnn_forward_##SUF(ptrdiff_t r0, ptrdiff_t r1, const ptrdiff_t* begin, const ptrdiff_t* end,  \
        const int32_t* indices,                                                                              \
        const T* values, const T* W1, const T* bias, ptrdiff_t bstride, T* Z, ptrdiff_t h) {                 \
    OPS                                                                                                      \
    FASTNN_EACH_BLOCK(h, fastnn_fwd_block_##SUF, r0, r1, begin, end, indices, values, W1, bias, bstride, Z, h, k0, \
                      tail);                                                                                 \
}                                                                                                            \
                                                                                                             \
TGT static void fastnn_wgrad_##SUF(ptrdiff_t j0, ptrdiff_t j1, const ptrdiff_t* colptr, const int32_t* rows,  \
        const T* cvalues, const T* dA1, ptrdiff_t lda, T* G, ptrdiff_t h, T lr) {                            \
    OPS                                                                                                      \
    FASTNN_EACH_BLOCK(h, fastnn_wgrad_block_##SUF, j0, j1, colptr, rows, cvalues, dA1, lda, G, h, k0, tail, lr); \
}

/* The hidden units in blocks of equal vector counts, at most NVMAX each (W lanes a vector): the body (the
 * variadic arguments) run for each block with k0 (its first unit), N_ (its vectors) and tail (its last vector's
 * valid lanes) in scope. */
#define FASTNN_FOR_BLOCKS(h, NVMAX, ...)                                                                     \
    do {                                                                                                     \
        ptrdiff_t nvec_ = ((h) + W - 1) / W, nblk_ = (nvec_ + (NVMAX) - 1) / (NVMAX);                        \
        for (ptrdiff_t blk_ = 0, v0_ = 0; blk_ < nblk_; ++blk_) {                                            \
            int N_ = (int) ((nvec_ - v0_) / (nblk_ - blk_));                                                 \
            ptrdiff_t k0 = v0_ * W;                                                                          \
            int tail = (int) ((k0 + N_ * W <= (h)) ? W : (h) - (k0 + (N_ - 1) * W));                         \
            __VA_ARGS__                                                                                      \
            v0_ += N_;                                                                                       \
        }                                                                                                    \
    } while (0)

/* ... each block by its constant N (at most NV_MAX vectors): F(N, args...), where the args may name the
 * block's k0 and tail. */
#define FASTNN_EACH_BLOCK(h, F, ...)                                                                         \
    FASTNN_FOR_BLOCKS(h, NV_MAX, switch (N_) { FASTNN_SPARSE_CASES(F, __VA_ARGS__) })

#define FASTNN_SPARSE_CASES(F, ...)                                                                          \
    case 1: F(1, __VA_ARGS__); break;   case 2: F(2, __VA_ARGS__); break;                                    \
    case 3: F(3, __VA_ARGS__); break;   case 4: F(4, __VA_ARGS__); break;                                    \
    case 5: F(5, __VA_ARGS__); break;   case 6: F(6, __VA_ARGS__); break;                                    \
    case 7: F(7, __VA_ARGS__); break;   case 8: F(8, __VA_ARGS__); break;                                    \
    case 9: F(9, __VA_ARGS__); break;   case 10: F(10, __VA_ARGS__); break;                                  \
    case 11: F(11, __VA_ARGS__); break; case 12: F(12, __VA_ARGS__); break;                                  \
    case 13: F(13, __VA_ARGS__); break; case 14: F(14, __VA_ARGS__); break;                                  \
    case 15: F(15, __VA_ARGS__); break; default: F(16, __VA_ARGS__); break;

/* Scalar (portable; the compiler may still vectorize it for its baseline). */
#define FASTNN_S_LOAD(p) (*(p))
#define FASTNN_S_LOADM(p, m) (*(p))
#define FASTNN_S_STORE(p, v) (*(p) = (v))
#define FASTNN_S_STOREM(p, v, m) (*(p) = (v))
#define FASTNN_S_FMA(a, b, c) ((a) * (b) + (c))
#define FASTNN_S_SET1(s) (s)
#define FASTNN_S_MUL(a, b) ((a) * (b))
#define FASTNN_S_SUB(a, b) ((a) - (b))
#define FASTNN_S_MASKOF(t) 0
FASTNN_SPARSE_BODIES(float, scalar_f, , FASTNN_SCALAR_OPS(float), FASTNN_S_LOAD, FASTNN_S_LOADM, FASTNN_S_STORE,
                     FASTNN_S_STOREM, FASTNN_S_FMA, FASTNN_S_SET1, 0.0f, FASTNN_S_MUL, FASTNN_S_SUB, FASTNN_S_MASKOF)
FASTNN_SPARSE_BODIES(double, scalar_d, , FASTNN_SCALAR_OPS(double), FASTNN_S_LOAD, FASTNN_S_LOADM, FASTNN_S_STORE,
                     FASTNN_S_STOREM, FASTNN_S_FMA, FASTNN_S_SET1, 0.0, FASTNN_S_MUL, FASTNN_S_SUB, FASTNN_S_MASKOF)

#if FASTNN_SPARSE_X86
/* AVX-512: masks for the tail. */
#define FASTNN_Z_OPS_F typedef __m512 VT; typedef __mmask16 MT; enum { W = 16, NV_MAX = 16 }; (void) sizeof(VT); (void) sizeof(MT);
#define FASTNN_Z_OPS_D typedef __m512d VT; typedef __mmask8 MT; enum { W = 8, NV_MAX = 16 }; (void) sizeof(VT); (void) sizeof(MT);
#define FASTNN_Z_MASK16(t) ((__mmask16) (((t) >= 16) ? 0xFFFFu : ((1u << (t)) - 1)))
#define FASTNN_Z_MASK8(t) ((__mmask8) (((t) >= 8) ? 0xFFu : ((1u << (t)) - 1)))
#define FASTNN_Z_LOADM_F(p, m) _mm512_maskz_loadu_ps((m), (p))
#define FASTNN_Z_LOADM_D(p, m) _mm512_maskz_loadu_pd((m), (p))
#define FASTNN_Z_STOREM_F(p, v, m) _mm512_mask_storeu_ps((p), (m), (v))
#define FASTNN_Z_STOREM_D(p, v, m) _mm512_mask_storeu_pd((p), (m), (v))
FASTNN_SPARSE_BODIES(float, avx512_f, FASTNN_TARGET("avx512f"), FASTNN_Z_OPS_F, _mm512_loadu_ps, FASTNN_Z_LOADM_F,
                     _mm512_storeu_ps, FASTNN_Z_STOREM_F, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_setzero_ps(),
                     _mm512_mul_ps, _mm512_sub_ps, FASTNN_Z_MASK16)
FASTNN_SPARSE_BODIES(double, avx512_d, FASTNN_TARGET("avx512f"), FASTNN_Z_OPS_D, _mm512_loadu_pd, FASTNN_Z_LOADM_D,
                     _mm512_storeu_pd, FASTNN_Z_STOREM_D, _mm512_fmadd_pd, _mm512_set1_pd, _mm512_setzero_pd(),
                     _mm512_mul_pd, _mm512_sub_pd, FASTNN_Z_MASK8)

/* AVX2 row compressor (float): 8 elements at a time, left-packed by a table of lane orders (the set lanes of
 * each 8-bit nonzero mask, one byte each) and vpermps, as AVX-512's compress does in one instruction; full
 * vectors stored at the cursor, the row's tail scalar. double keeps the scalar body. */
static const uint64_t fastnn_leftpack_lanes[256] = {
    0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000001ull, 0x0000000000000100ull,
    0x0000000000000002ull, 0x0000000000000200ull, 0x0000000000000201ull, 0x0000000000020100ull,
    0x0000000000000003ull, 0x0000000000000300ull, 0x0000000000000301ull, 0x0000000000030100ull,
    0x0000000000000302ull, 0x0000000000030200ull, 0x0000000000030201ull, 0x0000000003020100ull,
    0x0000000000000004ull, 0x0000000000000400ull, 0x0000000000000401ull, 0x0000000000040100ull,
    0x0000000000000402ull, 0x0000000000040200ull, 0x0000000000040201ull, 0x0000000004020100ull,
    0x0000000000000403ull, 0x0000000000040300ull, 0x0000000000040301ull, 0x0000000004030100ull,
    0x0000000000040302ull, 0x0000000004030200ull, 0x0000000004030201ull, 0x0000000403020100ull,
    0x0000000000000005ull, 0x0000000000000500ull, 0x0000000000000501ull, 0x0000000000050100ull,
    0x0000000000000502ull, 0x0000000000050200ull, 0x0000000000050201ull, 0x0000000005020100ull,
    0x0000000000000503ull, 0x0000000000050300ull, 0x0000000000050301ull, 0x0000000005030100ull,
    0x0000000000050302ull, 0x0000000005030200ull, 0x0000000005030201ull, 0x0000000503020100ull,
    0x0000000000000504ull, 0x0000000000050400ull, 0x0000000000050401ull, 0x0000000005040100ull,
    0x0000000000050402ull, 0x0000000005040200ull, 0x0000000005040201ull, 0x0000000504020100ull,
    0x0000000000050403ull, 0x0000000005040300ull, 0x0000000005040301ull, 0x0000000504030100ull,
    0x0000000005040302ull, 0x0000000504030200ull, 0x0000000504030201ull, 0x0000050403020100ull,
    0x0000000000000006ull, 0x0000000000000600ull, 0x0000000000000601ull, 0x0000000000060100ull,
    0x0000000000000602ull, 0x0000000000060200ull, 0x0000000000060201ull, 0x0000000006020100ull,
    0x0000000000000603ull, 0x0000000000060300ull, 0x0000000000060301ull, 0x0000000006030100ull,
    0x0000000000060302ull, 0x0000000006030200ull, 0x0000000006030201ull, 0x0000000603020100ull,
    0x0000000000000604ull, 0x0000000000060400ull, 0x0000000000060401ull, 0x0000000006040100ull,
    0x0000000000060402ull, 0x0000000006040200ull, 0x0000000006040201ull, 0x0000000604020100ull,
    0x0000000000060403ull, 0x0000000006040300ull, 0x0000000006040301ull, 0x0000000604030100ull,
    0x0000000006040302ull, 0x0000000604030200ull, 0x0000000604030201ull, 0x0000060403020100ull,
    0x0000000000000605ull, 0x0000000000060500ull, 0x0000000000060501ull, 0x0000000006050100ull,
    0x0000000000060502ull, 0x0000000006050200ull, 0x0000000006050201ull, 0x0000000605020100ull,
    0x0000000000060503ull, 0x0000000006050300ull, 0x0000000006050301ull, 0x0000000605030100ull,
    0x0000000006050302ull, 0x0000000605030200ull, 0x0000000605030201ull, 0x0000060503020100ull,
    0x0000000000060504ull, 0x0000000006050400ull, 0x0000000006050401ull, 0x0000000605040100ull,
    0x0000000006050402ull, 0x0000000605040200ull, 0x0000000605040201ull, 0x0000060504020100ull,
    0x0000000006050403ull, 0x0000000605040300ull, 0x0000000605040301ull, 0x0000060504030100ull,
    0x0000000605040302ull, 0x0000060504030200ull, 0x0000060504030201ull, 0x0006050403020100ull,
    0x0000000000000007ull, 0x0000000000000700ull, 0x0000000000000701ull, 0x0000000000070100ull,
    0x0000000000000702ull, 0x0000000000070200ull, 0x0000000000070201ull, 0x0000000007020100ull,
    0x0000000000000703ull, 0x0000000000070300ull, 0x0000000000070301ull, 0x0000000007030100ull,
    0x0000000000070302ull, 0x0000000007030200ull, 0x0000000007030201ull, 0x0000000703020100ull,
    0x0000000000000704ull, 0x0000000000070400ull, 0x0000000000070401ull, 0x0000000007040100ull,
    0x0000000000070402ull, 0x0000000007040200ull, 0x0000000007040201ull, 0x0000000704020100ull,
    0x0000000000070403ull, 0x0000000007040300ull, 0x0000000007040301ull, 0x0000000704030100ull,
    0x0000000007040302ull, 0x0000000704030200ull, 0x0000000704030201ull, 0x0000070403020100ull,
    0x0000000000000705ull, 0x0000000000070500ull, 0x0000000000070501ull, 0x0000000007050100ull,
    0x0000000000070502ull, 0x0000000007050200ull, 0x0000000007050201ull, 0x0000000705020100ull,
    0x0000000000070503ull, 0x0000000007050300ull, 0x0000000007050301ull, 0x0000000705030100ull,
    0x0000000007050302ull, 0x0000000705030200ull, 0x0000000705030201ull, 0x0000070503020100ull,
    0x0000000000070504ull, 0x0000000007050400ull, 0x0000000007050401ull, 0x0000000705040100ull,
    0x0000000007050402ull, 0x0000000705040200ull, 0x0000000705040201ull, 0x0000070504020100ull,
    0x0000000007050403ull, 0x0000000705040300ull, 0x0000000705040301ull, 0x0000070504030100ull,
    0x0000000705040302ull, 0x0000070504030200ull, 0x0000070504030201ull, 0x0007050403020100ull,
    0x0000000000000706ull, 0x0000000000070600ull, 0x0000000000070601ull, 0x0000000007060100ull,
    0x0000000000070602ull, 0x0000000007060200ull, 0x0000000007060201ull, 0x0000000706020100ull,
    0x0000000000070603ull, 0x0000000007060300ull, 0x0000000007060301ull, 0x0000000706030100ull,
    0x0000000007060302ull, 0x0000000706030200ull, 0x0000000706030201ull, 0x0000070603020100ull,
    0x0000000000070604ull, 0x0000000007060400ull, 0x0000000007060401ull, 0x0000000706040100ull,
    0x0000000007060402ull, 0x0000000706040200ull, 0x0000000706040201ull, 0x0000070604020100ull,
    0x0000000007060403ull, 0x0000000706040300ull, 0x0000000706040301ull, 0x0000070604030100ull,
    0x0000000706040302ull, 0x0000070604030200ull, 0x0000070604030201ull, 0x0007060403020100ull,
    0x0000000000070605ull, 0x0000000007060500ull, 0x0000000007060501ull, 0x0000000706050100ull,
    0x0000000007060502ull, 0x0000000706050200ull, 0x0000000706050201ull, 0x0000070605020100ull,
    0x0000000007060503ull, 0x0000000706050300ull, 0x0000000706050301ull, 0x0000070605030100ull,
    0x0000000706050302ull, 0x0000070605030200ull, 0x0000070605030201ull, 0x0007060503020100ull,
    0x0000000007060504ull, 0x0000000706050400ull, 0x0000000706050401ull, 0x0000070605040100ull,
    0x0000000706050402ull, 0x0000070605040200ull, 0x0000070605040201ull, 0x0007060504020100ull,
    0x0000000706050403ull, 0x0000070605040300ull, 0x0000070605040301ull, 0x0007060504030100ull,
    0x0000070605040302ull, 0x0007060504030200ull, 0x0007060504030201ull, 0x0706050403020100ull
};

FASTNN_TARGET("avx2,fma,popcnt")
static ptrdiff_t fastnn_compress_row_avx2_f(const float* row, ptrdiff_t d, int32_t* indices, float* values) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 zero = _mm256_setzero_ps();
    ptrdiff_t nnz = 0, k = 0;
    for (; k + 8 <= d; k += 8) {
        __m256 v = _mm256_loadu_ps(row + k);
        unsigned m = (unsigned) _mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ));
        __m256i lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long) fastnn_leftpack_lanes[m]));
        _mm256_storeu_ps(values + nnz, _mm256_permutevar8x32_ps(v, lanes));
        _mm256_storeu_si256((__m256i*) (indices + nnz),
                            _mm256_permutevar8x32_epi32(_mm256_add_epi32(iota, _mm256_set1_epi32((int) k)), lanes));
        nnz += _mm_popcnt_u32(m);
    }
    for (; k < d; ++k) {  /* the row's tail, as the scalar body */
        float v = row[k];
        values[nnz] = v;
        indices[nnz] = (int32_t) k;
        nnz += (v != 0);
    }
    return nnz;
}

/* AVX2 + FMA: vmaskmov for the tail (the mask is a vector of lane tests). */
#define FASTNN_Y_OPS_F typedef __m256 VT; typedef __m256i MT; enum { W = 8, NV_MAX = 13 }; (void) sizeof(VT); (void) sizeof(MT);
#define FASTNN_Y_OPS_D typedef __m256d VT; typedef __m256i MT; enum { W = 4, NV_MAX = 13 }; (void) sizeof(VT); (void) sizeof(MT);
#define FASTNN_Y_MASK_F(t) _mm256_cmpgt_epi32(_mm256_set1_epi32(t), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define FASTNN_Y_MASK_D(t) _mm256_cmpgt_epi64(_mm256_set1_epi64x(t), _mm256_setr_epi64x(0, 1, 2, 3))
#define FASTNN_Y_LOADM_F(p, m) _mm256_maskload_ps((p), (m))
#define FASTNN_Y_LOADM_D(p, m) _mm256_maskload_pd((p), (m))
#define FASTNN_Y_STOREM_F(p, v, m) _mm256_maskstore_ps((p), (m), (v))
#define FASTNN_Y_STOREM_D(p, v, m) _mm256_maskstore_pd((p), (m), (v))
FASTNN_SPARSE_BODIES(float, avx2_f, FASTNN_TARGET("avx2,fma"), FASTNN_Y_OPS_F, _mm256_loadu_ps, FASTNN_Y_LOADM_F,
                     _mm256_storeu_ps, FASTNN_Y_STOREM_F, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_setzero_ps(),
                     _mm256_mul_ps, _mm256_sub_ps, FASTNN_Y_MASK_F)
FASTNN_SPARSE_BODIES(double, avx2_d, FASTNN_TARGET("avx2,fma"), FASTNN_Y_OPS_D, _mm256_loadu_pd, FASTNN_Y_LOADM_D,
                     _mm256_storeu_pd, FASTNN_Y_STOREM_D, _mm256_fmadd_pd, _mm256_set1_pd, _mm256_setzero_pd(),
                     _mm256_mul_pd, _mm256_sub_pd, FASTNN_Y_MASK_D)
#endif

/* ---- the entry points: the body for the instruction set in use --------------------------------------- */

#if FASTNN_SPARSE_X86
#define FASTNN_SPARSE_DISPATCH(NAME, SUF, ARGS)                                                              \
    switch (fastnn_sparse_isa()) {                                                                           \
    case FASTNN_ISA_AVX512: NAME##_avx512_##SUF ARGS; break;                                                 \
    case FASTNN_ISA_AVX2: NAME##_avx2_##SUF ARGS; break;                                                     \
    default: NAME##_scalar_##SUF ARGS; break;                                                                \
    }
#else
#define FASTNN_SPARSE_DISPATCH(NAME, SUF, ARGS) NAME##_scalar_##SUF ARGS;
#endif

#define FASTNN_SPARSE_API(T, SUF)                                                                            \
/* How many nonzeros one row of d values holds (a plain loop the compiler vectorizes). */                   \
static inline ptrdiff_t fastnn_sparse_count_row_##SUF(const T* row, ptrdiff_t d) {                            \
    ptrdiff_t n = 0;                                                                                         \
    for (ptrdiff_t k = 0; k < d; ++k) n += (row[k] != 0);                                                    \
    return n;                                                                                                \
}                                                                                                            \
/* One row's nonzeros (columns ascending) to indices / values, which must have room for d; returns how many. */ \
static inline ptrdiff_t fastnn_sparse_compress_row_##SUF(const T* row, ptrdiff_t d, int32_t* indices,        \
                                                         T* values) {                                        \
    FASTNN_COMPRESS_DISPATCH(SUF, (row, d, indices, values))                                                 \
}                                                                                                            \
/* CSR of x[perm[start:stop]] (perm NULL: x[start:stop]) into indptr (rows + 1), indices, values (rows * d); \
 * returns the number of nonzeros. */                                                                        \
static inline ptrdiff_t fastnn_sparse_gather_csr_##SUF(const T* x, ptrdiff_t d, const ptrdiff_t* perm,       \
        ptrdiff_t start, ptrdiff_t stop, ptrdiff_t* indptr, int32_t* indices, T* values) {                   \
    ptrdiff_t nnz = 0;                                                                                       \
    indptr[0] = 0;                                                                                           \
    for (ptrdiff_t r = start; r < stop; ++r) {                                                               \
        if (r + 1 < stop) fastnn_prefetch_row((const char*) (x + (perm ? perm[r + 1] : r + 1) * d),          \
                                              d * (ptrdiff_t) sizeof(T));                                    \
        nnz += fastnn_sparse_compress_row_##SUF(x + (perm ? perm[r] : r) * d, d, indices + nnz, values + nnz); \
        indptr[r - start + 1] = nnz;                                                                         \
    }                                                                                                        \
    return nnz;                                                                                              \
}                                                                                                            \
/* The batch's CSC: colptr (d + 1), rows and cvalues (nonzeros), from its CSR ... */                        \
static inline void fastnn_sparse_csr_to_csc_##SUF(ptrdiff_t n_rows, const ptrdiff_t* indptr,                 \
        const int32_t* indices, const T* values, ptrdiff_t d, ptrdiff_t* colptr, int32_t* rows, T* cvalues) { \
    fastnn_rows_to_csc_##SUF(n_rows, indptr, indptr + 1, indices, values, d, colptr, rows, cvalues);         \
}                                                                                                            \
/* ... or from rows whose nonzeros lie at begin[r] .. end[r] - 1 (e.g. each in its own padded slot). */      \
static inline void fastnn_sparse_rows_to_csc_##SUF(ptrdiff_t n_rows, const ptrdiff_t* begin,                 \
        const ptrdiff_t* end, const int32_t* indices, const T* values, ptrdiff_t d, ptrdiff_t* colptr,       \
        int32_t* rows, T* cvalues) {                                                                         \
    fastnn_rows_to_csc_##SUF(n_rows, begin, end, indices, values, d, colptr, rows, cvalues);                 \
}                                                                                                            \
/* Z[b, :] := bias + sum_p values[p] W1[indices[p], :] over row b's nonzeros, for b in [r0, r1), of a CSR ... */ \
static inline void fastnn_sparse_forward_##SUF(ptrdiff_t r0, ptrdiff_t r1, const ptrdiff_t* indptr,          \
        const int32_t* indices, const T* values, const T* W1, const T* bias, T* Z, ptrdiff_t h) {            \
    FASTNN_SPARSE_DISPATCH(fastnn_forward, SUF, (r0, r1, indptr, indptr + 1, indices, values, W1, bias, 0, Z, h)) \
}                                                                                                            \
/* ... or of rows whose nonzeros lie at begin[b] .. end[b] - 1 ... */                                       \
static inline void fastnn_sparse_forward_rows_##SUF(ptrdiff_t r0, ptrdiff_t r1, const ptrdiff_t* begin,      \
        const ptrdiff_t* end, const int32_t* indices, const T* values, const T* W1, const T* bias, T* Z,     \
        ptrdiff_t h) {                                                                                       \
    FASTNN_SPARSE_DISPATCH(fastnn_forward, SUF, (r0, r1, begin, end, indices, values, W1, bias, 0, Z, h))    \
}                                                                                                            \
/* ... or added to Z's rows: Z[b, :] += sum_p values[p] W1[indices[p], :] (the rest of a product whose dense \
 * columns a GEMM has put in Z). */                                                                          \
static inline void fastnn_sparse_forward_rows_add_##SUF(ptrdiff_t r0, ptrdiff_t r1, const ptrdiff_t* begin,  \
        const ptrdiff_t* end, const int32_t* indices, const T* values, const T* W1, T* Z, ptrdiff_t h) {     \
    FASTNN_SPARSE_DISPATCH(fastnn_forward, SUF, (r0, r1, begin, end, indices, values, W1, Z, h, Z, h))       \
}                                                                                                            \
/* dW1[j, :] := sum_q cvalues[q] dA1[rows[q], :] over column j's nonzeros, for j in [j0, j1) (dA1's rows lda \
 * apart, dW1's h). */                                                                                      \
static inline void fastnn_sparse_weight_grad_##SUF(ptrdiff_t j0, ptrdiff_t j1, const ptrdiff_t* colptr,      \
        const int32_t* rows, const T* cvalues, const T* dA1, ptrdiff_t lda, T* dW1, ptrdiff_t h) {           \
    FASTNN_SPARSE_DISPATCH(fastnn_wgrad, SUF, (j0, j1, colptr, rows, cvalues, dA1, lda, dW1, h, (T) 0))      \
}                                                                                                            \
/* W1[j, :] := W1[j, :] - lr dW1[j, :] for the j in [j0, j1) with a nonzero in the batch (the others' dW1  \
 * is 0); their indices go to touched (j1 - j0 entries, may be NULL); returns how many. lr must not be 0. */ \
static inline ptrdiff_t fastnn_sparse_sgd_step_##SUF(ptrdiff_t j0, ptrdiff_t j1, const ptrdiff_t* colptr,    \
        const int32_t* rows, const T* cvalues, const T* dA1, ptrdiff_t lda, T* W1, ptrdiff_t h, T lr,        \
        int32_t* touched) {                                                                                  \
    ptrdiff_t n = 0;                                                                                         \
    FASTNN_SPARSE_DISPATCH(fastnn_wgrad, SUF, (j0, j1, colptr, rows, cvalues, dA1, lda, W1, h, lr))          \
    for (ptrdiff_t j = j0; j < j1; ++j) {                                                                    \
        if (colptr[j + 1] > colptr[j]) {                                                                     \
            if (touched) touched[n] = (int32_t) j;                                                           \
            ++n;                                                                                             \
        }                                                                                                    \
    }                                                                                                        \
    return n;                                                                                                \
}

#if FASTNN_SPARSE_X86
#define FASTNN_COMPRESS_AVX2_f(ARGS) if (fastnn_sparse_isa() == FASTNN_ISA_AVX2) return fastnn_compress_row_avx2_f ARGS;
#define FASTNN_COMPRESS_AVX2_d(ARGS)  /* double: the scalar body (no left-pack table for 4 lanes) */
#define FASTNN_COMPRESS_DISPATCH(SUF, ARGS)                                                                  \
    if (fastnn_sparse_isa() == FASTNN_ISA_AVX512) return fastnn_compress_row_avx512_##SUF ARGS;              \
    FASTNN_COMPRESS_AVX2_##SUF(ARGS)                                                                         \
    return fastnn_compress_row_scalar_##SUF ARGS;
#else
#define FASTNN_COMPRESS_DISPATCH(SUF, ARGS) return fastnn_compress_row_scalar_##SUF ARGS;
#endif

FASTNN_SPARSE_API(float, f)
FASTNN_SPARSE_API(double, d)

#endif
