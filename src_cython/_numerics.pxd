# cython: language_level=3
"""The scalar numerics of every Cython kernel, written once: the activation, loss and optimizer codes,
exp, the activations and their derivatives, the per-row softmax loss, Adam's step size and the optimizer
update (whose loops are C in _vec.h so that they vectorize).

The same functions for numba are in fastnn/_numerics.py; the codes are fastnn/_codes.py's, and each
compiled module exports ``CODES = codes()``, which fastnn/backends/_cython.py checks against them at import.
"""
from cython cimport floating
from libc.math cimport exp, expf, log, sqrt, tanh, tanhf

cdef extern from "_vec.h" nogil:
    void fastnn_bias_sigmoid_f(Py_ssize_t n, float* z, const float* b)
    void fastnn_exp_shifted_f(Py_ssize_t n, float* a, float m)
    void fastnn_update_f(Py_ssize_t n, int opt, float* w, const float* g, float* s1, float* s2, float lr, float p1,
                         float p2, float eps, float lam)
    void fastnn_update_d(Py_ssize_t n, int opt, double* w, const double* g, double* s1, double* s2, double lr,
                         double p1, double p2, double eps, double lam)
    double fastnn_sum_squares_f(Py_ssize_t n, const float* w)
    double fastnn_sum_squares_d(Py_ssize_t n, const double* w)
    void fastnn_column_sums_f(Py_ssize_t rows, Py_ssize_t n, const float* a, Py_ssize_t stride, float* out)
    void fastnn_column_sums_d(Py_ssize_t rows, Py_ssize_t n, const double* a, Py_ssize_t stride, double* out)

cdef enum:
    SIGMOID = 0
    RELU = 1
    TANH = 2
    IDENTITY = 3

cdef enum:
    CROSS_ENTROPY = 0
    MSE = 1

cdef enum:
    SGD = 0
    MOMENTUM = 1
    ADAM = 2


cdef inline dict codes():
    """The codes above by name, as fastnn._codes spells them."""
    return {"activation": {"sigmoid": SIGMOID, "relu": RELU, "tanh": TANH, "identity": IDENTITY},
            "loss": {"cross_entropy": CROSS_ENTROPY, "mse": MSE},
            "optimizer": {"SGD": SGD, "Momentum": MOMENTUM, "Adam": ADAM}}


cdef inline Py_ssize_t edge(Py_ssize_t n, Py_ssize_t c, Py_ssize_t chunks) noexcept nogil:
    """Start of chunk c when n items are split into `chunks` near-equal runs."""
    return (n * c) // chunks


cdef inline floating exp_(floating a) noexcept nogil:
    """exp in the argument's precision."""
    if floating is float:
        return expf(a)
    else:
        return exp(a)


cdef inline floating sigmoid(floating a) noexcept nogil:
    """1 / (1 + exp(-a)) from exp(-|a|), which never overflows (the reference's formula)."""
    cdef floating e
    if a >= 0:
        e = exp_(-a)
        return 1 / (1 + e)
    e = exp_(a)
    return e / (1 + e)


cdef inline floating activation(floating a, int act) noexcept nogil:
    """act(a): sigmoid, relu, tanh or identity."""
    if act == SIGMOID:
        return sigmoid(a)
    if act == RELU:
        return a if a > 0 else 0
    if act == TANH:
        if floating is float:
            return tanhf(a)
        else:
            return tanh(a)
    return a


cdef inline floating activation_grad(floating z, int act) noexcept nogil:
    """act'(a) written from the output z = act(a): z (1 - z), [z > 0], 1 - z^2, 1."""
    if act == SIGMOID:
        return z * (1 - z)
    if act == RELU:
        return 1 if z > 0 else 0
    if act == TANH:
        return 1 - z * z
    return 1


cdef inline void bias_activation_row(floating* z, const floating* b, Py_ssize_t n, int act) noexcept nogil:
    """z[j] := act(z[j] + b[j]) for j < n (float32 sigmoid by the vectorized loop of _vec.h; float64 keeps
    libm's exp)."""
    cdef Py_ssize_t j
    if floating is float:
        if act == SIGMOID:
            fastnn_bias_sigmoid_f(n, z, b)
            return
    for j in range(n):
        z[j] = activation(z[j] + b[j], act)


