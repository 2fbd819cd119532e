"""Model files: a .npz of the arrays plus JSON metadata — no pickle — written atomically.

A checkpoint is the same file with the optimizer's state and the trainer's progress added, so a run
resumes exactly where it stopped.

Reading trusts nothing in the file. The metadata is read and type-checked first; it fixes the name,
shape and dtype of every array the file may hold. Then each array's ``.npy`` header is read from the
zip and compared with that expectation, and its byte count with the zip entry's size (itself bounded
by the file's size) — all before any array is allocated, so a file claiming 50000 x 50000 weights
costs nothing. Arrays are then read without pickle, checked finite (batchnorm variances >= 0).
Anything malformed is one ``ValueError`` naming the file.
"""
import json
import math
import numbers
import os
import stat
import struct
import zipfile
import zlib

import numpy as np

from ._files import atomic_write
from ._version import __version__

FORMAT = "fastnn-model"
FORMAT_VERSION = 1
_META = "__meta__"
CLASSES = ("TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend")
DTYPES = ("float32", "float64")
MAX_DEFLATE_RATIO = 1032   # deflate cannot expand more than this: a bound on any compressed entry
MAX_META_BYTES = 64 << 20
_HYPER = ("lr", "momentum", "beta1", "beta2", "eps", "decay_rate")
_STATE_DICTS = ("v", "m", "h")
_HISTORY = ("loss", "accuracy", "val_accuracy", "epoch_time")
# what can go wrong inside zipfile / numpy's header parser on a damaged file
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
                RuntimeError, struct.error, zlib.error, UnicodeDecodeError, KeyError, IndexError, OverflowError,
                SyntaxError, TypeError, RecursionError)


def _meta_array(meta):
    return np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)


def network_meta(network):
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "fastnn_version": __version__,
            "class": type(network).__name__, "input_size": network.input_size, "output_size": network.output_size,
            "activation": network.activation, "dtype": network.dtype.name}
    if hasattr(network, "hidden_size_list"):  # MultiLayerNet / MultiLayerNetExtend
        meta.update(hidden_size_list=network.hidden_size_list, weight_decay_lambda=network.weight_decay_lambda,
                    use_dropout=network.use_dropout, dropout_ration=network.dropout_ration,
                    use_batchnorm=network.use_batchnorm)
    else:
        meta.update(hidden_size=network.hidden_size, loss=network.loss_name)
    return meta


def network_arrays(network):
    """The arrays that make a network: its parameters, and batchnorm's running statistics if any."""
    arrays = {f"param/{k}": np.asarray(v) for k, v in network.params.items()}
    for i, (mean, var) in getattr(network, "running", {}).items():
        arrays[f"running/{i}/mean"], arrays[f"running/{i}/var"] = np.asarray(mean), np.asarray(var)
    return arrays


def restore_arrays(network, arrays, path=None):
    """Put parameters (and running statistics) from a model file's arrays back into network.

    Raises ValueError (naming ``path``) when they are not exactly the network's parameters.
    """
    where = f"{os.fspath(path)!r}: " if path is not None else ""
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    shapes = {k: tuple(s) for k, s in network._shapes().items()}
    if set(params) != set(shapes) or any(params[k].shape != shapes[k] for k in shapes):
        raise ValueError(f"{where}the file's parameters "
                         f"{ {k: v.shape for k, v in params.items()} } do not fit this network {shapes}")
    running = getattr(network, "running", {})
    for i in running:
        for part in ("mean", "var"):
            key = f"running/{i}/{part}"
            if key not in arrays or arrays[key].shape != running[i][0].shape:
                raise ValueError(f"{where}batchnorm statistics {key!r} missing or of the wrong shape")
    network.params = params
    for i in running:
        network.running[i] = (np.array(arrays[f"running/{i}/mean"], dtype=network.dtype),
                              np.array(arrays[f"running/{i}/var"], dtype=network.dtype))


def save_model(network, path, extra_arrays=None, extra_meta=None):
    """Write network's parameters and configuration to path (.npz), atomically.

    Parameters
    ----------
    network : TwoLayerNet, MultiLayerNet or MultiLayerNetExtend
    path : str or os.PathLike
        A symlink is followed (its target is written); a directory, FIFO or device node is refused;
        the folder must exist. A new file gets the mode ``open()`` would give (0o666 less the umask),
        a replaced file keeps its mode.
    extra_arrays, extra_meta : dict, optional
        More arrays and JSON-able metadata (checkpoints use them for optimizer and trainer state).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError, OSError
        The path cannot be written (the error names it); nothing is left behind.
    ValueError
        path is a FIFO, socket or device node.
    TypeError
        network is not a fastnn network.
    """
    from .network import ValidatesBatches
    if not isinstance(network, ValidatesBatches):
        raise TypeError("network must be a fastnn TwoLayerNet, MultiLayerNet or MultiLayerNetExtend, "
                        f"got {type(network).__name__}")
    arrays = network_arrays(network)
    arrays.update(extra_arrays or {})
    meta = network_meta(network)
    meta.update(extra_meta or {})
    arrays[_META] = _meta_array(meta)
    atomic_write(path, lambda f: np.savez(f, **arrays), make_dirs=False)


