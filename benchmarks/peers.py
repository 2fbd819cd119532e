"""The peers fastnn is measured against: the tightest plain-NumPy epoch and PyTorch's."""
import numpy as np


def numpy_epoch(params, x, t, perm, batch_size, lr):
    """One SGD epoch of the sigmoid 784-H-10 net in plain NumPy, as tight as it allows.

    Buffers are allocated once; every product writes into them (np.dot(..., out=)); elementwise work
    is in place. Updates params in place; returns the mean batch loss.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    dt = W1.dtype
    h, k = W2.shape
    xb = np.empty((batch_size, x.shape[1]), dt)
    z1, dz1, tmp = np.empty((batch_size, h), dt), np.empty((batch_size, h), dt), np.empty((batch_size, h), dt)
    a2 = np.empty((batch_size, k), dt)
    gW1, gW2 = np.empty_like(W1), np.empty_like(W2)
    losses = []
    for start in range(0, len(perm), batch_size):
        idx = perm[start:start + batch_size]
        n = len(idx)
        X, Z, DZ, A, S = xb[:n], z1[:n], dz1[:n], a2[:n], tmp[:n]
        np.take(x, idx, axis=0, out=X)
        tb = t[idx]
        rows = np.arange(n)
        np.dot(X, W1, out=Z)
        Z += b1
        np.negative(Z, out=Z)
        np.exp(Z, out=Z)
        Z += 1
        np.reciprocal(Z, out=Z)
        np.dot(Z, W2, out=A)
        A += b2
        A -= A.max(axis=1, keepdims=True)
        np.exp(A, out=A)
        A /= A.sum(axis=1, keepdims=True)
        losses.append(-np.log(A[rows, tb]).mean())
        A[rows, tb] -= 1
        A *= dt.type(1.0 / n)
        np.dot(A, W2.T, out=DZ)
        DZ *= Z
        np.subtract(1, Z, out=S)
        DZ *= S
        np.dot(Z.T, A, out=gW2)
        np.dot(X.T, DZ, out=gW1)
        gW2 *= lr
        W2 -= gW2
        b2 -= lr * A.sum(axis=0)
        gW1 *= lr
        W1 -= gW1
        b1 -= lr * DZ.sum(axis=0)
    return float(np.mean(losses))


def torch_epoch_runner(params, x, t, batch_size, lr, threads, activation="sigmoid"):
    """A function running one PyTorch SGD epoch for a permutation: nn.Linear layers (W1, b1, W2, b2, ... of
    params) with the activation between them, cross_entropy, optim.SGD.

    Returns (run(perm) -> mean loss, state() -> params dict as NumPy, load(params)) so the benchmark can check it.
    """
    import torch

    torch.set_num_threads(threads)
    dtype = {np.float32: torch.float32, np.float64: torch.float64}[params["W1"].dtype.type]
    act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[activation]
    n_layers = sum(1 for k in params if k.startswith("W"))
    layers = []
    for i in range(1, n_layers + 1):
        layers.append(torch.nn.Linear(*params[f"W{i}"].shape))
        if i < n_layers:
            layers.append(act())
    model = torch.nn.Sequential(*layers).to(dtype)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    X = torch.from_numpy(np.ascontiguousarray(x, dtype=params["W1"].dtype))
    T = torch.from_numpy(np.asarray(t, dtype=np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.functional.cross_entropy

    def load(p):
        with torch.no_grad():
            for i, lin in enumerate(linears, 1):
                lin.weight.copy_(torch.from_numpy(p[f"W{i}"].T.copy()))
                lin.bias.copy_(torch.from_numpy(p[f"b{i}"].copy()))

    def run(perm):
        order = torch.from_numpy(np.asarray(perm, dtype=np.int64))
        total, steps = torch.zeros((), dtype=torch.float64), 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), T[idx])
            loss.backward()
            opt.step()
            total += loss.detach()
            steps += 1
        return float(total) / steps

    def state():
        out = {}
        for i, lin in enumerate(linears, 1):
            out[f"W{i}"] = lin.weight.detach().numpy().T
            out[f"b{i}"] = lin.bias.detach().numpy()
        return out

    load(params)
    return run, state, load
