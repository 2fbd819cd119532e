"""Where a watched learner script runs: its own folder and sys.path, MNIST served offline, writes kept
out of the user's folder, plotting non-interactive.

The learner's own modules (e.g. the book's ``common/``) are always imported as they are: only data
loaders are served (``dataset.mnist.load_mnist``, ``keras.datasets.mnist.load_data``, ...), and only the
loader function is replaced, never the learner's maths.
"""
import builtins
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import runpy
import sys
import tempfile
import types

from . import _doctor_data as data

_FASTNN_DIR = os.path.dirname(os.path.abspath(__file__))


def learner_files(script):
    """is_learner(filename): True for files that are not Python's, an installed package's or fastnn's."""
    system = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p}
    cache = {}

    def is_learner(filename):
        hit = cache.get(filename)
        if hit is None:
            if not filename or filename.startswith("<"):
                hit = False
            else:
                real = os.path.realpath(filename)
                hit = not (real.startswith(_FASTNN_DIR + os.sep) or "site-packages" in real
                           or any(real.startswith(s + os.sep) for s in system))
            cache[filename] = hit
        return hit
    return is_learner


def learner_namespaces(is_learner, main_globals=None):
    """The globals of every module loaded from the learner's files (the script's first)."""
    out = [main_globals] if main_globals is not None else []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and is_learner(path) and vars(module) is not main_globals:
            out.append(vars(module))
    return out


def learner_functions(is_learner, main_globals=None):
    """{name: function} of the functions defined in the learner's files."""
    out = {}
    for ns in learner_namespaces(is_learner, main_globals):
        for name, value in ns.items():
            code = getattr(value, "__code__", None)
            if code is not None and is_learner(code.co_filename) and name not in out:
                out[name] = value
    return out


# --- served modules ------------------------------------------------------------------------------------

def _noop(*args, **kwargs):
    return None


#: module -> {attribute: replacement}; applied after the real module loads, or on a stand-in module.
SERVED = {
    "dataset.mnist": {"load_mnist": data.load_mnist},
    "mnist": {"load_mnist": data.load_mnist, "load_data": data.load_data},
    "keras.datasets.mnist": {"load_data": data.load_data},
    "tensorflow.keras.datasets.mnist": {"load_data": data.load_data},
    "keras.utils": {"to_categorical": data.to_categorical},
    "tensorflow.keras.utils": {"to_categorical": data.to_categorical},
    "matplotlib.pyplot": {"show": _noop, "pause": _noop},
}
#: Packages given as empty stand-ins when they are not installed (so their served children import).
PACKAGES = {"dataset": [], "keras": ["datasets", "utils"], "keras.datasets": ["mnist"], "tensorflow": ["keras"],
            "tensorflow.keras": ["datasets", "utils"], "tensorflow.keras.datasets": ["mnist"]}


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the loaders of SERVED: patches the real module after it loads, else stands in for it."""

    def find_spec(self, name, path=None, target=None):
        if name not in SERVED and name not in PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if name in SERVED and spec.loader is not None:
                    spec.loader = _Patching(spec.loader, SERVED[name])
                return spec
        return importlib.machinery.ModuleSpec(name, self, is_package=name in PACKAGES)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__dict__.update(SERVED.get(module.__name__, {}))
        module.__doc__ = "served by fastnn doctor"
        if module.__name__ in PACKAGES:
            module.__path__ = []
            for child in PACKAGES[module.__name__]:
                setattr(module, child, importlib.import_module(f"{module.__name__}.{child}"))


class _Patching(importlib.abc.Loader):
    def __init__(self, loader, served):
        self.loader, self.served = loader, served

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.__dict__.update(self.served)


class Sandbox:
    """Context: the served imports, writes redirected to a temporary folder, the script's folder as cwd."""

    def __init__(self, script):
        self.script = script
        self.folder = os.path.dirname(script)
        self.redirected = {}

    def _open(self, file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and not isinstance(file, int):
            path = os.path.abspath(os.fsdecode(file))
            if any(c in mode for c in "wax+"):
                if not path.startswith(self.tmp.name + os.sep):
                    target = os.path.join(self.tmp.name, path.strip(os.sep).replace(os.sep, "__"))
                    self.redirected[path] = target
                    path = target
            else:
                path = self.redirected.get(path, path)
            file = path
        return self._real_open(file, mode, *args, **kwargs)

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fastnn-doctor-")
        self._cwd, self._argv, self._path = os.getcwd(), sys.argv, list(sys.path)
        os.environ.setdefault("MPLBACKEND", "Agg")
        os.chdir(self.folder)
        sys.argv = [self.script]
        sys.path[0:0] = [self.folder]
        self._finder = _Finder()
        sys.meta_path.insert(0, self._finder)
        self._real_open = builtins.open
        builtins.open = io.open = self._open
        for name, served in SERVED.items():  # already imported (e.g. matplotlib by the runner's caller)
            if name in sys.modules:
                vars(sys.modules[name]).update(served)
        return self

    def __exit__(self, *exc):
        builtins.open = io.open = self._real_open
        sys.meta_path.remove(self._finder)
        os.chdir(self._cwd)
        sys.argv, sys.path[:] = self._argv, self._path
        self.tmp.cleanup()
        return False


def run_script(script):
    """Run the script as ``python script`` would (``__name__ == '__main__'``)."""
    sys.modules.pop("__mp_main__", None)
    runpy.run_path(script, run_name="__main__")


def stand_in(name):
    """A stand-in module (for tests)."""
    module = types.ModuleType(name)
    module.__dict__.update(SERVED.get(name, {}))
    return module
