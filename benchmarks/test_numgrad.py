"""Issue 3: the numerical gradient of 784-100-10 at batch 32, float64 — reference vs numba, and backprop.

Goals: numba >= 1000x faster than the reference, within 30x of one backprop gradient, 2 threads vs 1 >= 1.7x.
Every contender's result is checked against the reference before its time counts.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn
from fastnn import reference as ref
from conftest import QUICK

SIZES = (20, 8, 10) if QUICK else (784, 100, 10)
BATCH = 4 if QUICK else 32
GROUP = f"numgrad {SIZES[0]}-{SIZES[1]}-{SIZES[2]} batch {BATCH} float64"
_reference = {}


@pytest.fixture(scope="module")
def problem(mnist_train):
    x, t = mnist_train
    x = np.ascontiguousarray(x[:BATCH, :SIZES[0]])
    net = fastnn.TwoLayerNet(*SIZES, backend="numpy", seed=0)  # the book's weight_init_std=0.01
    return {k: v.copy() for k, v in net.params.items()}, x, t[:BATCH].astype(np.intp)


def reference_gradient(problem):
    if "grad" not in _reference:
        params, x, t = problem
        _reference["grad"] = ref.numerical_gradient(params, x, t)
    return _reference["grad"]


def assert_agrees(grads, problem):
    want = reference_gradient(problem)
    worst = max(float(np.abs(grads[k] - want[k]).max()) for k in want)
    assert worst <= 1e-9, f"max abs difference to the reference {worst:.3g} > 1e-9"
    return worst


@pytest.mark.benchmark(group=GROUP)
def test_reference_numerical_gradient(benchmark, problem):
    params, x, t = problem
    _reference["grad"] = benchmark.pedantic(ref.numerical_gradient, args=(params, x, t), rounds=1, iterations=1)


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("threads", [1, 2])
def test_numba_numerical_gradient(benchmark, problem, threads):
    params, x, t = problem
    net = fastnn.TwoLayerNet(*SIZES, backend="numba", n_threads=threads)
    net.params = params
    net.numerical_gradient(x, t)  # compiled (or loaded from the cache) outside the timing
    grads = benchmark.pedantic(net.numerical_gradient, args=(x, t), rounds=5 if QUICK else 400, iterations=1,
                               warmup_rounds=0 if QUICK else 50)
    benchmark.extra_info["max_abs_diff_to_reference"] = assert_agrees(grads, problem)


def interleaved(benchmark, call, one, two):
    """``call(two)`` timed by pytest-benchmark, each round preceded by ``call(one)`` timed in its setup: the
    two alternate call by call, so a slow spell of this shared machine hits both alike. The 1-thread times
    go to extra_info; returns the last 2-thread result."""
    import time
    one_thread = []

    def setup():
        start = time.perf_counter()
        call(one)
        one_thread.append(time.perf_counter() - start)

    call(one), call(two)
    rounds = 5 if QUICK else 400
    result = benchmark.pedantic(call, args=(two,), setup=setup, rounds=rounds, iterations=1,
                                warmup_rounds=0 if QUICK else 50)
    times = np.asarray(one_thread[-rounds:])
    benchmark.extra_info.update(one_thread_median=float(np.median(times)), one_thread_min=float(times.min()))
    return result


@pytest.mark.benchmark(group=f"{GROUP}, 1 vs 2 threads interleaved")
def test_numba_thread_scaling(benchmark, problem):
    """The numerical gradient on 2 threads vs 1, interleaved call by call."""
    params, x, t = problem
    nets = {n: fastnn.TwoLayerNet(*SIZES, backend="numba", n_threads=n) for n in (1, 2)}
    nets[1].params = nets[2].params = params
    assert_agrees(interleaved(benchmark, lambda net: net.numerical_gradient(x, t), nets[1], nets[2]), problem)


def _perfectly_parallel_job():
    """A numba job with no serial part, no memory traffic and work items taken dynamically, as the numerical
    gradient's: what 2 threads vs 1 can give on this machine at the moment (context, not a goal)."""
    import math
    import numba
    from fastnn import _schedule

    @numba.njit(parallel=True)
    def job(n_workers, out, n):
        items = _schedule.counter()
        for _ in numba.prange(n_workers):
            i = _schedule.take(items)
            while i < out.shape[0]:
                s = 0.0
                for k in range(n):
                    s += 1.0 / (1.0 + math.exp(-k * 1e-6 * i))
                out[i] = s
                i = _schedule.take(items)

    return job


@pytest.mark.benchmark(group=f"{GROUP}, 1 vs 2 threads interleaved")
def test_machine_thread_scaling(benchmark):
    """The same interleaving on a perfectly parallel job about as long as one numerical gradient on 1 thread:
    how far 2 threads can get on this shared machine during this run."""
    import numba
    job, out = _perfectly_parallel_job(), np.zeros(64)
    n = 200 if QUICK else 4000

    def run(threads):
        numba.set_num_threads(threads)
        job(threads, out, n)

    interleaved(benchmark, run, 1, 2)
    assert np.all(np.isfinite(out)) and out[0] == n * 0.5  # item 0: every term is 1 / (1 + exp(0))


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_backprop_gradient_for_scale(benchmark, problem, backend):
    params, x, t = problem
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} not built")
    net = fastnn.TwoLayerNet(*SIZES, backend=backend)
    net.params = params
    grads = benchmark(net.gradient, x, t)
    want = reference_gradient(problem)
    assert max(float(np.abs(grads[k] - want[k]).max()) for k in want) < 1e-7


@pytest.mark.benchmark(group="numba first call (fresh process)")
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_first_call_latency(benchmark, tmp_path_factory, cache):
    """Seconds from a fresh interpreter to the first numerical gradient: compiling (cold cache) or loading."""
    cache_dir = tmp_path_factory.getbasetemp() / "numba-cache"
    script = textwrap.dedent("""
        import time, numpy as np
        start = time.perf_counter()
        import fastnn
        net = fastnn.TwoLayerNet(784, 100, 10, backend="numba", seed=0)
        net.numerical_gradient(np.random.default_rng(0).random((4, 784)), np.arange(4))
        print(time.perf_counter() - start)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    if cache == "warm":
        subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, cwd=cache_dir.parent)
    elif cache_dir.exists():
        import shutil
        shutil.rmtree(cache_dir)
    run = lambda: float(subprocess.run([sys.executable, "-c", script], env=env, check=True,  # noqa: E731
                                       capture_output=True, text=True, cwd=cache_dir.parent).stdout)
    seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["seconds_to_first_gradient"] = seconds
