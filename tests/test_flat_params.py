"""The flat parameter layout: each network owns one theta = [W1, b1, W2, b2, ...] and ``params`` holds views
of it, over every backend (TwoLayerNet and the plain MultiLayerNet)."""
import copy
import pickle

import numpy as np
import pytest

import fastnn
from fastnn import optimizers

SIZES = (6, 5, 4, 3)


def _nets(backend, dtype=np.float64):
    return [fastnn.TwoLayerNet(6, 5, 3, weight_init_std=0.3, dtype=dtype, backend=backend, seed=0),
            fastnn.MultiLayerNet(6, [5, 4], 3, activation="sigmoid", dtype=dtype, backend=backend, seed=0)]


def _layout(net):
    """theta rebuilt by hand from params, in theta's documented order."""
    L = len([k for k in net.params if k.startswith("W")])
    return np.concatenate([net.params[f"{p}{i}"].ravel() for i in range(1, L + 1) for p in "Wb"])


def _data(n=23, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)), rng.integers(0, 3, n)


def _assert_views(net):
    theta = net.theta
    assert theta.flags.c_contiguous and theta.dtype == net.dtype
    for key, value in net.params.items():
        if key[0] in "Wb":
            assert np.shares_memory(value, theta), key
    np.testing.assert_array_equal(theta, _layout(net))


@pytest.mark.parametrize("which", [0, 1], ids=["two_layer", "multi_layer"])
def test_params_are_views_of_theta(backend, dtype, which):
    net = _nets(backend, dtype)[which]
    _assert_views(net)
    w1 = net.params["W1"]
    net.theta[0] = 7.0
    assert w1[0, 0] == 7.0


@pytest.mark.parametrize("which", [0, 1], ids=["two_layer", "multi_layer"])
def test_assignment_copies_into_theta_and_both_book_updates_work(backend, which):
    net = _nets(backend)[which]
    w1, theta = net.params["W1"], net.theta
    new = np.full(w1.shape, 0.5, np.float32)  # another dtype: checked, cast, copied
    net.params["W1"] = new
    assert net.params["W1"] is w1 and np.all(w1 == 0.5) and net.theta is theta
    net.params["w1"] -= 0.25  # the lowercase spelling too
    assert np.all(w1 == 0.25)
    net.params["W1"] = net.params["W1"] - 0.25
    assert np.all(w1 == 0.0) and net.params["W1"] is w1
    with pytest.raises(ValueError, match="W1"):
        net.params["W1"] = np.zeros((2, 2))
    net.params = {k: np.ones_like(v) for k, v in net.params.items()}
    assert net.theta is theta and np.all(theta == 1.0) and net.params["W1"] is w1
    _assert_views(net)


