"""Where fastnn keeps files: the user cache folder, and numba's on-disk cache of compiled kernels.

Imported first by ``fastnn/__init__.py`` (before anything imports numba), and imports nothing from fastnn.

numba writes its cache beside the source files (``fastnn/__pycache__``). In a read-only install
(a system site-packages, a container layer, a wheel unpacked by root) that folder cannot be written:
numba then falls back to a folder of its own or, when none works, warns on every compilation. fastnn
points ``NUMBA_CACHE_DIR`` at ``<cache>/numba`` in that case, before numba reads its configuration,
unless the user set ``NUMBA_CACHE_DIR`` already.
"""
import os

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


def _writable(folder):
    """Whether a file can be created in folder (``__pycache__`` is created by numba if missing)."""
    pycache = os.path.join(folder, "__pycache__")
    target = pycache if os.path.isdir(pycache) else folder
    return os.access(target, os.W_OK | os.X_OK)


def configure_numba_cache(package_dir=PACKAGE_DIR):
    """Point numba's cache at ``<cache_root()>/numba`` when the package folder is not writable.

    Must run before numba is imported (numba reads ``NUMBA_CACHE_DIR`` once); when numba is already
    loaded its live configuration is updated too. Returns (folder, reason), also kept in ``numba_cache``.
    """
    global numba_cache
    user = os.environ.get(ENV_NUMBA_CACHE_DIR)
    if user:
        numba_cache = (user, f"{ENV_NUMBA_CACHE_DIR} set by the user")
    elif _writable(package_dir):
        numba_cache = (os.path.join(package_dir, "__pycache__"), "beside the package (writable)")
    else:
        folder = os.path.join(cache_root(), "numba")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            numba_cache = (None, f"package folder read-only and {folder} cannot be created ({exc}): "
                                 "numba picks its own fallback")
            return numba_cache
        os.environ[ENV_NUMBA_CACHE_DIR] = folder
        import sys
        if "numba" in sys.modules:  # numba already loaded by the user: update its live configuration
            from numba.core import config
            config.CACHE_DIR = folder
        numba_cache = (folder, "package folder read-only: user cache")
    return numba_cache
