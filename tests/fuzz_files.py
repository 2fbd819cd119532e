"""Fuzz targets for model files, checkpoints and the command line (hypothesis).

Not collected by pytest in-process: ``tests/test_fuzz_files.py`` runs each ``run_*`` function here in a
child process (``isolated.assert_survives``), so a crash fails one test instead of killing pytest.

The property everywhere: **a correct result or one clear exception of a documented type**.

- loading: ``load_model`` / ``read_model_file`` / ``Trainer.load_checkpoint`` either give a sound network
  (parameters of the shapes its metadata says, finite; batchnorm variances >= 0; finite predictions) or
  raise ``ValueError`` naming the file (never a raw ``zipfile``/``zlib`` error, never "allow_pickle");
- byte corruption that loads must give back the original parameters exactly (the zip's CRCs cover data);
- ``fastnn.cli.main(argv)``: exit code 0, 1, 2 or 130, no traceback, and an error is one ``fastnn:`` line.

Examples are bounded and derandomized: the same inputs on every run.
"""
import contextlib
import copy
import io
import json
import os
import shutil
import stat
import sys
import tempfile
import warnings
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnn
from fastnn import io as fio


def _settings(n):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))


SCALE = float(os.environ.get("FASTNN_FUZZ_SCALE", "1"))  # more examples: FASTNN_FUZZ_SCALE=10


def examples(n):
    return _settings(max(1, int(n * SCALE)))


TMP = tempfile.mkdtemp(prefix="fastnn-fuzz-")


# -- networks and files -----------------------------------------------------------------------------------

