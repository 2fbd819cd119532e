"""The MNIST family as data: one table of dataset specs read by one loader (``_engine``).

Checksums are the published ones, never computed here:

- MNIST: MD5 of the uncompressed IDX files (as fastnn always checked) and of the ``.gz`` files
  (torchvision's ``MNIST.resources``).
- Fashion-MNIST: MD5 of the ``.gz`` files from Zalando's README (also torchvision's
  ``FashionMNIST.resources``) and of the uncompressed files (published alongside in several loaders;
  Debian's ``dataset-fashion-mnist`` recompresses the files, and its contents match these).
- KMNIST: MD5 of the ``.gz`` files (torchvision's ``KMNIST.resources``; tensorflow-datasets publishes
  SHA-256s of the same files). No checksum of the uncompressed files is published, so a folder of
  uncompressed KMNIST files is read after the structural checks, with a note.
- EMNIST: MD5 of NIST's ``gzip.zip`` (torchvision's ``EMNIST.md5``) and of each ``.gz`` inside it
  (deeplearning4j's ``EmnistFetcher`` and the ``mnists`` package agree on all 24). No checksum of the
  uncompressed files is published (torchvision keeps only those): they are read after the structural
  checks and the published image counts, with a note.
"""
import os
from dataclasses import dataclass, field

from ._idx import IMAGES_MAGIC, LABELS_MAGIC

KEYS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class IdxFile:
    """One of a dataset's four IDX files."""

    stem: str                    #: file name without ``.gz``
    magic: int                   #: 2051 images, 2049 labels
    md5: str = None              #: MD5 of the uncompressed file, when published
    gz_md5: str = None           #: MD5 of the published ``.gz``, when published


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the loader needs to know about one dataset of the MNIST family."""

    name: str                    #: ``--dataset`` name, e.g. ``"fashion-mnist"``
    title: str                   #: for messages, e.g. ``"Fashion-MNIST"``
    files: dict                  #: KEYS -> IdxFile
    label_range: tuple           #: (smallest, largest) label, inclusive
    counts: tuple = None         #: published (train, test) image counts, checked when no checksum can be
    mirrors: tuple = ()          #: base URLs serving ``<stem>.gz``
    archive: tuple = None        #: (URL, MD5, member folder) of a zip holding the ``.gz`` files (EMNIST)
    cache_folder: str = None     #: sub-folder of fastnn's cache
    places: tuple = ()           #: (label, path relative to "~" or "."): folders other tools keep
    env_dir: str = None          #: environment variable naming a folder of the four files
    transpose: bool = False      #: images are stored column-major (EMNIST): transpose to MNIST's orientation
    extra: dict = field(default_factory=dict)

    @property
    def n_classes(self):
        """Width of a one-hot label: largest label + 1."""
        return self.label_range[1] + 1

    def digests(self):
        """True when at least one checksum is published for this dataset's files."""
        return any(f.md5 or f.gz_md5 for f in self.files.values())


def _files(prefix, md5=None, gz_md5=None):
    md5, gz_md5 = md5 or {}, gz_md5 or {}
    stems = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    if prefix:  # EMNIST: emnist-digits-train-images-idx3-ubyte, emnist-digits-test-images-idx3-ubyte
        stems = {k: f"{prefix}-{v.replace('t10k', 'test')}" for k, v in stems.items()}
    return {k: IdxFile(stems[k], IMAGES_MAGIC if k.endswith("images") else LABELS_MAGIC, md5.get(k), gz_md5.get(k))
            for k in KEYS}


def _torchvision(folder):
    # torchvision keeps data/<Name>/raw relative to where the script runs (its root= argument); also try ~.
    return tuple((f"torchvision's {folder}/raw", os.path.join(root, "data", folder, "raw")) for root in (".", "~"))


MNIST = DatasetSpec(
    "mnist", "MNIST",
    _files(None, md5={"train_images": "6bbc9ace898e44ae57da46a324031adb",
                      "train_labels": "a25bea736e30d166cdddb491f175f624",
                      "test_images": "2646ac647ad5339dbf082846283269ea",
                      "test_labels": "27ae3e4e09519cfbb04c329615203637"},
           gz_md5={"train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                   "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
                   "test_images": "9fb629c4189551a2d022fa330f9573f3",
                   "test_labels": "ec29112dd5afa0611ce80d1b7f02629c"}),
    label_range=(0, 9), counts=(60000, 10000),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    cache_folder="mnist", env_dir="FASTNN_MNIST_DIR")

