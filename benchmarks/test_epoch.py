"""Issue 4: one SGD epoch of 784-100-10 sigmoid on MNIST's 60,000 images, lr 0.1 — side by side.

Contenders per (dtype, batch): the tightest plain-NumPy loop, fastnn numba, fastnn cython (as a user gets
them from ``net.train_epoch(x, ...)`` on the dense array: first_layer 'auto', which on MNIST is cython's sparse
first layer, its epoch compressing x's rows first, and numba's dense one), the same two with
first_layer='dense' (the compiled loop on GEMMs alone), the same two on the sparse first layer with x held
over its nonzeros ('-held': ``SparseRows``, built once before the timed epochs, as the Trainer,
MLPClassifier and ``fastnn train`` hold it for a fit, or a user passing a scipy.sparse matrix; its build
time is in extra_info), PyTorch CPU (same model, optimizer, thread count and
permutation; skipped with a notice when torch is absent).
Every contender's parameters after the epoch are checked against the NumPy loop's.
Also: the large-matrix GEMM rate (for the GEMM bound) and the peak memory of a 5-epoch run.
"""
import os
import subprocess
import sys
import textwrap

import time

import numpy as np
import pytest

import fastnn
from conftest import QUICK, THREADS, busy_wait, passed_check, settled
from peers import numpy_epoch, torch_epoch_runner

SIZES = (784, 100, 10)
LR = 0.1
ROUNDS = 1 if QUICK else 5
DTYPES = [np.float32, np.float64]
BATCHES = [32, 100]
CONTENDERS = ["numpy", "numba", "numba-dense", "numba-held", "cython", "cython-dense", "cython-held", "torch"]
#: (rtol, atol) of a contender's parameters after one epoch against the NumPy loop's.
PARAM_TOL = {np.float64: (1e-7, 1e-9), np.float32: (2e-2, 2e-3)}


@pytest.fixture(scope="module")
def workload(mnist_train):
    x, t = mnist_train
    init = fastnn.TwoLayerNet(*SIZES, backend="numpy", seed=0)  # book init, std 0.01
    perm = np.random.default_rng(0).permutation(len(x))
    data = {dt: np.ascontiguousarray(x, dtype=dt) for dt in DTYPES}
    expected = {}
    for dt in DTYPES:
        for b in BATCHES:
            params = {k: v.astype(dt) for k, v in init.params.items()}
            numpy_epoch(params, data[dt], t, perm, b, LR)
            expected[dt, b] = params
    return {"x": data, "t": t, "perm": perm, "init": dict(init.params), "expected": expected}


def fresh(workload, dt):
    return {k: v.astype(dt) for k, v in workload["init"].items()}


def runner(contender, workload, dt, b):
    """(setup, run, final_params) for one contender."""
    x, t, perm = workload["x"][dt], workload["t"], workload["perm"]
    if contender == "numpy":
        box = {}

        def setup():
            box["p"] = fresh(workload, dt)
        return setup, lambda: numpy_epoch(box["p"], x, t, perm, b, LR), lambda: box["p"]
    if contender == "torch":
        pytest.importorskip("torch", reason="PyTorch is an optional extra: pip install torch==2.13.0")
        run, state, load = torch_epoch_runner(fresh(workload, dt), x, t, b, LR, THREADS)
        return lambda: load(fresh(workload, dt)), lambda: run(perm), state
    backend, _, variant = contender.partition("-")
    if backend not in fastnn.available_backends():
        pytest.skip(f"backend {backend} not built")
    net = fastnn.TwoLayerNet(*SIZES, backend=backend, dtype=dt, n_threads=THREADS,
                             first_layer={"dense": "dense", "held": "sparse"}.get(variant, "auto"))
    net.params = fresh(workload, dt)
    net.train_epoch(x[:256], t[:256], b, fastnn.SGD(LR), perm=np.arange(256))  # compile / warm up
    if variant == "held":  # once, as a fit holds it for all its epochs
        start = time.perf_counter()
        x = net._epoch_input(x, fastnn.SGD(LR), hold=True)[0]
        runner.build_seconds = time.perf_counter() - start

    def setup():
        net.params = fresh(workload, dt)

    def run():
        loss = net.train_epoch(x, t, b, fastnn.SGD(LR), perm=perm)
        runner.first_layer = net.first_layer_used
        return loss
    return setup, run, lambda: net.params


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("b", BATCHES, ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
def test_epoch(benchmark, workload, dt, b, contender):
    benchmark.group = f"epoch {np.dtype(dt).name} batch {b}"
    setup, run, final = runner(contender, workload, dt, b)

    loss = benchmark.pedantic(run, setup=settled(setup), rounds=ROUNDS, iterations=1, warmup_rounds=0 if QUICK else 1)
    got, want = final(), workload["expected"][dt, b]
    rtol, atol = PARAM_TOL[dt]
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=f"{contender} {key}")
    benchmark.extra_info.update(rows=len(workload["t"]), batch=b, dtype=np.dtype(dt).name, mean_loss=loss,
                                gemm_gflop=gemm_flops(len(workload["t"])) / 1e9)
    if contender not in ("numpy", "torch"):
        benchmark.extra_info["first_layer"] = runner.first_layer
    if contender.endswith("-held"):
        benchmark.extra_info["held_rows_build_seconds"] = runner.build_seconds
    passed_check(benchmark, f"parameters after the epoch vs the NumPy loop's (rtol {rtol:g}, atol {atol:g})")


