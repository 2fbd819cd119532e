"""Backend selection: 'numpy' (the reference), 'numba', 'cython'; 'auto' picks the fastest present.

Every backend offers the same functions with the same signatures (``CONTRACT``, see ``_numpy.py``), on
arrays the public wrappers have already validated. A backend module provides them itself unless
``PROVIDERS`` names another backend for a function (the cython backend has no compiled numerical
gradient: it takes numba's, else the reference's); this module alone decides, and no backend imports
another. ``FASTNN_PURE_PYTHON=1`` leaves only 'numpy'.
"""
import importlib

from .. import _config, _isa

NAMES = ("numpy", "numba", "cython")
#: 'auto' tries these in order.
PREFERENCE = ("cython", "numba", "numpy")
#: What every backend offers, for every network (the two-layer net is the one-hidden-layer case), on the flat
#: parameters ``theta`` (fastnn/_flat.py) and the layer widths ``sizes``:
#: ``logits(theta, sizes, x, act, n_threads)``, ``gradient(theta, sizes, x, t, act, loss, lam, n_threads)`` and
#: ``gradient_and_hits`` (the same and the rows whose logits pick their label), ``numerical_gradient(theta, sizes,
#: x, t, act, loss, lam, h, n_threads)``, ``train_epoch(params, sizes, x, t, perm, batch_size, optimizer, act,
#: loss, lam, n_threads, sparse=False)``, ``sparse_first_layer(indptr, indices, values, W1, b1, n_threads)``
#: (x W1 + b1 for a CSR x: contiguous intp indptr, from any offset; int32 indices; values of W1's dtype). act and
#: loss are fastnn._codes' codes.
CONTRACT = ("logits", "gradient", "gradient_and_hits", "numerical_gradient", "train_epoch", "sparse_first_layer")
#: backend -> {function: the backends that may provide it, first available wins}.
PROVIDERS = {"cython": {"numerical_gradient": ("numba", "numpy")}}
_MODULES = {"numpy": "._numpy", "numba": "._numba", "cython": "._cython"}
_loaded = {}
_errors = {}


class Backend:
    """A backend as the networks see it: its module's NAME, NOTES, ... and the CONTRACT's functions, each
    looked up when called in the module that provides it (so replacing a module's function takes effect)."""

    def __init__(self, module, providers):
        self._module = module
        self._providers = providers
        missing = [name for name in CONTRACT if name not in providers and not hasattr(module, name)]
        if missing:
            raise ImportError(f"backend {module.NAME!r} lacks {', '.join(missing)} of the backend contract")

    def __getattr__(self, attr):
        if attr.startswith("__") or attr in ("_module", "_providers"):  # not set yet (copy, pickle)
            raise AttributeError(attr)
        return getattr(self._providers.get(attr, self._module), attr)

    def __repr__(self):
        return f"<fastnn backend {self._module.NAME!r}>"


def _load(name):
    if name in _loaded:
        return _loaded[name]
    if name != "numpy" and _config.pure_python():
        _errors[name] = f"disabled by {_config.ENV_PURE_PYTHON}=1"
        return None
    try:
        module = importlib.import_module(_MODULES[name], __name__)
        providers = {}
        for function, candidates in PROVIDERS.get(name, {}).items():
            providers[function] = next(m for m in map(_load, candidates) if m is not None)._module
        backend = Backend(module, providers)
    except ImportError as exc:
        _errors[name] = f"{type(exc).__name__}: {exc}"
        if name == "cython" and _config.require_extension():
            raise ImportError(
                f"the compiled extension fastnn._mlp is missing ({exc}) but "
                f"{_config.ENV_REQUIRE_EXTENSION}=1 says it must be there: rebuild with `pip install .`"
            ) from exc
        if name == "cython" and _isa.forced_level() is not None:  # asked for by name: never a silent fallback
            raise ImportError(f"{exc} (unset {_isa.ENV_ISA} to use the best variant built, or another backend)") from exc
        return None
    _loaded[name] = backend
    return backend


def available_backends():
    """Names of the backends that work in this process, fastest last: e.g. ['numpy', 'numba', 'cython']."""
    return [name for name in NAMES if _load(name) is not None]


def unavailable_reasons():
    """{name: why it is not available} for the backends that failed to load."""
    available_backends()
    return dict(_errors)


def get_backend(name="auto"):
    """The backend module for a name, or the fastest available for 'auto'.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        For a known backend that cannot be used here, with the reason.
    """
    if name == "auto":
        for candidate in PREFERENCE:
            module = _load(candidate)
            if module is not None:
                return module
    if name not in NAMES:
        raise ValueError(f"backend must be 'auto' or one of {', '.join(map(repr, NAMES))}, got {name!r}")
    module = _load(name)
    if module is None:
        raise RuntimeError(f"backend {name!r} is not available: {_errors.get(name, 'unknown reason')}")
    return module


def _cython_openmp():
    """Whether the compiled extension has OpenMP (None when it is not available)."""
    module = _load("cython")
    return None if module is None else bool(module.HAVE_OPENMP)
