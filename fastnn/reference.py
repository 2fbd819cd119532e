"""The pure-NumPy reference: the oracle every fast path is judged by.

Obviously correct before fast, and importing nothing from fastnn's fast paths.

Conventions shared by every backend
-----------------------------------
* ``params`` maps 'W1' (D, H), 'b1' (H,), 'W2' (H, K), 'b2' (K,).
* Labels ``t`` reaching these functions are integer class indices of shape (N,); the public
  wrappers turn one-hot labels into indices at the door.
* Loss ``'cross_entropy'`` is the mean over the batch of ``logsumexp(a2) - a2[t]``: the exact,
  stable log-softmax form. The book instead adds 1e-7 inside ``log(y)``; that bias makes backprop
  and the numerical gradient disagree at the 1e-7 level (the book's own gradient check shows it on
  b2), while the exact form never takes ``log(0)`` and its backprop is exactly ``softmax - onehot``.
* Loss ``'mse'`` is ``0.5 * sum((softmax(a2) - onehot(t))**2) / N``: the book's mean squared error
  of the network's probabilities, averaged over the batch like the cross-entropy.
"""
import numpy as np

from ._config import BN_EPS, BN_MOMENTUM, DEFAULT_H

ACTIVATIONS = ("sigmoid", "relu")
LOSSES = ("cross_entropy", "mse")


# --- the book's functions, done right ------------------------------------------------------------

def sigmoid(x):
    """1 / (1 + exp(-x)), stable for any input (no overflow warning at +-1000)."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x, np.float32))


def sigmoid_grad(z):
    """d sigmoid / da written from the output z = sigmoid(a): z (1 - z)."""
    return z * (1.0 - z)


def relu(x):
    """max(x, 0)."""
    return np.maximum(x, 0)


def relu_grad(z):
    """d relu / da written from the output z = relu(a): 1 where z > 0."""
    return (z > 0).astype(z.dtype)


def tanh(x):
    """tanh(x)."""
    return np.tanh(x)


def tanh_grad(z):
    """d tanh / da written from the output z = tanh(a): 1 - z^2."""
    return 1 - z * z


def identity(x):
    """x itself (a copy, so that in-place work on the output never touches the input)."""
    return np.array(x, copy=True)


def identity_grad(z):
    """1 everywhere."""
    return np.ones_like(z)


#: Every activation of every network, name -> function and name -> derivative from the output.
ACTIVATION_FUNCTIONS = {"sigmoid": sigmoid, "relu": relu, "tanh": tanh, "identity": identity}
ACTIVATION_DERIVATIVES = {"sigmoid": sigmoid_grad, "relu": relu_grad, "tanh": tanh_grad,
                          "identity": identity_grad}


def log_softmax(a):
    """a - logsumexp(a) over the last axis, stable for large logits."""
    a = np.asarray(a)
    shifted = a - np.max(a, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(a):
    """exp(a) / sum(exp(a)) row-wise over the last axis; a 1-D input is one row."""
    a = np.asarray(a)
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _as_batch(y, t):
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.ndim == 1 and t.size == y.shape[1] and t.size > 1 else t.reshape(-1)
    if t.ndim == 2:  # one-hot
        t = np.argmax(t, axis=1)
    return y, t.astype(np.intp)


def cross_entropy_error(y, t):
    """-mean_n log y[n, t_n] for probabilities y; labels one-hot or integer; 1-D y is a batch of one.

    ``log(0)`` is avoided by flooring y at the smallest positive normal number (the loss stays
    finite, about 708 per row in float64), not by adding the book's 1e-7, which biases the loss.
    """
    y, t = _as_batch(y, t)
    p = y[np.arange(y.shape[0]), t]
    return -np.mean(np.log(np.maximum(p, np.finfo(y.dtype).tiny)))


def mean_squared_error(y, t):
    """0.5 * sum((y - t)**2) / N; labels one-hot or integer; 1-D y is a batch of one."""
    y, t = _as_batch(y, t)
    return 0.5 * np.sum((y - one_hot(t, y.shape[1], y.dtype)) ** 2) / y.shape[0]


def one_hot(t, n_classes, dtype=np.float64):
    """Rows of the identity picked by the integer labels t."""
    out = np.zeros((t.shape[0], n_classes), dtype=dtype)
    out[np.arange(t.shape[0]), t] = 1
    return out


def softmax_cross_entropy(a, t):
    """Mean over rows of logsumexp(a) - a[t]: the network's loss, from logits."""
    return -np.mean(log_softmax(a)[np.arange(a.shape[0]), t])


