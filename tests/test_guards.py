"""The public API's ways out, closed: no crash, no silent garbage, one clear error at the door.

Calls that once crashed the process run in a child process (``tests/isolated.py``), so a regression
fails its test instead of killing pytest.
"""
import numpy as np
import pytest

import fastnn
from fastnn import _config, reference
from fastnn.multilayer import MultiLayerNet, MultiLayerNetExtend

from conftest import BACKENDS, FAST_BACKENDS
from isolated import assert_survives


def data(n=50, d=6, k=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.random((n, d)), rng.integers(0, k, n).astype(np.intp)


def two_layer(backend, seed=0, **kw):
    return fastnn.TwoLayerNet(6, 5, 3, 0.5, backend=backend, seed=seed, **kw)


def multi_layer(backend, seed=0, **kw):
    return MultiLayerNet(6, [5, 4], 3, backend=backend, seed=seed, **kw)


NETS = {"TwoLayerNet": two_layer, "MultiLayerNet": multi_layer}


def in_child(call, timeout=300, env=None):
    """Run ``test_guards.<call>`` in a fresh process: a crash there fails the calling test only."""
    assert_survives(f"import test_guards\ntest_guards.{call}", timeout=timeout, env=env)


# --- 1. perm: NumPy fancy-indexing semantics, checked once at the door --------------------------------

@pytest.mark.parametrize("kind", NETS)
def test_perm_longer_than_x_with_a_batch_larger_than_x_trains_like_the_reference(backend, kind):
    """The book's sampling with replacement (rng.choice(50, 1000)) and batch_size > rows: the cython
    workspace was sized from x's rows, not from the batches cut from perm (out-of-bounds writes, segfault)."""
    assert_survives(f"""
        import numpy as np
        from test_guards import NETS, data
        x, t = data()
        perm = np.random.default_rng(1).choice(50, 1000)
        net, ref = NETS[{kind!r}]({backend!r}), NETS[{kind!r}]("numpy")
        loss = net.train_epoch(x, t, batch_size=120, optimizer="SGD", lr=0.1, perm=perm)
        ref_loss = ref.train_epoch(x, t, batch_size=120, optimizer="SGD", lr=0.1, perm=perm)
        assert len(net.batch_losses) == 9, net.batch_losses
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-9)
        for k in ref.params:
            np.testing.assert_allclose(net.params[k], ref.params[k], rtol=1e-8, atol=1e-10, err_msg=k)
    """, timeout=300)


BAD_PERMS = {
    "past the end": (np.array([0, 1, 50]), ValueError, r"perm must index rows of x: values in \[-50, 49\].*got 50"),
    "before the start": (np.array([0, -51]), ValueError, r"perm must index rows of x.*got -51"),
    "huge": (np.array([10 ** 12]), ValueError, "perm must index rows of x"),
    "huge unsigned": (np.array([2 ** 64 - 1], np.uint64), ValueError, "perm must index rows of x"),
    "bool mask": (np.ones(50, bool), TypeError, "perm must be integer row indices, got a boolean array"),
    "float": (np.arange(50.0), TypeError, "perm must be integer row indices, got dtype float64"),
    "complex": (np.arange(50).astype(complex), TypeError, "perm must be integer row indices"),
    "empty": (np.array([], np.intp), ValueError, "perm must hold at least one row index"),
    "empty list": ([], ValueError, "perm must hold at least one row index"),
    "2-D": (np.arange(50).reshape(5, 10), ValueError, "perm must be a 1-D array"),
    "scalar": (np.int64(3), ValueError, "perm must be a 1-D array"),
    "ragged": ([[0, 1], [2]], ValueError, "perm must be an array of numbers"),
}


@pytest.mark.parametrize("kind", NETS)
def test_bad_perm_is_refused_at_the_door(backend, kind):
    """MultiLayerNet validated no perm: out of range segfaulted numba and cython; bool, float and negative
    perms trained silently on the wrong rows. Every case of BAD_PERMS, in one child process."""
    in_child(f"bad_perms_are_refused({backend!r}, {kind!r})")


def bad_perms_are_refused(backend, kind):
    x, t = data()
    net = NETS[kind](backend)
    before = {k: v.copy() for k, v in net.params.items()}
    for case, (perm, error, message) in BAD_PERMS.items():
        with pytest.raises(error, match=message):
            net.train_epoch(x, t, batch_size=7, perm=perm)
        for k in before:
            assert np.array_equal(net.params[k], before[k]), (case, k)


@pytest.mark.parametrize("kind", NETS)
def test_negative_perm_counts_from_the_end_as_numpy_indexing(backend, kind):
    in_child(f"negative_perm_trains_like_x_of_perm({backend!r}, {kind!r})")


def negative_perm_trains_like_x_of_perm(backend, kind):
    x, t = data()
    perm = np.random.default_rng(2).integers(-50, 50, 80)
    a, b = NETS[kind](backend), NETS[kind](backend)
    a.train_epoch(x, t, batch_size=16, optimizer="Momentum", lr=0.05, perm=perm)
    b.train_epoch(x, t, batch_size=16, optimizer="Momentum", lr=0.05, perm=np.arange(50)[perm])
    assert np.any(perm < 0)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


def test_perm_check_is_shared_and_keeps_repeats_and_order():
    from fastnn._checks import check_perm
    perm = np.array([3, 3, -1, 0, 4], np.int16)
    out = check_perm(perm, 5)
    assert out.dtype == np.intp and out.flags.c_contiguous
    assert out.tolist() == [3, 3, 4, 0, 4]
    assert check_perm(np.array([4, 0], np.uint64), 5).tolist() == [4, 0]
    same = np.arange(5, dtype=np.intp)
    assert check_perm(same, 5) is same


def test_estimator_trains_through_the_same_perm_check(monkeypatch):
    from fastnn import _checks
    from fastnn.sklearn import MLPClassifier
    seen = []
    real = _checks.check_perm
    monkeypatch.setattr(_checks, "check_perm", lambda perm, n: seen.append(len(perm)) or real(perm, n))
    x, t = data(n=40)
    MLPClassifier((4,), max_iter=2, batch_size=16, random_state=0, backend="numpy").fit(x, t)
    assert seen and sum(seen) == 2 * 40


# --- 2. threads: one resolver, one bound ------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda n: two_layer("numpy", n_threads=n),
    lambda n: multi_layer("numpy", n_threads=n),
    lambda n: MultiLayerNetExtend(6, [5], 3, use_batchnorm=True, n_threads=n),
])
def test_thread_count_above_the_bound_is_refused_naming_the_argument(make):
    for n in (_config.MAX_THREADS + 1, 1000, 10 ** 6):
        with pytest.raises(ValueError, match=f"n_threads must be at most {_config.MAX_THREADS}.*got {n}"):
            make(n)
    make(_config.MAX_THREADS)  # the bound itself is allowed
    with pytest.raises(TypeError, match="n_threads must be a positive integer"):
        make(2.0)


