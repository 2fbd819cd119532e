"""The integer codes every kernel reads: activation, loss and optimizer, by name.

Written once for Python and numba (here) and once for Cython (``src_cython/_numerics.pxd``, whose values
the compiled module exports and ``fastnn/backends/_cython.py`` checks against these at import).
"""
SIGMOID, RELU, TANH, IDENTITY = 0, 1, 2, 3
CROSS_ENTROPY, MSE = 0, 1
SGD, MOMENTUM, ADAM = 0, 1, 2

#: name -> code, as the public API spells them.
ACTIVATIONS = {"sigmoid": SIGMOID, "relu": RELU, "tanh": TANH, "identity": IDENTITY}
LOSSES = {"cross_entropy": CROSS_ENTROPY, "mse": MSE}
#: The optimizers a compiled epoch loop runs itself (fastnn.optimizers class names); others step in Python.
FUSED_OPTIMIZERS = {"SGD": SGD, "Momentum": MOMENTUM, "Adam": ADAM}
