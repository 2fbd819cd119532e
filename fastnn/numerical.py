"""The numerical gradient as a function, and warm-up of the jitted kernels."""
import time

import numpy as np

from . import _config
from .network import TwoLayerNet, _check_h


def numerical_gradient(params, x, t=None, *, activation="sigmoid", loss="cross_entropy", h=_config.DEFAULT_H,
                       backend="auto", n_threads=None):
    """Central differences of the two-layer net's batch loss for every element of every parameter.

    Also takes the book's form ``numerical_gradient(f, x)`` (``common/gradient.py``): the central
    difference of ``f(x)`` for every element of the array x, perturbed in place and restored.

    Parameters
    ----------
    params : dict
        'W1' (D, H), 'b1' (H,), 'W2' (H, K), 'b2' (K,) ('w1'/'w2' accepted); float32 or float64.
    x : array (N, D)
        Inputs.
    t : array (N,) of int or (N, K) one-hot
        Labels.
    activation, loss : str
        As for :class:`TwoLayerNet`.
    h : float, default 1e-4
        Step of the central difference (f(p + h) - f(p - h)) / 2h.
    backend : str
        'auto', 'numpy' (the book's loop), 'numba' or 'cython'.
    n_threads : int, optional
        Threads; default ``FASTNN_NUM_THREADS``, then the cores.

    Returns
    -------
    dict
        Gradients keyed like params, in the parameters' dtype.
    """
    if callable(params):  # the book's numerical_gradient(f, x)
        from .reference import numerical_gradient_of
        f, x = params, np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"x must be a float array to perturb in place, got dtype {x.dtype}")
        return numerical_gradient_of(lambda: f(x), x, _check_h(h))
    if t is None:
        raise TypeError("numerical_gradient(params, x, t) needs the labels t (or use the book's form (f, x))")
    canonical = {str(k).upper() if str(k).lower() in ("w1", "w2") else k: v for k, v in params.items()}
    for key in ("W1", "b1", "W2", "b2"):
        if key not in canonical:
            raise KeyError(f"params is missing {key!r}")
    W1, W2 = np.asarray(canonical["W1"]), np.asarray(canonical["W2"])
    if W1.ndim != 2 or W2.ndim != 2:
        raise ValueError(f"params['W1'] and params['W2'] must be 2-D, got shapes {W1.shape} and {W2.shape}")
    dtype = W1.dtype if W1.dtype in (np.float32, np.float64) else np.float64
    net = TwoLayerNet(W1.shape[0], W1.shape[1], W2.shape[1], 0.0, activation=activation, loss=loss, dtype=dtype,
                      backend=backend, n_threads=n_threads)
    net.params = canonical
    return net.numerical_gradient(x, t, h=_check_h(h))


def warmup(backends=None, verbose=False):
    """Compile every jitted kernel now (numba caches them on disk; later processes load them).

    Returns
    -------
    dict
        Seconds spent per backend.
    """
    from .backends import available_backends
    times = {}
    rng = np.random.default_rng(0)
    x = rng.random((4, 6))
    t = np.array([0, 1, 2, 1])
    for name in backends or available_backends():
        start = time.perf_counter()
        for dtype in (np.float64, np.float32):
            for activation in ("sigmoid", "relu"):
                for loss in ("cross_entropy", "mse"):
                    net = TwoLayerNet(6, 5, 3, 0.1, activation=activation, loss=loss, dtype=dtype, backend=name,
                                      seed=0)
                    net.loss(x, t)
                    net.gradient(x, t)
                    if name != "numpy":
                        net.numerical_gradient(x, t)
                    for optimizer in ("SGD", "Momentum", "Adam"):
                        net.train_epoch(x, t, batch_size=3, optimizer=optimizer, seed=0)
        times[name] = time.perf_counter() - start
        if verbose:
            print(f"{name}: ready in {times[name]:.2f} s")
    return times
