"""One engine: the two-layer net is the one-hidden-layer case of the network kernels, on every backend.

TwoLayerNet and MultiLayerNet with one hidden layer (same activation, no weight decay) run the same kernels
on the same flat parameters, so every result is the same to the bit; and the numerical gradient's one
specialisation (the two-layer kernel) is chosen by the engine for exactly the networks it is written for.
"""
import numpy as np
import pytest

import fastnn
from fastnn._codes import CROSS_ENTROPY, RELU, SIGMOID, TANH


def twins(backend, dtype, activation="sigmoid"):
    two = fastnn.TwoLayerNet(9, 6, 4, 0.5, activation=activation, dtype=dtype, backend=backend, seed=1, n_threads=2)
    one_hidden = fastnn.MultiLayerNet(9, [6], 4, activation=activation, dtype=dtype, backend=backend, n_threads=2)
    one_hidden.params = {k: v.copy() for k, v in two.params.items()}
    return two, one_hidden


def data(n=23, dtype=np.float64):
    rng = np.random.default_rng(4)
    return rng.random((n, 9)).astype(dtype), rng.integers(0, 4, n)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_two_layer_net_is_the_one_hidden_layer_network(backend, dtype, activation):
    two, one_hidden = twins(backend, dtype, activation)
    x, t = data(dtype=dtype)
    assert two.loss(x, t) == one_hidden.loss(x, t)
    np.testing.assert_array_equal(two.predict(x), fastnn.reference.softmax(one_hidden.predict(x)))
    ga, gb = two.gradient(x, t), one_hidden.gradient(x, t)
    for key in ga:
        np.testing.assert_array_equal(ga[key], gb[key], err_msg=key)
    if backend != "numpy":  # (the numpy backend's MultiLayerNet runs its own reference loop)
        na, nb = two.numerical_gradient(x, t), one_hidden.numerical_gradient(x, t)
        for key in na:
            np.testing.assert_array_equal(na[key], nb[key], err_msg=key)
    for optimizer in ("SGD", "Momentum", "Adam", "AdaGrad"):
        la = two.train_epoch(x, t, 5, optimizer, lr=0.1, seed=0)
        lb = one_hidden.train_epoch(x, t, 5, optimizer, lr=0.1, seed=0)
        assert la == lb, optimizer
        np.testing.assert_array_equal(two.batch_correct, one_hidden.batch_correct)
        for key in two.params:
            np.testing.assert_array_equal(two.params[key], one_hidden.params[key], err_msg=f"{optimizer} {key}")


def test_the_engine_chooses_the_two_layer_numerical_gradient_for_its_networks_only(monkeypatch):
    pytest.importorskip("numba")
    from fastnn import _numgrad, _numgrad_mlp
    from fastnn.backends import _numba
    calls = []
    for module in (_numgrad, _numgrad_mlp):
        def spy(*args, _f=module.numerical_gradient, _name=module.__name__, **kwargs):
            calls.append(_name.rsplit(".", 1)[1])
            return _f(*args, **kwargs)
        monkeypatch.setattr(module, "numerical_gradient", spy)
    x, t = data()
    cases = [(fastnn.TwoLayerNet(9, 6, 4, backend="numba"), "_numgrad"),
             (fastnn.TwoLayerNet(9, 6, 4, activation="relu", loss="mse", backend="numba"), "_numgrad"),
             (fastnn.MultiLayerNet(9, [6], 4, activation="sigmoid", backend="numba"), "_numgrad"),
             (fastnn.MultiLayerNet(9, [6], 4, activation="tanh", backend="numba"), "_numgrad_mlp"),
             (fastnn.MultiLayerNet(9, [6], 4, weight_decay_lambda=0.1, backend="numba"), "_numgrad_mlp"),
             (fastnn.MultiLayerNet(9, [6, 5], 4, backend="numba"), "_numgrad_mlp"),
             (fastnn.MultiLayerNet(9, [], 4, backend="numba"), "_numgrad_mlp")]
    for net, kernel in cases:
        calls.clear()
        net.numerical_gradient(x, t)
        assert calls == [kernel], repr(net)
    sizes = np.array([9, 6, 4], np.intp)
    assert _numba.uses_two_layer_numgrad(sizes, SIGMOID, 0.0) and _numba.uses_two_layer_numgrad(sizes, RELU, 0.0)
    assert not _numba.uses_two_layer_numgrad(sizes, TANH, 0.0)
    assert not _numba.uses_two_layer_numgrad(sizes, SIGMOID, 1e-3)


def test_the_mlp_kernel_refuses_a_loss_it_is_not_written_for():
    pytest.importorskip("numba")
    from fastnn import _flat
    from fastnn._codes import MSE
    from fastnn.backends import _numba
    sizes = np.array([3, 4, 2, 2], np.intp)
    theta = np.zeros(3 * 4 + 4 + 4 * 2 + 2 + 2 * 2 + 2)
    x, t = np.ones((2, 3)), np.array([0, 1])
    assert _flat.unpack(theta, 3, sizes)["b3"].shape == (2,)
    with pytest.raises(ValueError, match="cross-entropy"):
        _numba.numerical_gradient(theta, sizes, x, t, SIGMOID, MSE, 0.0, 1e-4, 1)
    assert _numba.numerical_gradient(theta, sizes, x, t, SIGMOID, CROSS_ENTROPY, 0.0, 1e-4, 1).shape == theta.shape


@pytest.mark.parametrize("optimizer", ["Momentum", "Adam"])
@pytest.mark.parametrize("widths", [(5, 400), (400, 5)])
def test_an_optimizer_holding_another_networks_state_is_refused(backend, optimizer, widths):
    """One optimizer object reused for a network of other widths: its state does not fit (the compiled loops
    would read and write past it), so the epoch refuses it, on every backend, before touching the parameters."""
    x, t = data()
    opt = getattr(fastnn, optimizer)(lr=0.1)
    fastnn.TwoLayerNet(9, widths[0], 4, backend=backend).train_epoch(x, t, 5, opt, seed=0)
    other = fastnn.TwoLayerNet(9, widths[1], 4, backend=backend)
    before = {k: v.copy() for k, v in other.params.items()}
    with pytest.raises(ValueError, match="W1|shape"):
        other.train_epoch(x, t, 5, opt, seed=0)
    for key in before:
        np.testing.assert_array_equal(other.params[key], before[key], err_msg=key)
    deeper = fastnn.MultiLayerNet(9, [widths[0], 3], 4, backend=backend)
    with pytest.raises((ValueError, KeyError)):
        deeper.train_epoch(x, t, 5, opt, seed=0)
