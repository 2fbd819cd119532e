"""TwoLayerNet's drop-in API: the book's names, both key spellings, both update styles, errors at the door."""
import numpy as np
import pytest

import fastnn
from fastnn import reference as ref
from helpers import assert_close, problem


def small_net(backend="auto", dtype=np.float64, **kw):
    return fastnn.TwoLayerNet(6, 5, 3, weight_init_std=0.5, backend=backend, dtype=dtype, seed=0, **kw)


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6)), rng.integers(0, 3, n)


def test_book_api_shapes_and_types(backend, dtype):
    net = small_net(backend, dtype)
    x, t = data()
    assert set(net.params) == {"W1", "b1", "W2", "b2"}
    assert net.params["W1"].shape == (6, 5) and net.params["b2"].shape == (3,)
    assert all(v.dtype == dtype for v in net.params.values())
    y = net.predict(x)
    assert y.shape == (8, 3) and y.dtype == dtype
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
    assert isinstance(net.loss(x, t), float) and isinstance(net.accuracy(x, t), float)
    for grads in (net.gradient(x, t), net.numerical_gradient(x, t)):
        assert set(grads) == {"W1", "b1", "W2", "b2"}
        assert all(grads[k].shape == net.params[k].shape and grads[k].dtype == dtype for k in grads)


def test_lowercase_keys_read_assign_and_index_gradients(backend):
    net = small_net(backend)
    x, t = data()
    assert net.params["w1"] is net.params["W1"]
    new = np.full((6, 5), 0.01)
    net.params["w1"] = new
    np.testing.assert_array_equal(net.params["W1"], new)
    g = net.gradient(x, t)
    assert g["w1"] is g["W1"] and g["w2"] is g["W2"]
    assert "w2" in net.params and net.params.get("w2") is net.params["W2"]


def test_both_update_styles_train_the_same(backend):
    x, t = data(32)
    a, b = small_net(backend), small_net(backend)
    for _ in range(5):
        ga, gb = a.numerical_gradient(x, t), b.numerical_gradient(x, t)
        for key in ("w1", "b1", "w2", "b2"):
            a.params[key] -= 0.5 * ga[key]                   # in place
            b.params[key] = b.params[key] - 0.5 * gb[key]    # replacing the arrays
    for key in a.params:
        np.testing.assert_allclose(a.params[key], b.params[key], rtol=1e-12)
    assert a.loss(x, t) < small_net(backend).loss(x, t)


def test_integer_and_one_hot_labels_agree(backend):
    net = small_net(backend)
    x, t = data()
    onehot = np.eye(3)[t]
    assert net.loss(x, t) == net.loss(x, onehot)
    assert net.accuracy(x, t) == net.accuracy(x, onehot)
    for key, g in net.gradient(x, t).items():
        np.testing.assert_array_equal(g, net.gradient(x, onehot)[key])


def test_a_single_example_is_a_batch_of_one(backend):
    net = small_net(backend)
    x, t = data(1)
    assert net.predict(x[0]).shape == (1, 3)
    assert net.loss(x[0], t[0]) == pytest.approx(net.loss(x, t), rel=1e-12)


