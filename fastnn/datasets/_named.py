"""A dataset by name, as the command line and the sweeps take it: any of the MNIST family, or ``digits``."""
import os
import sys

from ._engine import book_format
from ._family import find
from ._specs import SPECS
from .mnist import MNISTUnavailable

#: Output width of the digits fallback (and of a name outside the family's table).
DEFAULT_CLASSES = 10


def load_dataset(name, data_dir=None, out=None):
    """((x, t), (x_test, t_test)) scaled to [0, 1], and the name of what was loaded.

    Parameters
    ----------
    name : str
        Any dataset of the MNIST family (``fastnn.datasets.DATASETS``) or ``'digits'``.
    data_dir : str, optional
        A folder holding the four IDX files (a known set is verified, any other checked and noted).
    out : file, optional
        Where notes go (default stdout): where the data came from, files with no published checksum, and
        the fallback -- MNIST alone falls back to scikit-learn's bundled digits when it is nowhere, and only
        when no folder was named: a ``data_dir`` (or ``FASTNN_MNIST_DIR``) that is not a folder is an error.
    """
    from . import load_digits
    out = out or sys.stdout
    if name == "digits":
        return load_digits(), "digits"
    try:
        found = find(name, data_dir)
    except MNISTUnavailable as exc:
        folder, where = _named_folder(data_dir)
        if folder is not None:  # used or refused, never replaced by the digits: a typo must not train on them
            if os.path.isdir(folder):
                raise
            what = "is not a folder" if os.path.exists(folder) else "does not exist"
            raise MNISTUnavailable(f"MNIST folder {folder!r}{where} {what}") from None
        print(f"{exc}\nUsing scikit-learn's bundled 8x8 digits instead (--dataset digits).", file=out)
        return load_digits(), "digits"
    print(f"{found.spec.title} from {found.source} "
          f"({'checksums verified' if found.verified else 'structure checked, not verified'})", file=out)
    for note in found.notes:
        print(f"note: {note}", file=out)
    return book_format(found), found.spec.name


def _named_folder(data_dir):
    """(folder, how it was named) when the caller named one for MNIST -- data_dir, else the environment
    variable -- or (None, None) when MNIST is to be searched for."""
    if data_dir is not None:
        return os.fspath(data_dir), ""
    env = SPECS["mnist"].env_dir
    folder = os.environ.get(env) or None
    return (folder, f" ({env})") if folder else (None, None)


def n_classes(name):
    """Output width for a name ``load_dataset`` returned: the dataset's largest label + 1."""
    return SPECS[name].n_classes if name in SPECS else DEFAULT_CLASSES
