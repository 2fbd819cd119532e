"""The scalar numerics of every numba kernel, written once: activations, the per-row softmax loss,
the optimizer steps.

Each function is small and jitted with ``inline='always'`` where it sits in an inner loop, so a kernel that
calls it compiles as if the body were written in place. The Cython kernels have the same functions in
``src_cython/_numerics.pxd``; the codes are ``fastnn._codes``'.
"""
import math

from numba import njit

from . import _config
from ._codes import ADAM, CROSS_ENTROPY, MOMENTUM, RELU, SGD, SIGMOID, TANH

_jit = njit(**_config.NUMBA_OPTIONS)
_inline = njit(inline="always", **_config.NUMBA_OPTIONS)


@_inline
def sigmoid(a):
    """1 / (1 + exp(-a)) from exp(-|a|), which never overflows (the reference's formula)."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@_inline
def activation(a, act):
    """act(a) for a scalar: sigmoid, relu, tanh or identity."""
    if act == SIGMOID:
        return sigmoid(a)
    if act == RELU:
        return a if a > 0 else 0.0
    if act == TANH:
        return math.tanh(a)
    return a


@_inline
def activation_grad(z, act):
    """act'(a) written from the output z = act(a): z (1 - z), [z > 0], 1 - z^2, 1."""
    if act == SIGMOID:
        return z * (1.0 - z)
    if act == RELU:
        return 1.0 if z > 0 else 0.0
    if act == TANH:
        return 1.0 - z * z
    return 1.0


@_jit
def count_hits(a, b, t):
    """Rows i whose logits a[i] + b pick their label t[i] (np.argmax: the first of equal largest entries, and
    the first NaN where there is one)."""
    hits = 0
    for i in range(a.shape[0]):
        best = 0
        top = a[i, 0] + b[0]
        if top == top:
            for k in range(1, a.shape[1]):
                v = a[i, k] + b[k]
                if v != v:
                    best = k
                    break
                if v > top:
                    best = k
                    top = v
        hits += best == t[i]
    return hits


@_jit
def softmax_loss_row(a, t, loss, inv_n):
    """One row of logits a: returns its loss and sets a := dL/da of the batch mean (inv_n = 1 / rows).

    Cross-entropy: loss = logsumexp(a) - a[t], da = (softmax(a) - e_t) inv_n.
    MSE:           loss = |y - e_t|^2 / 2 with y = softmax(a), dy = (y - e_t) inv_n, da = y (dy - <dy, y>).
    """
    c = a.shape[0]
    m = a[0]
    for k in range(c):
        m = max(m, a[k])
    at = a[t] - m
    s = 0.0
    for k in range(c):
        a[k] = math.exp(a[k] - m)
        s += a[k]
    if loss == CROSS_ENTROPY:
        for k in range(c):
            a[k] = a[k] / s * inv_n
        a[t] -= inv_n
        return math.log(s) - at
    value = 0.0
    sdy = 0.0
    for k in range(c):
        y = a[k] / s
        r = y - (1.0 if k == t else 0.0)
        value += 0.5 * r * r
        sdy += r * inv_n * y
        a[k] = y
    for k in range(c):
        y = a[k]
        a[k] = y * ((y - (1.0 if k == t else 0.0)) * inv_n - sdy)
    return value


@_jit
def step_lr(opt, lr, p1, p2, step):
    """(lr for this step, step count): Adam's bias-corrected lr_t after counting the step; lr otherwise."""
    if opt == ADAM:
        step += 1
        return lr * math.sqrt(1.0 - p2 ** step) / (1.0 - p1 ** step), step
    return lr, step


@_jit
def update(w, g, s1, s2, opt, lr, p1, p2, eps):
    """One flat parameter updated in place, as fastnn.optimizers writes it (lr is Adam's lr_t).

    SGD: w := w - lr g. Momentum: s1 := p1 s1 - lr g; w := w + s1.
    Adam: s1 := s1 + (1 - p1)(g - s1); s2 := s2 + (1 - p2)(g^2 - s2); w := w - lr s1 / (sqrt(s2) + eps).
    """
    for i in range(w.shape[0]):
        if opt == SGD:
            w[i] -= lr * g[i]
        elif opt == MOMENTUM:
            s1[i] = s1[i] * p1 - lr * g[i]
            w[i] += s1[i]
        else:
            s1[i] += (1 - p1) * (g[i] - s1[i])
            s2[i] += (1 - p2) * (g[i] * g[i] - s2[i])
            w[i] -= lr * s1[i] / (math.sqrt(s2[i]) + eps)
