"""The ``fastnn`` command: a few lines over library functions per subcommand."""
import argparse
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
    lines.append(f"threads: {_config.resolve_threads()} (cores available {_config.available_cores()}, "
                 f"{_config.ENV_NUM_THREADS}={__import__('os').environ.get(_config.ENV_NUM_THREADS, 'unset')})")
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
    """((x, t), (x_test, t_test)) scaled to [0, 1]; MNIST falls back to the bundled digits, said plainly."""
    from .datasets import MNISTUnavailable, load_digits, load_mnist
    if name == "digits":
        return load_digits(), "digits"
    try:
        return load_mnist(data_dir=data_dir), "mnist"
    except MNISTUnavailable as exc:
        print(f"MNIST is not available here ({str(exc).splitlines()[0]}).\n"
              "Training on scikit-learn's bundled 8x8 digits instead (--dataset digits).", file=out or sys.stdout)
        return load_digits(), "digits"


def cmd_train(args):
    from .network import TwoLayerNet
    from .trainer import Trainer

    ((x, t), (x_test, t_test)), dataset = load_dataset(args.dataset, args.data_dir)
    net = TwoLayerNet(x.shape[1], args.hidden, 10, args.init, activation=args.activation,
                      dtype=np.dtype(args.dtype), backend=args.backend, seed=args.seed, n_threads=args.threads)
    trainer = Trainer(net, x, t, x_test, t_test, epochs=args.epochs, mini_batch_size=args.batch_size,
                      optimizer=args.optimizer, optimizer_param={"lr": args.lr}, seed=args.seed,
                      gradient=args.gradient, verbose=not args.quiet)
    start = time.perf_counter()
    history = trainer.train()
    total = time.perf_counter() - start
    epochs = len(history["loss"])
    print(f"{dataset}: {x.shape[0]} train / {x_test.shape[0]} test rows, {x.shape[1]}-{args.hidden}-10 "
          f"{args.activation}, {args.optimizer} lr {args.lr}, batch {args.batch_size}, {args.dtype}")
    if epochs:
        print(f"final train accuracy {history['accuracy'][-1]:.4f}, test accuracy {history['val_accuracy'][-1]:.4f}")
        print(f"{epochs} epochs in {total:.1f} s ({np.mean(history['epoch_time']):.3f} s per epoch of training)")
    print(f"backend {net.backend}, threads {_config.resolve_threads(args.threads)}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="fastnn", description="The book's two-layer MNIST network, fast.")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("info", help="versions, backends, OpenMP, threads and BLAS").set_defaults(func=cmd_info)
    sub.add_parser("warmup", help="compile the jitted kernels now").set_defaults(func=cmd_warmup)

    train = sub.add_parser("train", help="train TwoLayerNet on MNIST (or the bundled digits)")
    train.add_argument("--dataset", choices=("mnist", "digits"), default="mnist")
    train.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    train.add_argument("--hidden", type=int, default=100)
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
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines")
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
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as exc:
        print(f"fastnn: error: {exc}", file=sys.stderr)
        return 2
