"""The 'cython' backend: thin wrappers over the compiled kernels of every network (fastnn._mlp).

Wrappers allocate every output and workspace; kernels compute. There is no compiled numerical gradient:
``fastnn/backends/__init__.py`` gives this backend numba's (the fast numerical path), else the reference's.
"""
import numpy as np

from .. import _codes, _config, _flat, _isa, _memory, _sparse
from .._blas_threads import single_threaded

ext = _isa.load_extension("_mlp")  # the best instruction-set variant built for this CPU
sparse_ext = _isa.load_extension("_sparse_kernels")

NAME = "cython"
#: The NumPy reference itself (networks with their own reference path take it instead of this module's).
IS_REFERENCE = False
#: Whether train_epoch runs the first layer over the input's nonzeros when asked.
SPARSE_FIRST_LAYER = True
#: Whether first_layer='auto' picks it for inputs at most _config.SPARSE_MAX_DENSITY dense (measured on this backend).
SPARSE_AUTO = True
HAVE_OPENMP = ext.HAVE_OPENMP
NOTES = ("compiled Cython kernels, BLAS from SciPy, OpenMP " + ("on" if HAVE_OPENMP else "off (serial)")
         + f", instruction-set variant {_isa.describe()}")

_PYTHON_CODES = {"activation": _codes.ACTIVATIONS, "loss": _codes.LOSSES, "optimizer": _codes.FUSED_OPTIMIZERS}
if ext.CODES != _PYTHON_CODES:  # src_cython/_numerics.pxd and fastnn/_codes.py must say the same
    raise ImportError(f"{ext.__name__} was built with codes {ext.CODES}, fastnn._codes has "
                      f"{_PYTHON_CODES}: rebuild the extension (pip install .)")


def _blocks(sizes, n, dtype):
    """zs and ds workspaces for n rows: blocks n x n_l of every layer (ds: hidden layers only)."""
    return np.empty(n * int(sum(sizes[1:])), dtype), np.empty(n * int(sum(sizes[1:-1])), dtype)


def _sparse_workspace(m, d, h, dtype, b, n_threads=1):
    """The sparse first layer's workspaces for batches of at most m nonzeros and b rows, d inputs, h units and
    n_threads threads (src_cython/_sparse_batch.pxd): the batch by input pixel (column pointers, rows, values) in
    two buffers or one a thread, each thread's row bounds and the cuts between their input pixels, h zeros,
    room for the batch's dA_1 with rows a whole number of 64-byte lines apart, and the threads' parts of x W_1."""
    n_idx, n_int, n_val = ext.sparse_rooms(m, d, h, b, np.dtype(dtype).itemsize, n_threads)
    return np.empty(n_idx, np.intp), np.empty(n_int, np.int32), np.empty(n_val, dtype)


def csr_rows(x, rows, n_threads):
    """(indptr, indices, values) of x[rows] over their nonzeros (x's own rows for an empty ``rows``), built on
    n_threads threads (fastnn/_sparse.py's SparseRows and epoch_rows)."""
    indptr = np.zeros((rows.shape[0] or x.shape[0]) + 1, np.intp)
    sparse_ext.count_rows(x, rows, indptr[1:], n_threads)
    np.cumsum(indptr, out=indptr)
    indices, values = _memory.zeros(indptr[-1], np.int32), _memory.zeros(indptr[-1], x.dtype)  # plain pages
    if indptr[-1] and sparse_ext.compress_rows(x, rows, indptr, indices, values, n_threads) < 0:
        raise MemoryError("out of memory compressing the rows of x")
    return indptr, indices, values


def column_counts(x):
    """Nonzeros per column of the SparseRows x (fastnn/_sparse.py's column_counts_numpy, compiled)."""
    counts = np.zeros(x.shape[1], np.intp)
    sparse_ext.count_columns(x.indices[:x.nnz], counts)
    return counts


def split_columns(x, place, kd, n_threads):
    """fastnn/_sparse.py's split_columns_numpy, compiled on n_threads threads."""
    n = x.shape[0]
    indptr = np.zeros(n + 1, np.intp)
    sparse_ext.count_rest(x.indptr, x.indices, place, kd, indptr[1:], n_threads)
    np.cumsum(indptr, out=indptr)
    block = _memory.zeros((n, kd), x.dtype)  # held for the fit: plain pages (fastnn/_memory.py)
    indices, values = _memory.zeros(indptr[-1], np.int32), _memory.zeros(indptr[-1], x.dtype)
    sparse_ext.split_columns(x.indptr, x.indices, x.values, place, block, indptr, indices, values, n_threads)
    return block, indptr, indices, values


