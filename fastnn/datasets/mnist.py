"""MNIST from wherever it already is, else downloaded, always verified.

Sources, in order: an explicit ``data_dir`` (or ``FASTNN_MNIST_DIR``); fastnn's cache
(``$FASTNN_CACHE_DIR`` or ``~/.cache/fastnn``, folder ``mnist``); copies other tools keep (Keras'
``~/.keras/datasets/mnist.npz``, torchvision's ``data/MNIST/raw``, the book's ``dataset/mnist.pkl``);
then a download from the public mirrors into fastnn's cache. Every file is checked against the MD5 of
the canonical uncompressed IDX files (or Keras' SHA-256) and its IDX header; a download goes to a
temp file that is verified before it is renamed into the cache, so no bad file is ever left there.
"""
import hashlib
import os
import pickle

import numpy as np

from .. import _config
from . import _download, _idx

#: name -> (IDX file stem, MD5 of the uncompressed file, magic number)
FILES = {
    "train_images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", _idx.IMAGES_MAGIC),
    "train_labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", _idx.LABELS_MAGIC),
    "test_images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", _idx.IMAGES_MAGIC),
    "test_labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", _idx.LABELS_MAGIC),
}
#: Mirrors of the gzipped IDX files (the one torchvision and the book's code use today).
IDX_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",)
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
ENV_CACHE_DIR = "FASTNN_CACHE_DIR"


class MNISTUnavailable(FileNotFoundError):
    """MNIST could not be found or downloaded; the message lists every source tried."""


def cache_dir():
    """fastnn's MNIST cache folder."""
    root = os.environ.get(ENV_CACHE_DIR) or os.path.join(os.path.expanduser("~"), ".cache", "fastnn")
    return os.path.join(root, "mnist")


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def read_idx_folder(folder):
    """The four verified MNIST arrays from a folder of IDX files (gzip or raw).

    Raises
    ------
    FileNotFoundError
        When a file is missing.
    ValueError
        When a file is corrupt, truncated, has a wrong magic number or checksum.
    """
    out = {}
    for key, (stem, digest, magic) in FILES.items():
        path = _find(folder, stem)
        if path is None:
            raise FileNotFoundError(f"{folder}: missing {stem}.gz (or {stem})")
        out[key] = verified_idx(path, digest, magic)
    return out


def verified_idx(path, digest, magic):
    data = _idx.read_bytes(path)
    got = _idx.md5(data)
    if got != digest:
        raise ValueError(f"{path}: MD5 {got} does not match the canonical {digest} (corrupt or not MNIST)")
    return _idx.parse(data, path, magic)


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
    """Download the four IDX files into folder (default the cache), each verified before it lands.

    Returns the verified arrays; raises the last error when no mirror served a good copy.
    """
    folder = folder or cache_dir()
    out = {}
    for key, (stem, digest, magic) in FILES.items():
        dest = os.path.join(folder, stem + ".gz")
        errors = []
        for mirror in mirrors:
            try:
                _download.fetch(mirror.rstrip("/") + "/" + stem + ".gz", dest,
                                lambda tmp, d=digest, m=magic: verified_idx(tmp, d, m), timeout, progress)
                break
            except _download.NETWORK_ERRORS as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise MNISTUnavailable(f"could not download {stem}.gz: " + "; ".join(errors))
        out[key] = verified_idx(dest, digest, magic)
    return out


def _other_tools():
    home = os.path.expanduser("~")
    yield "Keras' cache", os.path.join(home, ".keras", "datasets", "mnist.npz"), read_keras_npz
    for root in (os.getcwd(), home):
        yield "torchvision's raw folder", os.path.join(root, "data", "MNIST", "raw"), read_idx_folder
    yield "the book's dataset/mnist.pkl", os.path.join(os.getcwd(), "dataset", "mnist.pkl"), read_book_pkl


def load_arrays(data_dir=None, download_if_missing=True, mirrors=IDX_MIRRORS, timeout=30):
    """The four uint8 arrays from the first source that has a verified copy (see the module doc)."""
    explicit = data_dir or os.environ.get(_config.ENV_MNIST_DIR)
    if explicit:
        if not os.path.isdir(explicit):
            raise MNISTUnavailable(f"MNIST folder {explicit!r} (data_dir or {_config.ENV_MNIST_DIR}) does not exist")
        return read_idx_folder(explicit)
    tried = []
    candidates = [("fastnn's cache", cache_dir(), read_idx_folder)] + list(_other_tools())
    for label, path, reader in candidates:
        if not os.path.exists(path):
            tried.append(f"{label} ({path}): not there")
            continue
        try:
            return reader(path)
        except (OSError, ValueError, KeyError, pickle.UnpicklingError) as exc:
            tried.append(f"{label} ({path}): {exc}")
    if download_if_missing:
        try:
            return download(cache_dir(), mirrors, timeout)
        except MNISTUnavailable as exc:
            tried.append(f"download: {exc}")
    raise MNISTUnavailable(
        "MNIST is not available. Tried:\n  - " + "\n  - ".join(tried)
        + f"\nPut the four IDX .gz files in a folder and pass data_dir= or set {_config.ENV_MNIST_DIR}, "
          "or connect to the internet and try again.")


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
    a = load_arrays(data_dir)

    def images(x):
        x = x.reshape(x.shape[0], -1) if flatten else x.reshape(x.shape[0], 1, 28, 28)
        return x.astype(np.float32) / np.float32(255.0) if normalize else x.copy()

    def labels(t):
        return np.eye(10, dtype=np.float64)[t] if one_hot_label else t.astype(np.int64)

    return ((images(a["train_images"]), labels(a["train_labels"])),
            (images(a["test_images"]), labels(a["test_labels"])))
