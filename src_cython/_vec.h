/* Loops the compiler vectorizes: restrict pointers (no aliasing), no branches in the bodies.
 * (sqrt vectorizes only with -fno-math-errno, which setup.py passes.) */
#ifndef FASTNN_VEC_H
#define FASTNN_VEC_H
#include <math.h>
#include <string.h>
#if defined(_MSC_VER) && !defined(__clang__) && !defined(restrict)
#define restrict __restrict  /* MSVC's C knows restrict only from /std:c11 on */
#define FASTNN_UNDEF_RESTRICT
#endif

/* One optimizer step on n parameters with gradient g + lam w, as fastnn.optimizers writes it:
 * 0 SGD; 1 Momentum (s1 := p1 s1 - lr g; w += s1); 2 Adam with lr = lr_t (s1, s2 the moments). */
#define FASTNN_UPDATE(T, SUFFIX, SQRT)                                                                    \
static inline void fastnn_update_##SUFFIX(Py_ssize_t n, int opt, T* restrict w, const T* restrict g,        \
                                          T* restrict s1, T* restrict s2, T lr, T p1, T p2, T eps, T lam) { \
    if (opt == 0) {                                                                                        \
        for (Py_ssize_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + lam * w[i]);                                \
    } else if (opt == 1) {                                                                                 \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                               \
            T s = s1[i] * p1 - lr * (g[i] + lam * w[i]);                                                   \
            s1[i] = s;                                                                                     \
            w[i] += s;                                                                                     \
        }                                                                                                  \
    } else {                                                                                               \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                               \
            T gi = g[i] + lam * w[i];                                                                      \
            T m = s1[i] + (1 - p1) * (gi - s1[i]);                                                         \
            T v = s2[i] + (1 - p2) * (gi * gi - s2[i]);                                                    \
            s1[i] = m;                                                                                     \
            s2[i] = v;                                                                                     \
            w[i] -= lr * m / (SQRT(v) + eps);                                                              \
        }                                                                                                  \
    }                                                                                                      \
}

FASTNN_UPDATE(float, f, sqrtf)
FASTNN_UPDATE(double, d, sqrt)

/* sum_i w[i]^2 in double, over FASTNN_SUM_LANES interleaved partial sums (a single running sum is a chain of
 * dependent additions, one per element; separate ones vectorize without reassociating any one sum), which
 * are then added in lane order. */
#define FASTNN_SUM_LANES 16
#define FASTNN_SUM_SQUARES(T, SUFFIX)                                                                      \
static inline double fastnn_sum_squares_##SUFFIX(Py_ssize_t n, const T* restrict w) {                     \
    double part[FASTNN_SUM_LANES] = {0};                                                                   \
    Py_ssize_t i = 0, k;                                                                                   \
    for (; i + FASTNN_SUM_LANES <= n; i += FASTNN_SUM_LANES)                                               \
        for (k = 0; k < FASTNN_SUM_LANES; ++k) part[k] += (double) w[i + k] * (double) w[i + k];           \
    for (k = 0; i < n; ++i, ++k) part[k] += (double) w[i] * (double) w[i];                                 \
    double total = 0;                                                                                      \
    for (k = 0; k < FASTNN_SUM_LANES; ++k) total += part[k];                                               \
    return total;                                                                                          \
}

/* out[j] := sum_i a[i * stride + j] over rows i = 0 .. rows - 1 in that order, for j < n: column sums
 * (a bias's gradient), vectorized across columns, each column summed in row order. */
#define FASTNN_COLUMN_SUMS(T, SUFFIX)                                                                      \
static inline void fastnn_column_sums_##SUFFIX(Py_ssize_t rows, Py_ssize_t n, const T* restrict a,         \
                                               Py_ssize_t stride, T* restrict out) {                       \
    for (Py_ssize_t j = 0; j < n; ++j) out[j] = 0;                                                         \
    for (Py_ssize_t i = 0; i < rows; ++i)                                                                  \
        for (Py_ssize_t j = 0; j < n; ++j) out[j] += a[i * stride + j];                                    \
}

FASTNN_SUM_SQUARES(float, f)
FASTNN_SUM_SQUARES(double, d)
FASTNN_COLUMN_SUMS(float, f)
FASTNN_COLUMN_SUMS(double, d)

/* exp(x) in float32, branch-free so that loops of it vectorize (libm's expf is a call): Cephes' expf,
 * exp(x) = 2^n exp(r), |r| <= ln2 / 2, a degree-7 polynomial; n rounded by the 1.5 * 2^23 trick (needs
 * IEEE arithmetic: no -ffast-math). Within 1 ulp of glibc's expf for every float in [-87, 88] (checked
 * exhaustively); x is clamped to [-87.3, 88.7] (below, exp(x) would be subnormal; above, inf). */
static inline float fastnn_expf(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.7f ? 88.7f : x;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int bits = ((int) n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* a[k] := exp(a[k] - m) for k < n, in float32 (a softmax's numerators, m the row's largest entry): vectorized,
 * where libm's expf is one call an entry (the logits' softmax took ~100 ns a row of 10 that way). */
static inline void fastnn_exp_shifted_f(Py_ssize_t n, float* restrict a, float m) {
    for (Py_ssize_t k = 0; k < n; ++k) a[k] = fastnn_expf(a[k] - m);
}

/* z[j] := sigmoid(z[j] + b[j]) for j < n, in float32, from exp(-|a|) (which never overflows). */
static inline void fastnn_bias_sigmoid_f(Py_ssize_t n, float* restrict z, const float* restrict b) {
    for (Py_ssize_t j = 0; j < n; ++j) {
        float a = z[j] + b[j];
        float e = fastnn_expf(a < 0 ? a : -a);
        float num = a >= 0 ? 1.0f : e;
        z[j] = num / (1.0f + e);
    }
}

#ifdef FASTNN_UNDEF_RESTRICT
#undef restrict  /* the Windows SDK headers included after this one spell __declspec(restrict) */
#undef FASTNN_UNDEF_RESTRICT
#endif
#endif