def gemm_flops(n_rows, d=784, h=100, k=10):
    """The epoch's matrix-product FLOPs: 2(dh + hk) forward and 2(hk + hk + dh) backward per image."""
    return n_rows * (2 * (d * h + h * k) + 2 * (h * k + k * h + d * h))


@pytest.mark.benchmark(group="gemm rate (large matrices)")
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
def test_gemm_rate(benchmark, dt):
    n = 256 if QUICK else 2048
    a = np.random.default_rng(0).random((n, n)).astype(dt)
    out = np.empty_like(a)
    benchmark(np.dot, a, a, out)
    np.testing.assert_allclose(out[:2, :2], a[:2] @ a[:, :2], rtol=1e-4)
    benchmark.extra_info.update(n=n, flops=2 * n ** 3, dtype=np.dtype(dt).name)
    passed_check(benchmark, "a corner of the product recomputed")


@pytest.mark.benchmark(group="sparse epoch vs the dense GEMM bound, interleaved round by round")
def test_held_epoch_against_gemm_interleaved(benchmark, workload):
    """The sparse epoch's <= 0.7x goal, with both sides in the same moments: each round times one large SGEMM
    (the rate behind the bound, in the untimed setup) and then one cython-held epoch (float32, batch 100).
    The separate tests above time the GEMM rate and the epochs minutes apart, and this shared VM's speed
    swings by up to 2x between phases; here a phase hits both alike. extra_info holds the GEMM's times. Before
    and after each GEMM the main thread waits 0.3 s busy, until the other side's idle threads stop spinning
    (measured: 2-thread epochs right after a 2-thread SGEMM took 129-167 ms, after a busy wait of 0.1-0.6 s
    75-87 ms in 17 of 20 rounds (106-178 ms in 3), back to back 81-89 ms; a GEMM right after an epoch 94-162 ms,
    median 100, against 85-90 ms in the separate GEMM test of the same run)."""
    dt, b = np.float32, 100
    setup, run, final = runner("cython-held", workload, dt, b)
    n = 256 if QUICK else 2048
    a = np.random.default_rng(0).random((n, n)).astype(dt)
    out = np.empty_like(a)
    np.dot(a, a, out)  # warm: BLAS threads started, the product's pages touched
    gemm_seconds = []

    def setup_and_gemm():
        setup()
        busy_wait()  # the epoch's OpenMP threads spin on after it: the GEMM then ran ~10% slower
        start = time.perf_counter()
        np.dot(a, a, out)
        gemm_seconds.append(time.perf_counter() - start)
        busy_wait()  # OpenBLAS's threads spin on after a call: an epoch started then ran 1.6-2x slower

    benchmark.pedantic(run, setup=setup_and_gemm, rounds=ROUNDS + 4, iterations=1, warmup_rounds=0 if QUICK else 1)
    np.testing.assert_allclose(out[:2, :2], a[:2] @ a[:, :2], rtol=1e-4)
    got, want = final(), workload["expected"][dt, b]
    rtol, atol = PARAM_TOL[dt]
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=f"cython-held {key}")
    timed = gemm_seconds[-(ROUNDS + 4):]  # the rounds' own GEMMs (not the warm-up round's)
    benchmark.extra_info.update(rows=len(workload["t"]), batch=b, dtype="float32", first_layer=runner.first_layer,
                                gemm_gflop=gemm_flops(len(workload["t"])) / 1e9, gemm_n=n, gemm_flops=2 * n ** 3,
                                gemm_median=float(np.median(timed)), gemm_min=float(np.min(timed)),
                                gemm_seconds=timed)
    passed_check(benchmark, f"parameters after the epoch vs the NumPy loop's (rtol {rtol:g}, atol {atol:g}); "
                 "a corner of the GEMM recomputed")


@pytest.mark.benchmark(group="memory of a 5-epoch run")
def test_peak_memory_five_epochs(benchmark, tmp_path):
    """Max RSS after each of 5 cython float32 epochs (batch 100) in a fresh process: it must not grow."""
    backend = "cython" if "cython" in fastnn.available_backends() else "auto"
    script = textwrap.dedent(f"""
        import resource, numpy as np, fastnn
        rng = np.random.default_rng(0)
        n = {512 if QUICK else 60000}
        x = rng.random((n, 784), dtype=np.float32); t = rng.integers(0, 10, n)
        net = fastnn.TwoLayerNet(784, 100, 10, dtype=np.float32, backend="{backend}", seed=0)
        opt = fastnn.SGD(0.1)
        for epoch in range(5):
            net.train_epoch(x, t, 100, opt, seed=epoch)
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    run = lambda: [float(v) for v in subprocess.run(  # noqa: E731
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, env=dict(os.environ),
        cwd=tmp_path).stdout.split()]
    peaks = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["peak_rss_mb_after_each_epoch"] = peaks
    assert len(peaks) == 5 and peaks[-1] - peaks[0] < 5, f"memory grows across epochs: {peaks}"
    passed_check(benchmark, "peak RSS grows by < 5 MB over 5 epochs")
