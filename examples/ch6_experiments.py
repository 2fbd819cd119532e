"""The book's chapter-6 experiments on fastnn, each saving its plot.

    python examples/ch6_experiments.py [--out ch6_plots] [--quick] [experiment ...]

Experiments: optimizers, init, batchnorm, dropout, weight_decay, search. --quick shortens every run.
"""
import argparse
import os

import numpy as np

import fastnn
from fastnn.datasets import MNISTUnavailable, load_digits, load_mnist


def data():
    try:
        return load_mnist(normalize=True)
    except MNISTUnavailable:
        print("MNIST is not available: using scikit-learn's 8x8 digits")
        return load_digits()


def plot(path, title, curves, ylabel):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, ys in curves.items():
        ax.plot(np.arange(len(ys)), ys, label=label)
    ax.set_title(title)
    ax.set_xlabel("iterations" if "loss" in ylabel else "epochs")
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")


def smooth(values, k=20):
    values = np.asarray(values)
    return np.convolve(values, np.ones(k) / k, mode="valid") if len(values) > k else values


def run(net, x, t, optimizer, iters, batch=128, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(iters):
        idx = rng.choice(len(x), batch)
        optimizer.update(net.params, net.gradient(x[idx], t[idx]))
        losses.append(net.loss(x[idx], t[idx]))
    return losses


def optimizers(x, t, out, iters):
    curves = {}
    for name, opt in (("SGD", fastnn.SGD(0.01)), ("Momentum", fastnn.Momentum(0.01)),
                      ("AdaGrad", fastnn.AdaGrad(0.01)), ("Adam", fastnn.Adam(0.001))):
        net = fastnn.MultiLayerNet(x.shape[1], [100] * 4, 10, seed=0)
        curves[name] = smooth(run(net, x, t, opt, iters))
    plot(os.path.join(out, "optimizers.png"), "optimizer comparison (5 layers)", curves, "loss")


def init(x, t, out, iters):
    curves = {}
    for label, std in (("std=0.01", 0.01), ("Xavier", "sigmoid"), ("He", "relu")):
        net = fastnn.MultiLayerNet(x.shape[1], [100] * 4, 10, weight_init_std=std, seed=0)
        curves[label] = smooth(run(net, x, t, fastnn.SGD(0.01), iters))
    plot(os.path.join(out, "weight_init.png"), "weight initialisation (relu, 5 layers)", curves, "loss")


def epochs_of(net, x, t, xt, tt, epochs, lr=0.01, optimizer=None, batch=100, seed=0):
    trainer = fastnn.Trainer(net, x, t, xt, tt, epochs=epochs, mini_batch_size=batch,
                             optimizer=optimizer or "SGD", optimizer_param={"lr": lr}, verbose=False, seed=seed)
    trainer.train()
    return trainer.train_acc_list, trainer.test_acc_list


def batchnorm(x, t, xt, tt, out, epochs):
    curves = {}
    for use in (False, True):
        net = fastnn.MultiLayerNetExtend(x.shape[1], [100] * 5, 10, weight_init_std=0.05, use_batchnorm=use, seed=0)
        curves["batchnorm" if use else "no batchnorm"] = epochs_of(net, x[:1000], t[:1000], xt, tt, epochs)[0]
    plot(os.path.join(out, "batchnorm.png"), "batch normalisation (1,000 images)", curves, "train accuracy")


def overfit(x, t, xt, tt, out, epochs, **kwargs):
    net = fastnn.MultiLayerNetExtend(x.shape[1], [100] * 6, 10, seed=0, **kwargs)
    train, test = epochs_of(net, x[:300], t[:300], xt, tt, epochs)
    return {"train": train, "test": test}


def dropout(x, t, xt, tt, out, epochs):
    plot(os.path.join(out, "dropout.png"), "dropout 0.2 (300 images, 7 layers)",
         overfit(x, t, xt, tt, out, epochs, use_dropout=True, dropout_ration=0.2), "accuracy")


def weight_decay(x, t, xt, tt, out, epochs):
    plot(os.path.join(out, "weight_decay.png"), "weight decay 0.1 (300 images, 7 layers)",
         overfit(x, t, xt, tt, out, epochs, weight_decay_lambda=0.1), "accuracy")


def search(x, t, xt, tt, out, trials, epochs):
    rng = np.random.default_rng(0)
    results = []
    for _ in range(trials):
        decay, lr = 10 ** rng.uniform(-8, -4), 10 ** rng.uniform(-6, -2)
        net = fastnn.MultiLayerNet(x.shape[1], [100] * 5, 10, weight_decay_lambda=decay, seed=0)
        _, test = epochs_of(net, x[:500], t[:500], xt[:500], tt[:500], epochs, lr=lr)
        results.append((test[-1], lr, decay, test))
    results.sort(key=lambda r: -r[0])
    for acc, lr, decay, _ in results[:5]:
        print(f"val acc {acc:.3f} | lr {lr:.2e}, weight decay {decay:.2e}")
    plot(os.path.join(out, "search.png"), "random search: best 5 (validation accuracy)",
         {f"lr {lr:.1e}, wd {decay:.1e}": curve for _, lr, decay, curve in results[:5]}, "accuracy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*",
                        default=["optimizers", "init", "batchnorm", "dropout", "weight_decay", "search"])
    parser.add_argument("--out", default="ch6_plots")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    (x, t), (xt, tt) = data()
    iters, epochs = (60, 3) if args.quick else (2000, 40)
    for name in args.experiments:
        if name == "optimizers":
            optimizers(x, t, args.out, iters)
        elif name == "init":
            init(x, t, args.out, iters)
        elif name == "batchnorm":
            batchnorm(x, t, xt, tt, args.out, epochs)
        elif name == "dropout":
            dropout(x, t, xt, tt, args.out, epochs)
        elif name == "weight_decay":
            weight_decay(x, t, xt, tt, args.out, epochs)
        elif name == "search":
            search(x, t, xt, tt, args.out, 4 if args.quick else 30, 2 if args.quick else 20)
        else:
            parser.error(f"unknown experiment {name!r}")


if __name__ == "__main__":
    main()
