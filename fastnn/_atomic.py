"""Write a file so that nothing is lost: a temp file beside it, fsync, an optional check, then rename."""
import os
import tempfile


def atomic_write(path, write, verify=None, prefix=".tmp-"):
    """Call ``write(f)`` on a temp file in path's folder, then ``verify(temp_path)`` (which may raise), then
    rename it to path. On any failure the temp file is removed, the old file stays, the error propagates."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if verify is not None:
            verify(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
