"""One place for fastnn's knobs: environment variables, numba options, threads, tolerances.

Kernels read their options from here, never from literals of their own.
"""
import os

#: Environment variable that forces the pure-Python (NumPy reference) path everywhere.
ENV_PURE_PYTHON = "FASTNN_PURE_PYTHON"
#: Environment variable giving the default number of threads.
ENV_NUM_THREADS = "FASTNN_NUM_THREADS"
#: Environment variable naming the MNIST folder (the four IDX files).
ENV_MNIST_DIR = "FASTNN_MNIST_DIR"
#: Set to 1 when the compiled extension must be present (CI): a silent fallback then fails loudly.
ENV_REQUIRE_EXTENSION = "FASTNN_REQUIRE_EXTENSION"
#: Environment variable forcing one instruction-set variant of the compiled extensions (fastnn/_isa.py):
#: baseline, v3 (x86-64-v3, AVX2) or v4 (x86-64-v4, AVX-512).
ENV_ISA = "FASTNN_ISA"
#: Set to 1 when every variant this CPU supports must have been built (CI): a lost variant fails loudly.
ENV_REQUIRE_VARIANTS = "FASTNN_REQUIRE_VARIANTS"

#: Step of the central difference, as in the book: the one default h of every numerical gradient
#: (networks, reference, gradient_check, doctor).
DEFAULT_H = 1e-4

# --- numerics shared by the reference and the kernels ------------------------------------------------

#: The book's eps of AdaGrad, RMSprop and Adam (outside the square root); Adam's default.
OPTIMIZER_EPS = 1e-7
#: Batch normalisation as in the book: eps inside the square root (its 10e-7) and the running statistics'
#: momentum.
BN_EPS = 1e-6
BN_MOMENTUM = 0.9

# --- the numerical-gradient kernels (fastnn/_numgrad.py, fastnn/_numgrad_mlp.py) ------------------------

#: Largest shift (|u| of a logit, or s_max times a first-order coefficient) for which a loss change is
#: taken from its truncated Taylor series: the omitted terms are then below 1e-18, far under float64
#: rounding of the loss.
SERIES_LIMIT = 1e-3
#: Terms of those series (orders 1..SERIES_TERMS; the omitted order is tiny within SERIES_LIMIT).
SERIES_TERMS = 5
#: |s| below which log1p(s) is taken from its 6-term series (tail < s^7 / 7 < 1e-21, below rounding).
LOG1P_SERIES_LIMIT = 1e-3
#: Largest logit shift for which a row's loss change takes the expm1/log1p form (exact for small shifts);
#: beyond it the log-sum-exp form, which never overflows or cancels.
FAST_SHIFT = 1.0
#: Rows of the MLP's exact fallback propagated at once (bounds its memory).
EXACT_BLOCK = 1 << 15
#: Bytes of a sparse x made dense at once by ``predict`` (a larger one goes through in blocks of rows).
PREDICT_DENSE_BYTES = 64 << 20

#: Options shared by every numba kernel. fastmath is off: the kernels must reproduce the
#: reference's IEEE arithmetic closely enough for 1e-9 agreement of numerical gradients.
NUMBA_OPTIONS = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}
NUMBA_PARALLEL_OPTIONS = dict(NUMBA_OPTIONS, parallel=True)

#: Work items per thread for the parallel numerical gradient, taken one at a time (balances uneven
#: chunks and threads the machine delays).
CHUNKS_PER_THREAD = 16

#: Work chunks per thread in each step of the Cython epoch loops, handed out dynamically:
#: 2 below 64 rows per batch (measured ~20% faster at batch 32 on the project's 2-core machine), else 1.
def epoch_chunks_per_thread(batch_size):
    return 2 if batch_size < 64 else 1


#: (rtol, atol) per dtype for comparing a fast path with the reference.
TOLERANCES = {
    "float64": (1e-10, 1e-12),
    "float32": (1e-4, 1e-6),
}

#: (rtol, atol) per dtype for ``gradient_check``: backprop against the central difference (see
#: fastnn/gradcheck.py for where these come from).
GRADCHECK_TOLERANCES = {"float64": (1e-4, 1e-6), "float32": (1e-2, 1e-4)}
#: The floor of |a| + |n| in gradient_check's relative error, as in the book and cs231n.
GRADCHECK_TINY = 1e-8


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def pure_python():
    """True when ``FASTNN_PURE_PYTHON`` asks for the NumPy reference only."""
    return _env_flag(ENV_PURE_PYTHON)


def require_extension():
    """True when the compiled extension is expected (``FASTNN_REQUIRE_EXTENSION=1``)."""
    return _env_flag(ENV_REQUIRE_EXTENSION)


def available_cores():
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


#: Upper bound on any thread count (argument, FASTNN_NUM_THREADS, --threads, --threads-per-task).
#: Machine-independent, so a script valid on one machine is valid on every one: at or above the
#: hardware threads of the largest common servers (2 sockets x 64 cores x 2), far below the counts at
#: which starting an OpenMP team fails (10**6 crashed the compiled kernels). More threads than cores
#: only oversubscribe (each extra thread slows an epoch down), so nothing useful is refused.
MAX_THREADS = 256


