"""A scikit-learn estimator on fastnn's kernels: ``MLPClassifier`` with scikit-learn's parameters.

>>> from fastnn.sklearn import MLPClassifier
>>> clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X, y)   # doctest: +SKIP

It follows ``sklearn.neural_network.MLPClassifier``: the same parameters and defaults, Glorot-uniform
initialisation, the L2 term ``alpha`` scaled by the batch size, Adam/SGD (momentum, Nesterov, learning-rate
schedules)/L-BFGS, ``tol``/``n_iter_no_change`` stopping, early stopping on a stratified validation split,
``partial_fit``, ``warm_start``, and the fitted attributes (``coefs_``, ``intercepts_``, ``loss_curve_``,
``n_iter_``, ``t_``, ...). Training runs fastnn's compiled epoch loop (``MultiLayerNet``'s kernels).

Differences, on purpose: the output layer is a softmax for two classes too (scikit-learn uses one
logistic unit there; the models are equivalent); the computation is in the dtype of X (float32 or
float64, as scikit-learn); multilabel targets are refused with a clear error. Sparse X (CSR, CSC, COO)
trains as it is (the epoch loop's first layer over its nonzeros where that pays) and is predicted on as
the networks' ``predict`` does (never dense whole); lbfgs makes it dense.
Extra parameters: ``backend`` and ``n_threads`` (as for fastnn's networks).
"""
import numbers
import re
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _checks, _config, optimizers, reference
from .multilayer import MultiLayerNet

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def _describe(constraints):
    """'an integer in [1, inf) or one of 'auto'': a parameter's constraints in words, intervals first."""
    words = []
    for c in sorted(constraints, key=lambda c: not isinstance(c, Interval)):
        if isinstance(c, Interval):
            low = "-inf" if c.left is None else c.left
            high = "inf" if c.right is None else c.right
            kind = "an integer" if c.type is numbers.Integral else "a number"
            words.append(f"{kind} in {'[' if c.closed in ('left', 'both') else '('}{low}, {high}"
                         f"{']' if c.closed in ('right', 'both') else ')'}")
        elif isinstance(c, StrOptions):
            words.append("one of " + ", ".join(map(repr, sorted(c.options))))
        else:
            words.append(str(c))
    return " or ".join(words)


class _SklearnNesterov(optimizers.Momentum):
    """scikit-learn's Nesterov momentum: v := m v - lr g; W := W + m v - lr g (not the book's variant)."""

    name = "Nesterov (scikit-learn)"

    def update(self, params, grads):
        for key in params.keys():
            v = self._velocity(params, grads, key)
            params[key] += self.momentum * v - self.lr * grads[key]


#: scipy.sparse formats X may come in (any other is converted to CSR by scikit-learn's validation).
SPARSE_FORMATS = ["csr", "csc", "coo"]


def _check_X_dtype(X):
    """timedelta64 and datetime64 X are refused (scikit-learn would cast them to float silently; complex it
    refuses itself, object and str it converts as usual); a sparse X's index arrays must fit its shape
    (checked before scikit-learn's validation, whose format conversions would trust them). Returns X (a LIL,
    DOK or DIA X as the COO matrix that was checked)."""
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        raise TypeError(f"X must hold numbers, got dtype {dtype}")
    if issparse(X):
        return _checks.check_sparse_structure(X, "X")
    return X


