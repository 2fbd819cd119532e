"""Large arrays in plain pages: the images a loader returns, and the held copy of a training set a fit makes.

NumPy advises the kernel to back every allocation of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel's THP ``defrag`` setting is ``madvise`` (Debian's and Ubuntu's
default) and memory is fragmented, the first write to such an array then waits while the kernel compacts
memory into 2 MiB pages. Measured on MNIST's 50,000 training images (float32, 2 threads): building the held
CSR and its dense-column split took 400-580 ms in NumPy's arrays against 55-65 ms in plain pages, a third of
a 15-epoch MLPClassifier fit; epochs over either copy ran alike (plain / huge 1.02, quartiles 0.98-1.04).
``load_mnist`` (60,000 + 10,000 float32 images): 0.44-2.2 s in NumPy's arrays, 0.48-0.51 s in plain pages.
"""
import mmap
import sys

import numpy as np

#: Allocations from this size on get NumPy's huge-page advice, so come from ``zeros`` here instead.
HUGE_PAGE_ADVICE_BYTES = 1 << 22


def zeros(shape, dtype):
    """A C-contiguous, writable array of zeros; from 4 MiB on (on Linux) in private anonymous memory of its
    own (mmap, with no huge-page advice), whose pages are faulted in by the first writer (the kernels'
    threads)."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < HUGE_PAGE_ADVICE_BYTES or not sys.platform.startswith("linux"):  # NumPy advises on Linux only
        return np.zeros(shape, dtype)
    try:  # private: a forked child's writes are its own (copy on write), as with NumPy's memory
        pages = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except OSError as e:  # as NumPy says it
        raise MemoryError(f"Unable to allocate {nbytes / 2**20:.0f} MiB for an array with shape {shape} and data "
                          f"type {dtype}: {e}") from None
    return np.frombuffer(pages, dtype).reshape(shape)
