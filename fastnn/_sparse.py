"""When the first layer runs over the input's nonzeros: the density policy of the sparse kernels.

Design
------
The first layer's products (x W1 forward, x^T dA1 for dW1) cost one row update per nonzero of x on the
sparse path (src_cython/_sparse.h, fastnn/_sparse_numba.py) and d per row on the dense path (GEMM). The
sparse path pays off below a density measured per dtype on the project's machine
(``_config.SPARSE_MAX_DENSITY``, with the measurement beside it); the density of x is estimated from evenly
spaced rows (``_config.DENSITY_SAMPLE_ROWS``), which is cheap and deterministic. ``first_layer`` (argument,
else ``$FASTNN_FIRST_LAYER``, else 'auto') forces either path.

On the sparse path an epoch reads its batches' rows over their nonzeros from a CSR of the inputs
(``SparseRows``): built once for a fit (the Trainer, ``MLPClassifier.fit`` and the CLI hold it across
epochs, as a user holding a ``scipy.sparse`` matrix does), or per epoch from a dense x, for its rows in the
epoch's order. A backend's ``csr_rows`` builds it (compiled, on its threads); NumPy does where none can.

Inputs are rarely equally sparse in every column: MNIST's 140 densest pixels (nonzero in at least half the
images) hold 56% of its nonzeros. The cython epoch takes a held input's columns of at least
``_config.DENSE_COLUMN_MIN_DENSITY`` as a dense block whose products are GEMMs, and only the rest over
their nonzeros (``dense_columns``: the split is made once per held input and kept on it).
"""
import os

import numpy as np

from . import _config


class SparseRows:
    """Rows of a 2-d input over their nonzeros (CSR): ``indptr`` (intp, rows + 1), ``indices`` (int32,
    columns ascending within a row), ``values`` (the network's dtype), ``shape``.

    What the sparse first layer reads; ``from_dense`` and ``from_scipy`` build one, ``toarray`` undoes it.
    """

    __slots__ = ("indptr", "indices", "values", "shape", "held", "_split")

    def __init__(self, indptr, indices, values, shape):
        self.indptr, self.indices, self.values, self.shape = indptr, indices, values, tuple(shape)
        self.held = False  # True: held for a fit's epochs (by the holder, who must not change it)
        self._split = None  # dense_columns' result, with the threshold it was made for

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def nnz(self):
        return int(self.indptr[-1])

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"SparseRows(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"

    @classmethod
    def from_dense(cls, x, n_threads=1, csr_rows=None):
        """The rows of the C-contiguous float array x; ``csr_rows`` is a backend's builder (default NumPy's)."""
        indptr, indices, values = (csr_rows or csr_rows_numpy)(x, np.empty(0, np.intp), n_threads)
        return cls(indptr, indices, values, x.shape)

    @classmethod
    def from_scipy(cls, m, dtype):
        """A scipy.sparse matrix (any format) as canonical CSR of dtype: duplicates summed, columns sorted."""
        m = m.tocsr()
        if not _canonical(m) or not m.data[:m.indptr[-1]].all():  # stored zeros: the density counts nonzeros
            m = m.copy()
            m.has_canonical_format = False  # scipy's flag is cached: arrays edited in place leave it stale
            m.sum_duplicates()
            m.eliminate_zeros()
        return cls(np.ascontiguousarray(m.indptr, dtype=np.intp), np.ascontiguousarray(m.indices, dtype=np.int32),
                   np.ascontiguousarray(m.data, dtype=dtype), m.shape)  # the kernels take contiguous arrays

    def toarray(self):
        """The dense array (zeros where no value is held)."""
        out = np.zeros(self.shape, self.dtype)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[rows, self.indices[:self.nnz]] = self.values[:self.nnz]
        return out


def _canonical(m):
    """Whether CSR m's columns strictly ascend within every row (so no duplicates), from its arrays (scipy's
    has_canonical_format is a cached flag, stale once the arrays are edited in place)."""
    nnz = int(m.indptr[-1])
    steps = np.diff(m.indices[:nnz])
    starts = m.indptr[1:-1]  # a row's first entry may be below its predecessor's last
    ok = steps > 0
    ok[starts[(starts > 0) & (starts < nnz)] - 1] = True
    return bool(ok.all())


class ColumnSplit:
    """A SparseRows x with its densest columns apart: ``order`` (the d columns, the dense ones first, each part
    ascending), ``dense`` (x[:, order[:kd]] as a C-contiguous array) and ``rest`` (SparseRows of the other
    columns, numbered as their places in ``order``, so kd .. d - 1). Relabelling the inputs by ``order`` (and
    W1's rows with them) leaves every product unchanged."""

    __slots__ = ("order", "dense", "rest")

    def __init__(self, order, dense, rest):
        self.order, self.dense, self.rest = order, dense, rest

    @property
    def kd(self):
        return self.dense.shape[1]


