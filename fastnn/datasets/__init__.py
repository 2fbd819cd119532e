"""Datasets: the MNIST family (MNIST, Fashion-MNIST, KMNIST, EMNIST) with the book's and Keras' APIs, and
scikit-learn's 8x8 digits as an offline fallback.

One loader serves the whole family from a table of dataset specs (``_specs``): published checksums,
places other tools keep the files, mirrors, fastnn's cache, atomic verified downloads.
"""
from . import emnist, fashion_mnist, kmnist, mnist
from ._engine import CorruptFileWarning, DatasetUnavailable, UnverifiedDataWarning
from ._family import find, load
from ._named import load_dataset, n_classes
from ._specs import NAMES as DATASETS
from .emnist import load_emnist
from .fashion_mnist import load_fashion_mnist
from .kmnist import load_kmnist
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


__all__ = ["mnist", "fashion_mnist", "kmnist", "emnist", "load_mnist", "load_fashion_mnist", "load_kmnist",
           "load_emnist", "load", "find", "load_digits", "load_dataset", "n_classes", "DATASETS", "MNISTUnavailable", "DatasetUnavailable",
           "UnverifiedDataWarning", "CorruptFileWarning"]
