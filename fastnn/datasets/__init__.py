"""Datasets: MNIST (the book's and Keras' APIs) and scikit-learn's 8x8 digits as an offline fallback."""
from . import mnist
from .mnist import MNISTUnavailable, load_mnist


def load_digits(normalize=True, test_size=0.2, seed=0):
    """scikit-learn's bundled 8x8 handwritten digits, split like MNIST: ((x, t), (x_test, t_test)).

    Needs no network: the data ships inside scikit-learn. Pixels (0..16) are scaled to [0, 1].
    """
    import numpy as np
    from sklearn.datasets import load_digits as _load

    data = _load()
    x = data.data.astype(np.float32) / (np.float32(16.0) if normalize else np.float32(1.0))
    t = data.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(t))
    n_test = int(round(test_size * len(t)))
    test, train = perm[:n_test], perm[n_test:]
    return (x[train], t[train]), (x[test], t[test])


__all__ = ["mnist", "load_mnist", "load_digits", "MNISTUnavailable"]
