"""Download to a temp file beside the target, verify, then rename: no bad file is ever left."""
import os
import sys
import tempfile
import urllib.error
import urllib.request

CHUNK = 1 << 16


def atomic_write_bytes(path, data):
    """Write data to path through a temp file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def fetch(url, dest, verify, timeout=30, progress=None):
    """Download url into dest if ``verify(tmp_path)`` accepts it (it raises ValueError otherwise).

    The bytes go to a temp file in dest's folder, which is verified and only then renamed to dest.
    On any failure the temp file is removed and the error propagates.
    """
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                f.write(block)
                done += len(block)
                if show:
                    _progress(os.path.basename(dest), done, total)
            if total and done != total:
                raise ValueError(f"{url}: got {done} of {total} bytes (connection cut)")
        if show:
            sys.stderr.write("\n")
        verify(tmp)
        os.replace(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise


def _progress(name, done, total):
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{name}: [{'#' * filled}{'.' * (width - filled)}] {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r{name}: {done / 1e6:.1f} MB")
    sys.stderr.flush()


NETWORK_ERRORS = (urllib.error.URLError, OSError, TimeoutError, ValueError)
