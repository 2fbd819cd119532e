"""MultiLayerNet and MultiLayerNetExtend: the book's chapter-6 networks, with a NumPy reference.

Layers as in the book: Affine -> [BatchNorm] -> activation -> [Dropout] for each hidden layer, then
Affine and softmax-with-loss. ``predict`` returns the scores (logits) as the book's does. The loss is the
exact log-softmax cross-entropy averaged over the batch (see fastnn.reference) plus the weight decay
0.5 lambda sum ||W||^2; the gradient adds lambda W to each dW. Batchnorm keeps the book's conventions
(eps 1e-6 inside the sqrt, running statistics with momentum 0.9); dropout in training keeps a unit with
probability 1 - ratio and scales by (1 - ratio) at test time.

Backends: plain networks (no dropout, no batchnorm) run on the chosen backend's compiled kernels
(fused forward/backward, the compiled epoch loop, the numba numerical gradient); with dropout or
batchnorm, and on the 'numpy' backend, the NumPy reference below computes (``fastnn info`` and
``net.kernels`` say which).
"""
import numpy as np

from . import _checks, _config, reference
from . import _sparse
from .backends import get_backend
from .network import NetworkBase, ParamDict, init_std

ACTIVATIONS = ("relu", "sigmoid", "tanh", "identity")  # the book's default first