# -- reading --------------------------------------------------------------------------------------------


class _Bad(Exception):
    """A malformed file: turned into one ValueError naming the file by read_model_file."""


def _int(meta, key, minimum=1):
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise _Bad(f"metadata {key!r} must be an integer >= {minimum}, got {v!r}")
    return v


def _choice(meta, key, choices):
    v = meta.get(key)
    if not isinstance(v, str) or v not in choices:
        raise _Bad(f"metadata {key!r} must be one of {', '.join(map(repr, choices))}, got {v!r}")
    return v


def _bool(meta, key):
    v = meta.get(key)
    if not isinstance(v, bool):
        raise _Bad(f"metadata {key!r} must be true or false, got {v!r}")
    return v


def _real(meta, key, low=-math.inf, high=math.inf, high_open=False):
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < low \
            or v > high or (high_open and v == high):
        raise _Bad(f"metadata {key!r} must be a finite number in [{low}, {high}{')' if high_open else ']'}, "
                   f"got {v!r}")
    return float(v)


def _check_network_meta(meta):
    """Type-check the network part of the metadata; returns {array name: shape} of the network."""
    if meta.get("format") != FORMAT:
        raise _Bad(f"not a fastnn model file (format {meta.get('format')!r}, expected {FORMAT!r})")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise _Bad(f"unsupported model format version (metadata 'format_version' {version!r}; this fastnn "
                   f"{__version__} reads {FORMAT!r} versions 1 to {FORMAT_VERSION})")
    kind = meta.get("class")
    if kind not in CLASSES:
        raise _Bad(f"holds a {kind!r}, which this fastnn cannot load (known: {', '.join(CLASSES)})")
    _choice(meta, "dtype", DTYPES)
    n_in, n_out = _int(meta, "input_size"), _int(meta, "output_size")
    if kind == "TwoLayerNet":
        from .reference import ACTIVATIONS, LOSSES
        _choice(meta, "activation", ACTIVATIONS)
        _choice(meta, "loss", LOSSES)
        hidden = [_int(meta, "hidden_size")]
        batchnorm = False
    else:
        from .multilayer import ACTIVATIONS
        _choice(meta, "activation", ACTIVATIONS)
        hidden = meta.get("hidden_size_list")
        if not isinstance(hidden, list) or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1
                                                   for h in hidden):
            raise _Bad(f"metadata 'hidden_size_list' must be a list of positive integers, got {hidden!r}")
        _real(meta, "weight_decay_lambda", low=0.0)
        batchnorm = False
        if kind == "MultiLayerNetExtend":
            _bool(meta, "use_dropout")
            _real(meta, "dropout_ration", 0.0, 1.0, high_open=True)
            batchnorm = _bool(meta, "use_batchnorm")
    sizes = [n_in, *hidden, n_out]
    shapes = {}
    for i in range(1, len(sizes)):
        shapes[f"param/W{i}"] = (sizes[i - 1], sizes[i])
        shapes[f"param/b{i}"] = (sizes[i],)
        if batchnorm and i < len(sizes) - 1:
            shapes[f"param/gamma{i}"] = shapes[f"param/beta{i}"] = (sizes[i],)
            shapes[f"running/{i}/mean"] = shapes[f"running/{i}/var"] = (sizes[i],)
    return shapes


def _check_numbers(name, values):
    if not isinstance(values, list) or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                               for v in values):
        raise _Bad(f"metadata {name} must be a list of numbers")


