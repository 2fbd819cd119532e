"""The 'numpy' backend: the pure-NumPy reference itself, behind the backend interface."""
from .. import reference as ref

NAME = "numpy"
NOTES = "pure NumPy reference; numerical gradient is the book's element-wise loop"


def logits(params, x, activation, n_threads):
    """a2 := act(x W1 + b1) W2 + b2."""
    return ref.forward(params, x, activation)[1]


def gradient(params, x, t, activation, loss, n_threads):
    return ref.gradient(params, x, t, activation, loss)


def numerical_gradient(params, x, t, activation, loss, h, n_threads):
    return ref.numerical_gradient(params, x, t, activation, loss, h)


def train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss, n_threads):
    return ref.train_epoch(params, x, t, perm, batch_size, optimizer, activation, loss)
