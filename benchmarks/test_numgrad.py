"""Issue 3: the numerical gradient of 784-100-10 at batch 32, float64 — reference vs numba, and backprop.

Goals: numba >= 1000x faster than the reference, within 30x of one backprop gradient, 2 threads vs 1 >= 1.7x.

Three workloads, each its own group with its own reference timing:

* ``series`` — the book's set-up (init std 0.01, inputs scaled to [0, 1], cross-entropy): numba's W1 work
  takes the Taylor-series kernel, exact to rounding there. The headline.
* ``exact-mse`` — the same with ``loss='mse'``, and ``exact-raw`` — raw 0..255 pixels with xavier init:
  both take numba's exact per-logit kernel (30-50x slower than the series one).

Every contender's result is checked before its time counts: at h = 1e-4 against the reference's full
numerical gradient to 1e-9 -- which backprop passes too (they differ by ~1e-10 there) -- so also at
h = 0.5, on sampled elements, against the reference loss's own central difference, where that differs from
backprop by orders of magnitude more than the tolerance (asserted on the data). A numerical gradient that
were backprop, or ignored h, fails the check; so does a contender taking the wrong kernel.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn
from fastnn import reference as ref
from conftest import QUICK, passed_check

SIZES = (20, 8, 10) if QUICK else (784, 100, 10)
BATCH = 4 if QUICK else 32
ARCH = f"numgrad {SIZES[0]}-{SIZES[1]}-{SIZES[2]} batch {BATCH} float64"
#: workload -> (loss, pixels, weight_init_std, group suffix, numba kernel expected for W1)
WORKLOADS = {
    "series": ("cross_entropy", "scaled", 0.01, "", "series"),
    "exact-mse": ("mse", "scaled", 0.01, ", exact kernel: mse", "exact"),
    "exact-raw": ("cross_entropy", "raw", "xavier", ", exact kernel: raw pixels, xavier init", "exact"),
}
GROUP = ARCH  # the series workload keeps the historical group name
LARGE_H = 0.5
#: |numerical - reference| allowed at h = 1e-4 (whole gradient) and, relative to max(1, |g|), at h = 0.5
TOL = 1e-9
_reference = {}


def group(workload):
    return ARCH + WORKLOADS[workload][3]


@pytest.fixture(scope="module", params=list(WORKLOADS))
def problem(request, mnist_train):
    """(workload, params, x, t, activation, loss) for one workload."""
    workload = request.param
    loss, pixels, init, _, _ = WORKLOADS[workload]
    x, t = mnist_train
    x = np.ascontiguousarray(x[:BATCH, :SIZES[0]])
    if pixels == "raw":
        x = np.round(x * 255)
    net = fastnn.TwoLayerNet(*SIZES, init, backend="numpy", seed=0)
    return workload, {k: v.copy() for k, v in net.params.items()}, x, t[:BATCH].astype(np.intp), "sigmoid", loss


def reference_gradient(problem):
    workload, params, x, t, act, loss = problem
    if workload not in _reference:
        _reference[workload] = ref.numerical_gradient(params, x, t, act, loss)
    return _reference[workload]


def sampled_elements(params, x, n_w1=150 if not QUICK else 20, seed=0):
    """Every b1, b2 and W2 element, and W1 elements on inputs that are not zero (where h moves the loss)."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(x.any(axis=0))
    w1 = list(zip(rng.choice(rows, n_w1), rng.integers(0, params["W1"].shape[1], n_w1)))
    return {"W1": w1, "b1": list(np.ndindex(params["b1"].shape)), "W2": list(np.ndindex(params["W2"].shape)),
            "b2": list(np.ndindex(params["b2"].shape))}


def central_difference_at(problem, h, elements):
    """The reference loss's central difference at h, element by element, on the sampled elements."""
    _, params, x, t, act, loss = problem
    P = {k: v.copy() for k, v in params.items()}
    out = {}
    for key, idxs in elements.items():
        values = []
        for idx in idxs:
            saved = P[key][idx]
            P[key][idx] = saved + h
            plus = ref.loss(P, x, t, act, loss)
            P[key][idx] = saved - h
            minus = ref.loss(P, x, t, act, loss)
            P[key][idx] = saved
            values.append((plus - minus) / (2 * h))
        out[key] = np.array(values)
    return out


def check_numerical_gradient(problem, numerical):
    """Check ``numerical(h)`` (a contender's numerical gradient at step h): the reference's at 1e-4 to 1e-9;
    the reference loss's central difference at h = 0.5 on sampled elements, where backprop is far off.
    Returns the details to record."""
    workload, params, x, t, act, loss = problem
    want = reference_gradient(problem)
    got = numerical(1e-4)
    worst = max(float(np.abs(got[k] - want[k]).max()) for k in want)
    assert worst <= TOL, f"max abs difference to the reference {worst:.3g} > {TOL:g}"
    elements = sampled_elements(params, x)
    central = central_difference_at(problem, LARGE_H, elements)
    backprop = ref.gradient(params, x, t, act, loss)[1]
    got = numerical(LARGE_H)
    worst_large, gap, gap_got = 0.0, 0.0, 0.0
    for key, idxs in elements.items():
        rows = tuple(np.array(i) for i in zip(*idxs))
        g, b, c = np.asarray(got[key])[rows], backprop[key][rows], central[key]
        worst_large = max(worst_large, float(np.max(np.abs(g - c) / np.maximum(1.0, np.abs(c)))))
        gap = max(gap, float(np.max(np.abs(c - b))))
        gap_got = max(gap_got, float(np.max(np.abs(g - b))))
    assert gap > 1000 * TOL, f"the check cannot tell at h = {LARGE_H}: central difference and backprop differ by {gap:.3g}"
    assert worst_large <= TOL, f"at h = {LARGE_H}: relative difference to the central difference {worst_large:.3g}"
    assert gap_got > gap / 2, f"at h = {LARGE_H} the result is backprop's gradient (differs by {gap_got:.3g})"
    return {"max_abs_diff_to_reference": worst, f"max_rel_diff_at_h_{LARGE_H}": worst_large,
            f"central_difference_minus_backprop_at_h_{LARGE_H}": gap}


