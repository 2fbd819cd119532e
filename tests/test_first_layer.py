"""The sparse first layer inside the networks' epochs: TwoLayerNet, MultiLayerNet and MLPClassifier give the
dense path's results to rounding on every backend, dtype and optimizer of the compiled loop; 'auto' picks
it for sparse inputs only; a forced mode is obeyed (and really runs the sparse kernels); other optimizers
and the numpy backend run densely and say so."""
import pickle

import numpy as np
import pytest

import fastnn
from fastnn import _checks, _config
from fastnn.multilayer import MultiLayerNet
from helpers import assert_close

COMPILED = ("SGD", "Momentum", "Adam")
HYPER = {"SGD": {"lr": 0.5}, "Momentum": {"lr": 0.2, "momentum": 0.9}, "Adam": {"lr": 0.01},
         "AdaGrad": {"lr": 0.1}, "Nesterov": {"lr": 0.1}}


def sparse_data(seed, n=203, d=37, k=5, density=0.15, dtype=np.float64):
    """Inputs in [0.2, 1.2) at a share ``density`` of places (whole columns of zeros too, as MNIST's
    borders), exact zeros elsewhere; integer labels that depend on the inputs (so training moves)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 1.2, (n, d))
    x[rng.random((n, d)) >= density] = 0
    x[:, :3] = 0
    t = ((x - x.mean(axis=0)) @ rng.standard_normal((d, k))).argmax(axis=1)
    return x.astype(dtype), t


def dense_data(seed, n=203, d=37, k=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 1.2, (n, d))
    return x.astype(dtype), ((x - x.mean(axis=0)) @ rng.standard_normal((d, k))).argmax(axis=1)


def expected_path(backend, optimizer, wanted):
    compiled = backend != "numpy" and optimizer in COMPILED
    return "sparse" if wanted and compiled else "dense"


def make(kind, backend, dtype, first_layer, d=37, k=5):
    if kind == "two-layer":
        return fastnn.TwoLayerNet(d, 11, k, weight_init_std=0.3, backend=backend, dtype=dtype, seed=3,
                                  first_layer=first_layer)
    if kind == "mlp":  # two hidden layers and weight decay
        return MultiLayerNet(d, [9, 7], k, activation="sigmoid", weight_init_std=0.5, weight_decay_lambda=0.01,
                             backend=backend, dtype=dtype, seed=3, first_layer=first_layer)
    return MultiLayerNet(d, [], k, weight_init_std=0.5, backend=backend, dtype=dtype, seed=3,  # softmax regression
                         first_layer=first_layer)


def train(net, x, t, optimizer, epochs=2, batch_size=16):
    """Epochs of one optimizer object (its state carried over); the last epoch's losses and correct counts."""
    opt = getattr(fastnn, optimizer)(**HYPER[optimizer])
    for epoch in range(epochs):
        perm = np.random.default_rng(epoch).permutation(len(x))  # 203 rows: the last batch is shorter
        net.train_epoch(x, t, batch_size, opt, perm=perm)
    return net.batch_losses, net.batch_correct


@pytest.mark.parametrize("optimizer", COMPILED + ("AdaGrad",))
@pytest.mark.parametrize("kind", ["two-layer", "mlp", "no-hidden"])
def test_sparse_equals_dense(backend, dtype, kind, optimizer):
    x, t = sparse_data(0, dtype=dtype)
    nets = {mode: make(kind, backend, dtype, mode) for mode in ("dense", "sparse")}
    runs = {mode: train(net, x, t, optimizer) for mode, net in nets.items()}
    assert nets["dense"].first_layer_used == "dense"
    assert nets["sparse"].first_layer_used == expected_path(backend, optimizer, True)
    for key in nets["dense"].params:
        assert_close(nets["sparse"].params[key], nets["dense"].params[key], dtype, err_msg=key)
    assert_close(runs["sparse"][0], runs["dense"][0], dtype, err_msg="batch losses")
    assert np.abs(runs["sparse"][1] - runs["dense"][1]).max() <= (1 if dtype == np.float32 else 0)
    assert not np.allclose(nets["dense"].params["W1"], make(kind, backend, dtype, "dense").params["W1"])  # trained