# --- the two-layer network -----------------------------------------------------------------------

def forward(params, x, activation="sigmoid"):
    """a1 = x W1 + b1, z1 = act(a1), a2 = z1 W2 + b2; returns (z1, a2)."""
    z1 = ACTIVATION_FUNCTIONS[activation](x @ params["W1"] + params["b1"])
    return z1, z1 @ params["W2"] + params["b2"]


def predict(params, x, activation="sigmoid"):
    """Class probabilities softmax(a2), one row per input."""
    return softmax(forward(params, x, activation)[1])


def loss_from_logits(a2, t, loss="cross_entropy"):
    """The batch loss of logits a2 against integer labels t."""
    if loss == "cross_entropy":
        return softmax_cross_entropy(a2, t)
    return mean_squared_error(softmax(a2), t)


def loss(params, x, t, activation="sigmoid", loss="cross_entropy"):
    """Batch loss (mean over rows) of the two-layer net."""
    return loss_from_logits(forward(params, x, activation)[1], t, loss)


_batch_loss = loss  # the parameter named `loss` shadows the function below


def _dlogits(a2, t, loss):
    """dL/da2 for the mean batch loss."""
    n = a2.shape[0]
    y = softmax(a2)
    if loss == "cross_entropy":
        y[np.arange(n), t] -= 1
        return y / n
    dy = (y - one_hot(t, y.shape[1], y.dtype)) / n
    return y * (dy - np.sum(dy * y, axis=1, keepdims=True))


def gradient(params, x, t, activation="sigmoid", loss="cross_entropy"):
    """Backprop: returns (loss, grads) with grads keyed like params.

    da2 := dL/da2, dW2 := z1.T @ da2, da1 := (da2 @ W2.T) * act'(z1), dW1 := x.T @ da1.
    """
    return loss_gradient_and_logits(params, x, t, activation, loss)[:2]


def loss_gradient_and_logits(params, x, t, activation="sigmoid", loss="cross_entropy"):
    """(loss, grads, a2): ``gradient`` and the logits of the same forward pass."""
    z1, a2 = forward(params, x, activation)
    value = loss_from_logits(a2, t, loss)
    da2 = _dlogits(a2, t, loss)
    da1 = (da2 @ params["W2"].T) * ACTIVATION_DERIVATIVES[activation](z1)
    grads = {"W1": x.T @ da1, "b1": da1.sum(axis=0), "W2": z1.T @ da2, "b2": da2.sum(axis=0)}
    return value, grads, a2


def hits(logits, t):
    """Rows whose logits pick their label (np.argmax: the first of equal largest entries); t integer labels
    or one-hot rows."""
    t = np.asarray(t)
    if t.ndim == 2:
        t = np.argmax(t, axis=1)
    return int(np.count_nonzero(np.argmax(logits, axis=1) == t))


