"""The ``fastnn`` command: a few lines over library functions per subcommand."""
import argparse
import os
import platform
import sys
import time

import numpy as np

from . import __version__, _config
from .backends import available_backends, get_backend, unavailable_reasons


def _info_lines():
    from threadpoolctl import threadpool_info

    import scipy

    lines = [f"fastnn {__version__}", f"python {platform.python_version()} ({platform.machine()})",
             f"numpy {np.__version__}", f"scipy {scipy.__version__}"]
    for name in available_backends():
        lines.append(f"backend {name}: {get_backend(name).NOTES}")
    for name, why in unavailable_reasons().items():
        lines.append(f"backend {name}: unavailable ({why})")
    lines.append(f"auto backend: {get_backend('auto').NAME}")
    lines.append("MultiLayerNet: the backend's compiled kernels (numba, cython) of any depth; with dropout or "
                 "batchnorm (MultiLayerNetExtend) the NumPy reference computes")
    from .backends import _cython_openmp
    if _cython_openmp() is not None:
        lines.append(f"compiled extension: OpenMP {'on' if _cython_openmp() else 'off (kernels run serially)'}")
    lines.append(f"threads: {_config.resolve_threads()} (cores available {_config.available_cores()}, "
                 f"{_config.ENV_NUM_THREADS}={os.environ.get(_config.ENV_NUM_THREADS, 'unset')})")
    from . import _cache
    folder, why = _cache.numba_cache
    lines.append(f"numba cache: {folder or 'numba default'} ({why}); data cache: {_cache.cache_root()}")
    for pool in threadpool_info():
        lines.append(f"threadpool: {pool.get('internal_api')} {pool.get('version')} "
                     f"({pool.get('user_api')}, {pool.get('num_threads')} threads) {pool.get('filepath')}")
    return lines


def cmd_info(args):
    print("\n".join(_info_lines()))
    return 0


def cmd_warmup(args):
    from .numerical import warmup
    warmup(verbose=True)
    return 0


def load_dataset(name, data_dir=None, out=None):
    """((x, t), (x_test, t_test)) scaled to [0, 1], and the name of what was loaded.

    Any dataset of the MNIST family by name (``fastnn.datasets.DATASETS``) or ``digits``; notes (a folder
    that is another known set, files with no published checksum) are printed. MNIST alone falls back to
    the bundled digits when it is nowhere, said plainly.
    """
    from .datasets import MNISTUnavailable, find, load_digits
    from .datasets._engine import book_format
    out = out or sys.stdout
    if name == "digits":
        return load_digits(), "digits"
    try:
        found = find(name, data_dir)
    except MNISTUnavailable as exc:
        print(f"{exc}\nUsing scikit-learn's bundled 8x8 digits instead (--dataset digits).", file=out)
        return load_digits(), "digits"
    print(f"{found.spec.title} from {found.source} "
          f"({'checksums verified' if found.verified else 'structure checked, not verified'})", file=out)
    for note in found.notes:
        print(f"note: {note}", file=out)
    return book_format(found), found.spec.name


def n_classes(dataset):
    """Output width for a dataset name returned by load_dataset: its largest label + 1."""
    from .datasets._specs import SPECS
    return SPECS[dataset].n_classes if dataset in SPECS else 10


def architecture(net):
    """'784-100-10' (TwoLayerNet) or '784-256-128-10' (MultiLayerNet): the widths of the layers."""
    hidden = getattr(net, "hidden_size_list", None)
    return "-".join(map(str, [net.input_size, *(hidden if hidden is not None else [net.hidden_size]),
                              net.output_size]))


def build_network(args, n_inputs, n_classes):
    """One --hidden width: the book's TwoLayerNet; several: a MultiLayerNet (``fastnn.make_network``)."""
    from .multilayer import make_network
    return make_network(n_inputs, args.hidden, n_classes, activation=args.activation, weight_init_std=args.init,
                        dtype=np.dtype(args.dtype), backend=args.backend, seed=args.seed, n_threads=args.threads)


