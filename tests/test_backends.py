"""Every backend judged against the reference: forward, loss, backprop, numerical gradient, epochs."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _config, _flat
from fastnn import reference as ref
from fastnn._codes import ACTIVATIONS, CROSS_ENTROPY, SIGMOID
from conftest import needs_jit
from helpers import assert_close, max_abs_diff, problem

COMBOS = [(a, l) for a in ref.ACTIVATIONS for l in ref.LOSSES]


def make_net(params, backend, dtype, activation="sigmoid", loss="cross_entropy", n_threads=None):
    d, h = params["W1"].shape
    net = fastnn.TwoLayerNet(d, h, params["W2"].shape[1], activation=activation, loss=loss, dtype=dtype,
                             backend=backend, n_threads=n_threads)
    net.params = {k: v.astype(dtype) for k, v in params.items()}
    return net


def flat(params):
    """The two-layer params as the kernels take them: theta and the layer widths."""
    sizes = np.array([params["W1"].shape[0], params["W1"].shape[1], params["W2"].shape[1]], np.intp)
    return _flat.pack(params, 2, params["W1"].dtype), sizes


def reference_at(net):
    """The reference's params at the network's (possibly float32) values, in float64."""
    return {k: np.array(v, dtype=np.float64, copy=True) for k, v in net.params.items()}


@pytest.mark.parametrize("activation, loss", COMBOS)
@pytest.mark.parametrize("n", [1, 7, 64])
def test_forward_loss_and_backprop_match_the_reference(backend, dtype, activation, loss, n):
    params, x, t = problem(n, n=n, d=9, h=6, k=5)
    net = make_net(params, backend, dtype, activation, loss)
    x = x.astype(dtype)
    P = reference_at(net)
    value, grads = net.loss_and_gradient(x, t)
    ref_value, ref_grads = ref.gradient(P, x.astype(np.float64), t, activation, loss)
    assert_close(value, ref_value, dtype)
    assert_close(net.predict(x), ref.predict(P, x.astype(np.float64), activation), dtype)
    assert_close(net.loss(x, t), ref_value, dtype)
    for key in params:
        assert grads[key].dtype == dtype, key
        assert_close(grads[key], ref_grads[key], dtype, err_msg=key)


@pytest.mark.parametrize("activation, loss", COMBOS)
@pytest.mark.parametrize("seed", range(6))
def test_numerical_gradient_matches_the_reference(fast_backend, activation, loss, seed):
    n = [1, 2, 5, 16, 3, 8][seed]
    params, x, t = problem(seed, n=n, d=8, h=6, k=[2, 3, 10, 4, 5, 7][seed], std=[0.1, 0.5, 1.0, 2.0, 0.5, 3.0][seed],
                           sparse=0.5)
    net = make_net(params, fast_backend, np.float64, activation, loss)
    fast = net.numerical_gradient(x, t)
    slow = ref.numerical_gradient(params, x, t, activation, loss)
    assert max_abs_diff(fast, slow) <= 1e-9


@pytest.mark.parametrize("activation", ref.ACTIVATIONS)
@pytest.mark.parametrize("seed", range(4))
def test_numba_series_kernel_agrees_with_its_exact_kernel(activation, seed):
    pytest.importorskip("numba")
    from fastnn.backends import _numba
    params, x, t = problem(seed, n=9, d=12, h=7, k=6, sparse=0.3)
    args = (*flat(params), x, t, ACTIVATIONS[activation], CROSS_ENTROPY, 0.0, 1e-4, 2)
    assert _numba.uses_two_layer_numgrad(args[1], args[4], 0.0)
    series, exact = _numba.numerical_gradient(*args), _numba.numerical_gradient(*args, series=False)
    assert np.max(np.abs(series - exact)) <= 1e-11


@pytest.mark.parametrize("workers,n_items", [(2, 200_003), (5, 1000), (2, 0), (1, 7)])
def test_numba_workers_take_every_item_exactly_once(workers, n_items):
    """fastnn._schedule: workers of a prange share a counter; each item must be taken once, none twice."""
    numba = pytest.importorskip("numba")
    from fastnn import _schedule

    @numba.njit(parallel=True)
    def take_all(n_workers, hits):
        items = _schedule.counter()
        for _ in numba.prange(n_workers):
            i = _schedule.take(items)
            while i < hits.shape[0]:
                hits[i] += 1
                i = _schedule.take(items)
        return items[0]

    hits = np.zeros(n_items, np.int64)
    taken = take_all(workers, hits)
    assert np.all(hits == 1)
    assert taken == n_items + workers  # each worker's last take finds no item left


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_numba_second_phase_sees_everything_the_first_phase_wrote(workers):
    """fastnn._schedule.finish/wait_for: phase 2 starts only when every phase-1 item is written, whoever
    took it, so each phase-2 item reads the complete phase-1 total."""
    numba = pytest.importorskip("numba")
    from fastnn import _schedule

    @numba.njit(parallel=True)
    def two_phases(n_workers, first, second):
        taken, done, taken2 = _schedule.counter(), _schedule.counter(), _schedule.counter()
        for _ in numba.prange(n_workers):
            i = _schedule.take(taken)
            while i < first.shape[0]:
                s = 0.0
                for k in range(200 * (i % 7)):  # items of uneven length
                    s += 1e-300 * k
                first[i] = i + 1 + s
                _schedule.finish(done)
                i = _schedule.take(taken)
            _schedule.wait_for(done, first.shape[0])
            j = _schedule.take(taken2)
            while j < second.shape[0]:
                total = 0.0
                for v in first:
                    total += v
                second[j] = total
                j = _schedule.take(taken2)

    n = 3001
    first, second = np.zeros(n), np.zeros(97)
    two_phases(workers, first, second)
    assert np.all(second == n * (n + 1) / 2)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_numba_numerical_gradient_is_the_same_for_any_thread_count(threads):
    """Work items are taken dynamically, but each is summed in a fixed order: results are bitwise equal."""
    pytest.importorskip("numba")
    from fastnn.backends import _numba
    params, x, t = problem(3, n=7, d=30, h=9, k=4, sparse=0.5)
    theta, sizes = flat(params)
    for series in (None, False):
        one = _numba.numerical_gradient(theta, sizes, x, t, SIGMOID, CROSS_ENTROPY, 0.0, 1e-4, 1, series)
        many = _numba.numerical_gradient(theta, sizes, x, t, SIGMOID, CROSS_ENTROPY, 0.0, 1e-4, threads, series)
        np.testing.assert_array_equal(one, many)


def test_numerical_gradient_in_float32_is_the_float64_difference_of_the_float32_values(backend):
    params, x, t = problem(11, n=5, d=8, h=6, k=4)
    net = make_net(params, backend, np.float32)
    fast = net.numerical_gradient(x.astype(np.float32), t)
    slow = ref.numerical_gradient(reference_at(net), x.astype(np.float32).astype(np.float64), t)
    for key in params:
        assert fast[key].dtype == np.float32
        assert_close(fast[key], slow[key], np.float32, err_msg=key)


def test_numerical_gradient_handles_raw_pixels_and_large_weights(fast_backend):
    """Outside the series kernel's range (|u| > limit) the exact kernel must take over."""
    params, x, t = problem(5, n=4, d=10, h=5, k=3, std=3.0)
    x = np.round(x * 255)
    net = make_net(params, fast_backend, np.float64)
    assert max_abs_diff(net.numerical_gradient(x, t), ref.numerical_gradient(params, x, t)) <= 1e-9


