"""Download to a temp file beside the target, verify, then rename: no bad file is ever left."""
import os
import sys
import urllib.error
import urllib.request

from .._files import atomic_write

CHUNK = 1 << 16


def fetch(url, dest, verify, timeout=30, progress=None):
    """Download url into dest if ``verify(tmp_path)`` accepts it (it raises ValueError otherwise).

    The bytes go to a temp file in dest's folder, which is verified and only then renamed to dest.
    On any failure the temp file is removed and the error propagates.
    """
    show = sys.stderr.isatty() if progress is None else progress

    def download(f):
        with urllib.request.urlopen(url, timeout=timeout) as response:
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

    atomic_write(dest, download, verify, prefix=".download-")


def _progress(name, done, total):
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{name}: [{'#' * filled}{'.' * (width - filled)}] {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r{name}: {done / 1e6:.1f} MB")
    sys.stderr.flush()


NETWORK_ERRORS = (urllib.error.URLError, OSError, TimeoutError, ValueError)