cdef inline bint argmax_is(const floating* a, Py_ssize_t c, Py_ssize_t t) noexcept nogil:
    """Whether t is np.argmax of the row a of c logits (the first of equal largest entries; as NumPy, a NaN
    counts as the largest, so the first NaN wins: a diverged row is not a hit unless its label is that)."""
    cdef Py_ssize_t k
    for k in range(t):
        if a[k] >= a[t] or a[k] != a[k]:
            return False
    if a[t] != a[t]:
        return True
    for k in range(t + 1, c):
        if a[k] > a[t] or a[k] != a[k]:
            return False
    return True


cdef inline double softmax_loss_row(floating* a, Py_ssize_t c, Py_ssize_t t, int loss, floating inv_n) noexcept nogil:
    """One row of c logits a: returns its loss and sets a := dL/da of the batch mean (inv_n = 1 / rows).

    Cross-entropy: loss = logsumexp(a) - a[t], da = (softmax(a) - e_t) inv_n.
    MSE:           loss = |y - e_t|^2 / 2 with y = softmax(a), dy = (y - e_t) inv_n, da = y (dy - <dy, y>).
    """
    cdef Py_ssize_t k
    cdef floating m = a[0], s = 0, at, y, r, sdy = 0
    cdef double value = 0
    for k in range(c):
        if a[k] > m:
            m = a[k]
    at = a[t] - m
    if floating is float:  # the numerators by the vectorized loop of _vec.h (float64 keeps libm's exp)
        fastnn_exp_shifted_f(c, a, m)
    else:
        for k in range(c):
            a[k] = exp(a[k] - m)
    for k in range(c):
        s = s + a[k]
    if loss == CROSS_ENTROPY:
        for k in range(c):
            a[k] = a[k] / s * inv_n
        a[t] = a[t] - inv_n
        return log(s) - at
    for k in range(c):
        y = a[k] / s
        r = y - (1 if k == t else 0)
        value = value + 0.5 * r * r
        sdy = sdy + r * inv_n * y
        a[k] = y
    for k in range(c):
        y = a[k]
        a[k] = y * ((y - (1 if k == t else 0)) * inv_n - sdy)
    return value


cdef inline double adam_lr(double lr, double p1, double p2, long step) noexcept nogil:
    """Adam's bias-corrected step size lr_t at step `step` (counted from 1)."""
    return lr * sqrt(1.0 - p2 ** step) / (1.0 - p1 ** step)


cdef inline void update(floating* w, const floating* g, floating* s1, floating* s2, Py_ssize_t size, int opt,
                        floating lr, floating p1, floating p2, floating eps, floating lam) noexcept nogil:
    """A slice updated in place as fastnn.optimizers writes it, with gradient g + lam w (lr is Adam's lr_t):
    SGD w := w - lr g; Momentum s1 := p1 s1 - lr g, w := w + s1; Adam s1 := s1 + (1 - p1)(g - s1),
    s2 := s2 + (1 - p2)(g^2 - s2), w := w - lr s1 / (sqrt(s2) + eps)."""
    if floating is float:
        fastnn_update_f(size, opt, w, g, s1, s2, lr, p1, p2, eps, lam)
    else:
        fastnn_update_d(size, opt, w, g, s1, s2, lr, p1, p2, eps, lam)


cdef inline double sum_squares(const floating* w, Py_ssize_t n) noexcept nogil:
    """sum w[i]^2 in double (in lanes that vectorize: src_cython/_vec.h)."""
    if floating is float:
        return fastnn_sum_squares_f(n, w)
    else:
        return fastnn_sum_squares_d(n, w)


cdef inline void column_sums(const floating* a, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t stride,
                             floating* out) noexcept nogil:
    """out[j] := sum_i a[i stride + j] for j < n, each column summed in row order (vectorized across columns)."""
    if floating is float:
        fastnn_column_sums_f(rows, n, a, stride, out)
    else:
        fastnn_column_sums_d(rows, n, a, stride, out)
