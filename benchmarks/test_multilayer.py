"""Issue 7: MultiLayerNet 784-[100]*4-10 (the book's relu, He init) on MNIST — side by side.

* Numerical gradient at batch 16, float64: the reference's element loop (one round: ~1 min) vs numba.
  The numba result is checked before its time counts: against the reference's at h = 1e-4 (to 1e-9), and
  at h = 0.5 on sampled elements against the network loss's own central difference, which differs from
  backprop there by far more than the tolerance (so a backprop or an ignored h cannot pass). Goal >= 300x.
* One SGD epoch (lr 0.01) at batch 128, float32: the NumPy reference loop, fastnn numba and cython, and
  PyTorch (same init, permutation, optimizer, threads; skipped when torch is absent). Goal: PyTorch /
  fastnn >= 1.5x. Every contender's parameters after the epoch are checked against the reference's.
"""

import numpy as np
import pytest

import fastnn
from conftest import QUICK, THREADS, passed_check, settled
from peers import torch_epoch_runner

HIDDEN = [12] * 2 if QUICK else [100] * 4
D = 30 if QUICK else 784
NUMGRAD_BATCH = 16
EPOCH_BATCH = 128
LR = 0.01
ARCH = f"{D}-{HIDDEN}-10".replace(" ", "")
EPOCH_TOL = (2e-2, 2e-3)
_results = {}


def make_net(backend, dtype=np.float64):
    return fastnn.MultiLayerNet(D, HIDDEN, 10, backend=backend, dtype=dtype, seed=0, n_threads=THREADS)


@pytest.fixture(scope="module")
def data(mnist_train):
    x, t = mnist_train
    return np.ascontiguousarray(x[:, :D]), t.astype(np.intp)


def sampled_elements(net, x, n_per_weight=20 if QUICK else 60, seed=0):
    """Every bias element, and weight elements of each layer (first layer: inputs that are not zero)."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, value in net.params.items():
        if key.startswith("b"):
            out[key] = list(np.ndindex(value.shape))
        else:
            rows = np.flatnonzero(x.any(axis=0)) if key == "W1" else np.arange(value.shape[0])
            out[key] = list(zip(rng.choice(rows, n_per_weight), rng.integers(0, value.shape[1], n_per_weight)))
    return out


def central_difference_at(net, x, t, h, elements):
    """The reference network's loss differenced element by element on the sampled elements."""
    out = {}
    for key, idxs in elements.items():
        p, values = net.params[key], []
        for idx in idxs:
            saved = p[idx]
            p[idx] = saved + h
            plus = net.loss(x, t, train_flg=True)
            p[idx] = saved - h
            minus = net.loss(x, t, train_flg=True)
            p[idx] = saved
            values.append((plus - minus) / (2 * h))
        out[key] = np.array(values)
    return out


def at(grads, key, idxs):
    return np.asarray(grads[key])[tuple(np.array(i) for i in zip(*idxs))]


