"""Model files, atomic writes and the command line: every bad input one clear error, nothing lost.

Each test here failed on the code before these guards existed (a raw zipfile.BadZipFile, a 19 GiB
allocation, a symlink replaced, a traceback after training, ...).
"""
import errno
import json
import os
import stat
import sys
import zipfile
import zlib

import numpy as np
import pytest

import fastnn
from fastnn import io as fio
from fastnn.cli import main
from isolated import run_isolated

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def small_net(**kw):
    return fastnn.TwoLayerNet(5, 4, 3, seed=0, **kw)


def bn_net():
    return fastnn.MultiLayerNetExtend(5, [4, 3], 2, use_batchnorm=True, seed=0)


def contents(path):
    """(meta, {name: array}) of a model file, read without fastnn's checks."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(arrays.pop("__meta__").tobytes()), arrays


def write_raw(path, meta, arrays):
    """A model file with exactly this metadata and these arrays (no checks)."""
    np.savez(path, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    return path


def tamper(tmp_path, net=None, meta_changes=None, drop=(), add=None, replace=None, name="bad.npz"):
    """A saved model with its metadata or arrays changed."""
    good = tmp_path / "good.npz"
    fastnn.save_model(net if net is not None else small_net(), good)
    meta, arrays = contents(good)
    meta.update(meta_changes or {})
    for key in drop:
        del arrays[key]
    arrays.update(add or {})
    arrays.update(replace or {})
    return write_raw(tmp_path / name, meta, arrays)


def refused(path, *words):
    """load_model raises one ValueError naming the file (and the words given)."""
    with pytest.raises(ValueError) as info:
        fastnn.load_model(path)
    message = str(info.value)
    assert str(path) in message, message
    assert "allow_pickle" not in message and ".tmp-" not in message, message
    for word in words:
        assert word in message, message
    return message


# -- model files: metadata is checked before anything is allocated ------------------------------------

HUGE_META = """
import json, resource, sys
import numpy as np
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))   # 6 GiB of address space: 19 GiB cannot be had
import fastnn
path = sys.argv[-1] if False else {path!r}
try:
    fastnn.load_model(path)
except ValueError as exc:
    assert path in str(exc), exc
    print("refused:", exc)
else:
    raise SystemExit("loaded")