FASHION_MNIST = DatasetSpec(
    "fashion-mnist", "Fashion-MNIST",
    _files(None, md5={"train_images": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                      "train_labels": "9018921c3c673c538a1fc5bad174d6f9",
                      "test_images": "8181f5470baa50b63fa0f6fddb340f0a",
                      "test_labels": "15d484375f8d13e6eb1aabb0c3f46965"},
           gz_md5={"train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                   "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
                   "test_images": "bef4ecab320f06d8554ea6380940ec79",
                   "test_labels": "bb300cfdad3c16e7a12a480ee83cd310"}),
    label_range=(0, 9), counts=(60000, 10000),
    mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
             "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    cache_folder="fashion-mnist",
    places=(("Debian's dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"),
            ("Keras' cache", "~/.keras/datasets/fashion-mnist")) + _torchvision("FashionMNIST"))

KMNIST = DatasetSpec(
    "kmnist", "Kuzushiji-MNIST",
    _files(None, gz_md5={"train_images": "bdb82020997e1d708af4cf47b453dcf7",
                         "train_labels": "e144d726b3acfaa3e44228e80efcd344",
                         "test_images": "5c965bf0a639b31b8f53240b1b52f4d7",
                         "test_labels": "7320c461ea6c1c855c0b718fb2a4b134"}),
    label_range=(0, 9), counts=(60000, 10000),
    mirrors=("https://codh.rois.ac.jp/kmnist/dataset/kmnist/", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"),
    cache_folder="kmnist", places=_torchvision("KMNIST"))

#: EMNIST split -> (label range, published (train, test) counts, MD5 of the four .gz files in KEYS order)
EMNIST_SPLITS = {
    "digits": ((0, 9), (240000, 40000), ("d2662ecdc47895a6bbfce25de9e9a677", "2223fcfee618ac9c89ef20b6e48bcf9e",
                                         "a159b8b3bd6ab4ed4793c1cb71a2f5cc", "8afde66ea51d865689083ba6bb779fac")),
    "letters": ((1, 26), (124800, 20800), ("8795078f199c478165fe18db82625747", "c16de4f1848ddcdddd39ab65d2a7be52",
                                           "382093a19703f68edac6d01b8dfdfcad", "d4108920cd86601ec7689a97f2de7f59")),
    "balanced": ((0, 46), (112800, 18800), ("4041b0d6f15785d3fa35263901b5496b", "7a35cc7b2b7ee7671eddf028570fbd20",
                                            "6818d20fe2ce1880476f747bbc80b22b", "acd3694070dcbf620e36670519d4b32f")),
    "bymerge": ((0, 46), (697932, 116323), ("4a792d4df261d7e1ba27979573bf53f3", "491be69ef99e1ab1f5b7f9ccc908bb26",
                                            "8eb5d34c91f1759a55831c37ec2a283f", "c13f4cd5211cdba1b8fa992dae2be992")),
    "byclass": ((0, 61), (697932, 116323), ("712dda0bd6f00690f32236ae4325c377", "ee299a3ee5faf5c31e9406763eae7e43",
                                            "1435209e34070a9002867a9ab50160d7", "7a0f934bd176c798ecba96b36fda6657")),
    "mnist": ((0, 9), (60000, 10000), ("3663598a39195d030895b6304abb5065", "6c092f03c9bb63e678f80f8bc605fe37",
                                       "fb51b6430fc4dd67deaada1bf25d4524", "ae7f6be798a9a5d5f2bd32e078a402dd")),
}
EMNIST_ZIP = ("https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip", "58c8d27c78d21e728a6bc7b3cc06412e", "gzip")


def _emnist(split):
    labels, counts, gz = EMNIST_SPLITS[split]
    return DatasetSpec(
        f"emnist-{split}", f"EMNIST {split}", _files(f"emnist-{split}", gz_md5=dict(zip(KEYS, gz))),
        label_range=labels, counts=counts, archive=EMNIST_ZIP, cache_folder="emnist",
        places=_torchvision("EMNIST"), transpose=True)


#: ``--dataset`` name -> spec
SPECS = {s.name: s for s in [MNIST, FASHION_MNIST, KMNIST] + [_emnist(split) for split in EMNIST_SPLITS]}
NAMES = tuple(SPECS)


def get_spec(name):
    """The spec of a dataset name (``"mnist"``, ``"fashion-mnist"``, ``"kmnist"``, ``"emnist-digits"``...)."""
    if not isinstance(name, str):
        raise TypeError(f"dataset must be a string, one of {', '.join(NAMES)}; got {type(name).__name__}")
    spec = SPECS.get(name.strip().lower().replace("_", "-"))
    if spec is None:
        raise ValueError(f"dataset must be one of {', '.join(NAMES)}; got {name!r}")
    return spec
