"""Fashion-MNIST (Zalando): MNIST's drop-in replacement, with the book's and Keras' APIs.

Found in fastnn's cache (``fashion-mnist``), Debian's ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``), Keras' ``~/.keras/datasets/fashion-mnist``, torchvision's
``data/FashionMNIST/raw``, else downloaded; every file checked against its published MD5.
Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""
from . import _family

NAME = "fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_data(path=None):
    """Keras' ``fashion_mnist.load_data()``: ((x_train, y_train), (x_test, y_test)), uint8, images (N, 28, 28)."""
    return _family.load_data(NAME, path)


def load_fashion_mnist(normalize=True, flatten=True, one_hot_label=False, data_dir=None):
    """The book's ``load_mnist`` for Fashion-MNIST: ((x_train, t_train), (x_test, t_test)); see ``load_mnist``."""
    return _family.load(NAME, normalize, flatten, one_hot_label, data_dir)
