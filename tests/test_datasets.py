"""MNIST loading: IDX checks, sources, and downloads from a local HTTP server with bad files."""
import gzip
import hashlib
import http.server
import os
import threading
import time

import numpy as np
import pytest

from fastnn.datasets import MNISTUnavailable, _idx, load_mnist, mnist


def idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_set():
    """Four tiny IDX files (60 train / 10 test images of 28x28) and their MD5 table."""
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (60, 28, 28)), "train_labels": rng.integers(0, 10, 60),
              "test_images": rng.integers(0, 256, (10, 28, 28)), "test_labels": rng.integers(0, 10, 10)}
    files, table = {}, {}
    for key, (stem, _, magic) in mnist.FILES.items():
        raw = idx_bytes(arrays[key], magic)
        files[stem + ".gz"] = gzip.compress(raw)
        table[key] = (stem, hashlib.md5(raw).hexdigest(), magic)
    return arrays, files, table


@pytest.fixture
def synthetic(monkeypatch, tmp_path):
    arrays, files, table = synthetic_set()
    monkeypatch.setattr(mnist, "FILES", table)
    monkeypatch.setenv("FASTNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FASTNN_MNIST_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return arrays, files


class Server:
    """Serves {name: bytes} on 127.0.0.1; names starting 'slow-' stall, unknown names are 404."""

    def __init__(self, files):
        self.files = files
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                body = outer.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(outer.lengths.get(name, len(body))))
                self.end_headers()
                if self.path.startswith("/slow/"):
                    time.sleep(2)
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.lengths = {}
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server({})
    yield s
    s.close()


def cache_files():
    folder = mnist.cache_dir()
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_download_verifies_and_lands_in_the_cache(synthetic, server):
    arrays, files = synthetic
    server.files.update(files)
    got = mnist.load_arrays(mirrors=(server.url + "/",))
    for key in arrays:
        np.testing.assert_array_equal(got[key], arrays[key])
    assert cache_files() == sorted(files)
    server.files.clear()  # the second load reads the cache, not the network
    np.testing.assert_array_equal(mnist.load_arrays(mirrors=(server.url + "/",))["test_labels"], arrays["test_labels"])


@pytest.mark.parametrize("fault", ["404", "corrupt", "truncated", "wrong-magic", "cut-connection"])
def test_bad_downloads_leave_nothing_and_say_what_was_tried(synthetic, server, fault):
    arrays, files = synthetic
    server.files.update(files)
    name = "train-labels-idx1-ubyte.gz"
    if fault == "404":
        del server.files[name]
    elif fault == "corrupt":
        server.files[name] = b"\x1f\x8b" + os.urandom(200)
    elif fault == "truncated":
        server.files[name] = files[name][: len(files[name]) // 2]
    elif fault == "wrong-magic":
        server.files[name] = gzip.compress(idx_bytes(arrays["train_images"], 2049))
    else:
        server.lengths[name] = len(files[name]) + 100
    with pytest.raises(MNISTUnavailable) as info:
        mnist.load_arrays(mirrors=(server.url + "/",), timeout=5)
    message = str(info.value)
    assert "Tried:" in message and "train-labels-idx1-ubyte" in message and "FASTNN_MNIST_DIR" in message
    assert all(not f.startswith((".download-", "train-labels")) for f in cache_files())


def test_slow_server_times_out_cleanly(synthetic, server):
    _, files = synthetic
    server.files.update(files)
    with pytest.raises(MNISTUnavailable, match="timed out|could not download"):
        mnist.download(mnist.cache_dir(), mirrors=(server.url + "/slow/",), timeout=0.5)
    assert cache_files() == []


def test_no_network_names_every_source(synthetic):
    with pytest.raises(MNISTUnavailable) as info:
        mnist.load_arrays(mirrors=("http://127.0.0.1:9/",), timeout=2)
    for source in ("fastnn's cache", "Keras' cache", "torchvision's raw folder", "mnist.pkl", "download"):
        assert source in str(info.value)


def test_a_corrupt_cache_file_is_reported_not_used(synthetic):
    arrays, files = synthetic
    os.makedirs(mnist.cache_dir())
    for name, body in files.items():
        with open(os.path.join(mnist.cache_dir(), name), "wb") as f:
            f.write(body if "t10k-images" not in name else body[:-10])
    with pytest.raises(MNISTUnavailable, match="t10k-images"):
        mnist.load_arrays(download_if_missing=False)


def test_explicit_folder_reads_raw_or_gzip_and_book_shapes(synthetic, tmp_path):
    arrays, files = synthetic
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, body in files.items():
        (folder / name[:-3]).write_bytes(gzip.decompress(body))  # uncompressed IDX
    (x, t), (xt, tt) = load_mnist(data_dir=str(folder), one_hot_label=True)
    assert x.shape == (60, 784) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert t.shape == (60, 10) and (t.argmax(1) == arrays["train_labels"]).all()
    (x, _), _ = load_mnist(data_dir=str(folder), normalize=False, flatten=False)
    assert x.shape == (60, 1, 28, 28) and x.dtype == np.uint8


def test_missing_explicit_folder_is_a_clear_error(synthetic):
    with pytest.raises(MNISTUnavailable, match="does not exist"):
        load_mnist(data_dir="/no/such/folder")


def test_keras_npz_in_keras_cache_is_used_when_its_checksum_matches(synthetic, tmp_path, monkeypatch):
    arrays, _ = synthetic
    path = tmp_path / "home" / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=arrays["train_images"].astype(np.uint8), y_train=arrays["train_labels"].astype(np.uint8),
             x_test=arrays["test_images"].astype(np.uint8), y_test=arrays["test_labels"].astype(np.uint8))
    monkeypatch.setattr(mnist, "KERAS_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    got = mnist.load_arrays(download_if_missing=False)
    np.testing.assert_array_equal(got["train_images"], arrays["train_images"])


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00\x08\x01", "too short"),
    (idx_bytes(np.zeros(5), 2049)[:-1], "truncated or padded"),
    (idx_bytes(np.zeros((2, 3, 3)), 2051), "wrong magic number 2051, expected 2049"),
])
def test_idx_parser_checks(data, message):
    with pytest.raises(ValueError, match=message):
        _idx.parse(data, "f", 2049)


def test_real_mnist_from_the_shared_folder(mnist):
    (x, t), (xt, tt) = mnist
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and t.shape == (60000,)
    assert np.bincount(t).min() > 5000 and x.max() == 1.0
    (kx, ky), _ = __import__("fastnn.datasets.mnist", fromlist=["load_data"]).load_data()
    assert kx.shape == (60000, 28, 28) and kx.dtype == np.uint8 and ky.dtype == np.uint8
