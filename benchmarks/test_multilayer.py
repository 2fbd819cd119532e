"""Issue 7: MultiLayerNet 784-[100]*4-10 (the book's relu, He init) on MNIST — side by side.

* Numerical gradient at batch 16, float64: the reference's element loop (one round: ~1 min) vs numba.
  The numba result is checked against the reference's before its time counts. Goal >= 300x.
* One SGD epoch (lr 0.01) at batch 128, float32: the NumPy reference loop, fastnn numba and cython, and
  PyTorch (same init, permutation, optimizer, threads; skipped when torch is absent). Goal: PyTorch /
  fastnn >= 1.5x. Every contender's parameters after the epoch are checked against the reference's.
"""
import time

import numpy as np
import pytest

import fastnn
from conftest import QUICK, THREADS
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


@pytest.mark.benchmark(group=f"MultiLayerNet numgrad {ARCH} batch {NUMGRAD_BATCH} float64")
@pytest.mark.parametrize("contender", ["reference", "numba"])
def test_mlp_numerical_gradient(benchmark, data, contender):
    x, t = data[0][:NUMGRAD_BATCH], data[1][:NUMGRAD_BATCH]
    if contender == "reference":
        net = make_net("numpy")
        _results["numgrad"] = benchmark.pedantic(net.numerical_gradient, args=(x, t), rounds=1, iterations=1)
        return
    if "numba" not in fastnn.available_backends():
        pytest.skip("numba is not available")
    net = make_net("numba")
    net.numerical_gradient(x, t)  # compiled (or loaded from the cache) outside the timing
    grads = benchmark.pedantic(net.numerical_gradient, args=(x, t), rounds=5 if QUICK else 30, iterations=1,
                               warmup_rounds=1)
    want = _results.get("numgrad") or make_net("numpy").numerical_gradient(x, t)
    worst = max(float(np.abs(grads[k] - want[k]).max()) for k in want)
    assert worst <= 1e-9, f"max abs difference to the reference {worst:.3g}"
    benchmark.extra_info["max_abs_diff_to_reference"] = worst


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

    def settled_setup():
        setup()
        time.sleep(0 if QUICK else 0.5)  # let the previous contender's idle threads stop spinning

    loss = benchmark.pedantic(run, setup=settled_setup, rounds=1 if QUICK or contender == "numpy" else 5,
                              iterations=1, warmup_rounds=0 if QUICK or contender == "numpy" else 1)
    got = state()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=EPOCH_TOL[0], atol=EPOCH_TOL[1],
                                   err_msg=f"{contender} {key}")
    benchmark.extra_info.update(rows=len(t), batch=EPOCH_BATCH, mean_loss=loss)