def cmd_train(args):
    from .io import load_model
    from .trainer import Trainer, plot_history

    ((x, t), (x_test, t_test)), dataset = load_dataset(args.dataset, args.data_dir)
    if args.resume:
        net = load_model(args.resume, backend=args.backend, n_threads=args.threads)
    else:
        net = build_network(args, x.shape[1], n_classes(dataset))
    trainer = Trainer(net, x, t, x_test, t_test, epochs=args.epochs, mini_batch_size=args.batch_size,
                      optimizer=args.optimizer, optimizer_param={"lr": args.lr}, seed=args.seed,
                      gradient=args.gradient, verbose=not args.quiet, checkpoint=args.save or args.resume)
    if args.resume:
        trainer.load_checkpoint(args.resume)
        print(f"resuming {args.resume} after epoch {trainer.current_epoch} of {args.epochs}")
    start = time.perf_counter()
    history = trainer.train()
    total = time.perf_counter() - start
    epochs = len(history["loss"])
    print(f"{dataset}: {x.shape[0]} train / {x_test.shape[0]} test rows, {architecture(net)} "
          f"{net.activation}, {type(trainer.optimizer).__name__} lr {trainer.optimizer.lr}, "
          f"batch {args.batch_size}, {net.dtype.name}")
    if epochs:
        print(f"final train accuracy {history['accuracy'][-1]:.4f}, test accuracy {history['val_accuracy'][-1]:.4f}")
        print(f"{epochs} epochs, {total:.1f} s this run ({np.mean(history['epoch_time']):.3f} s per epoch of training)")
    print(f"backend {net.backend}, threads {_config.resolve_threads(args.threads)}")
    if args.save or args.resume:
        print(f"model and checkpoint saved to {args.save or args.resume}")
    if args.plot:
        plot_history(history, args.plot, title=f"fastnn {dataset} {architecture(net)}")
        print(f"curves saved to {args.plot}")
    return 130 if trainer.interrupted else 0


def _doctor_batch(data_dir, n):
    """(x raw 0..255, x scaled, t one-hot, t int, dataset name) of the first n training images."""
    data, name = load_dataset("mnist", data_dir)
    (x, t), _ = data
    top = 16.0 if name == "digits" else 255.0
    xs = np.asarray(x[:n], np.float64)
    return np.round(xs * top), xs, np.eye(10)[t[:n]], t[:n], name


def cmd_doctor(args):
    from .doctor import doctor
    from .learner import build_learner_network, load_definitions

    namespace, notes = load_definitions(args.file)
    for note in notes:
        print(f"note: {note}")
    raw, scaled, onehot, _, name = _doctor_batch(args.data_dir, args.batch)
    for label, x in ((f"raw {name} pixels", raw), (f"{name} pixels scaled to [0, 1]", scaled)):
        net = build_learner_network(namespace, args.class_name, x.shape[1], args.hidden, 10)
        print(f"\n== {args.class_name}({x.shape[1]}, {args.hidden}, 10) on {len(x)} {label}")
        doctor(net, x, onehot, lr=args.lr, lang=args.lang)
    return 0


def cmd_gradcheck(args):
    from .gradcheck import gradient_check
    from .io import load_model
    from .network import TwoLayerNet

    _, x, _, t, name = _doctor_batch(args.data_dir, args.batch)
    net = (load_model(args.model, backend=args.backend) if args.model else
           TwoLayerNet(x.shape[1], args.hidden, 10, "xavier", backend=args.backend, seed=0))
    print(f"gradient check of {net} on {len(x)} {name} images")
    result = gradient_check(net, x.astype(net.dtype), t)
    print(result)
    return 0 if result.passed else 1


