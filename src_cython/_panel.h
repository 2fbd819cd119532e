/* The first layer's products over a held input's dense columns (src_cython/_sparse_batch.pxd): two small
 * products of fixed shape, taken without packing.
 *
 *   panel_forward  Z[r, :] := sum_{j < k} X[r, j] W[j, :]                    rows r < m
 *   panel_wgrad    G[i, :] := beta G[i, :] + alpha sum_{s < n} X[s, i] D[s, :]  columns i0 <= i < i1 of X
 *
 * (X: a batch's rows of the dense columns, rows ldx apart; W: their rows of W1; D: the batch's dA1, rows ldd
 * apart; Z and G rows h apart. beta == 0 never reads G.) These are a GEMM's, but of a batch: m and n are the
 * batch's rows (~100), k the dense columns (~140 on MNIST), h the hidden units. A BLAS packs both operands on
 * every call, which at this size is a fifth of the call, and its kernels are tuned for large matrices (measured
 * on a Xeon with AVX-512, one thread, 100x140x100 float32: OpenBLAS 75-88 GFLOP/s, these 97-109).
 *
 * Register tile: PANEL_ROWS (6) rows of the output by a block of at most NV_PANEL vectors of units (4 with
 * AVX-512: 24 accumulators, 4 operand vectors and a broadcast of the 32 registers; 2 with AVX2's 16); the
 * operand vectors come from W's row j (forward) or D's row s (wgrad), loaded once and used by the tile's 6
 * rows, whose factors are broadcasts of X. A block's operand panel (k x 64 floats for AVX-512) stays in L1
 * across the row tiles. Units are cut into blocks as the sparse kernels' (FASTNN_FOR_BLOCKS, tail masked);
 * the rows left over after whole tiles take one tile of fewer rows. Sums run over j (s) ascending, as a
 * GEMM's do up to its blocking, so results differ from one only by rounding.
 */
#ifndef FASTNN_PANEL_H
#define FASTNN_PANEL_H
#include "_sparse.h"

#define FASTNN_PANEL_ROWS 6

#define FASTNN_PANEL_BODIES(T, SUF, TGT, OPS, LOAD, LOADM, STORE, STOREM, FMA, SET1, ZERO, MUL, MASKOF)      \
                                                                                                             \
/* R rows of Z, units k0 .. (N vectors, the last under mask m). */                                          \
FASTNN_ALWAYS_INLINE TGT void fastnn_pfwd_tile_##SUF(int R, int N, const T* X, ptrdiff_t ldx, const T* Wk,    \
        ptrdiff_t k, ptrdiff_t h, T* Z, int tail) {                                                          \
    OPS                                                                                                      \
    MT m = MASKOF(tail);                                                                                     \
    VT acc[FASTNN_PANEL_ROWS][4], w[4];                                                                      \
    (void) m;                                                                                                \
    FASTNN_UNROLL for (int r = 0; r < R; ++r) FASTNN_UNROLL for (int v = 0; v < N; ++v) acc[r][v] = ZERO;     \
    for (ptrdiff_t j = 0; j < k; ++j) {                                                                      \
        const T* wj = Wk + j * h;                                                                            \
        FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) w[v] = LOAD(wj + v * W);                               \
        w[N - 1] = LOADM(wj + (N - 1) * W, m);                                                               \
        FASTNN_UNROLL for (int r = 0; r < R; ++r) {                                                          \
            VT xv = SET1(X[r * ldx + j]);                                                                    \
            FASTNN_UNROLL for (int v = 0; v < N; ++v) acc[r][v] = FMA(xv, w[v], acc[r][v]);                  \
        }                                                                                                    \
    }                                                                                                        \
    FASTNN_UNROLL for (int r = 0; r < R; ++r) {                                                              \
        FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) STORE(Z + r * h + v * W, acc[r][v]);                   \
        STOREM(Z + r * h + (N - 1) * W, acc[r][N - 1], m);                                                   \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
