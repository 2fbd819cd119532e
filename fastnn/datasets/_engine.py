"""One loader for every dataset of the MNIST family, driven by a spec (``_specs.DatasetSpec``).

Sources, in order: an explicit folder (``data_dir`` or the spec's environment variable), read as any
folder of four IDX files; fastnn's cache (``<cache>/<spec.cache_folder>``); folders other tools keep
(Debian's package, Keras', torchvision's); then a download from the mirrors into the cache.

Every file of a known place must match its published checksum (of the ``.gz`` or of the uncompressed
bytes); where none is published, the IDX headers, the published counts and the label range are
checked instead and the result carries a note. A file in fastnn's cache that fails is moved aside to
``<cache>/<folder>/corrupt/`` (a warning says where) and the search goes on. A download lands in a temp
file that is verified before it is renamed into the cache.
"""
import collections
import os
import pickle
import time
import warnings
import zipfile

import numpy as np

from .. import _cache, _memory
from . import _download, _idx
from ._specs import KEYS, SPECS


class DatasetUnavailable(FileNotFoundError):
    """A dataset could not be found or downloaded; the message lists every source tried."""


class UnverifiedDataWarning(UserWarning):
    """Data read without a published checksum to verify it against (only its structure was checked)."""


class CorruptFileWarning(UserWarning):
    """A file of fastnn's cache failed its checks and was moved aside."""


#: arrays: KEYS -> uint8 array; spec: the dataset the files are (may differ from the one asked for);
#: source: where they were read; verified: every file matched a published checksum; notes: for the user.
Found = collections.namedtuple("Found", "arrays spec source verified notes")


def cache_dir(spec):
    """The spec's folder in fastnn's cache."""
    return os.path.join(_cache.cache_root(), spec.cache_folder)