def cmd_sweep(args):
    import json
    import os

    import joblib

    from .sweeps import sweep
    grid = args.grid
    if os.path.exists(grid):
        with open(grid) as f:
            grid = f.read()
    try:
        grid = json.loads(grid)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--grid must be a JSON object (or list of objects), or a file holding one: {exc}") from None
    kwargs = dict(epochs=args.epochs, n_train=args.n_train, n_jobs=args.n_jobs, threads_per_task=args.threads_per_task,
                  backend=args.backend, out=args.out)
    if args.dask:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ImportError("--dask needs dask.distributed: pip install 'fastnn[dask]'") from None
        with Client(args.dask), joblib.parallel_config("dask"):
            sweep(grid, args.data, **kwargs)
    elif args.ray:
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ImportError("--ray needs ray: pip install 'fastnn[ray]'") from None
        register_ray()
        with joblib.parallel_config("ray"):
            sweep(grid, args.data, **kwargs)
    else:
        sweep(grid, args.data, **kwargs)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="fastnn", description="The book's two-layer MNIST network, fast.")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("info", help="versions, backends, OpenMP, threads and BLAS").set_defaults(func=cmd_info)
    sub.add_parser("warmup", help="compile the jitted kernels now").set_defaults(func=cmd_warmup)

    doc = sub.add_parser("doctor", help="diagnose a learner's network script (why its gradients vanish)")
    doc.add_argument("file", help="a Python file defining the network class (its top-level code is not run)")
    doc.add_argument("--class", dest="class_name", default="TwoLayerNet")
    doc.add_argument("--hidden", type=int, default=50)
    doc.add_argument("--lr", type=float, default=None, help="the learning rate in use, to judge update sizes")
    doc.add_argument("--batch", type=int, default=32)
    doc.add_argument("--data-dir", default=None)
    doc.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (zh: Chinese)")
    doc.set_defaults(func=cmd_doctor)

    gc = sub.add_parser("gradcheck", help="backprop vs central difference, per parameter")
    gc.add_argument("model", nargs="?", default=None, help="a saved model (.npz); default a fresh network")
    gc.add_argument("--hidden", type=int, default=50)
    gc.add_argument("--batch", type=int, default=3)
    gc.add_argument("--backend", choices=("auto", "numpy", "numba", "cython"), default="auto")
    gc.add_argument("--data-dir", default=None)
    gc.set_defaults(func=cmd_gradcheck)

    sw = sub.add_parser("sweep", help="train a grid of configurations in parallel (joblib; Dask or Ray for clusters)")
    sw.add_argument("--grid", required=True,
                    help='JSON (or a file of it): {"hidden": [[100], [100, 100]], "lr": [0.01, 0.001], "seed": [0, 1]}')
    sw.add_argument("--data", choices=("mnist", "digits"), default="mnist")
    sw.add_argument("--epochs", type=int, default=None, help="override every configuration's epochs")
    sw.add_argument("--n-train", type=int, default=None, help="train on the first N rows only")
    sw.add_argument("--n-jobs", type=int, default=None, help="configurations at once (default: fill the cores)")
    sw.add_argument("--threads-per-task", type=int, default=None)
    sw.add_argument("--backend", choices=("auto", "numpy", "numba", "cython"), default="auto")
    sw.add_argument("--out", default=None, metavar="PATH", help="write the results to PATH (.csv or .json)")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--dask", default=None, metavar="ADDRESS", help="run on this Dask scheduler (tcp://host:8786)")
    where.add_argument("--ray", action="store_true", help="run on Ray (ray.init() finds or starts the cluster)")
    sw.set_defaults(func=cmd_sweep)

    train = sub.add_parser("train", help="train TwoLayerNet (or MultiLayerNet) on MNIST (or the bundled digits)")
    from .datasets import DATASETS
    train.add_argument("--dataset", choices=DATASETS + ("digits",), default="mnist",
                       help="the MNIST family (found, else downloaded and verified) or scikit-learn's 8x8 digits")
    train.add_argument("--data-dir", default=None,
                       help="folder with the four IDX files (a known set is verified, any other checked and noted)")
    train.add_argument("--hidden", type=int, nargs="+", default=[100], metavar="WIDTH",
                       help="hidden layer width (the book's TwoLayerNet); several widths build a MultiLayerNet")
    train.add_argument("--activation", choices=("sigmoid", "relu"), default="sigmoid")
    train.add_argument("--init", default="xavier", help="weight init: a std, 'xavier' or 'he'")
    train.add_argument("--optimizer", default="Momentum",
                       choices=("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "sgd", "momentum",
                                "nesterov", "adagrad", "rmsprop", "adam"))
    train.add_argument("--lr", type=float, default=0.1)
    train.add_argument("--batch-size", type=int, default=100)
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--backend", choices=("auto", "numpy", "numba", "cython"), default="auto")
    train.add_argument("--gradient", choices=("backprop", "numerical"), default="backprop")
    train.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--plot", default=None, metavar="PATH", help="save loss/accuracy curves to this PNG")
    train.add_argument("--save", default=None, metavar="PATH", help="save the model (and a checkpoint every epoch)")
    train.add_argument("--resume", default=None, metavar="PATH",
                       help="continue a run from its checkpoint (saved back to the same file unless --save)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch report")
    train.set_defaults(func=cmd_train)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "init", None) is not None:
        try:
            args.init = float(args.init)
        except ValueError:
            pass
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError, ImportError) as exc:
        print(f"fastnn: error: {exc}", file=sys.stderr)
        return 2