@pytest.mark.parametrize("batch_size", [1, 2, 7, 202, 203, 500])
def test_sparse_equals_dense_at_any_batch_size(fast_backend, batch_size):
    """The compiled loop gathers the next batch while the current one finishes (two buffers): one-row batches,
    a short last batch (203 rows), a single batch of all rows, a batch larger than the data; a perm with
    repeats and negative indices."""
    x, t = sparse_data(4)
    perm = np.r_[np.random.default_rng(5).permutation(len(x)), [3, 3, -1]]
    nets = {mode: make("two-layer", fast_backend, np.float64, mode) for mode in ("dense", "sparse")}
    for net in nets.values():
        net.train_epoch(x, t, batch_size, fastnn.Momentum(lr=0.1), perm=perm)
    assert nets["sparse"].first_layer_used == "sparse"
    assert nets["sparse"].batch_losses.shape == (-(-len(perm) // batch_size),)
    assert_close(nets["sparse"].batch_losses, nets["dense"].batch_losses, np.float64)
    np.testing.assert_array_equal(nets["sparse"].batch_correct, nets["dense"].batch_correct)
    for key in nets["dense"].params:
        assert_close(nets["sparse"].params[key], nets["dense"].params[key], np.float64, err_msg=key)


def test_auto_follows_the_input_density(backend, dtype):
    """'auto' runs sparse on sparse inputs and densely on dense ones (where the sparse path must not run), on a
    backend whose sparse kernels pay (SPARSE_AUTO: cython; numba's run only when forced)."""
    from fastnn.backends import get_backend
    pays = getattr(get_backend(backend), "SPARSE_AUTO", False)
    assert pays == (backend == "cython")
    for data, wanted in ((sparse_data(1, dtype=dtype), pays), (dense_data(1, dtype=dtype), False)):
        net = make("two-layer", backend, dtype, "auto")
        train(net, *data, "SGD", epochs=1)
        assert net.first_layer_used == expected_path(backend, "SGD", wanted)
        net = make("mlp", backend, dtype, None)  # None: FASTNN_FIRST_LAYER, else auto
        train(net, *data, "Adam", epochs=1)
        assert net.first_layer_used == expected_path(backend, "Adam", wanted)


@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
def test_forced_sparse_on_dense_data(backend, dtype, kind):
    x, t = dense_data(2, dtype=dtype)
    nets = {mode: make(kind, backend, dtype, mode) for mode in ("dense", "sparse")}
    for net in nets.values():
        train(net, x, t, "Momentum")
    assert nets["sparse"].first_layer_used == expected_path(backend, "Momentum", True)
    for key in nets["dense"].params:
        assert_close(nets["sparse"].params[key], nets["dense"].params[key], dtype, err_msg=key)


def dense_data_with_a_zero_column(seed):
    """Dense inputs (density ~0.97: 'auto' would not take the sparse path) whose column 0 is all zeros."""
    x, t = dense_data(seed)
    x[:, 0] = 0
    assert np.count_nonzero(x) / x.size > max(_config.SPARSE_MAX_DENSITY.values())
    return x, t


@pytest.mark.parametrize("data", [sparse_data, dense_data_with_a_zero_column], ids=["sparse-data", "dense-data"])
@pytest.mark.parametrize("optimizer", COMPILED)
@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
def test_the_sparse_path_never_touches_a_zero_input(fast_backend, kind, optimizer, data, monkeypatch):
    """A weight row of an input that is 0 everywhere set to inf: 0 * inf is NaN in a matrix product, and the
    sparse kernels never form it. So a finite loss shows the sparse kernels ran, and a NaN one the dense; on
    dense data too, where only a forced 'sparse' runs them. (The networks refuse non-finite parameters at the
    door; that check is switched off here.)"""
    monkeypatch.setattr(_checks, "check_finite", lambda name, a: None)
    x, t = data(3)
    losses = {}
    for mode in ("dense", "sparse"):
        net = make(kind, fast_backend, np.float64, mode)
        if kind == "mlp":
            net.weight_decay_lambda = 0.0  # the decay term of an inf weight is inf on both paths
        net.params["W1"][0] = np.inf  # column 0 of x is all zeros
        with np.errstate(all="ignore"):
            losses[mode] = train(net, x, t, optimizer, epochs=1)[0]
    assert np.isnan(losses["dense"]).all()
    assert np.isfinite(losses["sparse"]).all()


def test_environment_variable_and_argument(monkeypatch, fast_backend):
    x, t = dense_data(4)
    monkeypatch.setenv(_config.ENV_FIRST_LAYER, "sparse")
    net = make("two-layer", fast_backend, np.float64, None)
    train(net, x, t, "SGD", epochs=1)
    assert net.first_layer_used == "sparse"
    net = make("two-layer", fast_backend, np.float64, "dense")  # the argument wins over the variable
    train(net, x, t, "SGD", epochs=1)
    assert net.first_layer_used == "dense"
    monkeypatch.setenv(_config.ENV_FIRST_LAYER, "sideways")
    net = make("two-layer", fast_backend, np.float64, None)
    with pytest.raises(ValueError, match=_config.ENV_FIRST_LAYER):
        train(net, x, t, "SGD", epochs=1)


@pytest.mark.parametrize("bad", ["Sparse", "csr", 1, True])
def test_bad_first_layer_is_refused(bad):
    with pytest.raises(ValueError, match="first_layer"):
        fastnn.TwoLayerNet(4, 3, 2, first_layer=bad)
    with pytest.raises(ValueError, match="first_layer"):
        MultiLayerNet(4, [3], 2, first_layer=bad)


def test_pickled_network_keeps_its_mode(fast_backend):
    net = pickle.loads(pickle.dumps(make("mlp", fast_backend, np.float32, "sparse")))
    x, t = dense_data(5, dtype=np.float32)
    train(net, x, t, "Adam", epochs=1)
    assert net.first_layer == "sparse" and net.first_layer_used == "sparse"


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_mlpclassifier_sparse_equals_dense(fast_backend, dtype, solver):
    from fastnn.sklearn import MLPClassifier
    from sklearn.exceptions import ConvergenceWarning
    x, t = sparse_data(6, n=300, dtype=dtype)
    fits = {}
    for mode in ("dense", "sparse"):
        clf = MLPClassifier((13,), solver=solver, nesterovs_momentum=False, max_iter=4, batch_size=32,
                            random_state=0, backend=fast_backend, first_layer=mode)
        with pytest.warns(ConvergenceWarning):
            fits[mode] = clf.fit(x, t)
        assert clf.first_layer_used_ == mode
    for a, b in zip(fits["sparse"].coefs_ + fits["sparse"].intercepts_, fits["dense"].coefs_ + fits["dense"].intercepts_):
        assert_close(a, b, dtype)
    assert_close(fits["sparse"].loss_curve_, fits["dense"].loss_curve_, dtype)


def test_mlpclassifier_refuses_a_bad_first_layer():
    from fastnn.sklearn import MLPClassifier
    from sklearn.utils._param_validation import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="first_layer"):
        MLPClassifier(first_layer="csr").fit(np.eye(4), [0, 1, 0, 1])


@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
def test_batch_correct_of_diverged_rows_follows_numpy_argmax(backend, kind, monkeypatch):
    """Logits that are NaN (a diverged network) count as NumPy's argmax counts them: the first NaN wins, so
    a row is a hit only when its label is the first NaN's index -- never 'correct' because nothing beat it."""
    monkeypatch.setattr(_checks, "check_finite", lambda name, a: None)
    x, t = dense_data(7)
    for first_layer in ("dense", "sparse"):
        net = make(kind, backend, np.float64, first_layer)
        if kind == "mlp":
            net.weight_decay_lambda = 0.0
        last = f"W{len(net.params) // 2}"
        net.params[last][:, 2] = np.nan  # the logit of class 2 is NaN in every row, classes 0-1 are finite
        with np.errstate(all="ignore"):  # the first step's forward pass is the one with only class 2 NaN
            net.train_epoch(x, t, 50, fastnn.SGD(0.1), perm=np.arange(len(x)))
        assert net.batch_correct[0] == np.count_nonzero(t[:50] == 2), (first_layer, net.batch_correct)


def test_mlpclassifier_lbfgs_runs_densely_and_says_so():
    from fastnn.sklearn import MLPClassifier
    x, t = sparse_data(8, n=120)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = MLPClassifier((7,), solver="lbfgs", max_iter=5, random_state=0, first_layer="sparse").fit(x, t)
    assert clf.first_layer_used_ == "dense"