class MultiLayerNetExtend(NetworkBase):
    """The book's fully connected network with optional batch normalisation and dropout.

    Parameters
    ----------
    input_size, output_size : int
    hidden_size_list : list of int
        Width of each hidden layer (empty for a softmax regression).
    activation : {'relu', 'sigmoid', 'tanh', 'identity'}
    weight_init_std : float or {'relu', 'he', 'sigmoid', 'xavier'}
        The book's default 'relu' is He initialisation (std sqrt(2 / fan_in)).
    weight_decay_lambda : float
        L2 weight decay added to the loss (0.5 lambda sum ||W||^2) and to each dW (lambda W).
    use_dropout, dropout_ration : bool, float
        Dropout after each hidden activation, in training only (the book's spelling 'ration').
    use_batchnorm : bool
        Batch normalisation before each hidden activation (params gamma1.., beta1..).
    dtype, seed, backend, n_threads, first_layer
        As for :class:`fastnn.TwoLayerNet` (dropout and batchnorm run on the dense NumPy reference).
    """

    #: The book's MultiLayerNet(Extend) trains on softmax cross-entropy (TwoLayerNet also offers 'mse').
    loss_name = "cross_entropy"

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu", weight_init_std="relu",
                 weight_decay_lambda=0, use_dropout=False, dropout_ration=0.5, use_batchnorm=False, *,
                 dtype=np.float64, seed=None, backend="auto", n_threads=None, first_layer=None):
        self.input_size = _checks.check_positive_int("input_size", input_size)
        self.output_size = _checks.check_positive_int("output_size", output_size)
        self.hidden_size_list = _checks.check_sizes("hidden_size_list", hidden_size_list)
        self.hidden_layer_num = len(self.hidden_size_list)
        self.activation = _checks.check_choice("activation", activation, ACTIVATIONS)
        self.weight_decay_lambda = _checks.check_real("weight_decay_lambda", weight_decay_lambda)
        if not np.isfinite(self.weight_decay_lambda) or self.weight_decay_lambda < 0:
            raise ValueError(f"weight_decay_lambda must be a non-negative number, got {weight_decay_lambda!r}")
        self.use_dropout, self.use_batchnorm = bool(use_dropout), bool(use_batchnorm)
        self.dropout_ration = _checks.check_real("dropout_ration", dropout_ration)
        if not 0 <= self.dropout_ration < 1:
            raise ValueError(f"dropout_ration must be in [0, 1), got {dropout_ration!r}")
        self.dtype = _checks.check_dtype(dtype)
        self._backend = get_backend(backend)
        self.n_threads = n_threads
        _config.resolve_threads(n_threads)
        self.first_layer = _sparse.check_first_layer(first_layer)
        self._rng = _checks.check_seed(seed)
        sizes = [self.input_size] + self.hidden_size_list + [self.output_size]
        self._sizes = sizes
        data = {}
        for i in range(1, len(sizes)):
            std = init_std(weight_init_std, sizes[i - 1])
            data[f"W{i}"] = std * self._rng.standard_normal((sizes[i - 1], sizes[i]))
            data[f"b{i}"] = np.zeros(sizes[i])
            if self.use_batchnorm and i < len(sizes) - 1:
                data[f"gamma{i}"] = np.ones(sizes[i])
                data[f"beta{i}"] = np.zeros(sizes[i])
        self._param_shapes = {k: v.shape for k, v in data.items()}
        self.params = data
        self.running = {i: (np.zeros(sizes[i], self.dtype), np.zeros(sizes[i], self.dtype))
                        for i in range(1, len(sizes) - 1)} if self.use_batchnorm else {}

    # -- plumbing ---------------------------------------------------------------------------------------

    def _shapes(self):
        return self._param_shapes

    @property
    def kernels(self):
        """What computes this network: the backend's name, or 'numpy reference' (numpy; dropout, batchnorm)."""
        return "numpy reference" if self._fast() is None else self.backend

    def _plain(self):
        return not (self.use_dropout or self.use_batchnorm)

    def _fast(self):
        """The backend when its compiled plain-MLP functions serve this network; None on the numpy backend and
        with dropout or batchnorm: then this network runs the reference itself (fastnn.reference.mlp_*), on its
        live parameters (its numerical gradient perturbs them in place and restores them), dropout masks and
        batchnorm statistics."""
        if self.use_dropout or self.use_batchnorm or self._backend.IS_REFERENCE:
            return None
        return self._backend

    def _epoch_backend(self):
        return self._fast()

    def _flat_sizes(self):
        return tuple(self._sizes)

    def _logits(self, x, train_flg):
        fast = self._fast()
        if fast is None:
            return self._forward(x, train_flg)[0]
        theta, sizes = self._theta()
        return fast.logits(theta, sizes, x, self._codes()[0], self._threads())

    # -- the reference's forward pass and its backward (fastnn.reference), with this network's state --------

    def _forward(self, x, train_flg):
        """Scores and the cache backward needs (batchnorm statistics updated in training)."""
        return reference.mlp_forward(self.params, x, self.activation, train_flg, self._running(),
                                     self._dropout(), self._rng)

    def _running(self):
        return self.running if self.use_batchnorm else None

    def _dropout(self):
        return self.dropout_ration if self.use_dropout else None

    # -- the book's API --------------------------------------------------------------------------------

    def _decay(self):
        return reference.weight_decay(self.params, self.weight_decay_lambda)

    def predict(self, x, train_flg=False):
        """Scores (logits) of each class, as the book's predict."""
        if self._fast() is None:  # the kernels' path checks the parameters as it packs them
            self._checked_params()
        if train_flg:  # batch statistics: the whole batch at once
            return self._logits(self._x(x), train_flg)
        return self._by_rows(x, lambda xb: self._logits(xb, False))

    def loss(self, x, t, train_flg=False):
        """Mean softmax cross-entropy plus 0.5 lambda sum ||W||^2."""
        x, t = self._xt(x, t)
        return float(reference.softmax_cross_entropy(self._logits(x, train_flg), t) + self._decay())

    def accuracy(self, x, t):
        x, t = self._xt(x, t)
        return float(np.mean(np.argmax(self._logits(x, False), axis=1) == t))

    def gradient(self, x, t):
        """Backprop of ``loss(x, t, train_flg=True)`` (the book's convention), weight decay included."""
        return self.loss_and_gradient(x, t)[1]

    def loss_and_gradient(self, x, t):
        """(loss, grads) of ``loss(x, t, train_flg=True)`` from one forward/backward pass."""
        x, t = self._xt(x, t)
        fast = self._fast()
        if fast is not None:
            theta, sizes = self._theta()
            value, grad = fast.gradient(theta, sizes, x, t, *self._codes(), self.weight_decay_lambda, self._threads())
            return value, self._grads(grad)
        return self._reference_loss_and_gradient(x, t)

    def _reference_loss_and_gradient(self, x, t):
        """(loss, grads) of one training-mode forward pass of the reference on validated x, t."""
        value, grads = reference.mlp_loss_and_gradient(self.params, x, t, self.activation, self.weight_decay_lambda,
                                                       self._running(), self._dropout(), self._rng)
        return value, ParamDict(grads)

    def numerical_gradient(self, x, t, h=_config.DEFAULT_H):
        """Central difference of ``loss(x, t, train_flg=True)`` for every element (the book's loop).

        h must be a positive finite number that moves every parameter (see ``fastnn._checks.check_h``).
        On the reference path the live parameters are perturbed one at a time and restored, also when
        the loop is interrupted (Ctrl-C) or the loss raises.
        """
        x, t = self._xt(x, t)
        h = self._h(h, self._checked_params())
        fast = self._fast()
        if fast is not None:
            theta, sizes = self._theta()
            return self._grads(fast.numerical_gradient(theta, sizes, x, t, *self._codes(), self.weight_decay_lambda,
                                                       h, self._threads()))
        if self.dtype != np.float64:
            return self._numerical_gradient_in_float64(x, t, h)
        self._trainable_params()  # perturbed in place below: contiguous, writable, in the network's dtype
        saved = dict(self.running)

        def f():
            self.running = dict(saved)  # batchnorm statistics must not drift between the evaluations
            return self.loss(x, t, train_flg=True)
        try:
            grads = {k: reference.numerical_gradient_of(f, self.params[k], h) for k in self.params}
        finally:
            self.running = saved
        return ParamDict(grads)

    def _numerical_gradient_in_float64(self, x, t, h):
        """The reference's central differences for a network of a narrower dtype, in float64 as on the compiled
        path (a float32 loss keeps ~7 digits, of which h = 1e-4 leaves ~3 in the difference): float64 copies of
        the parameters (and batchnorm statistics) are perturbed, never the live ones; the result is cast back."""
        params = {k: np.array(v, np.float64) for k, v in self._checked_params().items()}
        x64 = np.asarray(x, np.float64)
        saved = {i: tuple(np.array(a, np.float64) for a in pair) for i, pair in self.running.items()}

        def f():
            running = {i: tuple(a.copy() for a in pair) for i, pair in saved.items()} if self.use_batchnorm else None
            scores = reference.mlp_forward(params, x64, self.activation, True, running, self._dropout(), self._rng)[0]
            return float(reference.softmax_cross_entropy(scores, t)
                         + reference.weight_decay(params, self.weight_decay_lambda))
        return ParamDict({k: reference.numerical_gradient_of(f, params[k], h).astype(self.dtype) for k in params})

    def train_epoch(self, x, t, batch_size=100, optimizer="SGD", perm=None, seed=None, **optimizer_param):
        """One epoch of mini-batch steps in place; returns the mean of the mini-batch losses.

        ``perm`` (default: a fresh permutation from ``seed``) follows :meth:`TwoLayerNet.train_epoch`: any
        1-D integer index array, as ``x[perm]`` takes it.
        """
        from .optimizers import make_optimizer
        x, t = self._xt(x, t, keep_sparse=True)
        optimizer = make_optimizer(optimizer, **optimizer_param)
        if perm is None:
            perm = _checks.check_seed(seed).permutation(len(x))
        return self._train_epoch(x, t, _checks.check_positive_int("batch_size", batch_size), optimizer,
                                 _checks.check_perm(perm, x.shape[0]))

    def _train_epoch(self, x, t, batch_size, optimizer, perm):
        self._trainable_params()  # contiguous and writable, so the kernels update the dict's arrays
        fast = self._fast()
        x, self.first_layer_used = self._epoch_input(x, optimizer)
        if fast is not None:
            self.batch_losses, self.batch_correct = fast.train_epoch(
                self.params, self._sizes, x, t, perm, batch_size, optimizer, *self._codes(), self.weight_decay_lambda,
                self._threads(), sparse=self.first_layer_used == "sparse")
            return float(np.mean(self.batch_losses))
        losses, correct = [], []
        for idx in reference.batches(perm, batch_size):  # one training-mode forward pass a step
            value, grads, scores = reference.mlp_loss_gradient_and_logits(
                self.params, x[idx], t[idx], self.activation, self.weight_decay_lambda, self._running(),
                self._dropout(), self._rng)
            optimizer.update(self.params, ParamDict(grads))
            losses.append(value)
            correct.append(reference.hits(scores, t[idx]))
        self.batch_losses, self.batch_correct = np.asarray(losses), np.asarray(correct, np.int64)
        return float(np.mean(losses))

    def __repr__(self):
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size_list}, {self.output_size}, "
                f"activation={self.activation!r}, use_batchnorm={self.use_batchnorm}, use_dropout={self.use_dropout}, "
                f"backend={self.backend!r})")


class MultiLayerNet(MultiLayerNetExtend):
    """The book's plain fully connected network (no batchnorm, no dropout)."""

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu", weight_init_std="relu",
                 weight_decay_lambda=0, **kwargs):
        super().__init__(input_size, hidden_size_list, output_size, activation, weight_init_std,
                         weight_decay_lambda, **kwargs)


def make_network(input_size, hidden_sizes, output_size, activation="sigmoid", weight_init_std=0.01, **kwargs):
    """One hidden width: the book's TwoLayerNet; several (or none): a MultiLayerNet with those hidden layers.

    Parameters
    ----------
    input_size, output_size : int
    hidden_sizes : sequence of int
        The hidden layers' widths.
    activation, weight_init_std
        As for both classes.
    **kwargs
        ``dtype``, ``backend``, ``seed``, ``n_threads``.
    """
    from .network import TwoLayerNet
    hidden_sizes = list(hidden_sizes)
    if len(hidden_sizes) == 1:
        return TwoLayerNet(input_size, hidden_sizes[0], output_size, weight_init_std, activation=activation, **kwargs)
    return MultiLayerNet(input_size, hidden_sizes, output_size, activation=activation, weight_init_std=weight_init_std,
                         **kwargs)
