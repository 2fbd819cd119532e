"""Optimizers with the book's API: ``update(params, grads)`` updates the arrays in place.

Defaults are the book's (``common/optimizer.py``). State is keyed by parameter name, so it survives
a user replacing the arrays in ``params`` between steps.
"""

import numpy as np

from ._checks import check_real
from ._config import OPTIMIZER_EPS


class _Optimizer:
    """Every ``update`` checks its arguments and state first (``check_step``), so a misfit is one ValueError
    naming the array and nothing is updated.

    Pickling: the compiled loop's cache of the state packed flat (fastnn/_flat.py) is left out: it holds
    the same numbers as the state dicts again and is rebuilt at the next compiled epoch."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_flat_state", None)
        return state


class SGD(_Optimizer):
    """W := W - lr * dW."""

    name = "SGD"

    def __init__(self, lr=0.01):
        self.lr = _positive("lr", lr)

    def update(self, params, grads):
        check_step(params, grads)
        for key in params.keys():
            params[key] -= self.lr * grads[key]


class Momentum(_Optimizer):
    """v := momentum * v - lr * dW; W := W + v."""

    name = "Momentum"

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr = _positive("lr", lr)
        self.momentum = _fraction("momentum", momentum)
        self.v = None

    def _velocity(self, params, grads, key):
        """v[key] := momentum v[key] - lr grads[key] (created at zero on the first step)."""
        if self.v is None:
            self.v = zeros_like(params)
        self.v[key] *= self.momentum
        self.v[key] -= self.lr * grads[key]
        return self.v[key]

    def update(self, params, grads):
        check_step(params, grads, v=self.v)
        for key in params.keys():
            params[key] += self._velocity(params, grads, key)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the book's form."""

    name = "Nesterov"

    def update(self, params, grads):
        check_step(params, grads, v=self.v)
        for key in params.keys():
            params[key] += self.momentum * self.momentum * self._velocity(params, grads, key)
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class AdaGrad(_Optimizer):
    """h := h + dW**2; W := W - lr dW / (sqrt(h) + 1e-7)."""

    name = "AdaGrad"

    def __init__(self, lr=0.01):
        self.lr = _positive("lr", lr)
        self.h = None

    def update(self, params, grads):
        check_step(params, grads, h=self.h)
        if self.h is None:
            self.h = zeros_like(params)
        for key in params.keys():
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + OPTIMIZER_EPS)


class RMSprop(_Optimizer):
    """h := rho h + (1 - rho) dW**2; W := W - lr dW / (sqrt(h) + 1e-7)."""

    name = "RMSprop"

    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr = _positive("lr", lr)
        self.decay_rate = _fraction("decay_rate", decay_rate)
        self.h = None

    def update(self, params, grads):
        check_step(params, grads, h=self.h)
        if self.h is None:
            self.h = zeros_like(params)
        for key in params.keys():
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + OPTIMIZER_EPS)


class Adam(_Optimizer):
    """Adam as in the book: bias correction folded into lr_t, eps (the book's 1e-7) outside the sqrt."""

    name = "Adam"

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=OPTIMIZER_EPS):
        self.lr = _positive("lr", lr)
        self.beta1 = _fraction("beta1", beta1)
        self.beta2 = _fraction("beta2", beta2)
        self.eps = _positive("eps", eps)
        self.iter = 0
        self.m = None
        self.v = None

    def lr_t(self):
        """lr sqrt(1 - beta2^t) / (1 - beta1^t) for the current step t."""
        return self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)

    def update(self, params, grads):
        check_step(params, grads, m=self.m, v=self.v)
        if self.m is None:
            self.m, self.v = zeros_like(params), zeros_like(params)
        self.iter += 1
        lr_t = self.lr_t()
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + self.eps)


def check_step(params, grads, **states):
    """Check a step's arguments before it updates anything: a gradient in ``grads`` for every key of ``params``
    (more are left alone, as the book's loop over params.keys() does: a subset of params freezes the rest), each
    of its parameter's shape, and each of the optimizer's state dicts ``states`` (None before the first step)
    fitting params (``check_state``). Raises a ValueError naming the array; a shape comparison per key."""
    if not hasattr(params, "items"):
        raise TypeError(f"params must be a dict of parameter arrays (the book's network.params), "
                        f"got {type(params).__name__}")
    if not hasattr(grads, "items"):
        raise TypeError(f"grads must be a dict of gradients keyed like params (the book's network.gradient(x, t)), "
                        f"got {type(grads).__name__}")
    for key, value in params.items():
        shape = _shape(value)
        if key not in grads:
            raise ValueError(f"grads has no {key!r} for params[{key!r}]: grads must hold a gradient for every "
                             f"parameter, keyed like params ({', '.join(map(repr, params))})")
        have = _shape(grads[key])
        if have != shape:
            raise ValueError(f"grads[{key!r}] has shape {have}, params[{key!r}] {shape}: each gradient must have "
                             f"its parameter's shape")
        for name, state in states.items():
            if state is not None:
                check_state(name, state, key, shape, f"params[{key!r}]")


def _shape(value):
    """np.shape(value), without its call for an array (the per-step path)."""
    return value.shape if type(value) is np.ndarray else np.shape(value)


def check_state(name, state, key, shape, param):
    """The optimizer's state dict ``name`` holds a writable array of ``shape`` at ``key``, the shape of the
    parameter ``param`` (as the message names it): not so when one optimizer object is reused for a network
    of other widths. Raises a ValueError naming the array."""
    s = state.get(key)
    have = getattr(s, "shape", None)
    if have != shape:
        held = "has no array" if s is None else f"has shape {have}"
        raise ValueError(f"the optimizer's state {name}[{key!r}] {held}, {param} {shape}: it holds another "
                         f"network's state; give each network its own optimizer")
    if isinstance(s, np.ndarray) and not s.flags.writeable:
        raise ValueError(f"the optimizer's state {name}[{key!r}] is read-only; the step updates it in place "
                         f"(give the optimizer writable arrays, or a fresh optimizer)")


def zeros_like(params):
    """Optimizer state: a zero array per parameter, keyed alike."""
    return {key: np.zeros_like(val) for key, val in params.items()}


OPTIMIZERS = {cls.name.lower(): cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


def make_optimizer(optimizer="SGD", **optimizer_param):
    """An optimizer from its name (case-insensitive, as the book's Trainer takes it) or itself; settings only with
    a name (an object has its own: a setting given with one would be silently dropped, so it is refused)."""
    if hasattr(optimizer, "update"):
        if optimizer_param:
            raise TypeError(f"{', '.join(sorted(optimizer_param))} given with an optimizer object "
                            f"({type(optimizer).__name__}), which keeps its own settings: pass them to its "
                            f"constructor (e.g. SGD(lr=0.1)), or name the optimizer (optimizer='SGD', lr=0.1)")
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        names = ", ".join(cls.name for cls in OPTIMIZERS.values())
        raise ValueError(f"optimizer must be one of {names} or an object with update(), got {optimizer!r}")
    return OPTIMIZERS[optimizer.lower()](**optimizer_param)


def _positive(name, value):
    value = check_real(name, value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def _fraction(name, value):
    value = check_real(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value