def resolve_threads(n_threads=None, name="n_threads"):
    """The one rule for thread counts: explicit argument > ``FASTNN_NUM_THREADS`` > cores.

    Parameters
    ----------
    n_threads : int or None
        Explicit thread count; ``None`` falls through to the environment, then the cores.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    int
        A thread count in 1..MAX_THREADS.

    Raises
    ------
    TypeError
        For a non-integer (a float, a bool, a string).
    ValueError
        For a count < 1 or > MAX_THREADS, naming the argument or ``FASTNN_NUM_THREADS``.
    """
    if n_threads is None:
        env = os.environ.get(ENV_NUM_THREADS, "").strip()
        if not env:
            return min(available_cores(), MAX_THREADS)
        try:
            n_threads = int(env)
        except ValueError:
            raise ValueError(f"{ENV_NUM_THREADS} must be a positive integer, got {env!r}") from None
        name = ENV_NUM_THREADS
    if isinstance(n_threads, bool) or not hasattr(type(n_threads), "__index__"):
        raise TypeError(f"{name} must be a positive integer, got {n_threads!r}")
    n_threads = int(n_threads)
    if n_threads < 1:
        raise ValueError(f"{name} must be a positive integer, got {n_threads}")
    if n_threads > MAX_THREADS:
        raise ValueError(f"{name} must be at most {MAX_THREADS} (fastnn's bound on threads; this machine has "
                         f"{available_cores()} cores), got {n_threads}")
    return n_threads

# --- the sparse first layer (fastnn/_sparse.py) -------------------------------------------------------

#: Environment variable forcing the first layer's products: 'auto' (by density), 'dense' or 'sparse'.
ENV_FIRST_LAYER = "FASTNN_FIRST_LAYER"
#: Largest input density (nonzero fraction) at which the first layer runs over the nonzeros ('auto').
#: Measured on the project's machine (Xeon Sapphire Rapids; one thread; gather + x W1 + x^T dA1 per epoch,
#: batch 100, hidden 100, 12,000 random rows with uniformly placed zeros, OpenBLAS GEMM on the gathered
#: batch vs the C kernels, min of 5): sparse / dense = 0.65 / 0.91 / 1.20 at density 0.2 / 0.3 / 0.4 in
#: float32 with the AVX-512 body (0.62 / 0.96 / 1.04 with the AVX2 body and OPENBLAS_CORETYPE=Haswell),
#: 0.51 / 0.73 / 0.93 in float64 (0.55 / 0.64 / 0.97 AVX2). The thresholds sit below the break-even so that
#: 'auto' picks sparse only where it clearly pays. MNIST's density is 0.19.
SPARSE_MAX_DENSITY = {"float32": 0.30, "float64": 0.35}
#: On the sparse path with inputs held for a fit, columns (input pixels) at least this dense are held as a dense
#: block and their products taken by GEMM, the rest over their nonzeros (fastnn/_sparse.py, ``dense_columns``):
#: a dense column costs a GEMM's per-entry price on every row, a sparse one the kernels' per-nonzero price on
#: its nonzeros only. Measured in the cython epoch on MNIST held, batch 100, 2 threads, AMD EPYC Zen 4 (epochs
#: alternating with and without the split, per-round ratios): 784-100-10 SGD float32 0.97 / 0.83-0.92 /
#: 0.84-0.90 / 0.94 / 1.01 at 0.3 / 0.4 / 0.5 / 0.6 / 0.7; float64 0.99 / 0.95 / 0.92 / 1.00 at
#: 0.3 / 0.4 / 0.5 / 0.6; one thread 0.96-1.02 at 0.5.
DENSE_COLUMN_MIN_DENSITY = {"float32": 0.50, "float64": 0.50}
#: ... and with an optimizer other than plain SGD (whose step the GEMM itself takes), only for first layers of at
#: most this many units: at 0.5, SGD measured 0.93-0.98x at 100-512 units, Adam 0.92x at 100 units, 0.99 at
#: 128, but 0.96-1.09x from 160 to 512.
DENSE_COLUMN_MAX_UNITS = 128
#: ... and only where the products over the dense columns (src_cython/_panel.h) run a vector body, these of
#: src_cython/_sparse.h's instruction sets. Those products were OpenBLAS GEMM calls until 2026-12-06, and the split
#: then paid only with OpenBLAS's AVX-512 kernels (1.08-1.12x slower with its Haswell kernels). With the panel
#: kernels, measured on a Xeon (Emerald Rapids), 784-100-10 SGD float32 held MNIST, batch 100, epochs in
#: alternating fresh processes: the AVX2 build (FASTNN_ISA=v3, OPENBLAS_CORETYPE=Haswell) 0.87x (1 thread) and
#: 0.91x (2 threads) of the epoch without the split; the AVX-512 body's epochs 0.93x (1 thread) and 1.01x (2) of
#: the same split by OpenBLAS's SkylakeX GEMM calls. The scalar body is not measured against a BLAS: no split.
DENSE_COLUMN_ISAS = ("avx2", "avx512")
#: Rows sampled (evenly spaced, so the estimate is deterministic) to measure an input's density.
DENSITY_SAMPLE_ROWS = 2048