def numba_kernel(problem):
    """'series' or 'exact': which numba kernel the W1 block took (the series result differs from the exact
    kernel's in the last bits; the exact kernel is deterministic)."""
    from fastnn import _flat
    from fastnn._codes import ACTIVATIONS, LOSSES
    from fastnn.backends import _numba
    _, params, x, t, act, loss = problem
    sizes = np.array([params["W1"].shape[0], params["W1"].shape[1], params["W2"].shape[1]], np.intp)
    args = (_flat.pack(params, 2, np.float64), sizes, x, t, ACTIVATIONS[act], LOSSES[loss], 0.0, 1e-4, 2)
    auto, exact = _numba.numerical_gradient(*args), _numba.numerical_gradient(*args, series=False)
    w1 = params["W1"].size  # W1 leads theta
    return "exact" if np.array_equal(auto[:w1], exact[:w1]) else "series"


def test_reference_numerical_gradient(benchmark, problem):
    workload, params, x, t, act, loss = problem
    benchmark.group = group(workload)
    _reference[workload] = benchmark.pedantic(ref.numerical_gradient, args=(params, x, t, act, loss), rounds=1,
                                              iterations=1)
    # the oracle (the test suite judges it); here: the timed call returned the central difference, on samples
    elements = sampled_elements(params, x)
    central = central_difference_at(problem, 1e-4, elements)
    worst = max(float(np.max(np.abs(_reference[workload][key][tuple(np.array(i) for i in zip(*idxs))]
                                    - central[key]))) for key, idxs in elements.items())
    assert worst <= 1e-12, f"the reference loop is not the central difference: {worst:.3g}"
    passed_check(benchmark, "the oracle: the central difference on sampled elements", max_abs_diff=worst)


@pytest.mark.parametrize("threads", [1, 2])
def test_numba_numerical_gradient(benchmark, problem, threads):
    workload, params, x, t, act, loss = problem
    benchmark.group = group(workload)
    net = fastnn.TwoLayerNet(*SIZES, activation=act, loss=loss, backend="numba", n_threads=threads)
    net.params = params
    details = check_numerical_gradient(problem, lambda h: net.numerical_gradient(x, t, h=h))  # before the timing
    kernel = numba_kernel(problem)
    assert kernel == WORKLOADS[workload][4], f"{workload}: numba took the {kernel} kernel"
    series = WORKLOADS[workload][4] == "series"   # the exact kernel is ~30-50x slower: fewer rounds
    grads = benchmark.pedantic(net.numerical_gradient, args=(x, t), rounds=5 if QUICK else 400 if series else 100,
                               iterations=1, warmup_rounds=0 if QUICK else 50 if series else 10)
    want = reference_gradient(problem)
    assert max(float(np.abs(grads[k] - want[k]).max()) for k in want) <= TOL  # the timed calls' result too
    passed_check(benchmark, f"reference to {TOL:g} at h=1e-4; central difference at h={LARGE_H}", kernel=kernel,
                 **details)


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
    """The numerical gradient on 2 threads vs 1, interleaved call by call (the series workload)."""
    workload, params, x, t, act, loss = problem
    if workload != "series":
        pytest.skip("thread scaling is measured on the series workload")
    nets = {n: fastnn.TwoLayerNet(*SIZES, backend="numba", n_threads=n) for n in (1, 2)}
    nets[1].params = nets[2].params = params
    details = {f"{n}_threads_" + k: v for n in (1, 2)
               for k, v in check_numerical_gradient(problem, lambda h, n=n: nets[n].numerical_gradient(x, t, h=h)).items()}
    grads = interleaved(benchmark, lambda net: net.numerical_gradient(x, t), nets[1], nets[2])
    want = reference_gradient(problem)
    assert max(float(np.abs(grads[k] - want[k]).max()) for k in want) <= TOL
    passed_check(benchmark, f"reference to {TOL:g} at h=1e-4; central difference at h={LARGE_H}", **details)


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
    passed_check(benchmark, "item 0 is n / 2 exactly")


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_backprop_gradient_for_scale(benchmark, problem, backend):
    """One backprop gradient, for scale (the series workload): checked against the reference's backprop."""
    workload, params, x, t, act, loss = problem
    if workload != "series":
        pytest.skip("backprop is timed for scale on the series workload")
    benchmark.group = group(workload)
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} not built")
    net = fastnn.TwoLayerNet(*SIZES, activation=act, loss=loss, backend=backend)
    net.params = params
    want = ref.gradient(params, x, t, act, loss)[1]
    worst = max(float(np.abs(net.gradient(x, t)[k] - want[k]).max()) for k in want)
    assert worst <= 1e-12, f"backprop differs from the reference's by {worst:.3g}"  # before the timing
    grads = benchmark(net.gradient, x, t)
    assert max(float(np.abs(grads[k] - want[k]).max()) for k in want) <= 1e-12
    passed_check(benchmark, "reference backprop to 1e-12", max_abs_diff_to_reference=worst)


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
        g = net.numerical_gradient(np.random.default_rng(0).random((4, 784)), np.arange(4))
        seconds = time.perf_counter() - start
        assert all(np.isfinite(v).all() for v in g.values())
        print(seconds)
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
    passed_check(benchmark, "the fresh process computed a finite gradient")
