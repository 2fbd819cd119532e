"""fastnn: the book's two-layer MNIST network, correct and fast.

>>> import fastnn
>>> net = fastnn.TwoLayerNet(784, 50, 10)          # drop-in for the book's TwoLayerNet
>>> fastnn.available_backends()                     # e.g. ['numpy', 'numba', 'cython']
"""
from . import reference
from ._version import __version__
from .backends import available_backends
from .doctor import doctor
from .gradcheck import gradient_check
from .io import load_model, save_model
from .multilayer import MultiLayerNet, MultiLayerNetExtend
from .network import TwoLayerNet
from .numerical import numerical_gradient, warmup
from .optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from .sweeps import sweep
from .trainer import Trainer, plot_history

__all__ = [
    "__version__", "available_backends", "TwoLayerNet", "numerical_gradient", "warmup", "reference",
    "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "Trainer", "plot_history", "save_model",
    "load_model", "doctor", "gradient_check", "MultiLayerNet", "MultiLayerNetExtend", "sweep",
]
