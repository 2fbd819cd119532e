"""IDX files (MNIST's format): parse with every check, gzip or raw."""
import gzip
import hashlib

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def read_bytes(path):
    """The uncompressed bytes of a file, gunzipped when it starts with the gzip magic."""
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        raw = f.read()
    if head == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return raw


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
    size = int(np.prod(shape))
    if len(data) != header + size:
        raise ValueError(f"{name}: {len(data) - header} bytes of data for shape {shape}, expected {size} "
                         f"(truncated or padded file)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
