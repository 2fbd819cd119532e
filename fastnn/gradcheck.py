"""gradient_check: the analytic gradient of a network against its central difference, per parameter.

Tolerances (``|a - n| <= atol + rtol |n|`` element-wise, n the central difference with h = 1e-4):

=========  ========  ========  =================================================================
dtype      rtol      atol      for comparison
=========  ========  ========  =================================================================
float64    1e-4      1e-6      torch.autograd.gradcheck: eps 1e-6, rtol 1e-3, atol 1e-5 (float64)
float32    1e-2      1e-4      jax.test_util.check_grads: tolerance 1e-2 in float32
=========  ========  ========  =================================================================

fastnn's float64 bound is tighter than torch's, yet loose enough for the book's own networks, whose
1e-7 inside the log biases backprop against the central difference at the 1e-7 level. For fastnn
networks the central difference is always taken in float64 (numba, or the reference loop), so a float32
network is judged against an accurate difference, not a float32 one that has lost four digits.
"""
from dataclasses import dataclass

import numpy as np

from . import _checks, _config, reference

TOLERANCES = _config.GRADCHECK_TOLERANCES
TINY = _config.GRADCHECK_TINY  # the floor of |a| + |n| in the relative error, as in the book and cs231n


@dataclass
class ParamCheck:
    """One parameter's comparison."""
    name: str
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    passed: bool


class GradientCheck(list):
    """A list of :class:`ParamCheck`, with ``passed`` and a printable table."""

    @property
    def passed(self):
        return all(p.passed for p in self)

    def failed(self):
        return [p.name for p in self if not p.passed]

    def __str__(self):
        lines = [f"{'param':<8}{'max abs err':>14}{'max rel err':>14}  {'worst index':<14}result"]
        for p in self:
            lines.append(f"{p.name:<8}{p.max_abs_error:>14.3e}{p.max_rel_error:>14.3e}  {str(p.worst_index):<14}"
                         f"{'ok' if p.passed else 'FAILED'}")
        lines.append("gradient check " + ("passed" if self.passed else f"FAILED for {', '.join(self.failed())}"))
        return "\n".join(lines)


def central_difference(network, x, t, h=_config.DEFAULT_H):
    """Element-wise central difference of ``network.loss(x, t)`` for every parameter (in place, restored).

    Works with any book-style object: its ``params`` arrays are perturbed where they are.
    """
    return {key: reference.numerical_gradient_of(lambda: float(network.loss(x, t)), value, h)
            for key, value in network.params.items() if isinstance(value, np.ndarray)}


def _fastnn_difference(network, x, t, h):
    """For a fastnn TwoLayerNet: the float64 central difference (numba when built, else the reference)."""
    from .backends import available_backends
    from .network import TwoLayerNet
    from .numerical import numerical_gradient
    if not isinstance(network, TwoLayerNet):
        return None
    params = {k: np.asarray(v, np.float64) for k, v in network.params.items()}
    backend = "numba" if "numba" in available_backends() else "numpy"
    return numerical_gradient(params, np.asarray(x, np.float64), t, activation=network.activation,
                              loss=network.loss_name, h=h, backend=backend, n_threads=network.n_threads)


def gradient_check(network, x, t, h=_config.DEFAULT_H, rtol=None, atol=None, numerical=None):
    """Compare ``network.gradient(x, t)`` with a central difference, parameter by parameter.

    Parameters
    ----------
    network : TwoLayerNet or any object with ``params``, ``loss(x, t)`` and ``gradient(x, t)``
    x, t : arrays
        A small batch (the book uses 3 images).
    h : float
        Step of the central difference.
    rtol, atol : float, optional
        Default: by the parameters' dtype (see the module table).
    numerical : dict, optional
        A numerical gradient already computed; default fastnn's (numba for fastnn networks, the
        element-wise reference loop for others).

    Returns
    -------
    GradientCheck
        One row per parameter; ``.passed`` is True when every element is within tolerance.

    Notes
    -----
    The difference is taken at the given h for every element, as the book does. Where the loss has a kink
    (relu, max pooling) within h of an element's value for some example, the difference straddles it and that
    element can fail on a correct network (PyTorch's ``gradcheck`` has the same caveat): check again with another
    batch or a smaller h. ``fastnn doctor`` samples elements and re-takes float64 differences at h/10 and h/100,
    keeping the value where two steps agree.
    """
    if not hasattr(network, "gradient"):
        raise TypeError("network has no gradient(x, t) method to check")
    x = _checks.dense_if_sparse(x)  # a batch the central difference perturbs around: dense
    analytic = network.gradient(x, t)
    if numerical is None:
        from .multilayer import MultiLayerNetExtend
        if isinstance(network, MultiLayerNetExtend):  # its gradient is of the training-mode loss
            numerical = network.numerical_gradient(x, t, h=h)
        else:
            numerical = _fastnn_difference(network, x, t, h) or central_difference(network, x, t, h)
    report = GradientCheck()
    for key in network.params:
        if key not in numerical:
            continue
        a = np.asarray(analytic[key], np.float64)
        n = np.asarray(numerical[key], np.float64)
        kind = "float32" if np.asarray(network.params[key]).dtype == np.float32 else "float64"
        r, at = TOLERANCES[kind]
        r, at = rtol if rtol is not None else r, atol if atol is not None else at
        if a.shape != n.shape:
            report.append(ParamCheck(str(key), np.inf, np.inf, (), False))
            continue
        err = np.abs(a - n)
        rel = err / np.maximum(TINY, np.abs(a) + np.abs(n))
        violation = err / (at + r * np.abs(n))
        worst = np.unravel_index(int(np.nanargmax(violation)), a.shape) if a.size else ()
        ok = bool(np.all(err <= at + r * np.abs(n))) and np.all(np.isfinite(a))
        report.append(ParamCheck(str(key), float(np.nanmax(err)), float(np.nanmax(rel)),
                                 tuple(int(i) for i in worst), ok))
    return report
