"""Optimizers with the book's API: ``update(params, grads)`` updates the arrays in place.

Defaults are the book's (``common/optimizer.py``). State is keyed by parameter name, so it survives
a user replacing the arrays in ``params`` between steps.
"""
import numbers

import numpy as np

from ._config import OPTIMIZER_EPS


class _Optimizer:
    """Pickling: the compiled loop's cache of the state packed flat (fastnn/_flat.py) is left out: it holds
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
        for key in params.keys():
            params[key] += self._velocity(params, grads, key)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the book's form."""

    name = "Nesterov"

    def update(self, params, grads):
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
        if self.m is None:
            self.m, self.v = zeros_like(params), zeros_like(params)
        self.iter += 1
        lr_t = self.lr_t()
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + self.eps)


def zeros_like(params):
    """Optimizer state: a zero array per parameter, keyed alike."""
    return {key: np.zeros_like(val) for key, val in params.items()}


OPTIMIZERS = {cls.name.lower(): cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


def make_optimizer(optimizer="SGD", **optimizer_param):
    """An optimizer from its name (case-insensitive, as the book's Trainer takes it) or itself."""
    if hasattr(optimizer, "update"):
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        names = ", ".join(cls.name for cls in OPTIMIZERS.values())
        raise ValueError(f"optimizer must be one of {names} or an object with update(), got {optimizer!r}")
    return OPTIMIZERS[optimizer.lower()](**optimizer_param)


def _real(name, value):
    """value as a float when it is a real number (not a string or a bool, which float() would also take)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _positive(name, value):
    value = _real(name, value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def _fraction(name, value):
    value = _real(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value
