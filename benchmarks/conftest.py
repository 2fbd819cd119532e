"""Benchmark set-up: BLAS left at full speed, the BLAS/threads in use reported, data for each workload.

FASTNN_BENCH_QUICK=1 (CI, with --benchmark-disable) shrinks every workload so the suite only proves it runs.
"""
import os

# A benchmark run may unset these for its own process (they can slow OpenBLAS on this machine);
# tests and CI leave them alone. They must go before NumPy loads its BLAS.
for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_var, None)

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
             f"{'QUICK' if QUICK else 'full'} mode"] + [f"threadpool: {line}" for line in blas_report()])


@pytest.fixture(autouse=True)
def _record_machine(request):
    """Every benchmark records the BLAS and thread count it ran with."""
    yield
    bench = getattr(request.node, "funcargs", {}).get("benchmark")
    if bench is not None:
        bench.extra_info.setdefault("threads", THREADS)
        bench.extra_info.setdefault("blas", blas_report())
        bench.extra_info.setdefault("cpu", _cpu())


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{os.cpu_count()} cores"


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
