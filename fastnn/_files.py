"""Write a file so that nothing is lost: a temp file beside it, fsync, an optional check, then rename.

What an ordinary ``open(path, 'wb')`` would do, except that readers never see a half-written file:

- a symlink is followed: its target is written (created if the link dangles), the link stays a link;
- a directory, FIFO, socket or device node is refused (never replaced by a regular file);
- a new file gets the mode ``open()`` would give (0o666 less the umask); a file that is replaced keeps its
  mode (and, when running as root, its owner), as ``open()`` truncating it would;
- a read-only existing file is refused (``PermissionError``), as ``open()`` would refuse it;
- errors name the path asked for, never the hidden temp file, and the temp file is removed on any error;
- the data is fsynced before the rename and the folder after it.

One difference: a hard link to the old file keeps the old content (the new file is a new inode).
"""
import errno
import os
import secrets
import stat

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def resolve_target(path, make_dirs=False):
    """The real file that writing ``path`` would write, checked: (target, stat of it or None).

    Raises
    ------
    IsADirectoryError
        path is (or links to) a directory.
    ValueError
        path is (or links to) a FIFO, socket or device node.
    PermissionError
        path exists and is not writable.
    FileNotFoundError, NotADirectoryError
        the folder path would be written in does not exist (unless ``make_dirs``) or is not a folder.
    """
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise FileNotFoundError(errno.ENOENT, "an empty path is not a file name", path)
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise IsADirectoryError(errno.EISDIR, "a path ending in a separator names a folder, not a file", path)
    target = os.path.realpath(path)  # follows every symlink, dangling ones included (as open() would)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        exc.filename = path
        raise
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory (a file name was expected)", path)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path!r} is {_kind(st.st_mode)}; fastnn writes only regular files "
                             "and does not replace it")
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "Permission denied (the existing file is read-only)", path)
    folder = os.path.dirname(target)
    if make_dirs:
        os.makedirs(folder, exist_ok=True)
    elif not os.path.exists(folder):
        raise FileNotFoundError(errno.ENOENT, f"the folder {folder!r} does not exist", path)
    elif not os.path.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, f"{folder!r} is not a folder", path)
    return target, st


def _create_temp(folder, prefix, name):
    """A new file in folder, opened O_EXCL with mode 0o666: the kernel applies the umask (and default ACLs)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f"{prefix}{name}.{secrets.token_hex(4)}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a unique temp file", os.path.join(folder, prefix))


def _keep_mode_and_owner(fd, st):
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    if hasattr(os, "geteuid") and os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            pass


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename itself is done
    finally:
        os.close(fd)


def check_writable(path, make_dirs=False):
    """Raise now (as :func:`atomic_write` would later) if ``path`` cannot be written: by creating and
    removing a temp file beside it. Returns the real target path."""
    target, _ = resolve_target(path, make_dirs)
    try:
        fd, tmp = _create_temp(os.path.dirname(target), ".probe-", os.path.basename(target))
    except OSError as exc:
        exc.filename, exc.filename2 = os.fspath(path), None
        raise
    os.close(fd)
    os.remove(tmp)
    return target


def atomic_write(path, write, verify=None, prefix=".tmp-", make_dirs=True):
    """Call ``write(f)`` on a temp file beside path's real target, then ``verify(temp_path)`` (which may
    raise), then rename it onto the target. On any failure the temp file is removed, the old file stays,
    and the error propagates (an ``OSError`` naming ``path``).

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; a symlink is followed to its target.
    write : callable
        ``write(f)`` writes the content to the binary file object ``f``.
    verify : callable, optional
        ``verify(temp_path)`` checks the written file before it replaces anything.
    prefix : str
        Of the hidden temp file's name.
    make_dirs : bool
        Create missing folders (downloads into a cache); False gives ``open()``'s FileNotFoundError.
    """
    path = os.fspath(path)
    target, st = resolve_target(path, make_dirs)
    folder = os.path.dirname(target)
    try:
        fd, tmp = _create_temp(folder, prefix, os.path.basename(target))
    except OSError as exc:
        exc.filename, exc.filename2 = path, None
        raise
    made = tmp
    try:
        with os.fdopen(fd, "wb") as f:
            if st is not None:
                _keep_mode_and_owner(f.fileno(), st)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if verify is not None:
            verify(tmp)
        os.replace(tmp, target)
        tmp = None
        _fsync_folder(folder)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            _name_the_path(exc, path, made)
        raise


def _name_the_path(exc, path, tmp):
    """Errors name the path asked for: never the temp file, and not nothing when the OS gave an errno."""
    if exc.filename is None and exc.errno is not None:
        exc.filename = path
    elif tmp is not None and exc.filename is not None and os.fspath(exc.filename) == tmp:
        exc.filename = path
    if tmp is not None and exc.filename2 is not None:
        exc.filename2 = None
