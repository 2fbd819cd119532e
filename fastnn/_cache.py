"""Where fastnn keeps files: the user cache folder, and numba's on-disk cache of compiled kernels.

Imported first by ``fastnn/__init__.py``, before anything imports numba.

numba writes its cache beside the source files (``fastnn/__pycache__``). In a read-only install
(a system site-packages, a container layer, a wheel unpacked by root) that folder cannot be written:
numba then falls back to ``~/.cache/numba`` or, when that is read-only too, every ``cache=True`` kernel
fails at import ("no locator available"). fastnn picks a writable folder itself (``configure_numba_cache``)
and turns caching off rather than fail.
"""
import os
import sys
import tempfile

#: Root of fastnn's cache (datasets, numba kernels); default ``$XDG_CACHE_HOME/fastnn`` or ``~/.cache/fastnn``.
ENV_CACHE_DIR = "FASTNN_CACHE_DIR"
ENV_NUMBA_CACHE_DIR = "NUMBA_CACHE_DIR"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: How the numba cache folder was chosen, for ``fastnn info``: (folder, reason)
numba_cache = (None, "not configured yet")


def cache_root():
    """fastnn's cache folder: ``$FASTNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/fastnn``, else ``~/.cache/fastnn``."""
    root = os.environ.get(ENV_CACHE_DIR)
    if root:
        return os.path.abspath(os.path.expanduser(root))
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "fastnn")
    return os.path.join(os.path.expanduser("~"), ".cache", "fastnn")


def _usable(folder):
    """Whether files can be created in folder (made if missing): tried for real, since root ignores
    permission bits and a read-only mount or a foreign owner is only seen by trying."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        return True
    except OSError:
        return False


def configure_numba_cache(package_dir=PACKAGE_DIR):
    """Choose numba's cache folder before numba reads its configuration; returns (folder, reason).

    In order: ``NUMBA_CACHE_DIR`` set by the user; ``__pycache__`` beside the package when writable
    (numba's default); ``<cache_root()>/numba``; ``<tempdir>/fastnn-<user>/numba``; else caching is turned
    off (``_config.NUMBA_OPTIONS["cache"] = False``) so that importing never fails. When numba is already
    loaded its live configuration is updated too. The choice is kept in ``numba_cache`` for ``fastnn info``.
    """
    global numba_cache
    user = os.environ.get(ENV_NUMBA_CACHE_DIR)
    if user:
        numba_cache = (user, f"{ENV_NUMBA_CACHE_DIR} set by the user")
        return numba_cache
    if _usable(os.path.join(package_dir, "__pycache__")):
        numba_cache = (os.path.join(package_dir, "__pycache__"), "beside the package, numba's default")
        return numba_cache
    owner = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    for folder, why in ((os.path.join(cache_root(), "numba"), "package folder read-only: user cache"),
                        (os.path.join(tempfile.gettempdir(), f"fastnn-{owner}", "numba"),
                         "package folder and user cache read-only: temp folder")):
        if _usable(folder):
            os.environ[ENV_NUMBA_CACHE_DIR] = folder
            if "numba" in sys.modules:  # numba loaded before fastnn: update its live configuration
                from numba.core import config
                config.CACHE_DIR = folder
            numba_cache = (folder, why)
            return numba_cache
    from . import _config
    _config.NUMBA_OPTIONS["cache"] = False
    _config.NUMBA_PARALLEL_OPTIONS["cache"] = False
    numba_cache = (None, "no writable folder: kernels are compiled in each process, not cached")
    return numba_cache