def _stochastic(estimator):
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers; {estimator.solver!r} is not "
                             "stochastic")
    return True


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier, scikit-learn's API and defaults, trained by fastnn's kernels.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, learning_rate_init, power_t,
    max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
    validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As ``sklearn.neural_network.MLPClassifier``.
    backend : {'auto', 'numpy', 'numba', 'cython'}
        fastnn backend ('auto': the fastest available).
    n_threads : int or None
        Threads of the kernels (None: ``FASTNN_NUM_THREADS``, then the cores).
    first_layer : {'auto', 'dense', 'sparse'} or None
        How the stochastic solvers compute the first layer's products (see :class:`fastnn.TwoLayerNet`; lbfgs is
        always dense, and so is 'sgd' with Nesterov's momentum, scikit-learn's default there, which the
        compiled loop does not run; ``nesterovs_momentum=False`` runs it):
        'auto' over the nonzeros of X when it is sparse enough to pay; None: ``FASTNN_FIRST_LAYER``, else
        'auto'. The fitted attribute ``first_layer_used_`` says which ran in the last epoch.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend="auto", n_threads=None,
                 first_layer=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.backend = backend
        self.n_threads = n_threads
        self.first_layer = first_layer

    first_layer = None  # the default for an estimator pickled before the parameter existed

    _parameter_constraints = {
        **SklearnMLPClassifier._parameter_constraints,
        "backend": [StrOptions({"auto", "numpy", "numba", "cython"})],
        "n_threads": [None, Interval(numbers.Integral, 1, None, closed="left")],  # the bound: _config.resolve_threads
        "first_layer": [None, StrOptions({"auto", "dense", "sparse"})],
    }

    # -- validation -------------------------------------------------------------------------------------

    def _check_params(self):
        """scikit-learn's own validation of its MLPClassifier's parameters (``_parameter_constraints``, taken
        from scikit-learn itself) plus fastnn's backend and n_threads; the error names the parameter first.
        Returns the hidden layer widths."""
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            found = re.match(r"The '(\w+)' parameter", str(exc))
            if found is None:
                raise
            name = found.group(1)
            raise InvalidParameterError(f"{name} must be {_describe(self._parameter_constraints[name])}, got "
                                        f"{getattr(self, name)!r} ({exc})") from None
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        _config.resolve_threads(self.n_threads)  # None, or an integer in 1..MAX_THREADS
        return [int(s) for s in sizes]

    # -- the network ------------------------------------------------------------------------------------

    def _new_network(self, n_features, n_outputs, dtype, rng):
        """A MultiLayerNet with scikit-learn's Glorot-uniform initialisation (weights and biases)."""
        net = MultiLayerNet(n_features, self._hidden, n_outputs, activation=ACTIVATIONS[self.activation],
                            weight_init_std=0.0, dtype=dtype, backend=self.backend, n_threads=self.n_threads,
                            first_layer=self.first_layer)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for i in range(1, len(net._sizes)):
            fan_in, fan_out = net._sizes[i - 1], net._sizes[i]
            bound = np.sqrt(factor / (fan_in + fan_out))
            net.params[f"W{i}"] = rng.uniform(-bound, bound, (fan_in, fan_out))
            net.params[f"b{i}"] = rng.uniform(-bound, bound, fan_out)
        return net

    def _network(self):
        """The fitted network, in step with ``coefs_`` and ``intercepts_`` (which a user may replace)."""
        net = self._net
        net.n_threads = self.n_threads  # set_params(n_threads=...) after fit applies to later calls
        net.first_layer = self.first_layer
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_), 1):
            if net.params[f"W{i}"] is not W:
                net.params[f"W{i}"] = W
            if net.params[f"b{i}"] is not b:
                net.params[f"b{i}"] = b
        return net

    def __getstate__(self):
        """coefs_ and intercepts_ are views of the fitted network's parameters: pickled once, with it."""
        state = super().__getstate__()
        if "_net" in state:
            state = {k: v for k, v in state.items() if k not in ("coefs_", "intercepts_")}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_net" in self.__dict__ and "coefs_" not in self.__dict__:
            self._expose()

    def _expose(self):
        L = self._net.hidden_layer_num + 1
        self.coefs_ = [self._net.params[f"W{i}"] for i in range(1, L + 1)]
        self.intercepts_ = [self._net.params[f"b{i}"] for i in range(1, L + 1)]

    # -- fitting ----------------------------------------------------------------------------------------

    def fit(self, X, y):
        """Fit the model to X (n_samples, n_features) and labels y; returns self."""
        return self._fit(X, y, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, classes=None):
        """One pass over (X, y); ``classes`` (all labels) is required on the first call."""
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X, y, incremental, classes=None):
        self._hidden = self._check_params()
        fitted = hasattr(self, "coefs_")
        first = not fitted or (not incremental and not self.warm_start)
        if incremental and not fitted and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit (all the labels y can take)")
        if incremental and self.early_stopping:  # as scikit-learn: no validation split of one batch
            raise ValueError("partial_fit does not support early_stopping=True")
        X = _check_X_dtype(X)
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32), multi_output=True,
                             accept_sparse=SPARSE_FORMATS)
        if y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(f"y must be 1-D labels (multilabel targets are not supported), got shape {y.shape}")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            self.classes_ = unique_labels(y) if classes is None else unique_labels(np.asarray(classes))
        elif classes is not None and not np.array_equal(unique_labels(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the first call ({self.classes_!r})")
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y has labels {unseen!r} that are not in classes_ {self.classes_!r}")
        t = np.searchsorted(self.classes_, y).astype(np.intp)
        if first or not hasattr(self, "_random_state"):
            self._random_state = check_random_state(self.random_state)
        if first:
            self._net = self._new_network(X.shape[1], len(self.classes_), X.dtype, self._random_state)
            self._expose()
            self.n_layers_ = len(self._hidden) + 2
            self.n_outputs_ = len(self.classes_)
            self.out_activation_ = "softmax"
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self._optimizer = None
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        net = self._network()
        X = X.astype(net.dtype) if issparse(X) else np.ascontiguousarray(X, dtype=net.dtype)
        if self.solver == "lbfgs":
            self._fit_lbfgs(net, X, t)
        else:
            self._fit_stochastic(net, X, t, incremental)
        self._expose()
        return self

    def _fit_lbfgs(self, net, X, t):
        self.first_layer_used_ = "dense"  # whole-batch gradients: the sparse kernels serve the epoch loops
        net.weight_decay_lambda = self.alpha / X.shape[0]
        X = np.ascontiguousarray(X.toarray()) if issparse(X) else X  # whole-batch gradients: dense kernels
        backend, sizes = net._backend, np.asarray(net._sizes, np.intp)
        (act, loss), lam, n_threads = net._codes(), net.weight_decay_lambda, net._threads()

        def fun(theta):  # L-BFGS works on the network's theta itself: set it, one backprop, the flat gradient
            _checks.check_finite("theta", theta)
            np.copyto(net.theta, theta, casting="unsafe")
            value, grad = backend.gradient(net.theta, sizes, X, t, act, loss, lam, n_threads)
            return float(value), np.asarray(grad, np.float64)

        res = minimize(fun, net.theta.astype(np.float64), method="L-BFGS-B", jac=True,
                       options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        self.n_iter_ = int(res.nit)
        self.loss_ = float(res.fun)
        fun(res.x)
        if res.status != 0:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={res.status}): "
                          f"{res.message}. Increase max_iter (or max_fun), or scale the data.", ConvergenceWarning)

    def _make_optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "adam":
            return optimizers.Adam(lr=lr, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if self.momentum == 0:
            return optimizers.SGD(lr=lr)
        cls = _SklearnNesterov if self.nesterovs_momentum else optimizers.Momentum
        return cls(lr=lr, momentum=self.momentum)

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(f"Got `batch_size` larger than the sample size ({n}); using {n}.")
        return min(self.batch_size, n)

    def _epoch(self, net, X, t, perm, batch):
        """One pass in place; returns the sample-weighted mean loss (L2 term alpha / batch rows per batch)."""
        opt = self._optimizer
        n = len(perm)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            chunks = [perm[s:s + batch] for s in range(0, n, batch)]
        else:
            full = n - n % batch
            chunks = [c for c in (perm[:full], perm[full:]) if len(c)]
        total = 0.0
        for idx in chunks:
            nb = min(batch, len(idx))
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                opt.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            net.weight_decay_lambda = self.alpha / nb
            net._train_epoch(X, t, nb, opt, _checks.check_perm(idx, X.shape[0]))
            self.first_layer_used_ = net.first_layer_used
            sizes = np.minimum(nb, len(idx) - nb * np.arange(len(net.batch_losses)))
            total += float(np.dot(net.batch_losses, sizes))
            self.t_ += len(idx)
        return total / n

    def _fit_stochastic(self, net, X, t, incremental):
        if self._optimizer is None or not (incremental or self.warm_start):
            self._optimizer = self._make_optimizer()
        early_stopping = self.early_stopping and not incremental
        X_val = t_val = None
        if early_stopping:
            # as scikit-learn: stratified when it has one output unit (one or two classes; with more it holds
            # one indicator column per class and does not stratify)
            stratify = t if len(self.classes_) <= 2 else None
            X, X_val, t, t_val = train_test_split(X, t, random_state=self._random_state,
                                                  test_size=self.validation_fraction, stratify=stratify)
            if not issparse(X):
                X, X_val = np.ascontiguousarray(X), np.ascontiguousarray(X_val)
            if self.validation_scores_ is None:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.best_loss_ = None
        batch = self._batch_size(X.shape[0])
        best = None
        # over its nonzeros once for a sparse first layer (a sparse X as it is), else dense once
        X_epochs = net._epoch_input(net._x(X, keep_sparse=True) if issparse(X) else X, self._optimizer, hold=True,
                                    epochs=1 if incremental else self.max_iter)[0]
        for _ in range(1 if incremental else self.max_iter):
            perm = (self._random_state.permutation(X.shape[0]) if self.shuffle else np.arange(X.shape[0]))
            self.loss_ = self._epoch(net, X_epochs, t, perm, batch)
            self.loss_curve_.append(self.loss_)
            self.n_iter_ += 1
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            improved = self._update_no_improvement_count(net, early_stopping, X_val, t_val)
            if early_stopping and improved:
                best = {k: v.copy() for k, v in net.params.items()}
            if self._no_improvement_count > self.n_iter_no_change:
                what = ("Validation score" if early_stopping else "Training loss")
                msg = (f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} "
                       "consecutive epochs.")
                if self.solver == "sgd" and self.learning_rate == "adaptive" and self._optimizer.lr > 1e-6:
                    self._optimizer.lr /= 5.0
                    self._no_improvement_count = 0
                    if self.verbose:
                        print(f"{msg} Setting learning rate to {self._optimizer.lr:f}")
                    continue
                if self.verbose:
                    print(f"{msg} Stopping.")
                break
            if incremental:
                break
            if self.n_iter_ >= self.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                              "optimization hasn't converged yet.", ConvergenceWarning)
        if early_stopping and best is not None:
            net.params = best

    def _update_no_improvement_count(self, net, early_stopping, X_val, t_val):
        """scikit-learn's rule; returns True when this epoch is the best so far (early stopping)."""
        if early_stopping:
            score = net.accuracy(X_val, t_val)
            self.validation_scores_.append(score)
            self._no_improvement_count = (self._no_improvement_count + 1
                                          if score < self.best_validation_score_ + self.tol else 0)
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
            return False
        last = self.loss_curve_[-1]
        self._no_improvement_count = self._no_improvement_count + 1 if last > self.best_loss_ - self.tol else 0
        if last < self.best_loss_:
            self.best_loss_ = last
        return False

    # -- prediction -------------------------------------------------------------------------------------

    def _scores(self, X):
        check_is_fitted(self, "coefs_")
        X = _check_X_dtype(X)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=SPARSE_FORMATS)
        net = self._network()
        return net.predict(X if issparse(X) else np.ascontiguousarray(X, dtype=net.dtype))

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``."""
        return reference.softmax(self._scores(X))

    def predict_log_proba(self, X):
        """Log of ``predict_proba``, computed stably (log-softmax)."""
        return reference.log_softmax(self._scores(X))

    def predict(self, X):
        """The most probable class of each row."""
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.input_tags.sparse = True
        return tags