/* R rows i .. i + R - 1 of G, units k0 .. (N vectors). X and G point at column / row i, D at unit k0. */     \
FASTNN_ALWAYS_INLINE TGT void fastnn_pwg_tile_##SUF(int R, int N, const T* X, ptrdiff_t ldx, const T* D,      \
        ptrdiff_t ldd, ptrdiff_t n, T* G, ptrdiff_t h, T alpha, T beta, int tail) {                          \
    OPS                                                                                                      \
    MT m = MASKOF(tail);                                                                                     \
    VT acc[FASTNN_PANEL_ROWS][4], dv[4];                                                                     \
    VT av = SET1(alpha), bv = SET1(beta);                                                                    \
    (void) m;                                                                                                \
    FASTNN_UNROLL for (int r = 0; r < R; ++r) FASTNN_UNROLL for (int v = 0; v < N; ++v) acc[r][v] = ZERO;     \
    for (ptrdiff_t s = 0; s < n; ++s) {                                                                      \
        const T* ds = D + s * ldd;                                                                           \
        FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) dv[v] = LOAD(ds + v * W);                              \
        dv[N - 1] = LOADM(ds + (N - 1) * W, m);                                                              \
        FASTNN_UNROLL for (int r = 0; r < R; ++r) {                                                          \
            VT xv = SET1(X[s * ldx + r]);                                                                    \
            FASTNN_UNROLL for (int v = 0; v < N; ++v) acc[r][v] = FMA(xv, dv[v], acc[r][v]);                 \
        }                                                                                                    \
    }                                                                                                        \
    FASTNN_UNROLL for (int r = 0; r < R; ++r) {                                                              \
        T* g = G + r * h;                                                                                    \
        if (beta == 0) {                                                                                     \
            FASTNN_UNROLL for (int v = 0; v < N - 1; ++v) STORE(g + v * W, MUL(av, acc[r][v]));              \
            STOREM(g + (N - 1) * W, MUL(av, acc[r][N - 1]), m);                                              \
        } else {                                                                                             \
            FASTNN_UNROLL for (int v = 0; v < N - 1; ++v)                                                    \
                STORE(g + v * W, FMA(av, acc[r][v], MUL(bv, LOAD(g + v * W))));                              \
            STOREM(g + (N - 1) * W, FMA(av, acc[r][N - 1], MUL(bv, LOADM(g + (N - 1) * W, m))), m);         \
        }                                                                                                    \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
TGT static void fastnn_panel_forward_##SUF(ptrdiff_t mrows, ptrdiff_t k, ptrdiff_t h, const T* X, ptrdiff_t ldx, \
        const T* Wm, T* Z) {                                                                                 \
    OPS                                                                                                      \
    FASTNN_FOR_BLOCKS(h, NV_PANEL, {                                                                             \
        ptrdiff_t r = 0;                                                                                     \
        for (; r + FASTNN_PANEL_ROWS <= mrows; r += FASTNN_PANEL_ROWS)                                       \
            FASTNN_PANEL_TILE(fastnn_pfwd_tile_##SUF, FASTNN_PANEL_ROWS, X + r * ldx, ldx, Wm + k0, k, h,    \
                              Z + r * h + k0, tail);                                                         \
        if (r < mrows)                                                                                       \
            FASTNN_PANEL_REST(fastnn_pfwd_tile_##SUF, mrows - r, X + r * ldx, ldx, Wm + k0, k, h,            \
                              Z + r * h + k0, tail);                                                         \
    });                                                                                                      \
}                                                                                                            \
                                                                                                             \
TGT static void fastnn_panel_wgrad_##SUF(ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t n, ptrdiff_t h, const T* X,     \
        ptrdiff_t ldx, const T* D, ptrdiff_t ldd, T* G, T alpha, T beta) {                                    \
    OPS                                                                                                      \
    FASTNN_FOR_BLOCKS(h, NV_PANEL, {                                                                             \
        ptrdiff_t i = i0;                                                                                    \
        for (; i + FASTNN_PANEL_ROWS <= i1; i += FASTNN_PANEL_ROWS)                                          \
            FASTNN_PANEL_TILE(fastnn_pwg_tile_##SUF, FASTNN_PANEL_ROWS, X + i, ldx, D + k0, ldd, n,          \
                              G + i * h + k0, h, alpha, beta, tail);                                         \
        if (i < i1)                                                                                          \
            FASTNN_PANEL_REST(fastnn_pwg_tile_##SUF, i1 - i, X + i, ldx, D + k0, ldd, n, G + i * h + k0, h,  \
                              alpha, beta, tail);                                                            \
    });                                                                                                      \
}

/* One tile of R rows (a constant) by N_ vectors (1 .. NV_PANEL, a constant per case). */
#define FASTNN_PANEL_TILE(F, R, ...)                                                                         \
    switch (N_) {                                                                                            \
    case 1: F(R, 1, __VA_ARGS__); break;                                                                     \
    case 2: F(R, 2, __VA_ARGS__); break;                                                                     \
    case 3: if (NV_PANEL >= 3) F(R, 3, __VA_ARGS__); break;                                                  \
    default: if (NV_PANEL >= 4) F(R, 4, __VA_ARGS__); break;                                                 \
    }

