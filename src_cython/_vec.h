/* Loops the compiler vectorizes: restrict pointers (no aliasing), no branches in the bodies.
 * (sqrt vectorizes only with -fno-math-errno, which setup.py passes.) */
#ifndef FASTNN_VEC_H
#define FASTNN_VEC_H
#include <math.h>

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

#endif