def dense_columns(x, min_density, kernels=None, n_threads=1):
    """The ColumnSplit of the SparseRows x whose dense part is every column with at least ``min_density`` of
    its entries nonzero, or None when no column is or x is not ``held`` (a split costs about what the holding
    did: it pays over a fit's epochs, not for one). Kept on x for the next call with the same threshold.
    ``kernels`` is a backend's pair (column_counts, split_columns) (default NumPy's)."""
    if not x.held:
        return None
    if x._split is not None and x._split[0] == min_density:
        return x._split[1]
    column_counts, split = kernels or (column_counts_numpy, split_columns_numpy)
    n, d = x.shape
    counts = column_counts(x)
    dense = counts >= max(1, min_density * n)
    result = None
    if dense.any():
        order = np.concatenate([np.flatnonzero(dense), np.flatnonzero(~dense)]).astype(np.intp)
        place = np.empty(d, np.int32)
        place[order] = np.arange(d, dtype=np.int32)
        block, indptr, indices, values = split(x, place, int(np.count_nonzero(dense)), n_threads)
        result = ColumnSplit(order, block, SparseRows(indptr, indices, values, x.shape))
    x._split = (min_density, result)
    return result


def column_counts_numpy(x):
    """Nonzeros per column of the SparseRows x."""
    return np.bincount(x.indices[:x.nnz], minlength=x.shape[1])


def split_columns_numpy(x, place, kd, n_threads=1):
    """(dense, indptr, indices, values): the SparseRows x's columns renumbered by ``place``, those below kd as a
    dense (rows, kd) array, the others as a CSR (columns ascending within a row when ``place`` keeps the
    order of the columns at or above kd)."""
    n, nnz = x.shape[0], x.nnz
    rows = np.repeat(np.arange(n, dtype=np.intp), np.diff(x.indptr))
    cols = place[x.indices[:nnz]]
    values = x.values[:nnz]
    in_dense = cols < kd
    block = np.zeros((n, kd), x.dtype)
    block[rows[in_dense], cols[in_dense]] = values[in_dense]
    keep = ~in_dense
    indptr = np.zeros(n + 1, np.intp)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return block, indptr, np.ascontiguousarray(cols[keep]), np.ascontiguousarray(values[keep])


def csr_rows_numpy(x, rows, n_threads=1):
    """(indptr, indices, values) of x[rows] (x's own rows for an empty ``rows``): the backends' builder in NumPy."""
    xr = x if rows.shape[0] == 0 else x[rows]
    r, c = np.nonzero(xr)  # row-major: columns ascending within a row
    indptr = np.zeros(xr.shape[0] + 1, np.intp)
    np.cumsum(np.bincount(r, minlength=xr.shape[0]), out=indptr[1:])
    return indptr, c.astype(np.int32), xr[r, c]


def most_batch_nonzeros(begin, end, batch_size):
    """The most nonzeros any batch of the epoch holds (batches of batch_size epoch rows, the last one shorter;
    at least 1): what a batch's regrouping by pixel needs room for."""
    counts = np.add.reduceat(end - begin, np.arange(0, begin.shape[0], batch_size))
    return max(1, int(counts.max()))


def row_chunks(n_rows, n_threads):
    """Chunks of rows a threaded sparse kernel hands out one at a time (at least 1, at most one a row)."""
    return max(1, min(n_rows, _config.CHUNKS_PER_THREAD * max(1, n_threads)))


def epoch_rows(x, perm, csr_rows, n_threads):
    """(begin, end, indices, values): the nonzeros of epoch row i (x[perm[i]]) lie in indices / values from
    begin[i] to end[i]. From a SparseRows x at once. A dense x is compressed first: all its rows in order (a
    sequential read of x, faster than x[perm]'s scattered one) when the epoch visits at least half as many,
    else just x[perm]'s, in perm's order."""
    if not isinstance(x, SparseRows) and perm.shape[0] >= x.shape[0] // 2:
        x = SparseRows.from_dense(x, n_threads, csr_rows)
    if isinstance(x, SparseRows):
        return x.indptr[perm], x.indptr[perm + 1], x.indices, x.values
    indptr, indices, values = csr_rows(x, perm, n_threads)
    return indptr[:-1], indptr[1:], indices, values

FIRST_LAYER_MODES = ("auto", "dense", "sparse")


