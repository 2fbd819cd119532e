"""Errors at the door: public wrappers validate here, before any kernel runs."""
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype):
    """np.float32 or np.float64, as a np.dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dt}")
    return dt


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_positive_int(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_real(name, value):
    """value as a float when it is a real number (not a string or a bool, which float() would also take)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def check_seed(seed, name="seed"):
    """A np.random.Generator from seed as NumPy's default_rng takes it (None, a non-negative integer or a
    sequence of them, a SeedSequence or BitGenerator; a Generator is returned as it is), a bad one reported
    under its argument name (not a bool, which NumPy would take as 0 or 1)."""
    expected = f"{name} must be None, a non-negative integer or a np.random.Generator"
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"{expected}, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{expected}, got {type(seed).__name__} {seed!r}") from None


def check_sizes(name, sizes):
    """A list of positive layer widths from a sequence of them (the book's hidden_size_list, e.g. [100, 100])."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (list, tuple, np.ndarray, range)):
        raise TypeError(f"{name} must be a list of layer widths such as [100, 50], got {type(sizes).__name__} "
                        f"{sizes!r}")
    return [check_positive_int(f"{name}[{i}]", h) for i, h in enumerate(sizes)]


#: dtype kinds accepted as numbers: bool, signed and unsigned integers, real floats. Not complex (the
#: imaginary part would be dropped), timedelta64/datetime64 (NumPy counts timedelta64 as an integer),
#: object, str or bytes.
REAL_KINDS = "biuf"


def as_array(name, a):
    """np.asarray(a), with a ragged or otherwise unconvertible input reported under its argument name."""
    try:
        return np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be an array of numbers, got {type(a).__name__} that NumPy cannot "
                         f"convert ({exc})") from None


def _numeric(name, a, kinds=REAL_KINDS):
    """a as an array whose dtype kind is one of ``kinds``, else a TypeError naming the argument."""
    a = as_array(name, a)
    if a.dtype.kind not in kinds:
        what = [v for k, v in (("b", "bool"), ("iu", "integer"), ("f", "real float")) if set(k) & set(kinds)]
        allowed = ", ".join(what[:-1]) + " or " + what[-1] if len(what) > 1 else what[0]
        raise TypeError(f"{name} must be a numeric array ({allowed}), got dtype {a.dtype}")
    return a


def check_finite(name, a):
    # One allocation-free pass: a sum is finite when every element is (it can overflow only on
    # huge values, and then the exact check below decides).
    with np.errstate(over="ignore", invalid="ignore"):  # a sum of huge finite values may overflow: then look
        if a.dtype.kind == "f" and np.isfinite(np.add.reduce(a, axis=None)):
            return
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)})")


def _is_sparse(x):
    """Whether x is a scipy.sparse matrix or array (scipy imported only if x could be one)."""
    if not type(x).__module__.startswith("scipy.sparse"):
        return False
    import scipy.sparse
    return scipy.sparse.issparse(x)


def check_sparse_structure(x, name="x"):
    """A scipy.sparse x whose index arrays describe a 2-D matrix of its shape, returned (ValueError naming
    `name` otherwise).

    scipy trusts the arrays of a matrix built with check=False or edited in place, and so would every kernel
    that reads it (scipy's own conversions included): an index outside the shape reads or writes outside
    the arrays. O(nnz), vectorized. CSR, CSC and BSR: integer row (column) pointers from 0, never
    decreasing, within the index and value arrays; indices within the other dimension. COO: coordinates
    within the shape. Any other format (LIL, DOK, DIA: lists, a dict, diagonals) is returned as COO, which is
    then checked (those conversions are scipy's Python code, which does not index with what it reads)."""
    if len(x.shape) != 2:
        raise ValueError(f"{name} must be 2-D, got a scipy.sparse array of shape {x.shape}")
    given = x.format
    if given not in ("csr", "csc", "bsr", "coo"):
        try:
            x = x.tocoo()
        except (ValueError, IndexError, TypeError) as e:  # scipy's own check of what it builds
            raise ValueError(f"{name} (a scipy.sparse {given} matrix of shape {x.shape}) does not describe a "
                             f"matrix of its shape: {e}") from None
    fmt = x.format
    n, d = x.shape
    what = f"{name} (a scipy.sparse {given} matrix of shape {x.shape}{'' if fmt == given else ', as COO'})"
    if fmt in ("csr", "csc", "bsr"):
        major, minor = (d, n) if fmt == "csc" else (n, d)
        if fmt == "bsr":
            major, minor = n // x.blocksize[0], d // x.blocksize[1]
        indptr, indices = np.asarray(x.indptr), np.asarray(x.indices)
        if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
            raise ValueError(f"{what} has index arrays of dtype {indptr.dtype} (indptr) and {indices.dtype} "
                             "(indices), expected integers")
        if indptr.ndim != 1 or indptr.shape[0] != major + 1:
            raise ValueError(f"{what} has {indptr.size} pointers (indptr), expected {major + 1}")
        if indptr[0] != 0 or (major and np.any(indptr[1:] < indptr[:-1])):
            raise ValueError(f"{what} has pointers (indptr) that do not start at 0 or that decrease")
        nnz = int(indptr[-1])
        if indices.shape[0] < nnz or x.data.shape[0] < nnz:
            raise ValueError(f"{what} has pointers (indptr) past its {indices.shape[0]} indices and "
                             f"{x.data.shape[0]} values")
        if nnz and (int(indices[:nnz].min()) < 0 or int(indices[:nnz].max()) >= minor):
            raise ValueError(f"{what} has an index outside 0..{minor - 1} (indices "
                             f"{int(indices[:nnz].min())}..{int(indices[:nnz].max())})")
    else:
        row, col = np.asarray(x.row), np.asarray(x.col)
        if row.dtype.kind not in "iu" or col.dtype.kind not in "iu":
            raise ValueError(f"{what} has coordinates of dtype {row.dtype} and {col.dtype}, expected integers")
        if not row.shape == col.shape == x.data.shape:
            raise ValueError(f"{what} has {row.size} rows, {col.size} columns and {x.data.size} values (coords)")
        for axis, idx, size in (("row", row, n), ("column", col, d)):
            if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size):
                raise ValueError(f"{what} has a {axis} index outside 0..{size - 1} "
                                 f"({int(idx.min())}..{int(idx.max())})")
    return x


def dense_if_sparse(x, name="x"):
    """x, or a scipy.sparse x made dense once its index arrays are checked (for the tools that take a batch
    as an array: the gradient check and the doctor)."""
    if not _is_sparse(x):
        return x
    return check_sparse_structure(x, name).toarray()


def check_inputs(x, n_inputs, dtype, keep_sparse=False):
    """x as a C-contiguous (N, n_inputs) array of dtype; a 1-D x is a batch of one.

    A scipy.sparse x (any format) is made dense, or with ``keep_sparse`` kept as rows over its nonzeros
    (fastnn._sparse.SparseRows, canonical CSR of dtype; an epoch's first layer reads it as it is)."""
    from ._sparse import SparseRows
    if isinstance(x, SparseRows) or _is_sparse(x):
        if x.dtype.kind not in REAL_KINDS:
            raise TypeError(f"x must hold real numbers, got a sparse matrix of dtype {x.dtype}")
        if len(x.shape) != 2 or x.shape[1] != n_inputs:
            raise ValueError(f"x must be 2-D with {n_inputs} columns (input_size), got a sparse matrix of shape "
                             f"{x.shape}")
        if x.shape[0] == 0:
            raise ValueError("x must hold at least one row, got an empty batch")
        if _is_sparse(x):
            x = check_sparse_structure(x)
        if not keep_sparse:
            x = x.toarray()
        elif isinstance(x, SparseRows) and x.dtype == dtype:
            return x  # only fastnn builds one, from inputs it has checked (a fit holds it across epochs)
        else:
            x = SparseRows.from_scipy(x, dtype) if _is_sparse(x) else SparseRows(
                x.indptr, x.indices, x.values.astype(dtype), x.shape)
            try:
                check_finite("x", x.values)
            except ValueError:  # say where in x, not where among its stored values
                bad = np.flatnonzero(~np.isfinite(x.values))[0]
                row = int(np.searchsorted(x.indptr, bad, side="right")) - 1
                raise ValueError(f"x contains NaN or inf (first at index ({row}, {x.indices[bad]}))") from None
            return x
    x = _numeric("x", x)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (batch, {n_inputs}), got shape {x.shape}")
    if x.shape[1] != n_inputs:
        raise ValueError(f"x must have {n_inputs} columns (input_size), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one row, got an empty batch")
    given = x
    with np.errstate(over="ignore", invalid="ignore"):  # a value beyond dtype's range: said below, not warned
        x = np.ascontiguousarray(x, dtype=dtype)
    try:
        check_finite("x", x)
    except ValueError:
        if given.dtype != x.dtype:
            with np.errstate(invalid="ignore"):
                lost = np.isfinite(given) & ~np.isfinite(x)
            if lost.any():
                at = tuple(int(i) for i in np.argwhere(lost)[0])
                raise ValueError(f"x holds values beyond the range of the network's dtype {np.dtype(dtype).name} "
                                 f"(largest {np.finfo(dtype).max:.4g}): first at index {at}, {given[at]!r}") from None
        raise
    return x


def check_labels(t, n_rows, n_classes):
    """Integer class indices (N,) from integer labels or one-hot rows."""
    t = _numeric("t", t)  # bool only makes sense one-hot; 1-D labels are checked to be integers below
    if t.ndim == 2 and t.shape[1] == 1:
        t = t.reshape(-1)
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim == 2:
        if t.shape != (n_rows, n_classes):
            raise ValueError(f"t: one-hot labels must have shape ({n_rows}, {n_classes}), got {t.shape}")
        check_finite("t", t)
        if not (np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1)):
            raise ValueError("t: 2-D labels must be one-hot (each row a single 1, zeros elsewhere)")
        return np.argmax(t, axis=1).astype(np.intp)
    if t.ndim != 1:
        raise ValueError(f"t must be integer labels (N,) or one-hot (N, {n_classes}), got shape {t.shape}")
    if t.shape[0] != n_rows:
        raise ValueError(f"t must hold one label per row of x ({n_rows}), got {t.shape[0]}")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"t: 1-D labels must be integers (class indices), got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"t: labels must lie in [0, {n_classes - 1}], got values from {t.min()} to {t.max()}")
    return t.astype(np.intp, copy=False)