/* The rows left after whole tiles: one tile of rr (1 .. PANEL_ROWS - 1) rows. */
#define FASTNN_PANEL_REST(F, rr, ...)                                                                        \
    switch (rr) {                                                                                            \
    case 1: FASTNN_PANEL_TILE(F, 1, __VA_ARGS__) break;                                                      \
    case 2: FASTNN_PANEL_TILE(F, 2, __VA_ARGS__) break;                                                      \
    case 3: FASTNN_PANEL_TILE(F, 3, __VA_ARGS__) break;                                                      \
    case 4: FASTNN_PANEL_TILE(F, 4, __VA_ARGS__) break;                                                      \
    default: FASTNN_PANEL_TILE(F, 5, __VA_ARGS__) break;                                                     \
    }

#define FASTNN_SCALAR_PANEL_OPS(T) FASTNN_SCALAR_OPS(T) enum { NV_PANEL = 4 };
FASTNN_PANEL_BODIES(float, scalar_f, , FASTNN_SCALAR_PANEL_OPS(float), FASTNN_S_LOAD, FASTNN_S_LOADM, FASTNN_S_STORE,
                    FASTNN_S_STOREM, FASTNN_S_FMA, FASTNN_S_SET1, 0.0f, FASTNN_S_MUL, FASTNN_S_MASKOF)
FASTNN_PANEL_BODIES(double, scalar_d, , FASTNN_SCALAR_PANEL_OPS(double), FASTNN_S_LOAD, FASTNN_S_LOADM,
                    FASTNN_S_STORE, FASTNN_S_STOREM, FASTNN_S_FMA, FASTNN_S_SET1, 0.0, FASTNN_S_MUL, FASTNN_S_MASKOF)

#if FASTNN_SPARSE_X86
FASTNN_PANEL_BODIES(float, avx512_f, FASTNN_TARGET("avx512f"), FASTNN_Z_OPS_F enum { NV_PANEL = 4 };,
                    _mm512_loadu_ps, FASTNN_Z_LOADM_F, _mm512_storeu_ps, FASTNN_Z_STOREM_F, _mm512_fmadd_ps,
                    _mm512_set1_ps, _mm512_setzero_ps(), _mm512_mul_ps, FASTNN_Z_MASK16)
FASTNN_PANEL_BODIES(double, avx512_d, FASTNN_TARGET("avx512f"), FASTNN_Z_OPS_D enum { NV_PANEL = 4 };,
                    _mm512_loadu_pd, FASTNN_Z_LOADM_D, _mm512_storeu_pd, FASTNN_Z_STOREM_D, _mm512_fmadd_pd,
                    _mm512_set1_pd, _mm512_setzero_pd(), _mm512_mul_pd, FASTNN_Z_MASK8)
FASTNN_PANEL_BODIES(float, avx2_f, FASTNN_TARGET("avx2,fma"), FASTNN_Y_OPS_F enum { NV_PANEL = 2 };,
                    _mm256_loadu_ps, FASTNN_Y_LOADM_F, _mm256_storeu_ps, FASTNN_Y_STOREM_F, _mm256_fmadd_ps,
                    _mm256_set1_ps, _mm256_setzero_ps(), _mm256_mul_ps, FASTNN_Y_MASK_F)
FASTNN_PANEL_BODIES(double, avx2_d, FASTNN_TARGET("avx2,fma"), FASTNN_Y_OPS_D enum { NV_PANEL = 2 };,
                    _mm256_loadu_pd, FASTNN_Y_LOADM_D, _mm256_storeu_pd, FASTNN_Y_STOREM_D, _mm256_fmadd_pd,
                    _mm256_set1_pd, _mm256_setzero_pd(), _mm256_mul_pd, FASTNN_Y_MASK_D)
#endif

/* The entry points, for the instruction set in use (fastnn_sparse_isa). */
#define FASTNN_PANEL_API(T, SUF)                                                                             \
static inline void fastnn_dense_forward_##SUF(ptrdiff_t m, ptrdiff_t k, ptrdiff_t h, const T* X, ptrdiff_t ldx, \
        const T* Wm, T* Z) {                                                                                 \
    if (m <= 0 || h <= 0) return;                                                                            \
    FASTNN_SPARSE_DISPATCH(fastnn_panel_forward, SUF, (m, k, h, X, ldx, Wm, Z))                              \
}                                                                                                            \
static inline void fastnn_dense_wgrad_##SUF(ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t n, ptrdiff_t h, const T* X,  \
        ptrdiff_t ldx, const T* D, ptrdiff_t ldd, T* G, T alpha, T beta) {                                    \
    if (i1 <= i0 || h <= 0) return;                                                                          \
    FASTNN_SPARSE_DISPATCH(fastnn_panel_wgrad, SUF, (i0, i1, n, h, X, ldx, D, ldd, G, alpha, beta))          \
}

FASTNN_PANEL_API(float, f)
FASTNN_PANEL_API(double, d)

#endif
