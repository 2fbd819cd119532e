"""Benchmark set-up: BLAS left at full speed, the CPU's vector ISA, the BLAS and threads in use reported,
data for each workload, and every timing marked with the outcome of its correctness check.

A benchmark checks its contender's result against the reference (before the timing where that is cheap,
else right after it) and then calls ``passed_check(benchmark, ...)``; the outcome of the test (passed or
failed) is written into the timing's ``extra_info`` too, so ``report.py`` can tell a checked timing from
a failed or unchecked one: a contender whose check failed is never counted as meeting a goal.

FASTNN_BENCH_QUICK=1 (CI, with --benchmark-disable) shrinks every workload so the suite only proves it runs.
"""
import os
import time

# A benchmark run may unset these for its own process (they can slow OpenBLAS on this machine);
# tests and CI leave them alone. They must go before NumPy loads its BLAS. A run that asks for one BLAS
# kernel family on purpose (benchmarks/run_avx2.sh: Haswell, i.e. AVX2) says so in
# FASTNN_BENCH_OPENBLAS_CORETYPE, which becomes OPENBLAS_CORETYPE.
for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_var, None)
if os.environ.get("FASTNN_BENCH_OPENBLAS_CORETYPE", "").strip():
    os.environ["OPENBLAS_CORETYPE"] = os.environ["FASTNN_BENCH_OPENBLAS_CORETYPE"].strip()
#: Variables that choose instruction sets, recorded with every run (unset ones as 'unset').
ISA_VARIABLES = ("FASTNN_ISA", "OPENBLAS_CORETYPE", "MKL_ENABLE_INSTRUCTIONS", "NUMBA_CPU_NAME")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

QUICK = os.environ.get("FASTNN_BENCH_QUICK", "") not in ("", "0")
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
if "FASTNN_MNIST_DIR" not in os.environ and SHARED_MNIST.is_dir():
    os.environ["FASTNN_MNIST_DIR"] = str(SHARED_MNIST)
THREADS = int(os.environ.get("FASTNN_NUM_THREADS") or len(os.sched_getaffinity(0)))


def blas_report():
    from threadpoolctl import threadpool_info
    return [f"{p.get('internal_api')} {p.get('version')} ({p.get('user_api')}, {p.get('num_threads')} threads, "
            f"{p.get('architecture', '?')})" for p in threadpool_info()]


def pytest_report_header(config):
    import fastnn
    return ([f"fastnn {fastnn.__version__}, backends {fastnn.available_backends()}, threads {THREADS}, "
             f"{'QUICK' if QUICK else 'full'} mode", f"cpu: {_cpu()}", f"instruction sets: {isa_report()}"]
            + [f"threadpool: {line}" for line in blas_report()])


def isa_report():
    """The compiled extensions' variant in use and the variables choosing the peers' and numba's kernels,
    e.g. {'fastnn_variant': 'v3 (CPU level v4, FASTNN_ISA=v3)', 'OPENBLAS_CORETYPE': 'Haswell', ...}."""
    import fastnn
    from fastnn import _isa
    fastnn.available_backends()  # loads the compiled backend, which records its variant
    report = {"fastnn_variant": _isa.describe(), "vector_isa": vector_isa()}
    report.update({var: os.environ.get(var, "unset") for var in ISA_VARIABLES})
    return report


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["fastnn_isa"] = isa_report()


@pytest.fixture(autouse=True)
def _record_machine(request):
    """Every benchmark records the CPU (with its vector ISA), the BLAS and the thread count it ran with."""
    yield
    bench = getattr(request.node, "funcargs", {}).get("benchmark")
    if bench is not None:
        bench.extra_info.setdefault("threads", THREADS)
        bench.extra_info.setdefault("blas", blas_report())
        bench.extra_info.setdefault("cpu", _cpu())
        bench.extra_info.setdefault("isa", isa_report())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The test's outcome goes into its timing's extra_info: a check that failed after the timing (or any
    error) marks the timing failed in the JSON, and report.py shows it as failed."""
    outcome = yield
    report = outcome.get_result()
    bench = getattr(item, "funcargs", {}).get("benchmark")
    if bench is None or report.when != "call":
        return
    bench.extra_info["outcome"] = report.outcome
    if report.failed:
        bench.extra_info["check"] = "failed"


def busy_wait(seconds=0.3):
    """Keep the main thread busy for `seconds` (none in quick mode) while the previous contender's idle BLAS /
    OpenMP threads stop spinning: a sleep instead slows the next 2-thread work on these VMs (settled())."""
    busy_until = time.perf_counter() + (0 if QUICK else seconds)
    while time.perf_counter() < busy_until:
        pass


def settled(setup, seconds=0.5):
    """setup, preceded on its first call only by a pause that lets the previous contender's idle BLAS/OpenMP
    threads stop spinning. Only the first: on these VMs a pause of the whole process before every round
    slows the round after it (2-thread epoch of 784-100-10, batch 100: 174 ms median after time.sleep(0.5),
    106 ms after 0.5 s of a busy main thread, 1 thread unaffected; the host seems to place the two vCPUs on
    one core again after they idle), which would hit every multi-threaded contender but not the GEMM rate."""
    state = {"first": True}

    def run():
        setup()
        if state.pop("first", False) and not QUICK:
            time.sleep(seconds)
    return run


def passed_check(benchmark, what, **details):
    """Record that this contender's result was checked (``what``: against what, to which tolerance)."""
    benchmark.extra_info["check"] = "passed"
    benchmark.extra_info["checked"] = what
    benchmark.extra_info.update(details)


def vector_isa():
    """The widest SIMD instruction sets the CPU reports (AVX-512, AVX2, FMA...), from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "?"
    names = [("avx512f", "AVX-512F"), ("avx512bw", "AVX-512BW"), ("avx512vl", "AVX-512VL"), ("avx2", "AVX2"),
             ("fma", "FMA"), ("avx", "AVX"), ("sse4_2", "SSE4.2"), ("asimd", "NEON"), ("sve", "SVE")]
    return "/".join(label for flag, label in names if flag in flags) or "none reported"


def _cpu():
    model = f"{os.cpu_count()} cores"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
                    break
    except OSError:
        pass
    return f"{model}, vector ISA {vector_isa()}"


@pytest.fixture(scope="session")
def mnist_train():
    """(x float64 in [0, 1], t int) — real MNIST's 60,000 training images, or a small random set in quick mode."""
    if QUICK or not os.environ.get("FASTNN_MNIST_DIR"):
        if not QUICK:
            pytest.skip("real MNIST not found (FASTNN_MNIST_DIR); run with FASTNN_BENCH_QUICK=1 for synthetic data")
        rng = np.random.default_rng(0)
        x = rng.random((512, 784))
        x[x < 0.8] = 0.0
        return x, rng.integers(0, 10, 512)
    from fastnn.datasets import load_mnist
    (x, t), _ = load_mnist(normalize=True)
    return x.astype(np.float64), t.astype(np.intp)


def pytest_collection_modifyitems(session, config, items):
    """Numerical gradients first, PyTorch last: once loaded, torch's own OpenMP threads linger and
    disturb whatever runs after them, so the workloads that do not involve torch run before it loads."""
    order = ("test_numgrad.py", "test_multilayer.py::test_mlp_numerical_gradient", "test_epoch.py::test_gemm_rate",
             "test_epoch.py::test_peak_memory", "test_sklearn.py", "test_epoch.py", "test_multilayer.py",
             "test_recipe.py")

    def rank(item):
        return next((i for i, key in enumerate(order) if key in item.nodeid), len(order))
    items.sort(key=rank)
