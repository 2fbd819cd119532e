"""Model files: a .npz of the arrays plus JSON metadata — no pickle — written atomically.

A checkpoint is the same file with the optimizer's state and the trainer's progress added, so a run
resumes exactly where it stopped.
"""
import json
import os

import numpy as np

from ._atomic import atomic_write
from ._version import __version__

FORMAT = "fastnn-model"
FORMAT_VERSION = 1
_META = "__meta__"


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


def restore_arrays(network, arrays):
    """Put parameters (and running statistics) from a model file's arrays back into network."""
    network.params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    for i in getattr(network, "running", {}):
        network.running[i] = (arrays[f"running/{i}/mean"].astype(network.dtype),
                              arrays[f"running/{i}/var"].astype(network.dtype))


def save_model(network, path, extra_arrays=None, extra_meta=None):
    """Write network's parameters and configuration to path (.npz), atomically.

    Parameters
    ----------
    network : TwoLayerNet
    path : str or os.PathLike
    extra_arrays, extra_meta : dict, optional
        More arrays and JSON-able metadata (checkpoints use them for optimizer and trainer state).
    """
    arrays = network_arrays(network)
    arrays.update(extra_arrays or {})
    meta = network_meta(network)
    meta.update(extra_meta or {})
    arrays[_META] = _meta_array(meta)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_model_file(path):
    """(meta, arrays) of a fastnn model file, with clear errors for anything else."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path!r} is not a readable .npz model file ({exc})") from None
    if _META not in arrays:
        raise ValueError(f"{path!r} is an .npz file but not a fastnn model (no metadata)")
    meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    if meta.get("format") != FORMAT or meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path!r}: unsupported model format {meta.get('format')!r} "
                         f"version {meta.get('format_version')!r}")
    return meta, arrays


def load_model(path, backend="auto", n_threads=None):
    """A network rebuilt from a file written by :func:`save_model` (or a checkpoint)."""
    from .multilayer import MultiLayerNet, MultiLayerNetExtend
    from .network import TwoLayerNet
    meta, arrays = read_model_file(path)
    kind, dtype = meta["class"], np.dtype(meta["dtype"])
    if kind == "TwoLayerNet":
        net = TwoLayerNet(meta["input_size"], meta["hidden_size"], meta["output_size"], 0.0,
                          activation=meta["activation"], loss=meta["loss"], dtype=dtype, backend=backend,
                          n_threads=n_threads)
    elif kind in ("MultiLayerNet", "MultiLayerNetExtend"):
        extra = {} if kind == "MultiLayerNet" else dict(
            use_dropout=meta["use_dropout"], dropout_ration=meta["dropout_ration"], use_batchnorm=meta["use_batchnorm"])
        net = (MultiLayerNet if kind == "MultiLayerNet" else MultiLayerNetExtend)(
            meta["input_size"], meta["hidden_size_list"], meta["output_size"], meta["activation"], 0.0,
            meta["weight_decay_lambda"], dtype=dtype, backend=backend, n_threads=n_threads, **extra)
    else:
        raise ValueError(f"{path!r} holds a {kind}, which this fastnn cannot load")
    restore_arrays(net, arrays)
    return net