def test_seed_and_generator_give_reproducible_weights():
    a = fastnn.TwoLayerNet(4, 3, 2, seed=5)
    b = fastnn.TwoLayerNet(4, 3, 2, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    np.random.seed(0)
    c = fastnn.TwoLayerNet(4, 3, 2)
    np.random.seed(0)
    assert np.array_equal(c.params["W1"], fastnn.TwoLayerNet(4, 3, 2).params["W1"])  # book: global np.random


def test_init_schemes_scale_with_fan_in():
    he = fastnn.TwoLayerNet(10000, 50, 10, "he", seed=0)
    assert he.params["W1"].std() == pytest.approx(np.sqrt(2 / 10000), rel=0.02)
    xavier = fastnn.TwoLayerNet(10000, 50, 10, "xavier", seed=0)
    assert xavier.params["W2"].std() == pytest.approx(np.sqrt(1 / 50), rel=0.1)


def test_float32_network_keeps_float32_after_updates(backend):
    net = small_net(backend, np.float32)
    x, t = data()
    g = net.gradient(x, t)
    net.params["W1"] = net.params["W1"] - 0.1 * g["W1"].astype(np.float64)
    assert net.params["W1"].dtype == np.float32
    net.train_epoch(x, t, batch_size=4, optimizer="Adam", seed=0)
    assert all(v.dtype == np.float32 for v in net.params.values())


def test_learners_seed_loop_learns(backend):
    """The learner's loop: numerical gradients, lowercase keys, arrays replaced, inputs scaled."""
    params, x, t = problem(4, n=64, d=6, h=5, k=3)
    t = (x[:, 0] > 0.5).astype(int) + (x[:, 1] > 0.5)
    net = fastnn.TwoLayerNet(6, 5, 3, 0.5, backend=backend, seed=1)
    first = net.loss(x, t)
    for _ in range(30):
        g = net.numerical_gradient(x, t)
        for key in ("w1", "b1", "w2", "b2"):
            net.params[key] = net.params[key] - 1.0 * g[key]
    assert net.loss(x, t) < 0.8 * first


@pytest.mark.parametrize("bad_x, message", [
    (np.zeros((4, 5)), "x must have 6 columns"),
    (np.zeros((2, 3, 6)), "x must be 2-D"),
    (np.array([[np.nan] * 6]), "x contains NaN or inf"),
    (np.array([[np.inf] * 6]), "x contains NaN or inf"),
    (np.array([["a"] * 6]), "x must be a numeric array"),
    (np.zeros((0, 6)), "at least one row"),
])
def test_bad_inputs_name_the_argument(backend, bad_x, message):
    net = small_net(backend)
    with pytest.raises((ValueError, TypeError), match=message):
        net.loss(bad_x, np.zeros(len(bad_x), int) if bad_x.ndim == 2 else np.zeros(2, int))


@pytest.mark.parametrize("bad_t, message", [
    (np.array([0, 1, 3, 0]), r"t: labels must lie in \[0, 2\]"),
    (np.array([0, 1, -1, 0]), r"t: labels must lie in \[0, 2\]"),
    (np.array([0, 1, 2]), "one label per row"),
    (np.array([0.0, 1.0, 2.0, 1.0]), "must be integers"),
    (np.ones((4, 3)), "must be one-hot"),
    (np.eye(4), "one-hot labels must have shape"),
    (np.array([0, 1, np.nan, 1]), "must be integers"),
])
def test_bad_labels_name_the_argument(backend, bad_t, message):
    net = small_net(backend)
    with pytest.raises((ValueError, TypeError), match=message):
        net.gradient(np.zeros((4, 6)), bad_t)


def test_bad_parameters_and_options_are_refused():
    net = small_net()
    with pytest.raises(ValueError, match=r"params\['W1'\] must have shape \(6, 5\)"):
        net.params["W1"] = np.zeros((5, 6))
    with pytest.raises(KeyError, match="unknown parameter"):
        net.params["W3"] = np.zeros(3)
    net.params["b1"][0] = np.nan
    with pytest.raises(ValueError, match=r"params\['b1'\] contains NaN"):
        net.loss(np.zeros((1, 6)), [0])
    for kwargs, message in [({"activation": "tanh"}, "activation must be one of"),
                            ({"loss": "hinge"}, "loss must be one of"),
                            ({"dtype": np.int32}, "dtype must be np.float32 or np.float64"),
                            ({"backend": "cuda"}, "backend must be 'auto' or one of"),
                            ({"n_threads": 0}, "n_threads must be a positive integer")]:
        with pytest.raises((ValueError, TypeError), match=message):
            fastnn.TwoLayerNet(6, 5, 3, **kwargs)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        fastnn.TwoLayerNet(6, 0, 3)
    with pytest.raises(ValueError, match="weight_init_std"):
        fastnn.TwoLayerNet(6, 5, 3, "glorot-ish")
    with pytest.raises(ValueError, match="h must be a positive"):
        small_net().numerical_gradient(np.zeros((1, 6)), [0], h=0)


def test_thread_variable_is_validated(monkeypatch):
    from fastnn import _config
    monkeypatch.setenv("FASTNN_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="FASTNN_NUM_THREADS must be a positive integer"):
        _config.resolve_threads()
    monkeypatch.setenv("FASTNN_NUM_THREADS", "3")
    assert _config.resolve_threads() == 3 and _config.resolve_threads(1) == 1


def test_function_form_of_the_numerical_gradient(backend):
    params, x, t = problem(2)
    got = fastnn.numerical_gradient({"w1": params["W1"], "b1": params["b1"], "w2": params["W2"], "b2": params["b2"]},
                                    x, t, backend=backend)
    want = ref.numerical_gradient(params, x, t)
    for key in params:
        assert_close(got[key], want[key], np.float64, scale=100, err_msg=key)


def test_repr_names_the_configuration():
    assert "TwoLayerNet(6, 5, 3, activation='sigmoid'" in repr(small_net("numpy"))


def test_warmup_compiles_every_backend():
    """In a fresh process: before warmup no numba kernel has a compiled signature; after it, backprop, the
    epoch loop and the forward pass have both dtypes and the numerical gradient its float64 one."""
    from isolated import assert_survives
    proc = assert_survives("""
        import json
        import fastnn
        from fastnn import _mlp_numba as bp, _numgrad
        kernels = {"gradient": bp.gradient, "train_epoch": bp.train_epoch, "logits": bp.forward,
                   "numerical_gradient": _numgrad.numerical_gradient}
        jit = all(hasattr(k, "signatures") for k in kernels.values())  # not under NUMBA_DISABLE_JIT=1
        before = {name: [str(s[0]) for s in k.signatures] if jit else [] for name, k in kernels.items()}
        times = fastnn.warmup()
        after = {name: sorted({str(s[0].dtype) for s in k.signatures}) if jit else None
                 for name, k in kernels.items()}
        print(json.dumps({"jit": jit, "before": before, "after": after, "times": times,
                          "backends": fastnn.available_backends()}))
    """)
    import json
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out["times"]) == set(out["backends"])
    assert all(isinstance(v, float) and v > 0 for v in out["times"].values())
    if out["jit"] and "numba" in out["backends"]:
        assert out["before"] == {k: [] for k in out["before"]}
        assert out["after"] == {"gradient": ["float32", "float64"], "train_epoch": ["float32", "float64"],
                                "logits": ["float32", "float64"], "numerical_gradient": ["float64"]}


def test_the_books_function_form_of_numerical_gradient():
    W = np.array([[0.47, 0.99, 0.84], [0.85, 0.03, 0.69]])
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])

    def f(w):  # the book's simpleNet loss (ch. 4), as a function of its weights
        return ref.cross_entropy_error(ref.softmax(x @ w), t)
    got = fastnn.numerical_gradient(f, W)
    y = ref.softmax(x @ W)
    np.testing.assert_allclose(got, np.outer(x, y - t), atol=1e-8)
    with pytest.raises(TypeError, match="needs the labels t"):
        fastnn.numerical_gradient({"W1": W}, x)