def density(x, n_rows=None):
    """Fraction of nonzero entries of the 2-d array x, from at most ``n_rows`` evenly spaced rows.

    Parameters
    ----------
    x : ndarray of shape (n, d)
    n_rows : int, optional
        Rows to sample (default ``_config.DENSITY_SAMPLE_ROWS``); all rows when x has fewer.

    Returns
    -------
    float
        Nonzeros / entries of the sampled rows (0.0 for an empty x).
    """
    x = x if isinstance(x, SparseRows) else np.asarray(x)
    if len(x.shape) != 2:
        raise ValueError(f"x must be a 2-d array (rows, features), got shape {x.shape}")
    n_rows = _config.DENSITY_SAMPLE_ROWS if n_rows is None else n_rows
    if x.shape[0] * x.shape[1] == 0:
        return 0.0
    picked = None if x.shape[0] <= n_rows else np.linspace(0, x.shape[0] - 1, n_rows).astype(np.intp)
    if isinstance(x, SparseRows):  # the same rows as the dense array's, so both take the same path
        picked = np.arange(x.shape[0]) if picked is None else picked
        return float(np.sum(x.indptr[picked + 1] - x.indptr[picked])) / (picked.size * x.shape[1])
    rows = x if picked is None else x[picked]
    return np.count_nonzero(rows) / rows.size


def first_layer_mode(first_layer=None):
    """'auto', 'dense' or 'sparse': the argument, else ``$FASTNN_FIRST_LAYER``, else 'auto'."""
    name = "first_layer"
    if first_layer is None:
        first_layer = os.environ.get(_config.ENV_FIRST_LAYER, "").strip().lower() or "auto"
        name = _config.ENV_FIRST_LAYER
    if not isinstance(first_layer, str) or first_layer not in FIRST_LAYER_MODES:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, FIRST_LAYER_MODES))}, got {first_layer!r}")
    return first_layer


def use_sparse(x, n_hidden, dtype, first_layer=None):
    """Whether the first layer should run over the nonzeros of x.

    Parameters
    ----------
    x : ndarray of shape (n, d)
        The training inputs.
    n_hidden : int
        Width of the first hidden layer (the sparse kernels take any width; the threshold was measured at
        100 and holds the same way for wider layers, whose rows of W1 both paths read in full).
    dtype : numpy dtype
        float32 or float64, the network's dtype.
    first_layer : {'auto', 'dense', 'sparse'}, optional
        Forces a path; default ``$FASTNN_FIRST_LAYER``, else 'auto' (sparse when the measured density is at
        most ``_config.SPARSE_MAX_DENSITY[dtype]``).

    Returns
    -------
    bool
    """
    mode = first_layer_mode(first_layer)
    dtype = np.dtype(dtype)
    if dtype.name not in _config.SPARSE_MAX_DENSITY:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    if isinstance(n_hidden, bool) or not hasattr(type(n_hidden), "__index__") or n_hidden < 1:
        raise ValueError(f"n_hidden must be a positive integer, got {n_hidden!r}")
    if mode != "auto":
        return mode == "sparse"
    return density(x) <= _config.SPARSE_MAX_DENSITY[dtype.name]


def check_first_layer(first_layer):
    """A network's ``first_layer`` argument: None (``$FASTNN_FIRST_LAYER`` at each epoch, else 'auto') or one
    of 'auto', 'dense', 'sparse'."""
    if first_layer is not None:
        first_layer_mode(first_layer)
    return first_layer


def first_layer_path(backend, optimizer, x, n_hidden, first_layer=None):
    """'sparse' or 'dense': how an epoch's first layer runs.

    Sparse when ``use_sparse`` says so (the argument, else ``$FASTNN_FIRST_LAYER``, else x's density, for a
    backend whose ``SPARSE_AUTO`` says its sparse kernels pay) and the epoch runs in a compiled loop that has
    the sparse kernels: a backend with ``SPARSE_FIRST_LAYER`` and an optimizer of that loop (SGD, Momentum,
    Adam). Other optimizers step through the backend's gradient, and the numpy backend is the dense oracle:
    those run densely whatever is asked.
    """
    from ._flat import CODES  # the compiled loop's optimizers
    wanted = use_sparse(x, n_hidden, x.dtype, first_layer)
    if first_layer_mode(first_layer) == "auto" and not getattr(backend, "SPARSE_AUTO", False):
        wanted = False
    compiled = getattr(backend, "SPARSE_FIRST_LAYER", False) and type(optimizer) in CODES
    return "sparse" if wanted and compiled else "dense"
