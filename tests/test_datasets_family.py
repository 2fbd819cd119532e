"""The MNIST family: one loader over a table of specs, tested on IDX files the tests write themselves,
a local HTTP server, and the real Fashion-MNIST where Debian's dataset-fashion-mnist is installed."""
import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import threading
import warnings
import zipfile

import numpy as np
import pytest

from fastnn import datasets
from fastnn.cli import main
from fastnn.datasets import _engine, _idx, _specs, mnist
from fastnn.datasets._specs import KEYS

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
STEMS = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_bytes(array, magic=None):
    array = np.asarray(array)
    magic = magic if magic is not None else (_idx.IMAGES_MAGIC if array.ndim == 3 else _idx.LABELS_MAGIC)
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_arrays(seed=0, n_train=40, n_test=12, labels=(0, 9), size=(28, 28)):
    rng = np.random.default_rng(seed)
    return {"train_images": rng.integers(0, 256, (n_train, *size)).astype(np.uint8),
            "train_labels": rng.integers(labels[0], labels[1] + 1, n_train).astype(np.uint8),
            "test_images": rng.integers(0, 256, (n_test, *size)).astype(np.uint8),
            "test_labels": rng.integers(labels[0], labels[1] + 1, n_test).astype(np.uint8)}


def write_set(folder, arrays, stems=STEMS, gz=True):
    """The four files in folder; returns {key: path}."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for key in KEYS:
        raw = idx_bytes(arrays[key])
        path = os.path.join(folder, stems[key] + (".gz" if gz else ""))
        with open(path, "wb") as f:
            f.write(gzip.compress(raw, mtime=0) if gz else raw)
        paths[key] = path
    return paths


def make_spec(name, arrays, digests="raw", **kw):
    """A spec whose published checksums are those of these arrays ('raw', 'gz' or None)."""
    files = {}
    for key in KEYS:
        raw = idx_bytes(arrays[key])
        md5 = hashlib.md5(raw).hexdigest() if digests == "raw" else None
        gz_md5 = hashlib.md5(gzip.compress(raw, mtime=0)).hexdigest() if digests == "gz" else None
        files[key] = _specs.IdxFile(STEMS[key], _idx.IMAGES_MAGIC if key.endswith("images") else _idx.LABELS_MAGIC,
                                    md5, gz_md5)
    kw.setdefault("label_range", (0, 9))
    kw.setdefault("cache_folder", name)
    return _specs.DatasetSpec(name, name.upper(), files, **kw)


def broken_deflate(raw):
    """A gzip stream whose first deflate block has the invalid block type 3: zlib itself fails, not the CRC."""
    data = bytearray(gzip.compress(raw, mtime=0))
    data[10] |= 0b110
    return bytes(data)


@pytest.fixture
def home(monkeypatch, tmp_path):
    """Empty cache, home and working folder: no real data is found by accident."""
    monkeypatch.setenv("FASTNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FASTNN_MNIST_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def family(monkeypatch, home):
    """Two synthetic known sets, 'aaa' and 'bbb' (same file names, different contents), as the only specs."""
    a, b = make_arrays(1), make_arrays(2)
    specs = {"aaa": make_spec("aaa", a), "bbb": make_spec("bbb", b)}
    monkeypatch.setattr(_engine, "SPECS", specs)
    return specs, a, b


class Server:
    """Serves {path: bytes} on 127.0.0.1 (the path after the first folder); counts requests per name."""

    def __init__(self):
        self.files, self.hits = {}, {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve_set(self, folder, arrays, stems=STEMS, corrupt=None):
        for key in KEYS:
            body = gzip.compress(idx_bytes(arrays[key]), mtime=0)
            if key == corrupt:
                body = body[:-20] + bytes(20)
            self.files[f"/{folder}/{stems[key]}.gz"] = body

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def assert_same(found_arrays, arrays):
    for key in KEYS:
        np.testing.assert_array_equal(found_arrays[key], arrays[key])


# --- the table and the public loaders -------------------------------------------------------------------


def test_every_spec_is_complete_and_named():
    assert {"mnist", "fashion-mnist", "kmnist", "emnist-digits", "emnist-letters", "emnist-balanced",
            "emnist-bymerge", "emnist-byclass", "emnist-mnist"} == set(datasets.DATASETS)
    for spec in _specs.SPECS.values():
        assert set(spec.files) == set(KEYS)
        assert spec.digests(), f"{spec.name} has no published checksum"
        assert spec.mirrors or spec.archive
        for f in spec.files.values():
            assert all(d is None or len(d) == 32 and int(d, 16) >= 0 for d in (f.md5, f.gz_md5))
    assert _specs.SPECS["emnist-letters"].n_classes == 27 and _specs.SPECS["emnist-byclass"].n_classes == 62
    assert _specs.SPECS["emnist-digits"].files["test_images"].stem == "emnist-digits-test-images-idx3-ubyte"


@pytest.mark.parametrize("call, exc, message", [
    (lambda: datasets.load("cifar10"), ValueError, "dataset must be one of mnist, fashion-mnist"),
    (lambda: datasets.load(10), TypeError, "dataset must be a string"),
    (lambda: datasets.load_emnist("digit"), ValueError, "split must be one of digits, letters"),
    (lambda: datasets.emnist.load_data(None), ValueError, "split must be one of"),
])
def test_bad_names_are_clear_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_book_and_keras_apis_on_a_folder(home):
    arrays = make_arrays(3, labels=(1, 26))
    folder = str(home / "letters")
    stems = {k: _specs.SPECS["emnist-letters"].files[k].stem for k in KEYS}
    write_set(folder, arrays, stems)
    with pytest.warns(datasets.UnverifiedDataWarning, match="not a known EMNIST letters set"):
        (x, t), (xt, tt) = datasets.load_emnist("letters", one_hot_label=True, data_dir=folder)
    # EMNIST is stored column-major: the loader transposes to MNIST's orientation
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), arrays["train_images"].transpose(0, 2, 1) / np.float32(255))
    assert x.dtype == np.float32 and t.shape == (40, 27) and (t.argmax(1) == arrays["train_labels"]).all()
    with pytest.warns(datasets.UnverifiedDataWarning):
        (kx, ky), _ = datasets.emnist.load_data("letters", folder)
    assert kx.dtype == np.uint8 and kx.shape == (40, 28, 28) and ky.dtype == np.uint8
    plain = str(home / "plain")
    write_set(plain, make_arrays(3))
    with pytest.warns(datasets.UnverifiedDataWarning, match="not a known Kuzushiji-MNIST set"):
        (x, _), _ = datasets.load_kmnist(normalize=False, flatten=False, data_dir=plain)
    assert x.shape == (40, 1, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[:, 0], make_arrays(3)["train_images"])  # KMNIST is not transposed


# --- any folder: a known set is recognised, anything else is checked and noted -------------------------


def test_a_known_set_is_verified_and_recognised_even_when_another_is_asked(family, home):
    specs, a, b = family
    write_set(str(home / "b"), b)
    found = _engine.read_any(specs["aaa"], str(home / "b"))
    assert found.spec.name == "bbb" and found.verified
    assert "these files are BBB" in found.notes[0] and "not AAA" in found.notes[0]
    assert_same(found.arrays, b)
    write_set(str(home / "a"), a, gz=False)  # uncompressed files verify against the uncompressed MD5
    found = _engine.read_any(specs["aaa"], str(home / "a"))
    assert found.spec.name == "aaa" and found.verified and found.notes == []


def test_one_corrupt_file_of_a_known_set_is_never_accepted(family, home):
    specs, a, _ = family
    paths = write_set(str(home / "a"), a)
    tampered = a["train_images"].copy()
    tampered[3, 4, 5] ^= 1  # structurally perfect, one pixel wrong
    with open(paths["train_images"], "wb") as f:
        f.write(gzip.compress(idx_bytes(tampered)))
    with pytest.raises(ValueError) as info:
        _engine.read_any(specs["aaa"], str(home / "a"))
    message = str(info.value)
    assert paths["train_images"] in message and "does not match the published MD5" in message
    assert "the other files" in message and "AAA" in message


def test_an_unknown_set_is_read_with_a_note(family, home):
    specs, _, _ = family
    c = make_arrays(5, n_train=7, n_test=3, size=(20, 20))
    write_set(str(home / "c"), c)
    found = _engine.read_any(specs["bbb"], str(home / "c"))
    assert not found.verified and found.spec.name == "bbb"
    assert "not a known BBB set" in found.notes[0] and "contents not verified" in found.notes[0]
    assert_same(found.arrays, c)
    (x, t), _ = _engine.book_format(found)
    assert x.shape == (7, 400)


def test_an_unknown_folder_is_judged_as_the_dataset_asked_for(home):
    folder = str(home / "generic")
    write_set(folder, make_arrays(6, labels=(1, 26)))  # MNIST's file names, letters' labels
    with pytest.warns(datasets.UnverifiedDataWarning, match="EMNIST letters"):
        (_, t), _ = datasets.load_emnist("letters", one_hot_label=True, data_dir=folder)
    assert t.shape[1] == 27
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: label \d+ at row \d+ is out of range, "
                                         r"expected 0\.\.9"):
        datasets.load_mnist(data_dir=folder)
    with pytest.raises(datasets.DatasetUnavailable, match="is not a folder"):
        datasets.load_fashion_mnist(data_dir=os.path.join(folder, "train-images-idx3-ubyte.gz"))


def _damage(paths, arrays, fault):
    """Write one kind of damage into the set at paths; returns the file that must be named."""
    if fault == "truncated":
        body = gzip.compress(idx_bytes(arrays["train_images"]))
        target, body = paths["train_images"], body[: len(body) // 2]
    elif fault == "truncated-raw":
        target, body = paths["test_images"], idx_bytes(arrays["test_images"])[:-7]
    elif fault == "bad-magic":
        target, body = paths["train_labels"], gzip.compress(idx_bytes(arrays["train_labels"], magic=2051))
    elif fault == "images-as-labels":
        target, body = paths["test_labels"], gzip.compress(idx_bytes(arrays["test_images"]))
    elif fault == "counts":
        target, body = paths["train_labels"], gzip.compress(idx_bytes(arrays["train_labels"][:-1]))
    elif fault == "label-range":
        labels = arrays["test_labels"].copy()
        labels[2] = 10
        target, body = paths["test_labels"], gzip.compress(idx_bytes(labels))
    elif fault == "image-size":
        target, body = paths["test_images"], gzip.compress(idx_bytes(arrays["test_images"][:, :27, :]))
    elif fault == "deflate":
        target, body = paths["train_images"], broken_deflate(idx_bytes(arrays["train_images"]))
    elif fault == "header-only":
        target, body = paths["test_labels"], b"\x00\x00\x08"
    elif fault == "empty":
        target, body = paths["train_images"], b""
    with open(target, "wb") as f:
        f.write(body)
    return target


FAULTS = ["truncated", "truncated-raw", "bad-magic", "images-as-labels", "counts", "label-range", "image-size",
          "deflate", "header-only", "empty"]
MESSAGES = {"truncated": "corrupt or truncated gzip", "truncated-raw": "truncated or padded",
            "bad-magic": "wrong magic number 2051, expected 2049", "images-as-labels": "wrong magic number",
            "counts": "39 labels for the 40 images",
            "label-range": r"label 10 at row 2 is out of range, expected 0\.\.9",
            "image-size": "27x28 pixels", "deflate": "corrupt or truncated gzip data \\(error",
            "header-only": "too short for an IDX header", "empty": "too short"}


@pytest.mark.parametrize("fault", FAULTS)
def test_every_damaged_file_in_a_folder_is_one_clear_error_naming_it(home, fault):
    arrays = make_arrays(7)
    folder = str(home / "d")
    paths = write_set(folder, arrays)
    if fault == "truncated-raw":
        paths = write_set(folder, arrays, gz=False)
        for p in list(os.listdir(folder)):
            if p.endswith(".gz"):
                os.remove(os.path.join(folder, p))
    target = _damage(paths, arrays, fault)
    for call in (lambda: datasets.load_fashion_mnist(data_dir=folder), lambda: datasets.load_mnist(data_dir=folder)):
        with pytest.raises(ValueError, match=MESSAGES[fault]) as info:
            call()
        assert target in str(info.value)
    assert main(["train", "--dataset", "kmnist", "--data-dir", folder, "--epochs", "1"]) == 2


def test_a_missing_file_is_named(home):
    folder = str(home / "m")
    paths = write_set(folder, make_arrays())
    os.remove(paths["test_labels"])
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte.gz"):
        datasets.load_fashion_mnist(data_dir=folder)
    with pytest.raises(datasets.DatasetUnavailable, match="does not exist"):
        datasets.load_kmnist(data_dir=str(home / "nowhere"))
    with pytest.raises(TypeError, match="data_dir must be a folder path"):
        datasets.load_kmnist(data_dir=3)


def test_an_empty_environment_variable_is_unset(home, monkeypatch):
    monkeypatch.setenv("FASTNN_MNIST_DIR", "")
    with pytest.raises(datasets.MNISTUnavailable, match="Tried:"):  # searched, not "folder '' does not exist"
        mnist.load_arrays(download_if_missing=False)


# --- the cache: a bad file is moved aside, the search goes on ------------------------------------------


def test_broken_deflate_in_mnist_cache_is_moved_aside_and_redownloaded(home, server, monkeypatch):
    arrays = make_arrays(11)
    table = {k: (STEMS[k], hashlib.md5(idx_bytes(arrays[k])).hexdigest(), m) for k, (_, _, m) in mnist.FILES.items()}
    monkeypatch.setattr(mnist, "FILES", table)
    cache = mnist.cache_dir()
    paths = write_set(cache, arrays)
    with open(paths["train_images"], "wb") as f:
        f.write(broken_deflate(idx_bytes(arrays["train_images"])))
    server.serve_set("m", arrays)
    with pytest.warns(datasets.CorruptFileWarning, match="moved aside to .*corrupt") as record:
        got = mnist.load_arrays(mirrors=(server.url + "/m/",), timeout=5)
    assert_same(got, arrays)
    moved = os.listdir(os.path.join(cache, "corrupt"))
    assert len(moved) == 1 and moved[0].startswith("train-images-idx3-ubyte.gz.")
    assert os.path.join(cache, "corrupt", moved[0]) in str(record[0].message)
    # only the bad file was fetched again; the cache now holds a good copy and needs no network
    assert server.hits == {"/m/train-images-idx3-ubyte.gz": 1}
    server.files.clear()
    assert_same(mnist.load_arrays(mirrors=(server.url + "/m/",), timeout=5), arrays)


@pytest.mark.parametrize("fault", ["deflate", "truncated", "label-range", "counts", "bad-magic"])
def test_damaged_cache_files_go_aside_and_the_next_place_is_used(home, fault, monkeypatch):
    arrays = make_arrays(12)
    spec = make_spec("zzz", arrays, places=(("a copy", str(home / "copy")),))
    target = _damage(write_set(_engine.cache_dir(spec), arrays), arrays, fault)
    write_set(str(home / "copy"), arrays)
    with pytest.warns(datasets.CorruptFileWarning) as record:
        found = _engine.find(spec, download_if_missing=False)
    assert found.source == str(home / "copy") and found.verified
    assert_same(found.arrays, arrays)
    assert not os.path.exists(target) and target in str(record[0].message)
    assert os.listdir(os.path.join(_engine.cache_dir(spec), "corrupt"))


def test_nothing_anywhere_says_what_was_tried(home):
    spec = make_spec("zzz", make_arrays(), places=(("Debian's package", str(home / "usr")),),
                     mirrors=("http://127.0.0.1:9/",))
    with pytest.raises(datasets.DatasetUnavailable) as info:
        _engine.find(spec, timeout=2)
    message = str(info.value)
    for part in ("ZZZ is not available. Tried:", "fastnn's cache", "Debian's package", "download:",
                 "could not download train-images-idx3-ubyte.gz", "data_dir="):
        assert part in message


def test_fashion_mnist_places_include_debian_keras_and_torchvision():
    labels = [label for label, _ in _specs.FASHION_MNIST.places]
    assert labels[0] == "Debian's dataset-fashion-mnist" and "Keras' cache" in labels
    assert dict(_specs.FASHION_MNIST.places)["Debian's dataset-fashion-mnist"] == DEBIAN_FASHION
    assert any("FashionMNIST" in path for _, path in _specs.FASHION_MNIST.places)


def test_unpublished_checksums_are_checked_against_the_published_counts(home):
    arrays = make_arrays(13)
    spec = dataclasses.replace(make_spec("kkk", arrays, digests="gz"), counts=(40, 12))
    write_set(_engine.cache_dir(spec), arrays, gz=False)  # raw files: only the .gz MD5 is published
    found = _engine.find(spec, download_if_missing=False)
    assert not found.verified and "no published checksum" in found.notes[0] and "(40, 12)" in found.notes[0]
    wrong = dataclasses.replace(spec, counts=(41, 12))
    with pytest.warns(datasets.CorruptFileWarning, match="40 images, the published set has 41"):
        with pytest.raises(datasets.DatasetUnavailable):
            _engine.find(wrong, download_if_missing=False)


# --- downloads from a local server --------------------------------------------------------------------


def test_download_falls_back_to_the_next_mirror_and_verifies(home, server):
    arrays = make_arrays(21)
    spec = make_spec("dl", arrays, digests="gz")
    server.serve_set("good", arrays)
    server.serve_set("bad", arrays, corrupt="test_images")  # a mirror serving one damaged file
    found = _engine.find(spec, mirrors=(server.url + "/missing/", server.url + "/bad/", server.url + "/good/"),
                         timeout=5)
    assert found.verified and found.source == _engine.cache_dir(spec)
    assert_same(found.arrays, arrays)
    assert server.hits["/bad/t10k-images-idx3-ubyte.gz"] == 1 and server.hits["/good/t10k-images-idx3-ubyte.gz"] == 1
    assert "/good/train-images-idx3-ubyte.gz" not in server.hits  # the first good mirror served it
    assert sorted(os.listdir(_engine.cache_dir(spec))) == sorted(s + ".gz" for s in STEMS.values())


def test_a_checksum_mismatch_is_never_kept(home, server):
    arrays = make_arrays(22)
    spec = make_spec("dl", arrays, digests="gz")
    other = make_arrays(23)
    server.serve_set("x", other)  # well-formed IDX files, but not the published ones
    with pytest.raises(datasets.DatasetUnavailable) as info:
        _engine.find(spec, mirrors=(server.url + "/x/",), timeout=5)
    assert "does not match the published MD5" in str(info.value)
    assert not os.path.exists(_engine.cache_dir(spec)) or os.listdir(_engine.cache_dir(spec)) == []


def test_an_archive_is_verified_extracted_and_removed(home, server):
    arrays = make_arrays(31, labels=(1, 26))
    stems = {k: f"emnist-zz-{STEMS[k].replace('t10k', 'test')}" for k in KEYS}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for key in KEYS:
            z.writestr(f"gzip/{stems[key]}.gz", gzip.compress(idx_bytes(arrays[key]), mtime=0))
    body = buffer.getvalue()
    files = {k: _specs.IdxFile(stems[k], _specs.SPECS["emnist-letters"].files[k].magic, None,
                               hashlib.md5(gzip.compress(idx_bytes(arrays[k]), mtime=0)).hexdigest()) for k in KEYS}
    spec = _specs.DatasetSpec("emnist-zz", "EMNIST zz", files, (1, 26), counts=(40, 12), cache_folder="emnist",
                              archive=(server.url + "/nist/gzip.zip", hashlib.md5(body).hexdigest(), "gzip"),
                              transpose=True)
    server.files["/nist/gzip.zip"] = body[:-1] + b"x"  # damaged first: nothing is kept
    with pytest.raises(datasets.DatasetUnavailable, match="gzip.zip: MD5"):
        _engine.find(spec, timeout=5)
    server.files["/nist/gzip.zip"] = body
    found = _engine.find(spec, timeout=5)
    assert found.verified
    np.testing.assert_array_equal(found.arrays["test_images"], arrays["test_images"].transpose(0, 2, 1))
    assert sorted(os.listdir(_engine.cache_dir(spec))) == sorted(s + ".gz" for s in stems.values())


# --- the command line ----------------------------------------------------------------------------------


def test_cli_trains_on_an_unknown_folder_with_a_note_and_the_right_output_width(home, capsys):
    arrays = make_arrays(41, labels=(1, 26))
    folder = str(home / "letters")
    write_set(folder, arrays, {k: _specs.SPECS["emnist-letters"].files[k].stem for k in KEYS})
    assert main(["train", "--dataset", "emnist-letters", "--data-dir", folder, "--epochs", "1", "--hidden", "8",
                 "--quiet", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "note:" in out and "not a known EMNIST letters set" in out and "structure checked, not verified" in out
    assert "784-8-27" in out and "emnist-letters: 40 train / 12 test rows" in out


def test_cli_dataset_choices_and_no_silent_switch_to_digits(home, capsys, monkeypatch):
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "cifar10"])
    assert "fashion-mnist" in capsys.readouterr().err
    nowhere = dataclasses.replace(_specs.FASHION_MNIST, places=(), mirrors=("http://127.0.0.1:9/",))
    monkeypatch.setitem(_specs.SPECS, "fashion-mnist", nowhere)
    assert main(["train", "--dataset", "fashion-mnist", "--epochs", "1"]) == 2
    captured = capsys.readouterr()
    assert "Fashion-MNIST is not available. Tried:" in captured.err and "digits" not in captured.out


# --- the real Fashion-MNIST from Debian's package ------------------------------------------------------

needs_debian = pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION),
                                  reason="Debian's dataset-fashion-mnist is not installed "
                                         "(apt-get install dataset-fashion-mnist)")


@needs_debian
def test_real_fashion_mnist_from_debian(home):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = datasets.find("fashion-mnist", download_if_missing=False)
        (x, t), (xt, tt) = datasets.load_fashion_mnist()
    assert found.source == DEBIAN_FASHION and found.verified and found.spec.name == "fashion-mnist"
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and x.dtype == np.float32
    assert np.bincount(t).tolist() == [6000] * 10 and np.bincount(tt).tolist() == [1000] * 10
    (kx, ky), _ = datasets.fashion_mnist.load_data()
    assert kx.shape == (60000, 28, 28) and kx.dtype == np.uint8 and ky.dtype == np.uint8
    # the same folder handed to the MNIST loader is recognised, not refused as a corrupt MNIST
    found = datasets.find("mnist", data_dir=DEBIAN_FASHION)
    assert found.spec.name == "fashion-mnist" and found.verified and "not MNIST" in found.notes[0]


@needs_debian
def test_cli_trains_on_real_fashion_mnist_offline(home, capsys):
    assert main(["train", "--dataset", "fashion-mnist", "--epochs", "1", "--hidden", "30", "--quiet",
                 "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert f"Fashion-MNIST from {DEBIAN_FASHION} (checksums verified)" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.75  # one epoch of a small sigmoid net; MNIST-trained or shuffled labels would be ~0.1