@needs_jit
def test_numba_numerical_gradient_on_mnist_784_100_10(mnist):
    """Issue 3's agreement, on real MNIST: every b1, W2, b2 element and 1500 W1 elements (the reference
    formula element by element; the full W1 comparison is in benchmarks/ where the reference is timed)."""
    (x, t), _ = mnist
    net = fastnn.TwoLayerNet(784, 100, 10, backend="numba", seed=0)
    xb, tb = x[:32].astype(np.float64), t[:32].astype(np.intp)
    fast = net.numerical_gradient(xb, tb)
    P = reference_at(net)
    f = lambda: ref.loss(P, xb, tb)  # noqa: E731
    rng = np.random.default_rng(0)
    nonzero = np.flatnonzero(xb.any(axis=0))
    rows = np.concatenate([rng.choice(nonzero, 1000), rng.integers(0, 784, 500)])
    cols = rng.integers(0, 100, rows.size)
    for key, idxs in (("W1", list(zip(rows, cols))), ("b1", np.ndindex(100)), ("W2", np.ndindex(100, 10)),
                      ("b2", np.ndindex(10))):
        for idx in idxs:
            saved = P[key][idx]
            P[key][idx] = saved + 1e-4
            fp = f()
            P[key][idx] = saved - 1e-4
            fm = f()
            P[key][idx] = saved
            assert abs((fp - fm) / 2e-4 - fast[key][idx]) <= 1e-9, (key, idx)


OPTIMIZERS = [("SGD", {"lr": 0.1}), ("Momentum", {"lr": 0.05}), ("Adam", {"lr": 0.01}), ("RMSprop", {"lr": 0.01}),
              ("Nesterov", {"lr": 0.05}), ("AdaGrad", {"lr": 0.05})]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("activation, loss", [("sigmoid", "cross_entropy"), ("relu", "mse")])