def locate(folder, stem):
    """``stem.gz``, ``stem``, or the ``train-images.idx3-ubyte`` spelling, whichever exists in folder."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, dotted + ".gz", dotted):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


_GENERIC = "train-images-idx3-ubyte"  # MNIST's file names, shared by Fashion-MNIST and KMNIST


class _File:
    """One file read once: its bytes, uncompressed bytes and their MD5s."""

    def __init__(self, path):
        self.path = path
        self.raw, self.data = _idx.read_file(path)
        self.gzipped = _idx.is_gzip(self.raw)
        self.md5 = _idx.md5(self.data)
        self.gz_md5 = _idx.md5(self.raw) if self.gzipped else None
        self.raw = None  # only the digests are kept

    def status(self, entry):
        """'verified', 'mismatch' (a published checksum contradicts it) or 'unpublished' (none for its form)."""
        if self.gzipped and entry.gz_md5 == self.gz_md5 or entry.md5 == self.md5:
            return "verified"
        if entry.md5 or (self.gzipped and entry.gz_md5):
            return "mismatch"
        return "unpublished"

    def mismatch(self, entry, title):
        if entry.md5:
            got, want, what = self.md5, entry.md5, "uncompressed "
        else:
            got, want, what = self.gz_md5, entry.gz_md5, ".gz "
        return ValueError(f"{self.path}: MD5 {got} does not match the published MD5 {want} of {title}'s "
                          f"{what}{entry.stem} (corrupt or truncated, or not {title})")


def _validate(arrays, paths, label_range, counts=None):
    """Structural checks of a set of four arrays: image sizes, counts, labels."""
    _idx.check_image_sizes(arrays["train_images"], arrays["test_images"], paths["train_images"], paths["test_images"])
    for split in ("train", "test"):
        _idx.check_split(arrays[f"{split}_images"], arrays[f"{split}_labels"], paths[f"{split}_images"],
                         paths[f"{split}_labels"], label_range)
    if counts is not None:
        for split, want in zip(("train", "test"), counts):
            got = len(arrays[f"{split}_images"])
            if got != want:
                raise ValueError(f"{paths[f'{split}_images']}: {got} images, the published set has {want}")


def _finish(spec, arrays, source, verified, notes):
    if spec.transpose:  # stored column-major: give the images MNIST's orientation (as tensorflow-datasets does)
        for key in ("train_images", "test_images"):
            arrays[key] = np.ascontiguousarray(arrays[key].transpose(0, 2, 1))
    return Found(arrays, spec, source, verified, notes)


def _missing(folder, spec, paths):
    absent = [spec.files[k].stem for k in KEYS if paths[k] is None]
    return FileNotFoundError(f"{folder}: missing {', '.join(s + '.gz' for s in absent)} (or uncompressed)")


def read_known(spec, folder, move_aside=False):
    """The four arrays of spec from folder, each file verified (or, with none published, checked and noted).

    With move_aside (fastnn's cache), every file that fails is moved to ``corrupt/`` before the error.

    Raises
    ------
    FileNotFoundError
        When a file is missing.
    ValueError
        Naming the file, when one is corrupt, truncated, inconsistent or contradicts a published checksum.
    """
    paths = {k: locate(folder, spec.files[k].stem) for k in KEYS}
    arrays, unpublished, errors = {}, [], []
    for key in KEYS:
        if paths[key] is None:
            continue
        entry = spec.files[key]
        try:
            f = _File(paths[key])
            arrays[key] = _idx.parse(f.data, f.path, entry.magic)
            status = f.status(entry)
            if status == "mismatch":
                raise f.mismatch(entry, spec.title)
        except ValueError as exc:
            if not move_aside:
                raise
            errors.append(quarantine(paths[key], str(exc)))
            continue
        if status == "unpublished":
            unpublished.append(paths[key])
    if errors:
        raise ValueError("; ".join(errors))
    if None in paths.values():
        raise _missing(folder, spec, paths)
    try:
        _validate(arrays, paths, spec.label_range, spec.counts if unpublished else None)
    except ValueError as exc:  # only unverified files can disagree with each other
        if not move_aside or not unpublished:
            raise
        raise ValueError("; ".join(quarantine(p, str(exc)) for p in unpublished)) from None
    notes = []
    if unpublished:
        names = ", ".join(os.path.basename(p) for p in unpublished)
        notes.append(f"{folder}: no published checksum for {names}; read after checking the IDX headers, the "
                     f"published counts {spec.counts} and labels {spec.label_range[0]}..{spec.label_range[1]} "
                     f"(contents not verified)")
    return _finish(spec, arrays, folder, not unpublished, notes)


def read_any(spec, folder):
    """Any folder of four IDX files: a known set is recognised by its checksums (even when it is not the
    one asked for); anything else is read after every structural check, with a note saying so.

    Raises
    ------
    FileNotFoundError
        When the folder lacks one of the four files.
    ValueError
        Naming the file, when one is corrupt, truncated, inconsistent, has labels out of spec's range, or
        contradicts the checksum of a known set the other files belong to.
    """
    candidates = [spec] + [s for s in SPECS.values() if s.name != spec.name]
    located = [(s, {k: locate(folder, s.files[k].stem) for k in KEYS}) for s in candidates]
    located = [(s, paths) for s, paths in located if None not in paths.values()]
    if not located:
        raise _missing(folder, spec, {k: locate(folder, spec.files[k].stem) for k in KEYS})
    files, arrays_by_path = {}, {}
    for _, paths in located:
        for key, path in paths.items():
            if path not in files:
                files[path] = _File(path)
                arrays_by_path[path] = _idx.parse(files[path].data, path, spec.files[key].magic)
    scored = [(s, paths, {k: files[paths[k]].status(s.files[k]) for k in KEYS}) for s, paths in located]
    best, paths, status = max(scored, key=lambda c: sum(v == "verified" for v in c[2].values()))
    n_verified = sum(v == "verified" for v in status.values())
    arrays = {k: arrays_by_path[paths[k]] for k in KEYS}
    if n_verified == 0:
        # judged as the dataset asked for, unless only another's own file names are there (emnist-letters-...)
        first, paths, _ = scored[0]
        best = spec if first is spec or first.files["train_images"].stem == _GENERIC else first
        arrays = {k: arrays_by_path[paths[k]] for k in KEYS}
        _validate(arrays, paths, best.label_range)
        return _finish(best, arrays, folder, False, [
            f"{folder}: not a known {best.title} set (no published checksum matches); read after checking the IDX "
            f"headers, counts and labels {best.label_range[0]}..{best.label_range[1]} (contents not verified)"])
    for key in KEYS:
        if status[key] == "mismatch":
            raise ValueError(f"{files[paths[key]].mismatch(best.files[key], best.title)}; the other files in "
                             f"{folder} are {best.title}'s")
    unpublished = [os.path.basename(paths[k]) for k in KEYS if status[k] == "unpublished"]
    _validate(arrays, paths, best.label_range, best.counts if unpublished else None)
    notes = [] if best is spec else [f"{folder}: these files are {best.title} (published checksums match), "
                                     f"not {spec.title}"]
    if unpublished:
        notes.append(f"{folder}: no published checksum for {', '.join(unpublished)}; read after checking the "
                     f"IDX headers, counts and labels (contents not verified)")
    return _finish(best, arrays, folder, not unpublished, notes)


def quarantine(path, reason):
    """Move a bad cache file to ``corrupt/`` beside it (never deleted silently); warn where it went."""
    folder = os.path.join(os.path.dirname(path), "corrupt")
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, f"{os.path.basename(path)}.{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(path, dest)
    message = f"{reason}; moved aside to {dest}"
    warnings.warn(message, CorruptFileWarning, stacklevel=3)
    return message


def _fetch_file(spec, folder, entry, mirrors, timeout, progress):
    dest = os.path.join(folder, entry.stem + ".gz")
    errors = []
    for mirror in mirrors:

        def verify(tmp, entry=entry):
            f = _File(tmp)
            _idx.parse(f.data, f"{mirror}{entry.stem}.gz", entry.magic)
            if f.status(entry) == "mismatch":
                raise f.mismatch(entry, spec.title)

        try:
            _download.fetch(mirror.rstrip("/") + "/" + entry.stem + ".gz", dest, verify, timeout, progress)
            return
        except _download.NETWORK_ERRORS as exc:
            errors.append(f"{mirror}: {exc}")
    raise DatasetUnavailable(f"could not download {entry.stem}.gz: " + "; ".join(errors))


def _fetch_archive(spec, folder, mirrors, timeout, progress):
    """Download the spec's zip (EMNIST's gzip.zip), verify its MD5, extract every split's .gz, remove it."""
    url, digest, member_folder = spec.archive
    name = url.rsplit("/", 1)[-1]
    zip_path = os.path.join(folder, name)
    errors = []

    def verify(tmp):
        got = _idx.md5(open(tmp, "rb").read())
        if got != digest:
            raise ValueError(f"{name}: MD5 {got} does not match the published {digest}")

    for mirror in mirrors:
        try:
            _download.fetch(mirror.rstrip("/") + "/" + name, zip_path, verify, timeout, progress)
            break
        except _download.NETWORK_ERRORS as exc:
            errors.append(f"{mirror}: {exc}")
    else:
        raise DatasetUnavailable(f"could not download {name}: " + "; ".join(errors))
    try:
        with zipfile.ZipFile(zip_path) as z:
            sharing = [spec] + [s for s in SPECS.values() if s.archive == spec.archive and s.name != spec.name]
            for other in sharing:  # every EMNIST split comes in the one zip: keep them all
                for entry in other.files.values():
                    member = f"{member_folder}/{entry.stem}.gz"
                    if member in z.namelist():
                        _extract(z, member, os.path.join(folder, entry.stem + ".gz"))
    finally:
        os.remove(zip_path)