def logits(theta, sizes, x, act, n_threads):
    """The logits A_L of x's rows (a view of the last workspace block)."""
    n = x.shape[0]
    zs, _ = _blocks(sizes, n, x.dtype)
    with single_threaded():
        ext.forward(x, theta, sizes, act, zs, n_threads)
    return zs[zs.shape[0] - n * sizes[-1]:].reshape(n, sizes[-1])


def sparse_first_layer(indptr, indices, values, W1, b1, n_threads):
    """z1 := x W1 + b1 for the CSR x (indptr, indices, values), over its nonzeros."""
    z = np.empty((indptr.shape[0] - 1, W1.shape[1]), W1.dtype)
    sparse_ext.forward_threads(indptr, indices, values, W1, b1, z, _sparse.row_chunks(z.shape[0], n_threads),
                               n_threads)
    return z


def gradient_and_hits(theta, sizes, x, t, act, loss, lam, n_threads, count_hits=True):
    """(loss, flat gradient, rows whose logits pick their label): one fused forward/backward pass."""
    grad = np.empty_like(theta)
    hit_rows = np.empty(x.shape[0] if count_hits else 0, np.int8)
    with single_threaded():
        value = ext.gradient(x, t, theta, sizes, act, loss, lam, *_blocks(sizes, x.shape[0], x.dtype),
                             np.empty(x.shape[0]), grad, hit_rows, n_threads)
    return float(value), grad, int(np.count_nonzero(hit_rows))


def gradient(theta, sizes, x, t, act, loss, lam, n_threads):
    return gradient_and_hits(theta, sizes, x, t, act, loss, lam, n_threads, count_hits=False)[:2]


def _vector_panels():
    """Whether the products over a held input's dense columns run a vector body here (src_cython/_panel.h, by
    the instruction set the sparse kernels dispatch to), where the split pays: _config.DENSE_COLUMN_ISAS."""
    return sparse_ext.isa() in _config.DENSE_COLUMN_ISAS


def _fused_epoch(theta, sizes, x, t, perm, batch_size, act, loss, lam, opt, lr, p1, p2, eps, step, s1, s2, n_threads,
                 sparse):
    b = min(batch_size, perm.shape[0])  # the largest batch cut from perm (which may be longer than x)
    d, dtype = int(sizes[0]), theta.dtype
    losses = np.empty(-(-perm.shape[0] // batch_size))
    correct = np.empty(losses.shape[0], np.intp)
    order = None
    if sparse:  # x (dense or SparseRows) is read through the epoch's rows over their nonzeros
        wanted = (isinstance(x, _sparse.SparseRows) and _vector_panels()
                  and (opt == _codes.SGD or sizes[1] <= _config.DENSE_COLUMN_MAX_UNITS))
        split = (_sparse.dense_columns(x, _config.DENSE_COLUMN_MIN_DENSITY[dtype.name],
                                       (column_counts, split_columns), n_threads) if wanted else None)
        rows = _sparse.epoch_rows(x if split is None else split.rest, perm, csr_rows, n_threads)
        m = _sparse.most_batch_nonzeros(rows[0], rows[1], batch_size)
        rows = (*rows, *_sparse_workspace(m, d, int(sizes[1]), dtype, b, n_threads))
        if split is None:
            x, xb = np.empty((0, d), dtype), np.empty((0, d), dtype)
        else:  # the dense columns come first: W1's rows (and the optimizer's) relabelled alike for the epoch
            order, x, xb = split.order, split.dense, np.empty((b, split.kd), dtype)
    else:
        empty = np.empty(0, np.intp)
        rows = (empty, empty, np.empty(0, np.int32), np.empty(0, dtype), empty, np.empty(0, np.int32),
                np.empty(0, dtype))
        xb = np.empty((b, d), dtype)
    w1 = [a[:d * int(sizes[1])].reshape(d, -1) for a in (theta, s1, s2) if a.shape[0]] if order is not None else []
    relabelled = []
    try:
        for w in w1:
            w[...] = w[order]
            relabelled.append(w)
        with single_threaded():
            ext.train_epoch(x, t, perm, batch_size, theta, sizes, act, loss, lam, opt, lr, p1, p2, eps, step, s1, s2,
                            xb, np.empty(b, np.intp), *_blocks(sizes, b, dtype), np.empty(b), np.empty(b, np.int8),
                            np.empty_like(theta), *rows, losses, correct, n_threads,
                            _config.epoch_chunks_per_thread(batch_size))
    finally:
        for w in relabelled:
            w[order] = w.copy()
    return losses, correct.astype(np.int64)


def train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act, loss, lam, n_threads, sparse=False):
    """One epoch in place (the compiled loop for SGD, Momentum and Adam); the batch losses and correct counts."""
    return _flat.train_epoch(gradient_and_hits, _fused_epoch, params, sizes, x, t, perm, batch_size, optimizer, act,
                             loss, lam, n_threads, sparse)