def test_thread_bound_covers_the_environment_and_later_assignment(backend):
    """10**6 threads segfaulted the cython kernels; 1000 started ~1000 OS threads."""
    in_child(f"thread_bound_at_every_call({backend!r})")


def thread_bound_at_every_call(backend):
    import os
    x, t = data()
    with pytest.raises(ValueError, match=f"{_config.ENV_NUM_THREADS} must be at most {_config.MAX_THREADS}"):
        os.environ[_config.ENV_NUM_THREADS] = "1000"
        two_layer(backend)
    del os.environ[_config.ENV_NUM_THREADS]
    net = two_layer(backend)
    os.environ[_config.ENV_NUM_THREADS] = "1000"  # set after construction: resolved again at each call
    for call in (lambda: net.loss(x, t), lambda: net.predict(x), lambda: net.train_epoch(x, t, 10)):
        with pytest.raises(ValueError, match=f"{_config.ENV_NUM_THREADS} must be at most {_config.MAX_THREADS}"):
            call()
    del os.environ[_config.ENV_NUM_THREADS]
    net.n_threads = 10 ** 6
    for call in (lambda: net.loss(x, t), lambda: net.gradient(x, t), lambda: net.train_epoch(x, t, 10),
                 lambda: net.numerical_gradient(x[:2], t[:2])):
        with pytest.raises(ValueError, match="n_threads must be at most"):
            call()
    for mlp in (multi_layer(backend), MultiLayerNetExtend(6, [5], 3, use_batchnorm=True, backend=backend)):
        mlp.n_threads = 10 ** 6  # refused on the reference paths too, though they run no threads of their own
        for call in (lambda: mlp.predict(x), lambda: mlp.train_epoch(x, t, 10)):
            with pytest.raises(ValueError, match="n_threads must be at most"):
                call()


