"""The BLAS that the compiled kernels call, held to one thread while they run (or to n_threads).

The Cython kernels call BLAS (through scipy.linalg.cython_blas) from inside their own OpenMP regions,
so that BLAS must run single-threaded there. The numba backprop kernels are serial loops around np.dot,
which numba also sends to scipy's BLAS: there BLAS's threads are the kernel's, held to ``n_threads``. Only that library is limited: changing the thread count
of NumPy's own BLAS (a separate copy in pip wheels) wakes its worker threads, which then spin against
the kernels' threads.
"""
import os

from threadpoolctl import ThreadpoolController, threadpool_limits


def _scipy_blas():
    import scipy.linalg.cython_blas  # noqa: F401 - loads the library the kernels use

    controller = ThreadpoolController()
    blas = [lib for lib in controller.info() if lib.get("user_api") == "blas"]
    scipy_own = [lib["filepath"] for lib in blas if f"{os.sep}scipy.libs{os.sep}" in lib["filepath"]
                 or f"{os.sep}scipy{os.sep}" in lib["filepath"]]
    return controller.select(filepath=scipy_own) if scipy_own else controller.select(user_api="blas")


KERNEL_BLAS = _scipy_blas()


def single_threaded():
    """Context manager: the kernels' BLAS on one thread."""
    return KERNEL_BLAS.limit(limits=1)


def threads(n_threads):
    """Context manager: the kernels' BLAS on at most n_threads threads."""
    return KERNEL_BLAS.limit(limits=int(n_threads))


def all_threads(n_threads):
    """Context manager: every BLAS (NumPy's own too) on at most n_threads threads, for kernels that use NumPy's
    matrix products outside any parallel region of their own (the MLP's numerical gradient)."""
    return threadpool_limits(limits=int(n_threads), user_api="blas")
