"""The fastnn command, called as main(argv) and once as a real process."""
import subprocess
import sys

import pytest

import fastnn
from fastnn.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"fastnn {fastnn.__version__}"


def test_help_as_a_module(tmp_path):
    out = subprocess.run([sys.executable, "-m", "fastnn", "--help"], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout  # cwd away from the source tree: the installed package runs
    assert "train" in out and "info" in out


def test_info_lists_backends_and_blas(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name in fastnn.available_backends():
        assert f"backend {name}:" in out
    assert "threads:" in out and "auto backend:" in out


@pytest.mark.parametrize("wide", [True, False])
def test_info_says_whether_held_inputs_get_dense_columns(capsys, monkeypatch, wide):
    if "cython" not in fastnn.available_backends():
        pytest.skip("the cython backend is not built")
    from fastnn import _config
    from fastnn.backends import _cython
    monkeypatch.setattr(_cython, "_vector_panels", lambda: wide)

    def info_line():
        assert main(["info"]) == 0
        line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("held sparse inputs:")]
        assert len(line) == 1 and ("dense columns on" if wide else "dense columns off") in line[0], line
        return line[0]

    info_line()
    if wide:  # each dtype's threshold, as the config has it
        monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float32", 0.42)
        monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.37)
        line = info_line()
        assert "42% (float32)" in line and "37% (float64)" in line, line
        monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.42)
        line = info_line()
        assert "42% of the rows (float32 and float64)" in line, line