@pytest.mark.benchmark(group=f"MultiLayerNet numgrad {ARCH} batch {NUMGRAD_BATCH} float64")
@pytest.mark.parametrize("contender", ["reference", "numba"])
def test_mlp_numerical_gradient(benchmark, data, contender):
    x, t = data[0][:NUMGRAD_BATCH], data[1][:NUMGRAD_BATCH]
    reference = make_net("numpy")
    elements = sampled_elements(reference, x)
    if contender == "reference":
        _results["numgrad"] = benchmark.pedantic(reference.numerical_gradient, args=(x, t), rounds=1, iterations=1)
        central = central_difference_at(reference, x, t, 1e-4, elements)
        worst = max(float(np.max(np.abs(at(_results["numgrad"], k, i) - central[k]))) for k, i in elements.items())
        assert worst <= 1e-12, f"the reference loop is not the central difference: {worst:.3g}"
        passed_check(benchmark, "the oracle: the central difference on sampled elements", max_abs_diff=worst)
        return
    if "numba" not in fastnn.available_backends():
        pytest.skip("numba is not available")
    net = make_net("numba")
    want = _results.get("numgrad") or reference.numerical_gradient(x, t)
    # checked before the timing: h = 1e-4 against the reference, then h = 0.5 where backprop is far off
    got = net.numerical_gradient(x, t)
    worst = max(float(np.abs(got[k] - want[k]).max()) for k in want)
    assert worst <= 1e-9, f"max abs difference to the reference {worst:.3g}"
    large = net.numerical_gradient(x, t, h=0.5)
    central = central_difference_at(reference, x, t, 0.5, elements)
    backprop = reference.gradient(x, t)
    worst_large = max(float(np.max(np.abs(at(large, k, i) - central[k]) / np.maximum(1, np.abs(central[k]))))
                      for k, i in elements.items())
    gap = max(float(np.max(np.abs(central[k] - at(backprop, k, i)))) for k, i in elements.items())
    gap_got = max(float(np.max(np.abs(at(large, k, i) - at(backprop, k, i)))) for k, i in elements.items())
    assert gap > 1e-6, f"the check cannot tell at h = 0.5: central difference and backprop differ by {gap:.3g}"
    assert worst_large <= 1e-9, f"at h = 0.5: relative difference to the central difference {worst_large:.3g}"
    assert gap_got > gap / 2, f"at h = 0.5 the result is backprop's gradient (differs by {gap_got:.3g})"
    grads = benchmark.pedantic(net.numerical_gradient, args=(x, t), rounds=5 if QUICK else 30, iterations=1,
                               warmup_rounds=1)
    assert max(float(np.abs(grads[k] - want[k]).max()) for k in want) <= 1e-9
    passed_check(benchmark, "reference to 1e-9 at h=1e-4; central difference at h=0.5", max_abs_diff_to_reference=worst,
                 max_rel_diff_at_h_05=worst_large, central_difference_minus_backprop_at_h_05=gap)


@pytest.fixture(scope="module")
def epoch_workload(data):
    x, t = data
    x = np.ascontiguousarray(x, dtype=np.float32)
    perm = np.random.default_rng(0).permutation(len(x))
    init = {k: v.copy() for k, v in make_net("numpy", np.float32).params.items()}
    ref = make_net("numpy", np.float32)
    ref.params = {k: v.copy() for k, v in init.items()}
    ref.train_epoch(x, t, EPOCH_BATCH, fastnn.SGD(LR), perm=perm)
    return x, t, perm, init, {k: v.copy() for k, v in ref.params.items()}


@pytest.mark.benchmark(group=f"MultiLayerNet epoch {ARCH} batch {EPOCH_BATCH} float32")
@pytest.mark.parametrize("contender", ["numpy", "numba", "cython", "torch"])
def test_mlp_epoch(benchmark, epoch_workload, contender):
    x, t, perm, init, expected = epoch_workload
    fresh = lambda: {k: v.copy() for k, v in init.items()}  # noqa: E731
    if contender == "torch":
        pytest.importorskip("torch", reason="PyTorch is an optional extra: pip install torch==2.13.0")
        run_perm, state, load = torch_epoch_runner(fresh(), x, t, EPOCH_BATCH, LR, THREADS, activation="relu")
        setup, run = (lambda: load(fresh())), (lambda: run_perm(perm))
    else:
        if contender not in fastnn.available_backends():
            pytest.skip(f"backend {contender} not built")
        net = make_net(contender, np.float32)
        net.train_epoch(x[:512], t[:512], EPOCH_BATCH, fastnn.SGD(LR), perm=np.arange(512))  # warm up / compile

        def setup():
            net.params = fresh()
        run = lambda: net.train_epoch(x, t, EPOCH_BATCH, fastnn.SGD(LR), perm=perm)  # noqa: E731
        state = lambda: net.params  # noqa: E731

    loss = benchmark.pedantic(run, setup=settled(setup), rounds=1 if QUICK or contender == "numpy" else 5,
                              iterations=1, warmup_rounds=0 if QUICK or contender == "numpy" else 1)
    got = state()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=EPOCH_TOL[0], atol=EPOCH_TOL[1],
                                   err_msg=f"{contender} {key}")
    benchmark.extra_info.update(rows=len(t), batch=EPOCH_BATCH, mean_loss=loss)
    passed_check(benchmark, f"parameters after the epoch vs the reference loop's (rtol {EPOCH_TOL[0]:g}, "
                            f"atol {EPOCH_TOL[1]:g})")