def numerical_gradient_of(f, x, h=DEFAULT_H):
    """The book's central difference of f() w.r.t. every element of x (multi-index), in place.

    grad[i] := (f(x + h e_i) - f(x - h e_i)) / 2h; x is restored after each element.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        saved = x[idx].copy()
        try:  # restored also when f raises or the loop is interrupted (Ctrl-C)
            x[idx] = saved + h
            fxh1 = f()
            x[idx] = saved - h
            fxh2 = f()
        finally:
            x[idx] = saved
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        it.iternext()
    return grad


def numerical_gradient(params, x, t, activation="sigmoid", loss="cross_entropy", h=DEFAULT_H):
    """Central difference of the batch loss for every element of every parameter. Slow by design."""
    work = {k: np.array(v, copy=True) for k, v in params.items()}
    f = lambda: _batch_loss(work, x, t, activation, loss)  # noqa: E731
    return {k: numerical_gradient_of(f, work[k], h) for k in ("W1", "b1", "W2", "b2")}


# --- the book's MultiLayerNet(Extend): any depth, batch normalisation, dropout ---------------------------
# params: 'W1', 'b1', ..., 'WL', 'bL' (and 'gamma{l}', 'beta{l}' of each hidden layer with batchnorm).
# Layers as in the book: Affine -> [BatchNorm] -> activation -> [Dropout] per hidden layer, then Affine.

def n_layers(params):
    """L, the number of affine layers ('W1' .. 'WL')."""
    return sum(1 for k in params if k[0] == "W" and k[1:].isdigit())


def batchnorm(a, gamma, beta, running, train, eps=BN_EPS, momentum=BN_MOMENTUM):
    """The book's BatchNormalization: out := gamma (a - mu) / sqrt(var + eps) + beta; returns (out, cache,
    running). In training mu, var are the batch's and running := momentum running + (1 - momentum) (mu, var);
    otherwise the running statistics normalise and are returned unchanged."""
    mean, var = running
    if train:
        mu = a.mean(axis=0)
        xc = a - mu
        v = np.mean(xc ** 2, axis=0)
        std = np.sqrt(v + eps)
        xn = xc / std
        running = (momentum * mean + (1 - momentum) * mu, momentum * var + (1 - momentum) * v)
        cache = (xc, xn, std)
    else:
        xn = (a - mean) / np.sqrt(var + eps)
        cache = None
    return gamma * xn + beta, cache, running


def batchnorm_backward(cache, gamma, dout):
    """The book's batchnorm backward: (da, dgamma, dbeta)."""
    xc, xn, std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(xn * dout, axis=0)
    dxn = gamma * dout
    dxc = dxn / std
    dstd = -np.sum((dxn * xc) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc += (2.0 / n) * xc * dvar
    dmu = np.sum(dxc, axis=0)
    return dxc - dmu / n, dgamma, dbeta


def mlp_forward(params, x, activation="relu", train=False, running=None, dropout_ratio=None, rng=None):
    """Scores (logits) and the cache ``mlp_backward`` needs.

    running : {l: (mean, var)} of each hidden layer when batchnorm is used (updated in place in training).
    dropout_ratio : None (no dropout), or the share of units dropped in training (a unit is kept where
        ``rng.random() > dropout_ratio``); at test time every unit is kept and scaled by 1 - dropout_ratio.
    """
    L = n_layers(params)
    act = ACTIVATION_FUNCTIONS[activation]
    z, cache = x, []
    for i in range(1, L):
        a = z @ params[f"W{i}"] + params[f"b{i}"]
        bn = None
        if running is not None:
            a, bn, running[i] = batchnorm(a, params[f"gamma{i}"], params[f"beta{i}"], running[i], train)
        out = act(a)
        h, mask = out, None
        if dropout_ratio is not None:
            if train:
                mask = (rng.random(out.shape) > dropout_ratio).astype(out.dtype)
                h = out * mask
            else:
                h = out * (1.0 - dropout_ratio)
        cache.append((z, bn, out, mask))
        z = h
    cache.append((z, None, None, None))
    return z @ params[f"W{L}"] + params[f"b{L}"], cache


def mlp_backward(params, cache, dscores, activation="relu"):
    """Gradients of the data loss from dscores := dL/dscores (dW_l := Z_{l-1}^T dA_l, db_l := sum_rows dA_l)."""
    L = n_layers(params)
    grads = {}
    z_in = cache[-1][0]
    grads[f"W{L}"] = z_in.T @ dscores
    grads[f"b{L}"] = dscores.sum(axis=0)
    dz = dscores @ params[f"W{L}"].T
    for i in range(L - 1, 0, -1):
        z_in, bn, out, mask = cache[i - 1]
        if mask is not None:
            dz = dz * mask
        da = dz * ACTIVATION_DERIVATIVES[activation](out)
        if bn is not None:
            da, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(bn, params[f"gamma{i}"], da)
        grads[f"W{i}"] = z_in.T @ da
        grads[f"b{i}"] = da.sum(axis=0)
        dz = da @ params[f"W{i}"].T
    return grads


def weight_decay(params, lam):
    """0.5 lam sum_l ||W_l||^2."""
    return 0.5 * lam * sum(np.sum(params[f"W{i}"] ** 2) for i in range(1, n_layers(params) + 1))


def mlp_loss_and_gradient(params, x, t, activation="relu", lam=0.0, running=None, dropout_ratio=None, rng=None, *,
                          loss="cross_entropy"):
    """(loss, grads) of one training-mode forward pass: the mean loss (softmax cross-entropy, or the MSE of the
    probabilities) + 0.5 lam sum ||W||^2, and its backprop (lam W added to each dW). Dropout masks and
    batchnorm statistics are drawn and updated once."""
    return mlp_loss_gradient_and_logits(params, x, t, activation, lam, running, dropout_ratio, rng, loss=loss)[:2]


def mlp_loss_gradient_and_logits(params, x, t, activation="relu", lam=0.0, running=None, dropout_ratio=None,
                                 rng=None, *, loss="cross_entropy"):
    """(loss, grads, scores): ``mlp_loss_and_gradient`` and the scores of the same forward pass."""
    scores, cache = mlp_forward(params, x, activation, True, running, dropout_ratio, rng)
    value = float(loss_from_logits(scores, t, loss) + weight_decay(params, lam))
    grads = mlp_backward(params, cache, _dlogits(scores, t, loss), activation)
    for i in range(1, n_layers(params) + 1):
        grads[f"W{i}"] = grads[f"W{i}"] + lam * params[f"W{i}"]
    return value, {k: grads[k] for k in params}, scores


def mlp_numerical_gradient(params, x, t, activation="relu", lam=0.0, h=DEFAULT_H, *, loss="cross_entropy"):
    """Central difference of the plain MLP's loss for every element of every parameter. Slow by design."""
    work = {k: np.array(v, copy=True) for k, v in params.items()}

    def f():
        return loss_from_logits(mlp_forward(work, x, activation)[0], t, loss) + weight_decay(work, lam)
    return {k: numerical_gradient_of(f, work[k], h) for k in work}


# --- training --------------------------------------------------------------------------------------

def batches(perm, batch_size):
    """Index arrays of consecutive mini-batches of perm; the last one may be shorter."""
    return [perm[s:s + batch_size] for s in range(0, len(perm), batch_size)]


def train_epoch(params, x, t, perm, batch_size, optimizer, activation="sigmoid", loss="cross_entropy"):
    """One epoch of mini-batch steps over perm (no replacement); updates params in place.

    Returns the mini-batch losses, in order (the loss of each batch before its update), and each batch's
    rows whose logits (the same forward pass) pick their label.
    """
    losses, correct = [], []
    for idx in batches(perm, batch_size):
        value, grads, a2 = loss_gradient_and_logits(params, x[idx], t[idx], activation, loss)
        optimizer.update(params, grads)
        losses.append(value)
        correct.append(hits(a2, t[idx]))
    return np.asarray(losses, dtype=np.float64), np.asarray(correct, dtype=np.int64)