def test_train_on_digits_with_every_backend(capsys, backend):
    assert main(["train", "--dataset", "digits", "--epochs", "10", "--backend", backend, "--seed", "0",
                 "--optimizer", "adam", "--lr", "0.01",
                 "--hidden", "30", "--quiet"]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.85 and f"backend {backend}" in out


def test_train_falls_back_to_digits_and_says_so_when_no_folder_was_named(capsys, monkeypatch):
    from fastnn.datasets import MNISTUnavailable, _named
    monkeypatch.delenv("FASTNN_MNIST_DIR", raising=False)

    def nowhere(name, data_dir=None):
        raise MNISTUnavailable("MNIST is not available. Tried:\n  - download: offline")
    monkeypatch.setattr(_named, "find", nowhere)
    assert main(["train", "--epochs", "1", "--quiet", "--hidden", "20"]) == 0
    out = capsys.readouterr().out
    assert "MNIST is not available" in out and "digits instead" in out and "digits: " in out


def test_bad_arguments_give_an_error_not_a_traceback(capsys):
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--init", "nonsense"]) == 2
    assert "weight_init_std" in capsys.readouterr().err


def test_train_several_hidden_widths_builds_a_multilayer_net_and_resumes_it(capsys, tmp_path, backend):
    path = tmp_path / "deep.npz"
    argv = ["train", "--dataset", "digits", "--backend", backend, "--seed", "0", "--optimizer", "adam",
            "--lr", "0.01", "--hidden", "32", "16", "--activation", "relu", "--quiet", "--save", str(path)]
    assert main(argv + ["--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "64-32-16-10 relu" in out and path.exists()
    saved = fastnn.load_model(path)
    assert isinstance(saved, fastnn.MultiLayerNet) and saved.hidden_size_list == [32, 16]
    assert main(["train", "--dataset", "digits", "--backend", backend, "--resume", str(path), "--epochs", "4",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "after epoch 2 of 4" in out and "64-32-16-10" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.85


def one_error_line(capsys, *words):
    """The one stderr line of a refused command, holding every word."""
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fastnn: error: "), err
    for word in words:
        assert word in lines[0], lines[0]
    return out, lines[0]


@pytest.fixture
def no_training(monkeypatch):
    def train(self):
        raise AssertionError("training started")
    monkeypatch.setattr(fastnn.Trainer, "train", train)


# -- a folder the user named is used or refused, never replaced by the digits --------------------------------

@pytest.mark.parametrize("kind", ["missing", "a file"])
@pytest.mark.parametrize("command", ["train", "gradcheck", "doctor --static", "doctor"])
def test_a_data_dir_that_is_not_a_folder_is_refused_not_replaced_by_digits(capsys, tmp_path, no_training,
                                                                          command, kind):
    folder = tmp_path / "mnsit"  # a typo
    if kind == "a file":
        folder.write_text("not a folder")
    script = tmp_path / "learner.py"
    script.write_text("print('learning')\n")
    argv = {"train": ["train", "--epochs", "1", "--quiet"], "gradcheck": ["gradcheck"],
            "doctor --static": ["doctor", str(script), "--static"], "doctor": ["doctor", str(script)]}[command]
    assert main(argv + ["--data-dir", str(folder)]) == 2
    out, line = one_error_line(capsys, "--data-dir", repr(str(folder)),
                               "does not exist" if kind == "missing" else "is not a folder")
    assert "digits" not in out


def test_fastnn_mnist_dir_naming_a_missing_folder_is_refused_not_replaced_by_digits(capsys, monkeypatch, tmp_path,
                                                                                     no_training):
    folder = tmp_path / "nowhere"
    monkeypatch.setenv("FASTNN_MNIST_DIR", str(folder))
    assert main(["train", "--epochs", "1", "--quiet", "--hidden", "20"]) == 2
    out, _ = one_error_line(capsys, f"MNIST folder {str(folder)!r} (FASTNN_MNIST_DIR) does not exist")
    assert "digits" not in out


def test_load_dataset_refuses_a_named_data_dir_that_does_not_exist(tmp_path, monkeypatch):
    from fastnn.datasets import MNISTUnavailable, load_dataset
    monkeypatch.delenv("FASTNN_MNIST_DIR", raising=False)
    folder = str(tmp_path / "nowhere")
    with pytest.raises(MNISTUnavailable, match=f"MNIST folder {folder!r} does not exist"):
        load_dataset("mnist", folder)


# -- train --resume: typed options the checkpoint contradicts are refused, not ignored --------------------------

@pytest.fixture
def checkpoint(tmp_path, capsys):
    """A digits run of 1 epoch: TwoLayerNet 64-20-10 sigmoid, Momentum lr 0.1, float32."""
    path = tmp_path / "run.npz"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--hidden", "20", "--quiet", "--save",
                 str(path)]) == 0
    capsys.readouterr()
    return path


@pytest.mark.parametrize("option, words", [
    (["--hidden", "30"], "--hidden 30 (the checkpoint's: 20)"),
    (["--hidden", "20", "10"], "--hidden 20 10 (the checkpoint's: 20)"),
    (["--activation", "relu"], "--activation relu (the checkpoint's: sigmoid)"),
    (["--dtype", "float64"], "--dtype float64 (the checkpoint's: float32)"),
    (["--optimizer", "adam"], "--optimizer adam (the checkpoint's: Momentum"),
])
def test_resume_refuses_a_typed_option_the_checkpoint_contradicts(capsys, checkpoint, no_training, option, words):
    before = checkpoint.read_bytes()
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--quiet"] + option) == 2
    one_error_line(capsys, f"--resume {checkpoint}", words)
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize("option, words", [(["--init", "he"], "--init he is not used when resuming: the checkpoint "
                                                               "holds the trained weights"),
                                           (["--seed", "3"], "--seed 3 is not used when resuming: the checkpoint holds "
                                                             "the shuffling RNG's state")])
def test_resume_says_init_and_seed_are_not_used(capsys, checkpoint, option, words):
    """The first run's command with --resume added (--seed and --init included) resumes; a note says those two
    are not used (the checkpoint holds what they would set), rather than ignoring them silently."""
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--quiet"] + option) == 0
    captured = capsys.readouterr()
    assert f"fastnn: note: {words}" in captured.err
    assert "after epoch 1 of 2" in captured.out


def test_resume_names_every_contradicting_option_at_once(capsys, checkpoint, no_training):
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--hidden", "30", "--activation", "relu",
                 "--optimizer", "Adam", "--lr", "0.5", "--dtype", "float64"]) == 2
    _, line = one_error_line(capsys, "--hidden 30", "--activation relu", "--optimizer Adam", "--dtype float64")
    assert "--lr 0.5 (" not in line  # a new learning rate is applied, not refused


def test_resume_accepts_typed_options_equal_to_the_checkpoints(capsys, checkpoint):
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--quiet", "--hidden", "20",
                 "--activation", "sigmoid", "--dtype", "float32", "--optimizer", "momentum", "--lr", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "after epoch 1 of 2\n" in out and "64-20-10 sigmoid, Momentum lr 0.1, batch 100, float32" in out


def test_resume_applies_a_typed_lr_and_batch_size_and_saves_the_lr(capsys, checkpoint):
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--quiet", "--lr", "0.05",
                 "--batch-size", "50"]) == 0
    out = capsys.readouterr().out
    assert "after epoch 1 of 2, lr 0.05 (the checkpoint's 0.1)" in out
    assert "Momentum lr 0.05, batch 50" in out
    from fastnn.io import read_model_file
    meta, _ = read_model_file(checkpoint)
    assert meta["optimizer"]["params"]["lr"] == 0.05 and meta["trainer"]["epoch"] == 2
    assert main(["train", "--resume", str(checkpoint), "--epochs", "3", "--quiet"]) == 0  # untyped: the file's
    assert "Momentum lr 0.05" in capsys.readouterr().out


# -- a directory where a file is expected says so ----------------------------------------------------------

@pytest.mark.parametrize("static", [False, True])
def test_doctor_on_a_directory_says_it_is_a_directory(capsys, tmp_path, static):
    assert main(["doctor", str(tmp_path)] + (["--static"] if static else [])) == 2
    _, line = one_error_line(capsys, f"{str(tmp_path)!r} is a directory, not a Python script")
    assert "does not exist" not in line


def test_doctor_on_a_missing_file_says_it_does_not_exist(capsys, tmp_path):
    assert main(["doctor", str(tmp_path / "nope.py")]) == 2
    one_error_line(capsys, f"file {str(tmp_path / 'nope.py')!r} does not exist")


def test_train_resume_and_sweep_grid_on_a_directory_say_it_is_a_directory(capsys, tmp_path, no_training):
    assert main(["train", "--resume", str(tmp_path), "--quiet"]) == 2
    one_error_line(capsys, f"{str(tmp_path)!r} is a directory, not a model file")
    assert main(["sweep", "--grid", str(tmp_path), "--data", "digits"]) == 2
    one_error_line(capsys, f"--grid {str(tmp_path)!r} is a directory, not a JSON file")
