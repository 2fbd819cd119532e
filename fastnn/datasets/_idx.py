"""IDX files (MNIST's format): parse with every check, gzip or raw.

An IDX file is a 4-byte magic number (two zero bytes, the element type 0x08 = uint8, the number of
dimensions), one big-endian uint32 per dimension, then the elements. Images have 3 dimensions
(magic 2051), labels 1 (magic 2049).
"""
import gzip
import hashlib
import zlib

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(raw):
    return raw[:2] == GZIP_MAGIC


def read_file(path):
    """(the file's bytes, its uncompressed bytes): gunzipped when it starts with the gzip magic.

    Raises
    ------
    ValueError
        Naming path, when the gzip data is corrupt or truncated (bad deflate stream, CRC or length).
    """
    with open(path, "rb") as f:
        raw = f.read()
    if not is_gzip(raw):
        return raw, raw
    try:
        return raw, gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; a broken deflate stream is zlib's
        raise ValueError(f"{path}: corrupt or truncated gzip data ({type(exc).__name__}: {exc})") from None


def read_bytes(path):
    """The uncompressed bytes of a file, gunzipped when it starts with the gzip magic."""
    return read_file(path)[1]


def md5(data):
    return hashlib.md5(data).hexdigest()


def parse(data, name, expected_magic):
    """An IDX byte string as a uint8 array; checks magic, dimensions and length.

    Images (magic 2051) give (n, rows, cols); labels (2049) give (n,).
    """
    if len(data) < 8:
        raise ValueError(f"{name}: {len(data)} bytes is too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{name}: wrong magic number {magic}, expected {expected_magic} "
                         f"({'images' if expected_magic == IMAGES_MAGIC else 'labels'})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape, dtype=np.int64))
    if len(data) != header + size:
        raise ValueError(f"{name}: {len(data) - header} bytes of data for shape {shape}, expected {size} "
                         f"(truncated or padded file)")
    if 0 in shape:
        raise ValueError(f"{name}: empty IDX array of shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def check_split(images, labels, images_name, labels_name, label_range):
    """Images and labels of one split agree: as many labels as images, every label in label_range.

    Parameters
    ----------
    images, labels : ndarray
        Parsed IDX arrays, (n, rows, cols) and (n,).
    images_name, labels_name : str
        The files they came from, for the messages.
    label_range : (int, int)
        Smallest and largest label allowed (inclusive).
    """
    if len(images) != len(labels):
        raise ValueError(f"{labels_name}: {len(labels)} labels for the {len(images)} images of {images_name} "
                         f"(header counts disagree)")
    low, high = label_range
    bad = (labels < low) | (labels > high)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{labels_name}: label {int(labels[i])} at row {i} is out of range, expected "
                         f"{low}..{high} ({int(bad.sum())} labels out of range)")


def check_image_sizes(train_images, test_images, train_name, test_name):
    """Training and test images have the same rows x cols."""
    if train_images.shape[1:] != test_images.shape[1:]:
        raise ValueError(f"{test_name}: images of {test_images.shape[1]}x{test_images.shape[2]} pixels, but "
                         f"{train_name} has {train_images.shape[1]}x{train_images.shape[2]}")