@pytest.mark.parametrize("which", [0, 1], ids=["two_layer", "multi_layer"])
@pytest.mark.parametrize("clone", [lambda n: pickle.loads(pickle.dumps(n)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_views_stay_live_after_pickle_and_copy(backend, which, clone):
    net = _nets(backend)[which]
    other = clone(net)
    assert not np.shares_memory(other.theta, net.theta)
    _assert_views(other)
    other.theta[:] = 0.125
    assert np.all(other.params["W2"] == 0.125)
    x, t = _data()
    other.train_epoch(x, t, batch_size=5, optimizer="SGD", lr=0.1, seed=0)
    _assert_views(other)
    assert not np.all(other.params["W2"] == 0.125)


@pytest.mark.parametrize("which", [0, 1], ids=["two_layer", "multi_layer"])
def test_training_updates_theta_and_the_handed_out_views(backend, which):
    net = _nets(backend)[which]
    w1, before = net.params["W1"], net.theta.copy()
    x, t = _data()
    net.train_epoch(x, t, batch_size=5, optimizer="SGD", lr=0.5, seed=0)
    assert net.params["W1"] is w1 and not np.array_equal(net.theta, before)
    _assert_views(net)


@pytest.mark.parametrize("name", ["Momentum", "Adam"])
def test_optimizer_state_is_packed_once_and_stays_live(backend, name):
    net = _nets(backend)[1]
    x, t = _data()
    opt = getattr(optimizers, name)(lr=0.05)
    net.train_epoch(x, t, batch_size=5, optimizer=opt, seed=0)
    state = opt.v
    v_w1 = state["W1"]
    net.train_epoch(x, t, batch_size=5, optimizer=opt, seed=1)
    assert opt.v is state and opt.v["W1"] is v_w1  # rebound once, then passed straight through
    assert np.any(v_w1 != 0)
    # the dicts still work with the book's update, in place on the same memory
    grads = net.gradient(x, t)
    snapshot = {k: v.copy() for k, v in opt.v.items()}
    opt.update(net.params, grads)
    assert opt.v["W1"] is v_w1 and not np.array_equal(v_w1, snapshot["W1"])
    # and a fused epoch continues from exactly that state: same result as a fresh copy of everything
    twin = copy.deepcopy(net)
    twin_opt = copy.deepcopy(opt)
    net.train_epoch(x, t, batch_size=5, optimizer=opt, seed=2)
    twin.train_epoch(x, t, batch_size=5, optimizer=twin_opt, seed=2)
    np.testing.assert_allclose(net.theta, twin.theta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(opt.v["W1"], twin_opt.v["W1"], rtol=1e-12, atol=1e-12)


def test_replaced_optimizer_state_is_used(backend):
    """A state array the user replaced is packed again, not silently ignored."""
    net = _nets(backend)[1]
    x, t = _data()
    opt = optimizers.Momentum(lr=0.05)
    net.train_epoch(x, t, batch_size=5, optimizer=opt, seed=0)
    twin, twin_opt = copy.deepcopy(net), optimizers.Momentum(lr=0.05)
    twin_opt.v = {k: np.full_like(v, 0.3) for k, v in opt.v.items()}
    opt.v["W1"] = np.full_like(opt.v["W1"], 0.3)
    for k in opt.v:
        if k != "W1":
            opt.v[k][...] = 0.3
    net.train_epoch(x, t, batch_size=5, optimizer=opt, seed=3)
    twin.train_epoch(x, t, batch_size=5, optimizer=twin_opt, seed=3)
    np.testing.assert_allclose(net.theta, twin.theta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("which", [0, 1], ids=["two_layer", "multi_layer"])
def test_whole_params_assignment_is_checked_before_any_copy(backend, which):
    net = _nets(backend)[which]
    before = net.theta.copy()
    bad = {k: np.zeros_like(v) for k, v in net.params.items()}
    bad["W2"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match="W2"):
        net.params = bad
    partial = {"W1": np.zeros_like(net.params["W1"])}
    with pytest.raises(KeyError, match="b1"):
        net.params = partial
    np.testing.assert_array_equal(net.theta, before)


@pytest.mark.parametrize("which", [0, 1], ids=["two_layer", "multi_layer"])
def test_a_pickle_from_before_the_flat_layout_loads_into_theta(backend, which):
    """A network pickled when params held separate arrays gets a theta (and views) on load."""
    from fastnn.network import ParamDict
    net = _nets(backend)[which]
    state = net.__getstate__()
    state["_params"] = ParamDict({k: v.copy() for k, v in net.params.items()}, net._shapes(), net.dtype)
    old = object.__new__(type(net))
    old.__setstate__(state)
    _assert_views(old)
    x, t = _data()
    np.testing.assert_allclose(old.predict(x), net.predict(x))


def test_pickles_hold_each_parameter_and_state_array_once():
    """An optimizer after a compiled epoch pickles its state once (not again as the flat cache), and a fitted
    MLPClassifier its weights once (coefs_ are views of its network's, and are views again after loading)."""
    import pickle
    from fastnn.sklearn import MLPClassifier
    rng = np.random.default_rng(0)
    x, t = rng.random((64, 30)), rng.integers(0, 3, 64)
    net = fastnn.MultiLayerNet(30, [20], 3, seed=0)
    opt = fastnn.Adam(1e-3)
    net.train_epoch(x, t, 16, opt, seed=0)
    state_bytes = 2 * net.theta.nbytes  # m and v
    assert len(pickle.dumps(opt)) < 1.2 * state_bytes + 4096
    again = pickle.loads(pickle.dumps(opt))
    np.testing.assert_array_equal(again.v["W1"], opt.v["W1"])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((20,), max_iter=2, random_state=0, solver="sgd").fit(x, t)
    weights = sum(a.nbytes for a in clf.coefs_ + clf.intercepts_)
    blob = pickle.dumps(clf)
    assert len(blob) < 2.5 * weights + 20000  # the network's theta, the optimizer's velocity, little else
    loaded = pickle.loads(blob)
    assert loaded.coefs_[0].base is not None and np.shares_memory(loaded.coefs_[0], loaded._net.theta)
    np.testing.assert_array_equal(loaded.predict_proba(x), clf.predict_proba(x))
