"""Tolerances written once, small random problems, and the environment of a child process."""
import os
from pathlib import Path

import numpy as np

from fastnn import _config


def fastnn_root():
    """The folder holding the fastnn these tests import (the installed one in CI, the checkout otherwise)."""
    import fastnn
    return str(Path(fastnn.__file__).resolve().parents[1])


def child_env(**extra):
    """os.environ plus ``extra``, PYTHONPATH led by fastnn_root(): a child process imports this fastnn."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [fastnn_root(), os.environ.get("PYTHONPATH")])))
    env.update(extra)
    return env


def assert_close(actual, desired, dtype=np.float64, scale=1.0, err_msg=""):
    """Compare with the per-dtype (rtol, atol) of fastnn._config.TOLERANCES, atol scaled by `scale`."""
    rtol, atol = _config.TOLERANCES[np.dtype(dtype).name]
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(desired, np.float64), rtol=rtol,
                               atol=atol * scale, err_msg=err_msg)


def problem(seed, n=6, d=7, h=5, k=4, std=0.5, sparse=0.0):
    """Random params (float64), inputs in [0, 1) with a share of exact zeros, integer labels."""
    rng = np.random.default_rng(seed)
    params = {"W1": std * rng.standard_normal((d, h)), "b1": 0.1 * rng.standard_normal(h),
              "W2": std * rng.standard_normal((h, k)), "b2": 0.1 * rng.standard_normal(k)}
    x = rng.random((n, d))
    x[rng.random((n, d)) < sparse] = 0.0
    return params, x, rng.integers(0, k, n).astype(np.intp)


def max_abs_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)))) for k in b)


def fourth_order_gradient(f, x, h=1e-5):
    """(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h for every element: error O(h^4)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        vals = []
        for step in (2, 1, -1, -2):
            x[idx] = saved + step * h
            vals.append(f())
        x[idx] = saved
        grad[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return grad