def test_thread_bound_in_the_estimator_and_the_sweep():
    in_child("thread_bound_in_estimator_and_sweep()")


def thread_bound_in_estimator_and_sweep():
    from fastnn.sklearn import MLPClassifier
    x, t = data()
    with pytest.raises(ValueError, match="n_threads must be at most"):
        MLPClassifier((4,), max_iter=1, n_threads=10 ** 6).fit(x, t)
    clf = MLPClassifier((4,), max_iter=1).fit(x, t)
    clf.set_params(n_threads=10 ** 6)
    with pytest.raises(ValueError, match="n_threads must be at most"):
        clf.predict(x)
    with pytest.raises(ValueError, match="threads_per_task must be at most"):
        fastnn.sweep({"hidden": [4]}, "digits", epochs=1, n_jobs=1, threads_per_task=10 ** 6, verbose=False)


def test_resolved_default_never_exceeds_the_bound(monkeypatch):
    monkeypatch.delenv(_config.ENV_NUM_THREADS, raising=False)
    monkeypatch.setattr(_config, "available_cores", lambda: 4096)
    assert _config.resolve_threads() == _config.MAX_THREADS


# --- 3. the numerical gradient stays finite wherever the central difference is ---------------------

@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("h", [0.5, 3.0, 800.0])
def test_numerical_gradient_finite_for_large_h_and_raw_pixels(fast_backend, activation, loss, h):
    """expm1 of the logit shift overflowed (h >= 0.5 on raw pixels; h >= 710 on any input): NaN/inf
    where the reference is finite."""
    x, t = data(n=8, scale=255.0)
    x[x < 60] = 0.0
    net = fastnn.TwoLayerNet(6, 5, 3, 1.0, activation=activation, loss=loss, backend=fast_backend, seed=3)
    ref = fastnn.TwoLayerNet(6, 5, 3, 1.0, activation=activation, loss=loss, backend="numpy", seed=3)
    got, want = net.numerical_gradient(x, t, h=h), ref.numerical_gradient(x, t, h=h)
    for k in want:
        assert np.all(np.isfinite(want[k])), k
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-9, err_msg=k)


def test_numerical_gradient_finite_when_a_confident_class_loses_its_mass(fast_backend):
    """1 + sum p expm1(u) cancelled to 0 (log1p(-1) = -inf) when the shift takes a near-certain class down."""
    x, t = data(n=4)
    net = fastnn.TwoLayerNet(6, 5, 3, 0.0, activation="relu", backend=fast_backend)
    net.params["W2"] = np.array([[60.0, 0, 0]] * 5)  # class 0 certain (p ~ 1 - 1e-26)
    net.params["W1"] = np.ones((6, 5))
    ref = fastnn.TwoLayerNet(6, 5, 3, 0.0, activation="relu", backend="numpy")
    ref.params = {k: v.copy() for k, v in net.params.items()}
    got, want = net.numerical_gradient(x, t, h=2.0), ref.numerical_gradient(x, t, h=2.0)
    for k in want:
        assert np.all(np.isfinite(got[k])), k
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-9, err_msg=k)


def test_numerical_gradient_finite_for_a_subnormal_h_on_zero_parameters(backend):
    """1 / (2 h N) overflowed to inf for a subnormal h (the kernels then returned inf or NaN). h = 1e-310
    moves parameters that are all 0, so it is accepted; the reference's f(p + h) - f(p - h) then rounds
    to 0, while the compiled kernels, which compute each row's loss change directly, stay exact."""
    x, t = data(n=5)
    net = fastnn.TwoLayerNet(6, 5, 3, 0.0, backend=backend)
    g = net.numerical_gradient(x, t, h=1e-310)
    for k, v in g.items():
        assert np.all(np.isfinite(v)), k
    if backend != "numpy":
        exact = net.gradient(x, t)
        for k in exact:
            np.testing.assert_allclose(g[k], exact[k], rtol=1e-3, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("h", [0.5, 800.0])
def test_mlp_numerical_gradient_finite_for_large_h(fast_backend, h):
    x, t = data(n=8, scale=255.0)
    net = MultiLayerNet(6, [5, 4], 3, activation="relu", weight_init_std=1.0, backend=fast_backend, seed=1)
    ref = MultiLayerNet(6, [5, 4], 3, activation="relu", weight_init_std=1.0, backend="numpy", seed=1)
    got, want = net.numerical_gradient(x, t, h=h), ref.numerical_gradient(x, t, h=h)
    for k in want:
        assert np.all(np.isfinite(want[k])), k
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-8, err_msg=k)


