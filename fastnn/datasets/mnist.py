"""MNIST from wherever it already is, else downloaded, always verified (the book's and Keras' APIs).

Sources, in order: an explicit ``data_dir`` (or ``FASTNN_MNIST_DIR``); fastnn's cache
(``$FASTNN_CACHE_DIR`` or ``~/.cache/fastnn``, folder ``mnist``); copies other tools keep (Keras'
``~/.keras/datasets/mnist.npz``, torchvision's ``data/MNIST/raw``, the book's ``dataset/mnist.pkl``);
then a download from the public mirrors into fastnn's cache. Every file is checked against the
published MD5 of the IDX files (uncompressed or ``.gz``; Keras' SHA-256 for mnist.npz) and its IDX
header; a download goes to a temp file that is verified before it is renamed into the cache, and a
cache file that fails is moved aside (``corrupt/``) before the search goes on. The loader itself is the
one of the whole family (``_engine``); this module adds MNIST's own places.
"""
import dataclasses
import hashlib
import os
import pickle

import numpy as np

from .. import _cache
from . import _engine, _idx, _specs

#: name -> (IDX file stem, MD5 of the uncompressed file, magic number)
FILES = {key: (f.stem, f.md5, f.magic) for key, f in _specs.MNIST.files.items()}
#: name -> MD5 of the published .gz file
GZ_MD5 = {key: f.gz_md5 for key, f in _specs.MNIST.files.items()}
#: Mirrors of the gzipped IDX files (the ones torchvision and TensorFlow use today).
IDX_MIRRORS = _specs.MNIST.mirrors
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
ENV_CACHE_DIR = _cache.ENV_CACHE_DIR


class MNISTUnavailable(_engine.DatasetUnavailable):
    """MNIST could not be found or downloaded; the message lists every source tried."""


def spec():
    """MNIST's spec, built from this module's FILES table (so a test can substitute its own files)."""
    files = {key: _specs.IdxFile(stem, magic, digest, GZ_MD5.get(key) if digest == _specs.MNIST.files[key].md5
                                 else None)
             for key, (stem, digest, magic) in FILES.items()}
    return dataclasses.replace(_specs.MNIST, files=files)


def cache_dir():
    """fastnn's MNIST cache folder."""
    return _engine.cache_dir(_specs.MNIST)


def read_idx_folder(folder):
    """The four verified MNIST arrays from a folder of IDX files (gzip or raw).

    Raises
    ------
    FileNotFoundError
        When a file is missing.
    ValueError
        When a file is corrupt, truncated, has a wrong magic number or checksum.
    """
    return _engine.read_known(spec(), folder).arrays


def verified_idx(path, digest, magic):
    data = _idx.read_bytes(path)
    got = _idx.md5(data)
    if got != digest:
        raise ValueError(f"{path}: MD5 {got} does not match the canonical {digest} (corrupt or not MNIST)")
    return _idx.parse(data, path, magic)


def _found(arrays, path):
    return _engine.Found(arrays, spec(), path, True, [])


def read_keras_npz(path):
    """The four arrays from Keras' mnist.npz, SHA-256 checked, without pickle."""
    with open(path, "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    if got != KERAS_SHA256:
        raise ValueError(f"{path}: SHA-256 {got} does not match Keras' mnist.npz")
    with np.load(path, allow_pickle=False) as z:
        return {"train_images": z["x_train"], "train_labels": z["y_train"],
                "test_images": z["x_test"], "test_labels": z["y_test"]}


class _ArraysOnly(pickle.Unpickler):
    """Unpickles the book's mnist.pkl (a dict of NumPy arrays) and refuses anything else."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "dict")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name} in mnist.pkl (only NumPy arrays are allowed)")


def read_book_pkl(path):
    """The four arrays from the book's dataset/mnist.pkl, shapes checked."""
    with open(path, "rb") as f:
        data = _ArraysOnly(f).load()
    out = {"train_images": data["train_img"].reshape(-1, 28, 28), "train_labels": data["train_label"],
           "test_images": data["test_img"].reshape(-1, 28, 28), "test_labels": data["test_label"]}
    _check_arrays(out, path)
    return out


def _check_arrays(arrays, where):
    expected = {"train_images": (60000, 28, 28), "train_labels": (60000,),
                "test_images": (10000, 28, 28), "test_labels": (10000,)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ValueError(f"{where}: {key} has shape {arrays[key].shape}, expected {shape}")


def download(folder=None, mirrors=IDX_MIRRORS, timeout=30, progress=None):
    """Download the IDX files missing from folder (default the cache), each verified before it lands.

    Returns the verified arrays; raises MNISTUnavailable when no mirror served a good copy.
    """
    try:
        return _engine.download(spec(), folder or cache_dir(), mirrors, timeout, progress).arrays
    except _engine.DatasetUnavailable as exc:
        raise MNISTUnavailable(str(exc)) from None


def _other_tools():
    home = os.path.expanduser("~")
    yield "Keras' cache", os.path.join(home, ".keras", "datasets", "mnist.npz"), \
        lambda p: _found(read_keras_npz(p), p)
    for root in (os.getcwd(), home):
        yield "torchvision's raw folder", os.path.join(root, "data", "MNIST", "raw"), \
            lambda p: _engine.read_known(spec(), p)
    yield "the book's dataset/mnist.pkl", os.path.join(os.getcwd(), "dataset", "mnist.pkl"), \
        lambda p: _found(read_book_pkl(p), p)


def find(data_dir=None, download_if_missing=True, mirrors=IDX_MIRRORS, timeout=30):
    """MNIST as a ``Found`` set (arrays, where from, notes) from the first source with a good copy."""
    return _engine.find(spec(), data_dir, download_if_missing, mirrors, timeout, extra_places=list(_other_tools()),
                        unavailable=MNISTUnavailable)


def load_arrays(data_dir=None, download_if_missing=True, mirrors=IDX_MIRRORS, timeout=30):
    """The four uint8 arrays from the first source that has a verified copy (see the module doc)."""
    return _engine.warn_notes(find(data_dir, download_if_missing, mirrors, timeout)).arrays


def load_data(path=None):
    """Keras' ``mnist.load_data()``: ((x_train, y_train), (x_test, y_test)), uint8, images (N, 28, 28)."""
    a = load_arrays(path)
    return (a["train_images"], a["train_labels"]), (a["test_images"], a["test_labels"])


def load_mnist(normalize=True, flatten=True, one_hot_label=False, data_dir=None):
    """The book's ``load_mnist``: ((x_train, t_train), (x_test, t_test)).

    Parameters
    ----------
    normalize : bool
        Pixels as float32 in [0, 1] (else uint8 0..255).
    flatten : bool
        Images as rows of 784 (else (N, 1, 28, 28)).
    one_hot_label : bool
        Labels as one-hot rows of 10 (else integers).
    data_dir : str, optional
        A folder holding the four IDX files; default: search and download (see the module doc).
    """
    return _engine.book_format(_engine.warn_notes(find(data_dir)), normalize, flatten, one_hot_label)