def _extract(z, member, dest):
    from .._files import atomic_write
    with z.open(member) as src:
        atomic_write(dest, lambda f: f.write(src.read()), prefix=".extract-")


def download(spec, folder=None, mirrors=None, timeout=30, progress=None):
    """Download the files of spec missing from folder (default: the cache), each verified before it lands.

    Returns the Found set; raises DatasetUnavailable when no mirror served a good copy.
    """
    folder = folder or cache_dir(spec)
    missing = [e for e in spec.files.values() if locate(folder, e.stem) is None]
    if spec.archive:
        if missing:
            default = (spec.archive[0].rsplit("/", 1)[0] + "/",)
            _fetch_archive(spec, folder, mirrors or default, timeout, progress)
    else:
        for entry in missing:
            _fetch_file(spec, folder, entry, mirrors or spec.mirrors, timeout, progress)
    return read_known(spec, folder)


def _expand(path):
    return os.path.abspath(os.path.expanduser(path))


def find(spec, data_dir=None, download_if_missing=True, mirrors=None, timeout=30, extra_places=(),
         unavailable=DatasetUnavailable):
    """The dataset from the first source that has a good copy (see the module doc).

    Parameters
    ----------
    spec : DatasetSpec
    data_dir : str, optional
        A folder of the four IDX files; read as any folder (``read_any``), no other source is tried.
    download_if_missing : bool
        Download into fastnn's cache when no source has the files.
    mirrors : sequence of str, optional
        Base URLs to download from (default: the spec's).
    timeout : float
        Seconds per network operation.
    extra_places : sequence of (label, path, reader)
        More sources (e.g. Keras' mnist.npz), tried after the spec's places; reader(path) -> Found.
    unavailable : type
        The exception raised when nothing worked (a subclass of DatasetUnavailable).

    Returns
    -------
    Found
    """
    explicit = data_dir if data_dir is not None else (os.environ.get(spec.env_dir) or None if spec.env_dir else None)
    if explicit is not None:
        if not isinstance(explicit, (str, os.PathLike)):
            raise TypeError(f"data_dir must be a folder path (str or os.PathLike), got {type(explicit).__name__}")
        explicit = os.fspath(explicit)
        if not os.path.isdir(explicit):
            where = "data_dir" + (f" or {spec.env_dir}" if spec.env_dir else "")
            what = "is not a folder" if os.path.exists(explicit) else "does not exist"
            raise unavailable(f"{spec.title} folder {explicit!r} ({where}) {what}")
        return read_any(spec, explicit)
    tried = []
    cache = cache_dir(spec)
    places = [("fastnn's cache", cache, lambda p: read_known(spec, p, move_aside=True))]
    places += [(label, _expand(path), lambda p: read_known(spec, p)) for label, path in spec.places]
    places += list(extra_places)
    for label, path, reader in places:
        if not os.path.exists(path):
            tried.append(f"{label} ({path}): not there")
            continue
        try:
            return reader(path)
        except (OSError, ValueError, KeyError, EOFError, TypeError, AttributeError, IndexError,
                pickle.UnpicklingError, zipfile.BadZipFile) as exc:  # other tools' files may hold anything
            tried.append(f"{label} ({path}): {exc}")
    if download_if_missing:
        try:
            return download(spec, cache, mirrors, timeout)
        except (DatasetUnavailable, OSError, ValueError) as exc:
            tried.append(f"download: {exc}")
    hint = "pass data_dir=" + (f" or set {spec.env_dir}" if spec.env_dir else "")
    raise unavailable(
        f"{spec.title} is not available. Tried:\n  - " + "\n  - ".join(tried)
        + f"\nPut the four IDX .gz files in a folder and {hint}, or connect to the internet and try again.")


def book_format(found, normalize=True, flatten=True, one_hot_label=False):
    """The book's ``load_mnist`` output from a Found set: ((x_train, t_train), (x_test, t_test))."""
    def images(x):  # in plain pages (fastnn/_memory.py): NumPy's huge-page advice can stall a fresh 188 MB
        x = x.reshape(x.shape[0], -1) if flatten else x.reshape(x.shape[0], 1, *x.shape[1:])
        out = _memory.zeros(x.shape, np.float32 if normalize else x.dtype)
        if normalize:  # float32 division, as x.astype(np.float32) / np.float32(255.0), with no temporary
            return np.divide(x, np.float32(255.0), out=out, dtype=np.float32)
        out[...] = x
        return out

    def labels(t):
        return np.eye(found.spec.n_classes, dtype=np.float64)[t] if one_hot_label else t.astype(np.int64)

    a = found.arrays
    return ((images(a["train_images"]), labels(a["train_labels"])),
            (images(a["test_images"]), labels(a["test_labels"])))


def warn_notes(found, stacklevel=3):
    for note in found.notes:
        warnings.warn(note, UnverifiedDataWarning, stacklevel=stacklevel)
    return found