def _check_training_meta(meta, params):
    """Type-check a checkpoint's trainer and optimizer metadata; returns {allowed array name: shape}."""
    from .optimizers import make_optimizer
    tr, opt = meta.get("trainer"), meta.get("optimizer")
    if not isinstance(tr, dict) or not isinstance(opt, dict):
        raise _Bad("checkpoint metadata must hold 'trainer' and 'optimizer' objects")
    epoch = _int(tr, "epoch", minimum=0)
    _int(tr, "epochs")
    _int(tr, "batch_size")
    _choice(tr, "gradient", ("backprop", "numerical"))
    history = tr.get("history")
    if not isinstance(history, dict) or set(history) != set(_HISTORY):
        raise _Bad(f"checkpoint metadata 'history' must map {', '.join(_HISTORY)} to lists")
    for key, values in history.items():
        _check_numbers(f"history[{key!r}]", values)
        if len(values) != epoch:
            raise _Bad(f"checkpoint history[{key!r}] has {len(values)} entries for {epoch} epochs")
    _check_numbers("'train_loss_list'", tr.get("train_loss_list", []))
    try:
        np.random.PCG64().state = tr.get("rng_state")
    except Exception:  # noqa: BLE001 - numpy raises TypeError, ValueError or KeyError for a bad state
        raise _Bad(f"checkpoint metadata 'rng_state' is not a PCG64 state: {tr.get('rng_state')!r:.200}") from None
    params_meta = opt.get("params")
    if not isinstance(params_meta, dict) or not set(params_meta) <= set(_HYPER) or \
            not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in params_meta.values()):
        raise _Bad(f"checkpoint optimizer 'params' must map some of {', '.join(_HYPER)} to numbers")
    try:
        optimizer = make_optimizer(opt.get("name"), **params_meta)
    except (ValueError, TypeError) as exc:
        raise _Bad(f"checkpoint optimizer: {exc}") from None
    if opt.get("iter") is not None:
        _int(opt, "iter", minimum=0)
    return {f"opt/{name}/{key[len('param/'):]}": shape for name in _STATE_DICTS if hasattr(optimizer, name)
            for key, shape in params.items() if key.startswith("param/")}


def _npy_header(zf, info, limit):
    """(shape, fortran_order, dtype, offset of the data) of a .npy entry, from its header alone."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=limit)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=limit)
        else:
            raise _Bad(f"{info.filename}: .npy format version {version} is not read by fastnn")
        return shape, fortran, dtype, f.tell()


def _read_npy(zf, info, offset, shape, fortran, dtype):
    nbytes = math.prod(shape) * dtype.itemsize
    buf = bytearray(nbytes)
    with zf.open(info) as f:
        f.read(offset)
        got = f.readinto(memoryview(buf)) if nbytes else 0
        while got < nbytes:
            more = f.readinto(memoryview(buf)[got:])
            if not more:
                raise _Bad(f"{info.filename}: truncated ({got} of {nbytes} bytes)")
            got += more
        if f.read(1):
            raise _Bad(f"{info.filename}: more bytes than its header says")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _entries(zf, size):
    """{array name: ZipInfo}, with the zip's own sizes bounded by the file's size."""
    entries = {}
    total = 0
    for info in zf.infolist():
        name = info.filename
        if not name.endswith(".npy"):
            raise _Bad(f"unexpected entry {name!r} (a model file holds only .npy arrays)")
        if name[:-4] in entries:
            raise _Bad(f"entry {name!r} appears twice")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise _Bad(f"entry {name!r}: stored with {info.compress_size} bytes but claims {info.file_size}")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
                raise _Bad(f"entry {name!r} claims {info.file_size} bytes from {info.compress_size} compressed")
        else:
            raise _Bad(f"entry {name!r}: compression method {info.compress_type} is not read by fastnn")
        total += info.compress_size
        entries[name[:-4]] = info
    if total > size:
        raise _Bad(f"its entries claim {total} bytes, more than the file's {size}")
    return entries


def _read_meta(zf, entries):
    info = entries.get(_META)
    if info is None:
        raise _Bad("an .npz file but not a fastnn model (no metadata)")
    shape, fortran, dtype, offset = _npy_header(zf, info, 10000)
    if dtype != np.uint8 or len(shape) != 1 or shape[0] != info.file_size - offset or shape[0] > MAX_META_BYTES:
        raise _Bad(f"metadata entry is not a byte string (dtype {dtype}, shape {shape})")
    text = _read_npy(zf, info, offset, shape, fortran, dtype).tobytes().decode("utf-8")
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _Bad(f"metadata must be a JSON object, got {type(meta).__name__}")
    return meta


def _expected_dtypes(key, meta_dtype):
    if key.startswith("param/"):
        return (np.dtype(meta_dtype),)  # parameters are saved in the network's dtype
    return (np.dtype(np.float32), np.dtype(np.float64))


def _read_arrays(zf, entries, expected, meta_dtype):
    """Check every header against ``expected`` (name -> shape) first; then read, check finite."""
    missing = [k for k in expected if k.startswith(("param/", "running/")) and k not in entries]
    if missing:
        raise _Bad(f"missing array(s) {', '.join(map(repr, missing))}")
    unknown = [k for k in entries if k != _META and k not in expected]
    if unknown:
        raise _Bad(f"unexpected array(s) {', '.join(map(repr, unknown[:5]))}")
    headers = {}
    for key, info in entries.items():
        if key == _META:
            continue
        shape, fortran, dtype, offset = _npy_header(zf, info, 10000)
        want = _expected_dtypes(key, meta_dtype)
        if dtype.hasobject or dtype.fields is not None or dtype.newbyteorder("=") not in want:
            raise _Bad(f"array {key!r} has dtype {dtype}, expected {' or '.join(map(str, want))} "
                       "(fastnn model files hold no objects and are never unpickled)")
        if tuple(shape) != tuple(expected[key]):
            raise _Bad(f"array {key!r} has shape {shape}, the metadata says {tuple(expected[key])}")
        if math.prod(shape) * dtype.itemsize != info.file_size - offset:
            raise _Bad(f"array {key!r}: its entry holds {info.file_size - offset} bytes of data, "
                       f"its shape needs {math.prod(shape) * dtype.itemsize}")
        headers[key] = (info, offset, shape, fortran, dtype)
    arrays = {}
    for key, (info, offset, shape, fortran, dtype) in headers.items():
        a = _read_npy(zf, info, offset, shape, fortran, dtype)
        a = np.ascontiguousarray(a, dtype=dtype.newbyteorder("="))
        if not np.all(np.isfinite(a)):
            raise _Bad(f"array {key!r} contains NaN or inf")
        if key.endswith("/var") and key.startswith("running/") and np.any(a < 0):
            raise _Bad(f"array {key!r} (batchnorm running variance) has negative values")
        arrays[key] = a
    return arrays


def _open(path):
    """The file's size, after refusing what is not a regular file (a FIFO would block)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path!r} does not exist") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{path!r} is a directory, not a model file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path!r} is not a regular file, not a model file")
    return st.st_size