def check_param(key, value, shape, dtype):
    """A parameter as a C-contiguous array of the network's shape and dtype (no copy if already).

    Integer and float arrays are accepted; boolean, complex and non-numeric ones are a TypeError.
    """
    value = _numeric(f"params[{key!r}]", value, "iuf")
    if value.shape != tuple(shape):
        raise ValueError(f"params[{key!r}] must have shape {tuple(shape)}, got {value.shape}")
    return np.ascontiguousarray(value, dtype=dtype)


def check_params(params, shapes, dtype):
    """Every parameter checked, finite; returns a plain dict of contiguous arrays."""
    out = {}
    for key, shape in shapes.items():
        if key not in params:
            raise KeyError(f"params is missing {key!r}")
        out[key] = check_param(key, params[key], shape, dtype)
        check_finite(f"params[{key!r}]", out[key])
    return out


def check_perm(perm, n):
    """The order of the rows of one epoch, as a C-contiguous intp array of indices into n rows.

    NumPy fancy-indexing semantics, as ``x[perm]``: any 1-D integer array of any length (repeats
    allowed, so sampling with replacement works), negative indices counting from the end
    (-1 is row n - 1) and normalised to 0..n-1 here, so no kernel ever sees one. Boolean masks and
    float arrays are a TypeError (a mask is not an order, and 2.0 is not an index); an empty,
    non-1-D or out-of-range perm is a ValueError. One min/max pass, no copy when already fine.
    """
    perm = as_array("perm", perm)
    if perm.ndim != 1:
        raise ValueError(f"perm must be a 1-D array of row indices, got shape {perm.shape}")
    if perm.size == 0:
        raise ValueError("perm must hold at least one row index, got an empty array")
    if perm.dtype.kind == "b":
        raise TypeError("perm must be integer row indices, got a boolean array (for a mask of rows, pass "
                        "np.flatnonzero(mask))")
    if perm.dtype.kind not in "iu":
        raise TypeError(f"perm must be integer row indices, got dtype {perm.dtype}")
    low, high = perm.min(), perm.max()
    if low < -n or high >= n:
        bad = low if low < -n else high
        raise ValueError(f"perm must index rows of x: values in [-{n}, {n - 1}] (negative ones count from the "
                         f"end, as in x[perm]), got {bad}")
    perm = np.ascontiguousarray(perm, dtype=np.intp)
    if low < 0:
        perm = np.where(perm < 0, perm + n, perm)
    return perm


def check_h(h, params=(), dtype=np.float64):
    """The step of a central difference: a real number h > 0, finite, with 2h finite, and large enough to
    move every parameter (``p + h != p`` in ``dtype`` for the largest |p| of ``params``; else the
    difference quotient is 0/2h for that element: a silent wrong gradient).

    Parameters
    ----------
    h : float
    params : iterable of arrays
        The parameters the step perturbs.
    dtype : np.dtype
        The network's dtype (what ``p + h`` is rounded to).
    """
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Real):
        raise TypeError(f"h must be a positive finite number, got {type(h).__name__} {h!r}")
    value = float(h)
    if not np.isfinite(value) or value <= 0 or not np.isfinite(2.0 * value):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
    dt = np.dtype(dtype)
    big = max((float(np.max(np.abs(p))) for p in params if np.size(p)), default=0.0)
    big = dt.type(big)
    if big + dt.type(value) == big:
        raise ValueError(f"h must be a positive finite number large enough to move the parameters: h={h!r} "
                         f"vanishes next to |p| = {float(big):.3g} in {dt.name} (p + h == p); "
                         f"use h >= {float(np.spacing(big)):.3g} (the book uses 1e-4)")
    return value
