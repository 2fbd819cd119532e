"""The public loaders of any dataset of the family, by name: the book's and Keras' shapes over ``_engine``."""
from . import _engine, _specs


def find(name, data_dir=None, download_if_missing=True, mirrors=None, timeout=30):
    """The dataset ``name`` as a ``Found`` set (arrays, the spec the files are, where from, verified, notes).

    Parameters
    ----------
    name : str
        One of ``fastnn.datasets.DATASETS`` ("mnist", "fashion-mnist", "kmnist", "emnist-digits", ...).
    data_dir : str, optional
        A folder of the four IDX files (gzip or raw). Known sets are recognised by their published
        checksums; any other folder is read after checking the IDX headers, counts and labels, with a note.
    download_if_missing : bool
        Download into fastnn's cache when no place has a good copy.
    mirrors : sequence of str, optional
        Base URLs to download from instead of the published ones.
    timeout : float
        Seconds per network operation.
    """
    spec = _specs.get_spec(name)
    if spec.name == "mnist":
        from . import mnist
        return mnist.find(data_dir, download_if_missing, mirrors or mnist.IDX_MIRRORS, timeout)
    return _engine.find(spec, data_dir, download_if_missing, mirrors, timeout)


def load_data(name, path=None):
    """Keras' ``load_data()`` for dataset ``name``: ((x_train, y_train), (x_test, y_test)) as uint8."""
    a = _engine.warn_notes(find(name, path), stacklevel=4).arrays
    return (a["train_images"], a["train_labels"]), (a["test_images"], a["test_labels"])


def load(name, normalize=True, flatten=True, one_hot_label=False, data_dir=None):
    """The book's ``load_mnist`` for dataset ``name``: ((x_train, t_train), (x_test, t_test)).

    Parameters
    ----------
    name : str
        One of ``fastnn.datasets.DATASETS``.
    normalize : bool
        Pixels as float32 in [0, 1] (else uint8 0..255).
    flatten : bool
        Images as rows of rows*cols (else (N, 1, rows, cols)).
    one_hot_label : bool
        Labels as one-hot rows as wide as the dataset's largest label + 1 (else integers).
    data_dir : str, optional
        A folder of the four IDX files; default: search the known places and download.
    """
    found = _engine.warn_notes(find(name, data_dir), stacklevel=4)
    return _engine.book_format(found, normalize, flatten, one_hot_label)