# --- 4. one h check for every network and backend; the reference loop restores in finally ----------

ALL_NETS = {
    "TwoLayerNet": lambda b: two_layer(b),
    "MultiLayerNet": lambda b: multi_layer(b),
    "MultiLayerNetExtend": lambda b: MultiLayerNetExtend(6, [5], 3, use_batchnorm=True, use_dropout=True,
                                                         backend=b, seed=0),
}


@pytest.mark.parametrize("kind", ALL_NETS)
@pytest.mark.parametrize("h, error, message", [
    (0, ValueError, "h must be a positive finite number"),
    (0.0, ValueError, "h must be a positive finite number"),
    (-1e-4, ValueError, "h must be a positive finite number"),
    (float("nan"), ValueError, "h must be a positive finite number"),
    (float("inf"), ValueError, "h must be a positive finite number"),
    (1e308, ValueError, "h must be a positive finite number"),
    (1e-300, ValueError, r"h=1e-300 vanishes next to \|p\|"),
    (True, TypeError, "h must be a positive finite number"),
    ("1e-4", TypeError, "h must be a positive finite number"),
    (None, TypeError, "h must be a positive finite number"),
    (1j, TypeError, "h must be a positive finite number"),
])
def test_every_network_checks_h(backend, kind, h, error, message):
    x, t = data(n=4)
    net = ALL_NETS[kind](backend)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(error, match=message):
        net.numerical_gradient(x, t, h=h)
    for k in before:
        assert np.array_equal(net.params[k], before[k]), k


def test_h_must_move_float32_parameters():
    x, t = data(n=4)
    net = fastnn.TwoLayerNet(6, 5, 3, 2.0, dtype=np.float32, backend="numpy", seed=0)
    with pytest.raises(ValueError, match="in float32"):
        net.numerical_gradient(x, t, h=1e-9)
    assert np.all(np.isfinite(net.numerical_gradient(x, t, h=1e-2)["W1"]))


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt without risking pytest's own handling of it."""


@pytest.mark.parametrize("kind", ["MultiLayerNet", "MultiLayerNetExtend"])
@pytest.mark.parametrize("stop_at", [1, 2, 7])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, Interrupt, FloatingPointError])
def test_interrupted_reference_loop_leaves_no_weight_perturbed(kind, stop_at, exc):
    """Ctrl-C inside the element loop left the live weight at p + h or p - h."""
    x, t = data(n=4)
    net = ALL_NETS[kind]("numpy")
    before = {k: v.copy() for k, v in net.params.items()}
    running = dict(getattr(net, "running", {}))
    real, calls = net.loss, []

    def loss(*args, **kwargs):
        calls.append(1)
        if len(calls) == stop_at:
            raise exc("stop")
        return real(*args, **kwargs)
    net.loss = loss
    with pytest.raises(exc):
        net.numerical_gradient(x, t)
    assert len(calls) == stop_at
    for k in before:
        assert np.array_equal(net.params[k], before[k]), k
    assert net.running.keys() == running.keys()


def test_interrupted_book_form_restores_the_array():
    from fastnn.numerical import numerical_gradient
    w = np.arange(6.0).reshape(2, 3)
    calls = []

    def f(_):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return float(np.sum(w ** 2))
    with pytest.raises(KeyboardInterrupt):
        numerical_gradient(f, w)
    np.testing.assert_array_equal(w, np.arange(6.0).reshape(2, 3))


# --- 5. dtypes: real numbers only; uint8 pixels and bool inputs keep working ------------------------