@st.composite
def networks(draw):
    """A small network of any class, dtype and options, with random parameters."""
    kind = draw(st.sampled_from(["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n_in, n_out = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    if kind == "TwoLayerNet":
        net = fastnn.TwoLayerNet(n_in, draw(st.integers(1, 6)), n_out, 0.5, dtype=dtype, backend="numpy", seed=seed,
                                 activation=draw(st.sampled_from(["sigmoid", "relu"])),
                                 loss=draw(st.sampled_from(["cross_entropy", "mse"])))
    else:
        hidden = draw(st.lists(st.integers(1, 5), min_size=0, max_size=3))
        common = dict(activation=draw(st.sampled_from(["relu", "sigmoid", "tanh", "identity"])), weight_init_std=0.5,
                      weight_decay_lambda=draw(st.sampled_from([0.0, 0.1])), dtype=dtype, backend="numpy", seed=seed)
        if kind == "MultiLayerNet":
            net = fastnn.MultiLayerNet(n_in, hidden, n_out, **common)
        else:
            net = fastnn.MultiLayerNetExtend(n_in, hidden, n_out, use_dropout=draw(st.booleans()),
                                             dropout_ration=draw(st.sampled_from([0.0, 0.3])),
                                             use_batchnorm=draw(st.booleans()), **common)
            rng = np.random.default_rng(seed)
            for i in net.running:
                net.running[i] = (rng.standard_normal(net.running[i][0].shape).astype(net.dtype),
                                  rng.random(net.running[i][1].shape).astype(net.dtype))
    rng = np.random.default_rng(seed + 1)
    for key in list(net.params):
        net.params[key] = rng.standard_normal(net.params[key].shape)
    return net


def _sound(net, meta=None):
    """A loaded network is usable: right shapes, finite parameters and statistics, finite predictions."""
    shapes = net._shapes()
    assert set(net.params) == set(shapes)
    for key, shape in shapes.items():
        p = net.params[key]
        assert p.shape == tuple(shape) and p.dtype == net.dtype and np.all(np.isfinite(p)), key
    for mean, var in getattr(net, "running", {}).values():
        assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)
    x = np.random.default_rng(0).random((3, net.input_size))
    assert np.all(np.isfinite(net.predict(x)))


def _load_or_refuse(path, loader=None):
    """The loaded network (sound), or None when refused with one ValueError naming the file."""
    try:
        net = (loader or (lambda p: fastnn.load_model(p, backend="numpy")))(path)
    except ValueError as exc:
        message = str(exc)
        assert str(path) in message, message
        assert "allow_pickle" not in message and ".tmp-" not in message, message
        return None
    except FileNotFoundError:
        assert not os.path.exists(path)
        return None
    if isinstance(net, fastnn.Trainer):
        net = net.network
    _sound(net)
    return net


def _same(a, b):
    assert type(a) is type(b) and a.dtype == b.dtype
    for key in a.params:
        np.testing.assert_array_equal(np.asarray(a.params[key]), np.asarray(b.params[key]), err_msg=key)
    for i in getattr(a, "running", {}):
        np.testing.assert_array_equal(a.running[i][0], b.running[i][0])
        np.testing.assert_array_equal(a.running[i][1], b.running[i][1])


def _fresh(name):
    path = os.path.join(TMP, name)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
    return path


def _checkpoint_file(optimizer="Adam", hidden=None):
    """A real checkpoint (a trainer's file after 1 epoch) and the trainer that wrote it."""
    net = (fastnn.TwoLayerNet(4, 3, 3, 0.5, seed=0, backend="numpy") if hidden is None else
           fastnn.MultiLayerNetExtend(4, hidden, 3, use_batchnorm=True, seed=0, backend="numpy"))
    x = np.random.default_rng(0).random((12, 4))
    t = np.arange(12) % 3
    path = _fresh(f"ck-{optimizer}-{hidden}.npz")
    trainer = fastnn.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=5, optimizer=optimizer,
                             optimizer_param={"lr": 0.01}, verbose=False, seed=0, checkpoint=path)
    trainer.train()
    return path, trainer


def _resume_loader(trainer):
    def load(path):
        fresh = copy.deepcopy(trainer)
        fresh.load_checkpoint(path)
        return fresh
    return load


def _raw(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(arrays.pop("__meta__").tobytes()), arrays


def _write_raw(path, meta_bytes, arrays):
    np.savez(path, __meta__=np.frombuffer(meta_bytes, np.uint8), **arrays)
    return path


# -- 1. round trips ---------------------------------------------------------------------------------------

@examples(60)
@given(networks())
def run_round_trip(net):
    path = _fresh("round.npz")
    fastnn.save_model(net, path)
    back = fastnn.load_model(path, backend="numpy")
    _same(net, back)
    x = np.random.default_rng(1).random((4, net.input_size))
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    again = _fresh("round2.npz")
    fastnn.save_model(back, again)
    _same(net, fastnn.load_model(again, backend="numpy"))


@examples(12)
@given(st.sampled_from(["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]),
       st.sampled_from([None, [3], [3, 2]]))
def run_checkpoint_round_trip(optimizer, hidden):
    path, trainer = _checkpoint_file(optimizer, hidden)
    fresh = _resume_loader(trainer)(path)
    assert fresh.current_epoch == 1 and fresh.history == trainer.history
    _same(trainer.network, fresh.network)
    for name in ("v", "m", "h"):
        a, b = getattr(trainer.optimizer, name, None), getattr(fresh.optimizer, name, None)
        if isinstance(a, dict):
            assert set(a) == set(b)
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])


# -- 2. corrupted bytes -----------------------------------------------------------------------------------

def _base_files():
    """(path, loader, original) of every kind of file: models of each class, checkpoints."""
    out = []
    nets = [fastnn.TwoLayerNet(4, 3, 2, 0.5, seed=0, backend="numpy"),
            fastnn.MultiLayerNet(4, [3, 2], 2, seed=0, backend="numpy"),
            fastnn.MultiLayerNetExtend(4, [3], 2, use_batchnorm=True, seed=0, backend="numpy")]
    for i, net in enumerate(nets):
        path = _fresh(f"base{i}.npz")
        fastnn.save_model(net, path)
        out.append((path, None, net))
    path, trainer = _checkpoint_file("Adam", [3])
    out.append((path, _resume_loader(trainer), trainer.network))
    return out


BASES = None


def _bases():
    global BASES
    if BASES is None:
        BASES = [(p, loader, net, open(p, "rb").read()) for p, loader, net in _base_files()]
    return BASES


def _structure(data):
    """Offsets where a zip's structure changes: entry headers, data starts, central directory, end record."""
    points = {0, len(data) - 1, len(data) - 22}
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        for info in z.infolist():
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            points.update({info.header_offset, info.header_offset + 26, start, start + 8, start + 128,
                           start + info.compress_size - 1})
    cd = data.rfind(b"PK\x01\x02")
    points.update({cd, cd + 20, cd + 28})
    return sorted(p for p in points if 0 <= p < len(data))


@st.composite
def corruptions(draw):
    index = draw(st.integers(0, 3))
    path, loader, net, data = _bases()[index]
    data = bytearray(data)
    where = st.one_of(st.sampled_from(_structure(data)), st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "delete"]))
    at = min(max(draw(where) + draw(st.integers(-3, 3)), 0), len(data) - 1)
    if how == "truncate":
        data = data[:at]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 3))):
            data[at] ^= 1 << draw(st.integers(0, 7))
            at = min(max(draw(where), 0), len(data) - 1)
    elif how == "overwrite":
        junk = draw(st.binary(min_size=1, max_size=16))
        data[at:at + len(junk)] = junk
    elif how == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    else:
        del data[at:at + draw(st.integers(1, 16))]
    return index, how, bytes(data)


