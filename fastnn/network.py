"""TwoLayerNet: the book's two-layer network, drop-in, on any backend."""
import numbers

import numpy as np

from . import _checks, _codes, _config, _flat, _sparse, reference
from .backends import get_backend
from .optimizers import make_optimizer

def _canonical(key):
    """'w1', 'w2', ... (the spelling learners write) name 'W1', 'W2', ..."""
    if isinstance(key, str) and len(key) > 1 and key[0] == "w" and key[1:].isdigit():
        return "W" + key[1:]
    return key


class ParamDict(dict):
    """A dict of parameters that also answers the lowercase spelling learners write ('w1', 'w2').

    When built with ``shapes`` and ``dtype``, assigning an array checks its shape and stores it
    C-contiguous in the network's dtype, so both update styles work: ``params[k] -= lr * g[k]`` and
    ``params[k] = params[k] - lr * g[k]``. In the flat layout (``theta``: every network's W_l, b_l) the
    stored arrays are views of theta and an assignment copies the values into the view: an array taken
    from ``params`` before the assignment sees the new values (as a PyTorch parameter's ``.data`` does),
    and the assigned array itself is not kept.
    """

    def __init__(self, data=(), shapes=None, dtype=None, theta=None, sizes=None):
        super().__init__()
        self._shapes = shapes
        self._dtype = dtype
        if theta is not None and not (theta.flags.writeable and theta.flags.c_contiguous):
            theta = np.array(theta, order="C")  # e.g. unpickled from a read-only memory map: never written
        self.theta = theta
        self._sizes = None if sizes is None else tuple(int(n) for n in sizes)
        self._views = {}
        if theta is not None:  # the flat layout: W_l, b_l live in theta, the dict holds views of it
            self._bind(theta)
        self.update(data)

    def _bind(self, theta):
        """Make the dict's W_l, b_l views of ``theta``."""
        self.theta = theta
        self._views = _flat.unpack(theta, len(self._sizes) - 1, self._sizes)
        for key, view in self._views.items():
            super().__setitem__(key, view)

    def _writable(self):
        """Move to a fresh copy of theta when a view was made read-only (``setflags(write=False)``), as
        ``params[k] = params[k] - lr * g[k]`` would replace it: the frozen arrays are never written."""
        if self.theta is not None and not all(v.flags.writeable for v in self._views.values()):
            self._bind(self.theta.copy())

    @classmethod
    def flat(cls, data, shapes, dtype, sizes):
        """A checking ParamDict whose W_l, b_l are views of one new C-contiguous ``theta`` (copied from data)."""
        n = sum(sizes[i - 1] * sizes[i] + sizes[i] for i in range(1, len(sizes)))
        return cls(data, shapes=shapes, dtype=dtype, theta=np.zeros(n, dtype), sizes=sizes)

    def __getitem__(self, key):
        return super().__getitem__(_canonical(key))

    def __setitem__(self, key, value):
        key = _canonical(key)
        if self._shapes is not None:
            if key not in self._shapes:
                raise KeyError(f"unknown parameter {key!r}; expected one of {', '.join(self._shapes)}")
            value = _checks.check_param(key, value, self._shapes[key], self._dtype)
        if key in self._views:
            self._writable()
        view = self._views.get(key)
        if view is not None:  # copied into theta: the view stays the dict's value, the kernels see it
            if value is not view:
                np.copyto(view, value)
            value = view
        super().__setitem__(key, value)

    def __delitem__(self, key):
        super().__delitem__(_canonical(key))

    def __contains__(self, key):
        return super().__contains__(_canonical(key))

    def get(self, key, default=None):
        return super().get(_canonical(key), default)

    def pop(self, key, *default):
        return super().pop(_canonical(key), *default)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, other=(), **kwargs):
        items = other.items() if hasattr(other, "items") else other
        for key, value in list(items) + list(kwargs.items()):
            self[key] = value

    def copy(self):
        return ParamDict({k: v.copy() for k, v in self.items()})

    def __reduce__(self):
        if self.theta is None:
            return (ParamDict, (dict(self), self._shapes, self._dtype))
        rest = {k: v for k, v in self.items() if k not in self._views}  # views are rebuilt from theta on load
        return (ParamDict, (rest, self._shapes, self._dtype, self.theta, self._sizes))