def test_epoch_loop_takes_the_reference_steps(backend, dtype, name, kwargs, activation, loss):
    params, x, t = problem(21, n=45, d=9, h=6, k=4)
    net = make_net(params, backend, dtype, activation, loss)
    P = reference_at(net)
    opt, ref_opt = fastnn.optimizers.make_optimizer(name, **kwargs), fastnn.optimizers.make_optimizer(name, **kwargs)
    rng = np.random.default_rng(1)
    for _ in range(3):
        perm = rng.permutation(45)
        value = net.train_epoch(x.astype(dtype), t, 8, opt, perm=perm)
        ref_losses, ref_correct = ref.train_epoch(P, x, t, perm, 8, ref_opt, activation, loss)
        assert_close(net.batch_losses, ref_losses, dtype, scale=10)
        # rows each step's forward pass classified right, before its update (float32: a near-tie may flip one)
        assert net.batch_correct.dtype == np.int64 and net.batch_correct.shape == ref_correct.shape
        np.testing.assert_allclose(net.batch_correct, ref_correct, atol=0 if dtype == np.float64 else 1)
        ref_value = ref_losses.mean()
        assert_close(value, ref_value, dtype, scale=10)
    scale = 100 if dtype == np.float32 else 1
    for key in P:
        assert_close(net.params[key], P[key], dtype, scale=scale, err_msg=key)
    if name == "Adam":
        assert opt.iter == ref_opt.iter == 18


def test_epoch_loop_keeps_optimizer_state_shared_with_update(fast_backend):
    """A compiled epoch and Python update() steps share one optimizer state."""
    params, x, t = problem(3, n=20, d=5, h=4, k=3)
    a, b = make_net(params, fast_backend, np.float64), make_net(params, "numpy", np.float64)
    oa, ob = fastnn.Adam(lr=0.01), fastnn.Adam(lr=0.01)
    perm = np.arange(20)
    a.train_epoch(x, t, 5, oa, perm=perm)
    b.train_epoch(x, t, 5, ob, perm=perm)
    for net, opt in ((a, oa), (b, ob)):
        opt.update(net.params, net.gradient(x, t))
    for key in params:
        assert_close(a.params[key], b.params[key], np.float64, err_msg=key)


def test_thread_count_does_not_change_the_result(fast_backend):
    params, x, t = problem(8, n=33, d=20, h=9, k=4, sparse=0.4)
    one, two = (make_net(params, fast_backend, np.float64, n_threads=n) for n in (1, 2))
    assert max_abs_diff(one.numerical_gradient(x, t), two.numerical_gradient(x, t)) <= 1e-15
    assert_close(one.gradient(x, t)["W1"], two.gradient(x, t)["W1"], np.float64)


def test_auto_picks_the_fastest_available():
    expected = [b for b in ("cython", "numba", "numpy") if b in fastnn.available_backends()][0]
    assert fastnn.TwoLayerNet(4, 3, 2).backend == expected


def test_compiled_extension_is_present_when_required():
    """CI sets FASTNN_REQUIRE_EXTENSION=1: a build that silently lost its extension fails here."""
    if not _config.require_extension():
        pytest.skip("FASTNN_REQUIRE_EXTENSION is not set")
    assert "cython" in fastnn.available_backends(), fastnn.backends.unavailable_reasons()
    assert "numba" in fastnn.available_backends(), fastnn.backends.unavailable_reasons()
    from fastnn import _isa
    assert _isa.load_extension("_mlp").__file__.endswith((".so", ".pyd"))


def test_openmp_is_present_when_required():
    """CI sets FASTNN_REQUIRE_OPENMP=1 (setup.py then refuses to build without OpenMP): a build whose
    extensions nonetheless report no OpenMP fails here. FASTNN_NO_OPENMP=1 (a serial build) overrides it."""
    if os.environ.get("FASTNN_REQUIRE_OPENMP", "") not in ("1", "true", "yes") or \
            os.environ.get("FASTNN_NO_OPENMP", "") in ("1", "true", "yes"):
        pytest.skip("FASTNN_REQUIRE_OPENMP is not set (or FASTNN_NO_OPENMP is)")
    from fastnn import _isa
    _mlp = _isa.load_extension("_mlp")
    assert _mlp.HAVE_OPENMP, "the compiled extension was built without OpenMP"
    assert fastnn.backends._cython_openmp() is True


def test_pure_python_variable_leaves_only_the_reference(tmp_path):
    env = dict(os.environ, FASTNN_PURE_PYTHON="1", FASTNN_REQUIRE_EXTENSION="0")
    out = subprocess.run([sys.executable, "-c", "import fastnn; print(fastnn.available_backends()); "
                          "print(fastnn.TwoLayerNet(3, 2, 2).backend)"],
                         capture_output=True, text=True, env=env, check=True, cwd=tmp_path).stdout.split()
    assert out == ["['numpy']", "numpy"]


def test_unavailable_backend_says_why(monkeypatch):
    monkeypatch.setenv("FASTNN_PURE_PYTHON", "1")
    monkeypatch.setattr(fastnn.backends, "_loaded", {})
    with pytest.raises(RuntimeError, match="numba.*FASTNN_PURE_PYTHON"):
        fastnn.TwoLayerNet(3, 2, 2, backend="numba")