@examples(300)
@given(corruptions())
def run_corrupted_bytes(case):
    index, how, data = case
    path, loader, original, good = _bases()[index]
    bad = _fresh(f"corrupt{index}.npz")
    with open(bad, "wb") as f:
        f.write(data)
    net = _load_or_refuse(bad, loader)
    if net is not None:
        assert how != "truncate" or data == good
        _same(original, net)   # whatever survived corruption is the original, bit for bit


# -- 3. hostile metadata ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.sampled_from([0, 1, -1, 2, 3, 4, 50000, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
    | st.sampled_from(["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend", "float32", "float64", "relu",
                       "sigmoid", "tanh", "mse", "cross_entropy", "fastnn-model", "Adam", "SGD", "PCG64"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8)


def _paths(meta, prefix=()):
    """Every key path into the metadata (nested dicts), to pick one to change."""
    for key, value in meta.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _paths(value, prefix + (key,))


@st.composite
def metadata_changes(draw):
    index = draw(st.integers(0, 3))
    meta, arrays = _raw(_bases()[index][0])
    keys = sorted(_paths(meta), key=str)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(keys))
        parent = meta
        for part in key[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "set":
            parent[key[-1]] = draw(json_values)
        elif action == "delete":
            parent.pop(key[-1], None)
        else:
            parent[draw(st.text(min_size=1, max_size=6))] = draw(json_values)
    raw = draw(st.sampled_from(["json", "json", "json", "not-object", "garbage"]))
    if raw == "json":
        text = json.dumps(meta).encode()
    elif raw == "not-object":
        text = json.dumps(draw(json_values)).encode()
    else:
        text = draw(st.binary(max_size=64))
    return index, text, arrays


@examples(250)
@given(metadata_changes())
def run_hostile_metadata(case):
    index, text, arrays = case
    path, loader, original, good = _bases()[index]
    bad = _write_raw(_fresh(f"meta{index}.npz"), text, arrays)
    net = _load_or_refuse(bad, loader)
    if net is not None:  # only changes that keep the network what its arrays are may load
        np.testing.assert_array_equal(net.params["W1"], np.asarray(original.params["W1"], net.dtype))


# -- 4. hostile arrays ------------------------------------------------------------------------------------

dtypes = st.sampled_from(["f2", "f4", "f8", ">f8", "<f4", "i1", "i8", "u1", "?", "c8", "c16", "S3", "U2",
                          "m8[s]", "M8[D]"])


@st.composite
def array_changes(draw):
    index = draw(st.integers(0, 3))
    meta, arrays = _raw(_bases()[index][0])
    names = sorted(arrays)
    for _ in range(draw(st.integers(1, 2))):
        action = draw(st.sampled_from(["replace", "replace", "reshape", "retype", "drop", "add", "fortran",
                                       "nonfinite", "object"]))
        key = draw(st.sampled_from(names))
        if key not in arrays:
            continue
        a = arrays[key]
        if action == "replace":
            shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
            arrays[key] = draw(hnp.arrays(np.dtype(draw(dtypes)), shape))
        elif action == "reshape" and a.size:
            arrays[key] = a.reshape(-1) if a.ndim > 1 else a.reshape(1, -1)
        elif action == "retype":
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    arrays[key] = a.astype(draw(st.sampled_from(["f4", "f8", ">f8", "i4", "c16", "f2"])))
            except (ValueError, TypeError):
                pass
        elif action == "drop":
            del arrays[key]
        elif action == "add":
            new = draw(st.sampled_from(["param/W9", "param/gamma1", "running/1/mean", "opt/v/W1", "opt/m/b1",
                                        "junk", "running/7/var", "param/", "__meta__x"]))
            arrays[new] = draw(hnp.arrays(np.float64, draw(hnp.array_shapes(max_dims=2, max_side=5))))
        elif action == "object":  # np.savez pickles it; fastnn must refuse it without unpickling
            arrays[key] = np.array([1, "a", None], dtype=object)
        elif action == "fortran" and a.ndim == 2:
            arrays[key] = np.asfortranarray(a)
        elif action == "nonfinite" and a.size and a.dtype.kind == "f":
            b = a.copy()
            b.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
            arrays[key] = b
    return index, meta, arrays


@examples(250)
@given(array_changes())
def run_hostile_arrays(case):
    index, meta, arrays = case
    path, loader, original, good = _bases()[index]
    bad = _fresh(f"arrays{index}.npz")
    try:
        _write_raw(bad, json.dumps(meta).encode(), arrays)
    except (ValueError, TypeError):
        return  # numpy cannot write this array at all
    net = _load_or_refuse(bad, loader)
    if net is not None:
        for key in net.params:  # a file that loads gives exactly its arrays (cast to the network's dtype)
            np.testing.assert_array_equal(net.params[key], np.asarray(arrays[f"param/{key}"], net.dtype))


# -- 5. save_model onto hostile paths ---------------------------------------------------------------------

def _make_target(kind):
    root = _fresh("targets")
    os.mkdir(root)
    path = os.path.join(root, "m.npz")
    if kind == "file":
        open(path, "wb").close()
    elif kind == "readonly-file":
        open(path, "wb").close()
        os.chmod(path, 0o444)
    elif kind == "dir":
        os.mkdir(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-file":
        open(os.path.join(root, "real.npz"), "wb").close()
        os.symlink(os.path.join(root, "real.npz"), path)
    elif kind == "link-dangling":
        os.symlink(os.path.join(root, "real.npz"), path)
    elif kind == "link-to-dir":
        os.mkdir(os.path.join(root, "real"))
        os.symlink(os.path.join(root, "real"), path)
    elif kind == "link-loop":
        os.symlink(path, path)
    elif kind == "missing-folder":
        path = os.path.join(root, "no", "m.npz")
    elif kind == "file-as-folder":
        open(os.path.join(root, "f"), "wb").close()
        path = os.path.join(root, "f", "m.npz")
    elif kind == "trailing-slash":
        path = path + "/"
    elif kind == "empty":
        path = ""
    return root, path


def _snapshot(root):
    return sorted((name, stat.S_IFMT(os.lstat(os.path.join(dirpath, name)).st_mode))
                  for dirpath, dirs, files in os.walk(root) for name in dirs + files)


@examples(40)
@given(st.sampled_from(["new", "file", "readonly-file", "dir", "fifo", "link-to-file", "link-dangling",
                        "link-to-dir", "link-loop", "missing-folder", "file-as-folder", "trailing-slash", "empty"]),
       networks())
def run_save_to_hostile_paths(kind, net):
    root, path = _make_target(kind)
    before = _snapshot(root)
    try:
        fastnn.save_model(net, path)
    except (OSError, ValueError) as exc:
        assert ".tmp-" not in str(exc), exc
        assert _snapshot(root) == before, (kind, before, _snapshot(root))   # nothing replaced, no temp left
        return
    assert kind in ("new", "file", "link-to-file", "link-dangling", "readonly-file"), kind
    _same(net, fastnn.load_model(path, backend="numpy"))
    if kind.startswith("link"):
        assert os.path.islink(path)
    assert not [n for n, _ in _snapshot(root) if n.startswith(".tmp-")]


# -- 6. the command line ----------------------------------------------------------------------------------

def _cli_files():
    root = _fresh("cli")
    os.mkdir(root)
    good = os.path.join(root, "good.npz")
    fastnn.save_model(fastnn.TwoLayerNet(64, 6, 10, "xavier", seed=0), good)
    data = open(good, "rb").read()
    files = {"good": good, "missing": os.path.join(root, "missing.npz"), "dir": root,
             "out": os.path.join(root, "out.npz"), "out-png": os.path.join(root, "out.png"),
             "nofolder": os.path.join(root, "no", "x.npz"), "odd": os.path.join(root, "odd.npz"),
             "fifo": os.path.join(root, "fifo.npz")}
    for name, content in (("trunc", data[:len(data) // 2]), ("py", b"print('hi')\n"), ("npy", None),
                          ("empty", b"")):
        files[name] = os.path.join(root, name + ".npz")
        if content is None:
            np.save(files[name], np.zeros(3))
            files[name] += ".npy"
        else:
            open(files[name], "wb").write(content)
    fastnn.save_model(fastnn.TwoLayerNet(7, 3, 10, seed=0), files["odd"])
    os.mkfifo(files["fifo"])
    return files


CLI_FILES = None


def _files():
    global CLI_FILES
    if CLI_FILES is None:
        CLI_FILES = _cli_files()
    return CLI_FILES


VALUES = ["2", "1", "0", "-1", "-5", "nan", "inf", "-inf", "abc", "", "1e3", "0.5", "3", "99999999999999999999",
          "8", "0x10", "1_0"]
FLOAT_VALUES = ["0.1", "0.01", "0", "-0.1", "nan", "inf", "1e-300", "abc", "1e308"]
FILE_KEYS = ["good", "missing", "dir", "trunc", "py", "npy", "empty", "odd", "fifo", "out", "out-png", "nofolder"]


@st.composite
def argvs(draw):
    files = _files()
    command = draw(st.sampled_from(["train", "train", "train", "gradcheck", "gradcheck", "info", "nonsense", ""]))
    argv = [command] if command else []
    options = {
        "train": {"--epochs": VALUES, "--batch-size": VALUES, "--hidden": VALUES, "--lr": FLOAT_VALUES,
                  "--threads": VALUES, "--seed": VALUES, "--init": ["he", "xavier", "bogus"] + FLOAT_VALUES,
                  "--activation": ["relu", "sigmoid", "tanh"], "--optimizer": ["adam", "SGD", "Lion"],
                  "--dtype": ["float32", "float64", "int8"], "--backend": ["numpy", "auto", "gpu"],
                  "--save": FILE_KEYS, "--plot": FILE_KEYS, "--resume": FILE_KEYS, "--dataset": ["digits", "mnist", "emnist"],
                  "--quiet": None},
        "gradcheck": {"--batch": VALUES, "--hidden": VALUES, "--backend": ["numpy", "auto", "gpu"],
                      "--dataset": ["auto", "digits", "mnist", "x"], "MODEL": FILE_KEYS},
    }.get(command, {"--bogus": VALUES})
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        values = options[name]
        value = None
        if values is not None:  # usually a valid value, so that the run gets past argparse
            value = draw(st.sampled_from(values[:2] if draw(st.integers(0, 2)) and values is not FILE_KEYS
                                         else values))
        if values is FILE_KEYS:
            value = files[value]
        if name != "MODEL":
            argv.append(name)
        if value is not None:
            argv.append(value)
    if command == "train" and "--epochs" not in argv:
        argv += ["--epochs", "1"]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["--", "-x", "--debug=1", "extra", "--help"])))
    return argv


def _small_data(name, data_dir=None, out=None):
    """The CLI's data, small: the first 200 digits (MNIST is other tests' business)."""
    from fastnn.datasets import load_digits
    (x, t), (xt, tt) = load_digits()
    return ((x[:200], t[:200]), (xt[:50], tt[:50])), "digits"


@examples(60)
@given(argvs())
def run_cli(argv):
    import fastnn.cli as cli
    cli.load_dataset = _small_data
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:   # argparse: usage errors (2), --help (0)
            code = exc.code
            assert code in (0, 2), (argv, code)
            return
    err = err.getvalue()
    assert "Traceback" not in err and "Traceback" not in out.getvalue(), (argv, err)
    assert code in (0, 1, 2, 130), (argv, code, err)
    lines = [line for line in err.splitlines() if line.startswith("fastnn:")]
    if code == 1 and "gradient check FAILED" in out.getvalue():
        assert not lines, (argv, err)   # a failed check is a result, not an error
    elif code in (1, 2):
        assert len(lines) == 1, (argv, err)
    else:
        assert not lines, (argv, err)


TARGETS = {name[len("run_"):]: fn for name, fn in globals().items() if name.startswith("run_")}


if __name__ == "__main__":
    for name in sys.argv[1:] or TARGETS:
        TARGETS[name]()
        print(f"{name}: ok")