def init_std(weight_init_std, fan_in):
    """The std of a layer's initial weights: a number, or 'xavier'/'sigmoid', 'he'/'relu'."""
    if isinstance(weight_init_std, str):
        name = weight_init_std.lower()
        if name in ("xavier", "sigmoid"):
            return np.sqrt(1.0 / fan_in)
        if name in ("he", "relu"):
            return np.sqrt(2.0 / fan_in)
        raise ValueError(f"weight_init_std must be a number, 'xavier'/'sigmoid' or 'he'/'relu', "
                         f"got {weight_init_std!r}")
    if not isinstance(weight_init_std, numbers.Real) or not np.isfinite(weight_init_std) or weight_init_std < 0:
        raise ValueError(f"weight_init_std must be a non-negative number or a scheme name, got {weight_init_std!r}")
    return float(weight_init_std)


def _normal(seed):
    """A standard-normal sampler: the global np.random (as the book) when seed is None."""
    if seed is None:
        return np.random.randn
    rng = _checks.check_seed(seed)
    return lambda *shape: rng.standard_normal(shape)


class NetworkBase:
    """What every network shares: the checks at the door (x of width input_size in its dtype, labels for
    output_size, parameters of the shapes ``_shapes()`` gives, in its dtype: ``params`` is a checking
    ParamDict), its backend and thread count, and pickling (the backend is kept by name and looked up again
    on load, falling back to the fastest available one where that backend is not built, e.g. a Dask worker).
    """

    @property
    def backend(self):
        """Name of the backend in use."""
        return self._backend.NAME

    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, value):
        """Any mapping of the parameters; kept as a ParamDict that checks shapes and dtype on assignment."""
        current = self.__dict__.get("_params")
        if current is not None and current.theta is not None:
            if value is not current:  # all checked first, then copied into theta: views handed out stay live
                given = {_canonical(k): v for k, v in value.items()}
                missing = [k for k in self._shapes() if k not in given]
                if missing:
                    raise KeyError(f"params is missing {', '.join(map(repr, missing))}")
                checked = ParamDict(given, shapes=self._shapes(), dtype=self.dtype)
                current.update(checked)
            return
        sizes = self._flat_sizes()
        if sizes is not None:
            self._params = ParamDict.flat(value, self._shapes(), self.dtype, sizes)
            return
        if not isinstance(value, ParamDict) or value._shapes is None:
            value = ParamDict(value, shapes=self._shapes(), dtype=self.dtype)
        self._params = value

    def _flat_sizes(self):
        """The layer widths of the flat layout theta = [W1, b1, W2, b2, ...], or None without one."""
        return None

    @property
    def theta(self):
        """Every W_l, b_l in one flat C-contiguous array (``params`` holds views of it)."""
        return self._params.theta

    def _theta(self):
        """The network's own flat theta (checked finite; no copy) and the layer widths, as the kernels take them."""
        self._checked_params()
        return self._params.theta, np.asarray(self._flat_sizes(), np.intp)

    def _codes(self):
        """The activation and loss codes the kernels take."""
        return _codes.ACTIVATIONS[self.activation], _codes.LOSSES[self.loss_name]

    def _grads(self, flat):
        """A flat gradient (theta's layout) as a ParamDict keyed like ``params`` (views of it)."""
        sizes = self._flat_sizes()
        return ParamDict(_flat.unpack(flat, len(sizes) - 1, sizes))

    def _checked_params(self):
        return _checks.check_params(self._params, self._shapes(), self.dtype)

    def _trainable_params(self):
        """Make ``params`` hold the checked, C-contiguous arrays the kernels update in place.

        A read-only array (``setflags(write=False)``, a read-only memory map) is replaced by a writable
        copy, as ``params[k] = params[k] - lr * g[k]`` would replace it: the caller's read-only array is
        never written, and ``params`` holds the trained values afterwards.
        """
        self._params._writable()
        checked = self._checked_params()
        for key, value in checked.items():
            if not value.flags.writeable:
                checked[key] = value.copy()
        self._params.update(checked)

    def _epoch_backend(self):
        """The backend whose compiled loop runs this network's epochs (None: the network runs the reference)."""
        return self._backend

    def _first_layer_path(self, optimizer, x):
        """'sparse' or 'dense' for an epoch of ``optimizer`` on x (``_sparse.first_layer_path``)."""
        backend = self._epoch_backend()
        if backend is None:
            return "dense"
        return _sparse.first_layer_path(backend, optimizer, x, self._flat_sizes()[1],
                                        getattr(self, "first_layer", None))

    def _epoch_input(self, x, optimizer, hold=False, epochs=2):
        """(x, path) for an epoch: path as ``_first_layer_path``; x made dense when it is held over its nonzeros
        (SparseRows) and the path is dense. With ``hold`` (a fit's epochs, ``epochs`` of them), a dense x whose
        path is sparse is compressed here, once, on the backend's threads, and for more than one epoch a held
        SparseRows is marked ``held`` (the epochs may then keep work done on it that only pays back over several,
        such as its dense columns: ``_sparse.dense_columns``)."""
        path = self._first_layer_path(optimizer, x)
        if path == "dense" and isinstance(x, _sparse.SparseRows):
            x = x.toarray()
        elif hold and path == "sparse" and not isinstance(x, _sparse.SparseRows):
            x = _sparse.SparseRows.from_dense(x, self._threads(), getattr(self._epoch_backend(), "csr_rows", None))
        if hold and epochs > 1 and isinstance(x, _sparse.SparseRows):
            x.held = True
        return x, path

    def _h(self, h, params):
        """h checked against the parameters it perturbs (see ``_checks.check_h``)."""
        return _checks.check_h(h, params.values(), self.dtype)

    def _threads(self):
        return _config.resolve_threads(self.n_threads)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_backend"] = self._backend.NAME
        return state

    def __setstate__(self, state):
        state = dict(state)
        try:
            state["_backend"] = get_backend(state["_backend"])
        except RuntimeError:
            state["_backend"] = get_backend("auto")
        self.__dict__.update(state)
        params = self.__dict__.get("_params")
        if params is not None and getattr(params, "theta", None) is None and self._flat_sizes() is not None:
            del self.__dict__["_params"]  # pickled before the flat layout: move the arrays into a theta
            self.params = dict(params)

    def _x(self, x, keep_sparse=False):
        self._threads()  # a bad n_threads (or FASTNN_NUM_THREADS) is refused on every path, threaded or not
        return _checks.check_inputs(x, self.input_size, self.dtype, keep_sparse)

    def _xt(self, x, t, keep_sparse=False):
        x = self._x(x, keep_sparse)
        return x, _checks.check_labels(t, x.shape[0], self.output_size)

    def _by_rows(self, x, logits):
        """logits(x checked and dense), for an array. A scipy.sparse x is never made dense whole: on a plain
        network (no dropout or batchnorm) its first layer's product is taken over its nonzeros (the backend's
        sparse_first_layer) and the rest of the network runs on the kernels; otherwise it goes through
        ``logits`` in blocks of dense rows. Blocks hold at most ``PREDICT_DENSE_BYTES`` of the widest layer
        they make dense (the inputs, on the second path, or a hidden layer's activations); the layers' own
        work arrays come on top of that."""
        if not (_checks._is_sparse(x) and len(x.shape) == 2 and x.shape[1] == self.input_size and x.shape[0]):
            return logits(self._x(x))  # a dense x, or a sparse one the checks refuse (empty, wrong width)
        itemsize = np.dtype(self.dtype).itemsize
        widths = [int(w) for w in self._flat_sizes()]
        if self._plain():
            rows = self._x(x, keep_sparse=True)  # checked: structure, dtype, finite; canonical CSR
            theta, sizes = self._theta()
            step = max(1, _config.PREDICT_DENSE_BYTES // (max(widths[1:]) * itemsize))
            return np.concatenate([self._logits_after_first_layer(rows, i, min(i + step, len(rows)), theta, sizes)
                                   for i in range(0, len(rows), step)])
        x = _checks.check_sparse_structure(x).tocsr()  # row slices without copying the rest
        step = max(1, _config.PREDICT_DENSE_BYTES // (max(widths) * itemsize))
        return np.concatenate([logits(self._x(x[i:i + step])) for i in range(0, x.shape[0], step)])

    def _plain(self):
        """Whether the network is layers of affine maps and one activation alone (its kernels' logits)."""
        return True

    def _logits_after_first_layer(self, rows, r0, r1, theta, sizes):
        """Logits of rows r0:r1 of the SparseRows rows: z1 = x W1 + b1 over their nonzeros (the backend's
        threaded sparse kernel; scipy's product for the reference), then the kernels from there."""
        d, h = int(sizes[0]), int(sizes[1])
        z = self._backend.sparse_first_layer(rows.indptr[r0:r1 + 1], rows.indices, rows.values,
                                             theta[:d * h].reshape(d, h), theta[d * h:d * h + h], self._threads())
        if sizes.shape[0] == 2:
            return z
        z = getattr(reference, self.activation)(z).astype(self.dtype, copy=False)
        return self._backend.logits(theta[d * h + h:], sizes[1:], np.ascontiguousarray(z), self._codes()[0],
                                    self._threads())


ValidatesBatches = NetworkBase  # the former name


class TwoLayerNet(NetworkBase):
    """The book's two-layer network: input -> sigmoid (or relu) hidden layer -> softmax.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Layer widths (784, 50 or 100, 10 for MNIST).
    weight_init_std : float or {'xavier', 'sigmoid', 'he', 'relu'}, default 0.01
        The book's std of the initial weights, or a scheme scaled by the fan-in. Biases start at 0.
    activation : {'sigmoid', 'relu'}
        Hidden-layer activation.
    loss : {'cross_entropy', 'mse'}
        Batch-averaged softmax cross-entropy, or the mean squared error of the probabilities.
    dtype : np.float64 or np.float32
        Everything (parameters, activations, gradients) is kept in this dtype.
    backend : {'auto', 'numpy', 'numba', 'cython'}
        'auto' picks the fastest available (cython > numba > numpy).
    seed : int, np.random.Generator or None
        For the initial weights; None draws from the global ``np.random`` like the book.
    n_threads : int or None
        Threads for the kernels; None follows ``FASTNN_NUM_THREADS``, then the cores.
    first_layer : {'auto', 'dense', 'sparse'} or None
        How ``train_epoch`` computes the first layer's products (x W1 and x^T dA1): 'sparse' over the
        nonzeros of each batch, 'dense' as matrix products, 'auto' sparse when the training inputs are
        sparse enough to pay (MNIST is: 81% of its pixels are 0). None follows ``FASTNN_FIRST_LAYER``, else
        'auto'. Results are the same to rounding; the sparse kernels serve the compiled loop (SGD, Momentum,
        Adam on the cython and numba backends), every other epoch runs densely.

    Attributes
    ----------
    params : dict
        'W1', 'b1', 'W2', 'b2' (also readable and assignable as 'w1', 'w2').
    first_layer_used : {'sparse', 'dense'}
        How the last ``train_epoch`` computed the first layer (set by it).
    """

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, *,
                 activation="sigmoid", loss="cross_entropy", dtype=np.float64, backend="auto",
                 seed=None, n_threads=None, first_layer=None):
        sizes = [_checks.check_positive_int(name, value) for name, value in
                 (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size))]
        self.input_size, self.hidden_size, self.output_size = sizes
        self.activation = _checks.check_choice("activation", activation, reference.ACTIVATIONS)
        self.loss_name = _checks.check_choice("loss", loss, reference.LOSSES)
        self.dtype = _checks.check_dtype(dtype)
        self._backend = get_backend(backend)
        self.n_threads = n_threads
        _config.resolve_threads(n_threads)  # fail now on a bad value
        self.first_layer = _sparse.check_first_layer(first_layer)
        shapes = {"W1": (sizes[0], sizes[1]), "b1": (sizes[1],), "W2": (sizes[1], sizes[2]), "b2": (sizes[2],)}
        normal = _normal(seed)
        self.params = {
            "W1": init_std(weight_init_std, sizes[0]) * normal(*shapes["W1"]),
            "b1": np.zeros(shapes["b1"]),
            "W2": init_std(weight_init_std, sizes[1]) * normal(*shapes["W2"]),
            "b2": np.zeros(shapes["b2"]),
        }

    # -- plumbing ---------------------------------------------------------------------------------

    def _shapes(self):
        return {"W1": (self.input_size, self.hidden_size), "b1": (self.hidden_size,),
                "W2": (self.hidden_size, self.output_size), "b2": (self.output_size,)}

    def _flat_sizes(self):
        return (self.input_size, self.hidden_size, self.output_size)


    def _logits(self, x):
        theta, sizes = self._theta()
        return self._backend.logits(theta, sizes, x, self._codes()[0], self._threads())

    # -- the book's API ---------------------------------------------------------------------------

    def predict(self, x):
        """Class probabilities (N, output_size); each row sums to 1."""
        return reference.softmax(self._by_rows(x, self._logits))

    def loss(self, x, t):
        """Mean loss over the batch; t integer labels or one-hot rows."""
        x, t = self._xt(x, t)
        return float(reference.loss_from_logits(self._logits(x), t, self.loss_name))

    def accuracy(self, x, t):
        """Share of rows whose most probable class is the label."""
        x, t = self._xt(x, t)
        return float(np.mean(np.argmax(self._logits(x), axis=1) == t))

    def gradient(self, x, t):
        """Backprop gradient of ``loss(x, t)``, keyed like ``params``."""
        return self.loss_and_gradient(x, t)[1]

    def numerical_gradient(self, x, t, h=_config.DEFAULT_H):
        """Central difference (f(p + h) - f(p - h)) / 2h of ``loss(x, t)`` for every element."""
        x, t = self._xt(x, t)
        h = self._h(h, self._checked_params())
        theta, sizes = self._theta()
        return self._grads(self._backend.numerical_gradient(theta, sizes, x, t, *self._codes(), 0.0, h,
                                                            self._threads()))

    # -- beyond the book --------------------------------------------------------------------------

    def loss_and_gradient(self, x, t):
        """(loss, grads) from one forward/backward pass."""
        x, t = self._xt(x, t)
        theta, sizes = self._theta()
        value, grad = self._backend.gradient(theta, sizes, x, t, *self._codes(), 0.0, self._threads())
        return float(value), self._grads(grad)

    def train_epoch(self, x, t, batch_size=100, optimizer="SGD", perm=None, seed=None, **optimizer_param):
        """One epoch of mini-batch training in place (the compiled loop where the backend has one).

        Parameters
        ----------
        x, t : array
            Training inputs and labels. x may also be a scipy.sparse matrix (any format), trained on as it
            is where the first layer runs over the nonzeros (``first_layer``), else made dense.
        batch_size : int
            Rows per step; the last step takes the rest.
        optimizer : str or optimizer object
            A fastnn optimizer (state kept across epochs when the same object is passed) or a name.
        perm : array of int, optional
            Rows of each step, in order; default a fresh permutation from ``seed``. Any 1-D integer
            array, as ``x[perm]`` takes it: any length, repeats allowed (sampling with replacement),
            negative indices counting from the end. Boolean or float arrays are a TypeError.

        Returns
        -------
        float
            The mean of the epoch's mini-batch losses (each one is kept in ``batch_losses``, and each batch's
            rows whose logits picked their label -- the same forward pass, before the update -- in
            ``batch_correct``, so an epoch's training accuracy needs no extra pass, as Keras reports it).

        Notes
        -----
        ``params`` are updated in place. A read-only parameter array is first replaced by a writable copy
        (the original is never written), so ``params`` holds the trained values afterwards.
        """
        x, t = self._xt(x, t, keep_sparse=True)
        batch_size = _checks.check_positive_int("batch_size", batch_size)
        optimizer = make_optimizer(optimizer, **optimizer_param)
        if perm is None:
            perm = _checks.check_seed(seed).permutation(x.shape[0])
        return self._train_epoch(x, t, batch_size, optimizer, _checks.check_perm(perm, x.shape[0]))

    def _train_epoch(self, x, t, batch_size, optimizer, perm):
        """train_epoch on inputs already validated by ``_xt`` and ``check_perm`` (the Trainer checks its data
        once)."""
        self._trainable_params()  # contiguous and writable, so kernels update the dict's arrays
        x, self.first_layer_used = self._epoch_input(x, optimizer)
        self.batch_losses, self.batch_correct = self._backend.train_epoch(
            self._params, self._flat_sizes(), x, t, perm, batch_size, optimizer, *self._codes(), 0.0, self._threads(),
            sparse=self.first_layer_used == "sparse")
        return float(np.mean(self.batch_losses))

    def __repr__(self):
        return (f"TwoLayerNet({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"activation={self.activation!r}, loss={self.loss_name!r}, dtype=np.{self.dtype.name}, "
                f"backend={self.backend!r})")


def _check_h(h):
    """h alone (no parameters to compare with yet); see ``_checks.check_h``."""
    return _checks.check_h(h)
