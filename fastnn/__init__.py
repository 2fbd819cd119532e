"""fastnn: the book's two-layer MNIST network, correct and fast.

>>> import fastnn
>>> net = fastnn.TwoLayerNet(784, 50, 10)          # drop-in for the book's TwoLayerNet
>>> fastnn.available_backends()                     # e.g. ['numpy', 'numba', 'cython']
"""
from . import _cache

_cache.configure_numba_cache()  # before anything imports numba: a read-only install caches kernels per user

from . import reference  # noqa: E402
from ._version import __version__  # noqa: E402
from .backends import available_backends  # noqa: E402
from .doctor import doctor  # noqa: E402
from .gradcheck import gradient_check  # noqa: E402
from .io import load_model, save_model  # noqa: E402
from .multilayer import MultiLayerNet, MultiLayerNetExtend, make_network  # noqa: E402
from .network import TwoLayerNet  # noqa: E402
from .numerical import numerical_gradient, warmup  # noqa: E402
from .optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop  # noqa: E402
from .sweeps import sweep  # noqa: E402
from .trainer import Trainer, plot_history  # noqa: E402

__all__ = [
    "__version__", "available_backends", "TwoLayerNet", "numerical_gradient", "warmup", "reference",
    "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "Trainer", "plot_history", "save_model",
    "load_model", "doctor", "gradient_check", "MultiLayerNet", "MultiLayerNetExtend", "make_network", "sweep",
]
