"""EMNIST (NIST special database 19 in MNIST's format), one split at a time, with the book's and Keras' APIs.

Splits and labels: ``digits`` and ``mnist`` 0..9; ``letters`` 1..26 (a..z, 0 unused, as torchvision);
``balanced`` and ``bymerge`` 0..46; ``byclass`` 0..61. The images are transposed to MNIST's orientation
(NIST stores them column-major), as tensorflow-datasets does. Found in fastnn's cache (``emnist``) or
torchvision's ``data/EMNIST/raw``, else NIST's ``gzip.zip`` (over 500 MB, MD5-checked) is downloaded and every
split's ``.gz`` kept in the cache. ``.gz`` files are checked against their published MD5; the uncompressed
ones (torchvision keeps only those) have none published and are read after checking the IDX headers,
the published counts and the label range, with a note.
"""
from . import _family, _specs

SPLITS = tuple(_specs.EMNIST_SPLITS)


def _name(split):
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return f"emnist-{split}"


def load_data(split, path=None):
    """Keras-style ``load_data()`` of one split: ((x_train, y_train), (x_test, y_test)), uint8."""
    return _family.load_data(_name(split), path)


def load_emnist(split, normalize=True, flatten=True, one_hot_label=False, data_dir=None):
    """The book's ``load_mnist`` for one EMNIST split: ((x_train, t_train), (x_test, t_test)).

    Parameters
    ----------
    split : str
        One of "digits", "letters", "balanced", "bymerge", "byclass", "mnist".
    normalize, flatten, one_hot_label, data_dir
        As ``load_mnist``; one-hot rows are as wide as the split's largest label + 1 (27 for letters).
    """
    return _family.load(_name(split), normalize, flatten, one_hot_label, data_dir)
