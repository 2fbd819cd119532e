"""Backend selection: 'numpy' (the reference), 'numba', 'cython'; 'auto' picks the fastest present.

Every backend module exposes the same functions with the same signatures:
``logits``, ``gradient``, ``numerical_gradient``, ``train_epoch`` (see ``_numpy.py``), on arrays the
public wrappers have already validated. ``FASTNN_PURE_PYTHON=1`` leaves only 'numpy'.
"""
import importlib

from .. import _config

NAMES = ("numpy", "numba", "cython")
#: 'auto' tries these in order.
PREFERENCE = ("cython", "numba", "numpy")
_MODULES = {"numpy": "._numpy", "numba": "._numba", "cython": "._cython"}
_loaded = {}
_errors = {}


def _load(name):
    if name in _loaded:
        return _loaded[name]
    if name != "numpy" and _config.pure_python():
        _errors[name] = f"disabled by {_config.ENV_PURE_PYTHON}=1"
        return None
    try:
        module = importlib.import_module(_MODULES[name], __name__)
    except ImportError as exc:
        _errors[name] = f"{type(exc).__name__}: {exc}"
        if name == "cython" and _config.require_extension():
            raise ImportError(
                f"the compiled extension fastnn._twolayer is missing ({exc}) but "
                f"{_config.ENV_REQUIRE_EXTENSION}=1 says it must be there: rebuild with `pip install .`"
            ) from exc
        return None
    _loaded[name] = module
    return module


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