@pytest.mark.parametrize("kind", NETS)
@pytest.mark.parametrize("bad", [
    lambda x: x.astype(np.complex128), lambda x: x.astype(np.complex64), lambda x: x.astype("m8[s]"),
    lambda x: x.astype("M8[s]"), lambda x: x.astype(object), lambda x: x.astype(str),
    lambda x: x.astype(bytes),
], ids=["complex128", "complex64", "timedelta64", "datetime64", "object", "str", "bytes"])
def test_non_real_inputs_are_a_type_error_naming_x(backend, kind, bad):
    x, t = data(n=6)
    net = NETS[kind](backend)
    for call in (lambda v: net.predict(v), lambda v: net.loss(v, t), lambda v: net.gradient(v, t),
                 lambda v: net.train_epoch(v, t, 3)):
        with pytest.raises(TypeError, match=r"^x must be a numeric array \(bool, integer or real float\)"):
            call(bad(x))


@pytest.mark.parametrize("kind", NETS)
def test_non_real_labels_and_params_are_a_type_error_naming_them(backend, kind):
    x, t = data(n=6)
    net = NETS[kind](backend)
    for bad_t in (t.astype(complex), t.astype("m8[D]"), t.astype(object), t.astype(float), t.astype(bool)):
        with pytest.raises(TypeError, match="^t"):
            net.loss(x, bad_t)
    for bad in (lambda w: w.astype(complex), lambda w: w.astype("m8[s]"), lambda w: w > 0,
                lambda w: w.astype(object)):
        with pytest.raises(TypeError, match=r"^params\['W1'\] must be a numeric array \(integer or real float\)"):
            net.params["W1"] = bad(net.params["W1"])


@pytest.mark.parametrize("kind", NETS)
def test_uint8_pixels_and_bool_inputs_are_numbers(backend, kind):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 6)).astype(np.uint8)
    t = rng.integers(0, 3, 6)
    net = NETS[kind](backend)
    assert net.loss(pixels, t) == net.loss(pixels.astype(np.float64), t)
    mask = pixels > 128
    assert net.loss(mask, t) == net.loss(mask.astype(np.float64), t)
    one_hot = np.eye(3, dtype=bool)[t]
    assert net.loss(pixels, one_hot) == net.loss(pixels, t)


def test_ragged_input_names_the_argument():
    net = two_layer("numpy")
    with pytest.raises(ValueError, match="^x must be an array of numbers"):
        net.predict([[1, 2, 3, 4, 5, 6], [1, 2]])


# --- 6. read-only params: every backend trains a writable copy --------------------------------------

@pytest.mark.parametrize("kind", NETS)
@pytest.mark.parametrize("optimizer", ["SGD", "Momentum", "Adam", "AdaGrad"])
def test_read_only_params_train_on_writable_copies(backend, kind, optimizer):
    """numba's train_epoch raised a 39-line TypingError; numpy and cython a one-line error."""
    x, t = data()
    net, ref = NETS[kind](backend), NETS[kind](backend)
    frozen = {}
    for k, v in net.params.items():
        v.setflags(write=False)
        frozen[k] = v
    saved = {k: v.copy() for k, v in frozen.items()}
    loss = net.train_epoch(x, t, 16, optimizer, perm=np.arange(50))
    ref_loss = ref.train_epoch(x, t, 16, optimizer, perm=np.arange(50))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    for k in saved:
        np.testing.assert_array_equal(frozen[k], saved[k], err_msg=f"{k}: the read-only original was written")
        assert net.params[k].flags.writeable, k
        np.testing.assert_array_equal(net.params[k], ref.params[k], err_msg=k)
        assert not np.array_equal(net.params[k], saved[k]), f"{k} was not trained"


def test_read_only_optimizer_state_is_not_written(backend):
    x, t = data()
    net = two_layer(backend)
    opt = fastnn.Momentum(lr=0.1)
    net.train_epoch(x, t, 16, opt, perm=np.arange(50))
    for v in opt.v.values():
        v.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        net.train_epoch(x, t, 16, opt, perm=np.arange(50))