def _not_a_zip_message(path):
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        head = b""
    if head == b"\x93NUMPY":
        return f"{path!r} is a single .npy array, not a readable .npz model file (use fastnn.save_model)"
    return f"{path!r} is not a readable .npz model file (not a zip archive, or a truncated one)"


def read_model_file(path):
    """(meta, arrays) of a fastnn model file (or checkpoint), every part checked before it is allocated.

    Raises
    ------
    FileNotFoundError
        No file at path.
    ValueError
        Anything else: a directory, not a zip, truncated or corrupt, unknown format or version, metadata
        of the wrong type, a missing, extra or wrongly shaped array, NaN or inf values. The message
        names the file.
    """
    path = os.fspath(path)
    size = _open(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(_not_a_zip_message(path)) from None
    except _READ_ERRORS as exc:
        raise ValueError(f"{path!r} is not a readable .npz model file ({type(exc).__name__}: {exc})") from None
    try:
        with zf:
            entries = _entries(zf, size)
            meta = _read_meta(zf, entries)
            expected = _check_network_meta(meta)
            if "trainer" in meta or "optimizer" in meta or any(k.startswith("opt/") for k in entries):
                expected.update(_check_training_meta(meta, expected))
            arrays = _read_arrays(zf, entries, expected, meta["dtype"])
    except _Bad as exc:
        raise ValueError(f"{path!r}: {exc}") from None
    except MemoryError:
        raise
    except _READ_ERRORS as exc:
        raise ValueError(f"{path!r} is a truncated or corrupt model file ({type(exc).__name__}: {exc})") from None
    return meta, arrays


def load_model(path, backend="auto", n_threads=None):
    """A network rebuilt from a file written by :func:`save_model` (or a checkpoint).

    Parameters
    ----------
    path : str or os.PathLike
    backend : {'auto', 'numpy', 'numba', 'cython'}
    n_threads : int, optional

    Raises
    ------
    FileNotFoundError
        No file at path.
    ValueError
        The file is not a valid fastnn model file (see :func:`read_model_file`); the message names it.
    """
    from .multilayer import MultiLayerNet, MultiLayerNetExtend
    from .network import TwoLayerNet
    meta, arrays = read_model_file(path)
    kind, dtype = meta["class"], np.dtype(meta["dtype"])
    if kind == "TwoLayerNet":
        net = TwoLayerNet(meta["input_size"], meta["hidden_size"], meta["output_size"], 0.0,
                          activation=meta["activation"], loss=meta["loss"], dtype=dtype, backend=backend,
                          n_threads=n_threads)
    else:
        extra = {} if kind == "MultiLayerNet" else dict(
            use_dropout=meta["use_dropout"], dropout_ration=meta["dropout_ration"], use_batchnorm=meta["use_batchnorm"])
        net = (MultiLayerNet if kind == "MultiLayerNet" else MultiLayerNetExtend)(
            meta["input_size"], meta["hidden_size_list"], meta["output_size"], meta["activation"], 0.0,
            meta["weight_decay_lambda"], dtype=dtype, backend=backend, n_threads=n_threads, **extra)
    restore_arrays(net, arrays, os.fspath(path))
    return net