"""


def test_metadata_claiming_huge_sizes_allocates_nothing(tmp_path):
    path = tamper(tmp_path, meta_changes={"input_size": 50000, "hidden_size": 50000})
    proc = run_isolated(HUGE_META.format(path=str(path)), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "shape" in proc.stdout


def test_an_npy_header_claiming_huge_shape_allocates_nothing(tmp_path):
    # metadata and header agree on 50000 x 50000, but the file holds a few bytes: caught before reading
    net = small_net()
    meta, arrays = contents(tamper(tmp_path, net))
    meta.update(input_size=50000, hidden_size=50000)
    path = write_raw(tmp_path / "huge.npz", meta, arrays)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
    header["shape"] = (50000, 50000)
    import io as _io
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    members["param/W1.npy"] = buf.getvalue() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    proc = run_isolated(HUGE_META.format(path=str(path)), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_file_missing_w2_is_refused(tmp_path):
    refused(tamper(tmp_path, drop=["param/W2"]), "W2", "missing")


def test_extra_arrays_are_refused(tmp_path):
    refused(tamper(tmp_path, add={"param/W3": np.zeros((3, 3))}), "W3")
    refused(tamper(tmp_path, add={"junk": np.zeros(3)}), "junk")


@pytest.mark.parametrize("key, value, words", [
    ("param/W1", np.zeros((5, 5)), ("W1", "shape")),
    ("param/W1", np.zeros((4, 5)), ("W1", "shape")),
    ("param/b1", np.zeros((1, 4)), ("b1", "shape")),
    ("param/W1", np.zeros((5, 4), np.int64), ("W1", "dtype")),
    ("param/W1", np.zeros((5, 4), np.float32), ("W1", "dtype")),     # the metadata says float64
    ("param/W1", np.zeros((5, 4), np.complex128), ("W1", "dtype")),
    ("param/W1", np.full((5, 4), np.nan), ("W1", "NaN")),
    ("param/b2", np.array([0.0, np.inf, 0.0]), ("b2", "inf")),
])
def test_arrays_of_the_wrong_shape_dtype_or_values_are_refused(tmp_path, key, value, words):
    refused(tamper(tmp_path, replace={key: value}), *words)


def test_an_object_array_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    good = tmp_path / "good.npz"
    fastnn.save_model(small_net(), good)
    meta, arrays = contents(good)
    arrays["param/W1"] = np.array([Evil()], dtype=object)
    np.savez(tmp_path / "evil.npz", __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    message = refused(tmp_path / "evil.npz", "W1")
    assert "never unpickled" in message and not marker.exists()


@pytest.mark.parametrize("key, value", [
    ("hidden_size", -3), ("hidden_size", 0), ("hidden_size", "4"), ("hidden_size", 4.0), ("hidden_size", True),
    ("input_size", None), ("activation", "softmax"), ("activation", 3), ("loss", "hinge"),
    ("dtype", "int8"), ("dtype", "float16"), ("dtype", ["float64"]),
    ("format_version", 2), ("format_version", "1"), ("format_version", 0),
])
def test_metadata_values_are_type_checked(tmp_path, key, value):
    refused(tamper(tmp_path, meta_changes={key: value}), key)


def test_metadata_that_is_not_an_object_or_not_json_is_refused(tmp_path):
    good = tmp_path / "good.npz"
    fastnn.save_model(small_net(), good)
    _, arrays = contents(good)
    np.savez(tmp_path / "list.npz", __meta__=np.frombuffer(b"[1, 2]", np.uint8), **arrays)
    refused(tmp_path / "list.npz", "JSON object")
    np.savez(tmp_path / "deep.npz", __meta__=np.frombuffer(b"[" * 100000, np.uint8), **arrays)
    refused(tmp_path / "deep.npz", "JSON")
    np.savez(tmp_path / "bytes.npz", __meta__=np.frombuffer(b"\xff\xfe{}", np.uint8), **arrays)
    refused(tmp_path / "bytes.npz")


@pytest.mark.parametrize("replace, words", [
    ({"running/1/var": np.full(1, 1.0)}, ("running/1/var", "shape")),       # would broadcast
    ({"running/1/var": np.array([1.0, np.nan, 1.0, 1.0])}, ("running/1/var", "NaN")),
    ({"running/2/mean": np.array([0.0, np.inf, 0.0])}, ("running/2/mean", "inf")),
    ({"running/1/var": np.array([1.0, -0.5, 1.0, 1.0])}, ("running/1/var", "negative")),
    ({"running/1/var": np.ones((4, 1))}, ("running/1/var", "shape")),
])
def test_batchnorm_running_statistics_are_checked(tmp_path, replace, words):
    refused(tamper(tmp_path, bn_net(), replace=replace), *words)


def test_missing_batchnorm_statistics_are_refused(tmp_path):
    refused(tamper(tmp_path, bn_net(), drop=["running/2/var"]), "running/2/var")


def test_not_a_model_file_gives_one_clear_value_error(tmp_path):
    good = tmp_path / "good.npz"
    fastnn.save_model(small_net(), good)
    data = good.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[:len(data) // 2])
    refused(tmp_path / "trunc.npz")
    (tmp_path / "tail.npz").write_bytes(data[:-10])                # the end-of-archive record cut
    refused(tmp_path / "tail.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    refused(tmp_path / "one.npy", ".npy")
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(5000))
    refused(tmp_path / "random.npz")
    (tmp_path / "net.py").write_text("class TwoLayerNet:\n    pass\n")
    refused(tmp_path / "net.py")
    (tmp_path / "folder.npz").mkdir()
    refused(tmp_path / "folder.npz", "directory")
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(tmp_path / "empty.npz")


def test_a_flipped_byte_inside_the_data_is_caught(tmp_path):
    good = tmp_path / "good.npz"
    fastnn.save_model(small_net(), good)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("param/W2.npy")
    data[info.header_offset + 30 + len(info.filename) + 128 + 8] ^= 0x40  # inside W2's data: a bad CRC
    (tmp_path / "flip.npz").write_bytes(bytes(data))
    refused(tmp_path / "flip.npz")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    refused(tmp_path / "pipe.npz", "regular file")


# -- checkpoints ----------------------------------------------------------------------------------------


def checkpoint(tmp_path):
    net = small_net()
    x = np.random.default_rng(0).random((20, 5))
    t = np.arange(20) % 3
    trainer = fastnn.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=5, optimizer="Adam", verbose=False,
                             seed=0, checkpoint=str(tmp_path / "ck.npz"))
    trainer.train()
    return trainer, tmp_path / "ck.npz"


@pytest.mark.parametrize("change", [
    lambda m, a: m["trainer"].update(epoch=-1),
    lambda m, a: m["trainer"].update(epoch="1"),
    lambda m, a: m["trainer"].update(rng_state={"bit_generator": "PCG64", "state": "nope"}),
    lambda m, a: m["trainer"].update(history={"loss": "x"}),
    lambda m, a: m["trainer"].update(batch_size=0),
    lambda m, a: m.update(trainer=[1, 2]),
    lambda m, a: m["optimizer"].update(name="Lion"),
    lambda m, a: m["optimizer"].update(params={"lr": -1.0}),
    lambda m, a: m["optimizer"].update(params={"lr": 0.1, "shell": 1}),
    lambda m, a: m["optimizer"].update(iter=-2),
    lambda m, a: a.update({"opt/m/W1": np.zeros((2, 2))}),
    lambda m, a: a.update({"opt/m/W9": np.zeros((5, 4))}),
    lambda m, a: a.update({"opt/v/W1": np.full((5, 4), np.nan)}),
])
def test_bad_checkpoints_are_refused_by_load_checkpoint(tmp_path, change):
    trainer, path = checkpoint(tmp_path)
    meta, arrays = contents(path)
    change(meta, arrays)
    bad = write_raw(tmp_path / "bad.npz", meta, arrays)
    with pytest.raises(ValueError) as info:
        trainer.load_checkpoint(bad)
    assert str(bad) in str(info.value)


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path):
    trainer, path = checkpoint(tmp_path)
    other = fastnn.TwoLayerNet(5, 7, 3, seed=0)
    x = np.zeros((4, 5))
    t = np.zeros(4, int)
    with pytest.raises(ValueError, match="do not fit"):
        fastnn.Trainer(other, x, t, x, t, verbose=False).load_checkpoint(path)


# -- save_model and every atomic write -----------------------------------------------------------------


def test_saving_onto_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.npz"
    fastnn.save_model(small_net(), target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    net = fastnn.TwoLayerNet(5, 4, 3, seed=1)
    fastnn.save_model(net, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(fastnn.load_model(target).params["W1"], net.params["W1"])


def test_saving_onto_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "new.npz")
    fastnn.save_model(small_net(), link)
    assert link.is_symlink() and (tmp_path / "new.npz").is_file()


def test_saving_onto_a_fifo_or_a_device_refuses_and_keeps_it(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO") as info:
        fastnn.save_model(small_net(), fifo)
    assert str(fifo) in str(info.value) and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if IS_ROOT:  # only root may make a device node
        dev = tmp_path / "null.npz"
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with pytest.raises(ValueError, match="device"):
            fastnn.save_model(small_net(), dev)
        assert stat.S_ISCHR(os.lstat(dev).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["pipe.npz"] + (["null.npz"] if IS_ROOT else []))


def test_saving_onto_a_directory_refuses_naming_the_path(tmp_path):
    folder = tmp_path / "model.npz"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        fastnn.save_model(small_net(), folder)
    assert info.value.filename == str(folder) and ".tmp-" not in str(info.value)
    assert folder.is_dir() and os.listdir(tmp_path) == ["model.npz"]


def test_saving_into_a_missing_folder_fails_as_open_would(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        fastnn.save_model(small_net(), tmp_path / "nowhere" / "m.npz")
    assert "nowhere" in str(info.value)
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask):
    old = os.umask(umask)
    try:
        fastnn.save_model(small_net(), tmp_path / "m.npz")
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "m.npz"
    fastnn.save_model(small_net(), path)
    os.chmod(path, 0o640)
    fastnn.save_model(small_net(), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_errors_name_the_path_and_leave_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    real_replace = os.replace

    def failing_replace(src, dst):
        raise OSError(errno.EIO, "Input/output error", src, dst)
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError) as info:
        fastnn.save_model(small_net(), path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert info.value.filename == str(path) and ".tmp-" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_atomic_write_of_a_plot_into_a_missing_folder_fails(tmp_path):
    pytest.importorskip("matplotlib")
    history = {"loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.5], "epoch_time": [0.1]}
    with pytest.raises(FileNotFoundError):
        fastnn.plot_history(history, tmp_path / "nowhere" / "c.png")


# -- the command line ------------------------------------------------------------------------------------

TRAIN = ["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--hidden", "8", "--seed", "0"]


def one_error_line(capsys, code, *words):
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fastnn: "), err
    for word in words:
        assert word in lines[0], lines[0]
    return out, lines[0]


@pytest.mark.parametrize("where", ["missing", "directory", "file-as-folder", "readonly"])
@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_train_to_an_unwritable_path_fails_before_training(tmp_path, capsys, monkeypatch, where, option):
    if where == "readonly" and IS_ROOT:
        pytest.skip("root writes into read-only folders")
    path = {"missing": tmp_path / "nowhere" / "out", "directory": tmp_path,
            "file-as-folder": tmp_path / "file" / "out", "readonly": tmp_path / "ro" / "out"}[where]
    (tmp_path / "file").write_text("x")
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o555)

    def no_training(self):
        raise AssertionError("training started")
    monkeypatch.setattr(fastnn.Trainer, "train", no_training)
    code = main(TRAIN + [option, str(path)])
    assert code != 0
    out, line = one_error_line(capsys, code)
    assert "final train accuracy" not in out


def test_ctrl_c_in_the_first_epoch_does_not_claim_a_save(tmp_path, capsys, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(fastnn.Trainer, "train_step_epoch", interrupted)
    path = tmp_path / "m.npz"
    assert main(TRAIN + ["--save", str(path), "--plot", str(tmp_path / "c.png")]) == 130
    out, err = capsys.readouterr()
    assert "saved in" not in err and "saved to" not in out.replace("nothing was saved to", "")
    assert "nothing was saved" in err + out and not path.exists() and not (tmp_path / "c.png").exists()


def test_ctrl_c_after_resuming_says_what_the_checkpoint_holds(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.npz"
    assert main(TRAIN + ["--save", str(path)]) == 0
    capsys.readouterr()
    before = path.read_bytes()

    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(fastnn.Trainer, "train_step_epoch", interrupted)
    assert main(["train", "--resume", str(path), "--epochs", "3", "--quiet"]) == 130
    out, err = capsys.readouterr()
    assert "holds epoch 1" in err and path.read_bytes() == before


@pytest.mark.parametrize("exc", [zipfile.BadZipFile("bad zip"), zlib.error("invalid stored block lengths"),
                                 PermissionError(errno.EACCES, "Permission denied", "/x/y"),
                                 IsADirectoryError(errno.EISDIR, "Is a directory", "/x"),
                                 OSError(errno.EIO, "Input/output error"), MemoryError("Unable to allocate")])
def test_unexpected_errors_print_one_line_and_exit_nonzero(capsys, monkeypatch, exc):
    def boom(*args, **kwargs):
        raise exc
    monkeypatch.setattr("fastnn.cli.load_dataset", boom)
    code = main(TRAIN)
    assert code not in (0, None)
    one_error_line(capsys, code, str(exc).split()[0])


def test_debug_shows_the_traceback(capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise zlib.error("invalid stored block lengths")
    monkeypatch.setattr("fastnn.cli.load_dataset", boom)
    with pytest.raises(zlib.error):
        main(["--debug"] + TRAIN)
    monkeypatch.setenv("FASTNN_DEBUG", "1")
    with pytest.raises(zlib.error):
        main(TRAIN)


def test_ctrl_c_during_start_up_prints_one_line_and_exits_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("fastnn.cli.load_dataset", interrupted)
    try:
        code = main(TRAIN)
    except KeyboardInterrupt:
        pytest.fail("main let KeyboardInterrupt through")
    assert code == 130
    one_error_line(capsys, 130, "interrupted")


def test_ctrl_c_in_a_real_process_prints_one_line(tmp_path):
    code = ("import signal, os, sys\n"
            "import fastnn.cli as cli\n"
            "def load(*a, **k):\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "cli.load_dataset = load\n"
            "sys.exit(cli.main(['train', '--dataset', 'digits']))\n")
    proc = run_isolated(code, timeout=120)
    assert proc.returncode == 130 and proc.stderr.strip() == "fastnn: interrupted", proc.stderr


@pytest.mark.parametrize("argv", [
    ["train", "--batch-size", "-5"], ["train", "--batch-size", "0"], ["train", "--batch", "-5"],
    ["train", "--epochs", "0"], ["train", "--epochs", "-1"], ["train", "--hidden", "0"],
    ["train", "--hidden", "30", "-4"], ["train", "--lr", "-0.1"], ["train", "--lr", "nan"], ["train", "--lr", "0"],
    ["train", "--lr=-inf"], ["train", "--threads", "0"], ["train", "--threads", "-2"], ["train", "--seed", "-1"],
    ["train", "--batch-size", "99999999999999999999"],
    ["sweep", "--grid", "{}", "--n-train", "-3"], ["sweep", "--grid", "{}", "--n-train", "0"],
    ["sweep", "--grid", "{}", "--epochs", "0"], ["sweep", "--grid", "{}", "--n-jobs", "0"],
    ["sweep", "--grid", "{}", "--threads-per-task", "-1"],
    ["gradcheck", "--batch", "0"], ["gradcheck", "--hidden", "-1"],
])
def test_bad_counts_and_rates_are_rejected_by_argparse(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    option = [a for a in argv if a.startswith("--")][-1].split("=")[0]
    assert "Traceback" not in err and "error: argument" in err
    assert option.rstrip("e") in err or option == "--batch"


def test_gradcheck_picks_the_data_that_fits_the_model(tmp_path, capsys):
    path = tmp_path / "digits.npz"
    fastnn.save_model(fastnn.TwoLayerNet(64, 10, 10, "xavier", seed=0), path)
    assert main(["gradcheck", str(path)]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "gradient check passed" in out


def test_gradcheck_on_a_model_no_data_fits_says_so(tmp_path, capsys):
    path = tmp_path / "odd.npz"
    fastnn.save_model(fastnn.TwoLayerNet(10, 4, 10, seed=0), path)
    code = main(["gradcheck", str(path)])
    assert code == 2
    one_error_line(capsys, code, "10 inputs", str(path))


@pytest.mark.parametrize("content", [b"import numpy\nprint('hello')\n", b"PK\x03\x04" + b"\0" * 40, None])
def test_gradcheck_on_a_python_or_truncated_file_prints_one_line(tmp_path, capsys, content):
    path = tmp_path / "model.npz"
    if content is None:
        fastnn.save_model(small_net(), path)
        content = path.read_bytes()[:-30]
    path.write_bytes(content)
    code = main(["gradcheck", str(path)])
    assert code == 2
    _, line = one_error_line(capsys, code, str(path), "model file")
    assert "allow_pickle" not in line and "pickled" not in line


def test_resume_picks_the_data_of_the_model(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(TRAIN + ["--save", str(path)]) == 0
    assert main(["train", "--resume", str(path), "--epochs", "2", "--quiet"]) == 0
    assert "digits: " in capsys.readouterr().out
    if os.environ.get("FASTNN_MNIST_DIR"):
        assert main(["train", "--resume", str(path), "--epochs", "3", "--quiet", "--dataset", "mnist"]) == 2
        assert "takes 64 inputs" in capsys.readouterr().err


def test_resume_from_a_corrupt_checkpoint_prints_one_line(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(TRAIN + ["--save", str(path)]) == 0
    path.write_bytes(path.read_bytes()[:-100])  # the archive's directory cut off
    capsys.readouterr()
    code = main(TRAIN + ["--resume", str(path)])
    assert code == 2
    one_error_line(capsys, code, str(path))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