@pytest.mark.parametrize("dtype", ["m8[s]", "M8[s]"])
def test_estimator_refuses_timedelta_and_datetime_X(dtype):
    """scikit-learn's validation casts timedelta64/datetime64 to float silently."""
    from fastnn.sklearn import MLPClassifier
    X = np.arange(24).reshape(12, 2).astype(np.int64).astype(dtype)
    y = np.arange(12) % 2
    with pytest.raises(TypeError, match="^X must hold numbers"):
        MLPClassifier((3,), max_iter=2).fit(X, y)
    clf = MLPClassifier((3,), max_iter=2).fit(X.astype(np.int64), y)
    with pytest.raises(TypeError, match="^X must hold numbers"):
        clf.predict(X)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), ("a", TypeError), (1.5, TypeError), (True, TypeError),
                                         ([1, -2], ValueError)])
@pytest.mark.parametrize("where", ["TwoLayerNet", "MultiLayerNet", "train_epoch"])
def test_a_bad_seed_is_an_error_naming_seed(where, seed, error):
    """As NumPy's default_rng takes a seed, but named: a string, a float, a bool (NumPy would take it as 0 or 1)
    or a negative number is refused with the argument's name, not SeedSequence's message."""
    with pytest.raises(error, match="seed must be None, a non-negative integer or a np.random.Generator"):
        if where == "TwoLayerNet":
            fastnn.TwoLayerNet(6, 5, 3, seed=seed, backend="numpy")
        elif where == "MultiLayerNet":
            MultiLayerNet(6, [5], 3, seed=seed, backend="numpy")
        else:
            fastnn.TwoLayerNet(6, 5, 3, seed=0, backend="numpy").train_epoch(np.zeros((4, 6)), [0, 1, 2, 0], 2,
                                                                            seed=seed)


def test_good_seeds_are_numpys():
    """None, integers, sequences of them, SeedSequence and Generator all still work, and a seed fixes the
    initial weights."""
    for seed in (None, 0, np.int64(3), [1, 2], np.random.SeedSequence(4), np.random.default_rng(5)):
        MultiLayerNet(6, [5], 3, seed=seed, backend="numpy")
    a, b = (fastnn.TwoLayerNet(6, 5, 3, seed=7, backend="numpy").params["W1"] for _ in range(2))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hidden, error, message", [
    (5, TypeError, r"hidden_size_list must be a list of layer widths such as \[100, 50\], got int 5"),
    ("100", TypeError, "hidden_size_list must be a list of layer widths"),
    ([5, 0], ValueError, r"hidden_size_list\[1\] must be a positive integer, got 0"),
    ([5, 2.5], ValueError, r"hidden_size_list\[1\] must be a positive integer, got 2.5")])
def test_hidden_size_list_must_be_a_list_of_widths(hidden, error, message):
    with pytest.raises(error, match=message):
        MultiLayerNet(6, hidden, 3, backend="numpy")
    assert MultiLayerNet(6, (5, 4), 3, backend="numpy").hidden_size_list == [5, 4]


@pytest.mark.parametrize("name", ["weight_decay_lambda", "dropout_ration"])
@pytest.mark.parametrize("bad", ["0.1", "abc", True, None])
def test_real_settings_of_the_multilayer_net_must_be_numbers(name, bad):
    """A string is refused like SGD(lr='0.1') is (before, '0.1' was taken as 0.1 and 'abc' gave float()'s
    message, naming no argument)."""
    with pytest.raises(TypeError, match=f"{name} must be a number"):
        MultiLayerNetExtend(6, [5], 3, backend="numpy", **{name: bad})


@pytest.mark.parametrize("value", [1e300, -4e38])
def test_finite_inputs_beyond_float32_are_named_as_such(value, backend):
    """A float32 network given finite float64 values it cannot hold: the error says so (not 'NaN or inf', which
    x does not contain), and no NumPy overflow warning leaks."""
    import warnings
    net = fastnn.TwoLayerNet(4, 3, 2, dtype=np.float32, backend=backend, seed=0)
    x = np.array([[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, value, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"x holds values beyond the range of the network's dtype float32 "
                                             r"\(largest 3.403e\+38\): first at index \(1, 2\)"):
            net.predict(x)
        np.testing.assert_array_equal(net.predict(np.full((1, 4), 3e38)).shape, (1, 2))  # large but finite: fine
    with pytest.raises(ValueError, match=r"x contains NaN or inf \(first at index \(1, 2\)\)"):
        net.predict(np.where(x == value, np.inf, x))  # a real inf is still called one
