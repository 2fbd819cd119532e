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


def test_train_falls_back_to_digits_and_says_so(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNN_MNIST_DIR", str(tmp_path / "nowhere"))
    assert main(["train", "--epochs", "1", "--quiet", "--hidden", "20"]) == 0
    out = capsys.readouterr().out
    assert "does not exist" in out and "digits instead" in out


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
