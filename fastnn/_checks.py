"""Errors at the door: public wrappers validate here, before any kernel runs."""
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


def _numeric(name, a):
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    return a


def check_finite(name, a):
    # One allocation-free pass: a sum is finite when every element is (it can overflow only on
    # huge values, and then the exact check below decides).
    if a.dtype.kind == "f" and np.isfinite(np.add.reduce(a, axis=None)):
        return
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)})")


def check_inputs(x, n_inputs, dtype):
    """x as a C-contiguous (N, n_inputs) array of dtype; a 1-D x is a batch of one."""
    x = _numeric("x", x)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (batch, {n_inputs}), got shape {x.shape}")
    if x.shape[1] != n_inputs:
        raise ValueError(f"x must have {n_inputs} columns (input_size), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one row, got an empty batch")
    x = np.ascontiguousarray(x, dtype=dtype)
    check_finite("x", x)
    return x


def check_labels(t, n_rows, n_classes):
    """Integer class indices (N,) from integer labels or one-hot rows."""
    t = _numeric("t", t)
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
    """A parameter as a C-contiguous array of the network's shape and dtype (no copy if already)."""
    value = _numeric(f"params[{key!r}]", value)
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
