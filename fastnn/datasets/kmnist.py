"""Kuzushiji-MNIST (ROIS-CODH): ten cursive Japanese characters, with the book's and Keras' APIs.

Found in fastnn's cache (``kmnist``) or torchvision's ``data/KMNIST/raw``, else downloaded; ``.gz`` files are
checked against their published MD5 (none is published for the uncompressed files: those are read after
the structural checks, with a note).
"""
from . import _family

NAME = "kmnist"
CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


def load_data(path=None):
    """Keras-style ``load_data()``: ((x_train, y_train), (x_test, y_test)), uint8, images (N, 28, 28)."""
    return _family.load_data(NAME, path)


def load_kmnist(normalize=True, flatten=True, one_hot_label=False, data_dir=None):
    """The book's ``load_mnist`` for KMNIST: ((x_train, t_train), (x_test, t_test)); see ``load_mnist``."""
    return _family.load(NAME, normalize, flatten, one_hot_label, data_dir)
