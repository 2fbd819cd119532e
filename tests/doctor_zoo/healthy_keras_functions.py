# Two-layer net on MNIST, written with plain functions (no classes).
# Data comes from Keras because that is what I had installed.
import numpy as np
from keras.datasets import mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 784).astype(np.float32) / 255.0
x_test = x_test.reshape(-1, 784).astype(np.float32) / 255.0
# labels stay integers 0..9


def init_params(n_in=784, n_hidden=100, n_out=10):
    params = {}
    params["w1"] = np.random.randn(n_in, n_hidden) * np.sqrt(2.0 / n_in)   # He init for relu
    params["b1"] = np.zeros(n_hidden)
    params["w2"] = np.random.randn(n_hidden, n_out) * np.sqrt(2.0 / n_hidden)
    params["b2"] = np.zeros(n_out)
    return params


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def forward(params, x):
    h = relu(x @ params["w1"] + params["b1"])
    return softmax(h @ params["w2"] + params["b2"])


def loss(params, x, y):
    p = forward(params, x)
    n = x.shape[0]
    return -np.mean(np.log(p[np.arange(n), y] + 1e-7))


def grads(params, x, y):
    n = x.shape[0]
    a1 = x @ params["w1"] + params["b1"]
    h = relu(a1)
    p = softmax(h @ params["w2"] + params["b2"])

    d_out = p.copy()
    d_out[np.arange(n), y] -= 1
    d_out /= n

    g = {}
    g["w2"] = h.T @ d_out
    g["b2"] = d_out.sum(axis=0)
    dh = d_out @ params["w2"].T
    dh[a1 <= 0] = 0
    g["w1"] = x.T @ dh
    g["b1"] = dh.sum(axis=0)
    return g


def accuracy(params, x, y):
    return np.mean(np.argmax(forward(params, x), axis=1) == y)


params = init_params()
lr = 0.1
batch_size = 64
epochs = 5
n = x_train.shape[0]

for epoch in range(epochs):
    perm = np.random.permutation(n)
    for it in range(n // batch_size):
        idx = perm[it * batch_size:(it + 1) * batch_size]
        xb, yb = x_train[idx], y_train[idx]
        g = grads(params, xb, yb)
        for k in params:
            params[k] -= lr * g[k]
        if it % 200 == 0:
            print(f"epoch {epoch} iter {it} loss {loss(params, xb, yb):.4f}")
    print(f"epoch {epoch}: test accuracy {accuracy(params, x_test, y_test):.4f}")
