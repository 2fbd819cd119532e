# Two-layer MNIST net with plain functions. Biases start at zero, so I start the weights
# at zero too -- the gradients will move them anyway.
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

params = {
    "w1": np.zeros((784, 100)),
    "b1": np.zeros(100),
    "w2": np.zeros((100, 10)),
    "b2": np.zeros(10),
}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def predict(p, x):
    return softmax(sigmoid(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"])


def loss(p, x, t):
    y = predict(p, x)
    return -np.mean(np.sum(t * np.log(y + 1e-7), axis=1))


def gradient(p, x, t):
    h = sigmoid(x @ p["w1"] + p["b1"])
    y = softmax(h @ p["w2"] + p["b2"])
    dy = (y - t) / x.shape[0]
    dh = (dy @ p["w2"].T) * h * (1 - h)
    return {"w1": x.T @ dh, "b1": dh.sum(0), "w2": h.T @ dy, "b2": dy.sum(0)}


def accuracy(p, x, t):
    return np.mean(predict(p, x).argmax(1) == t.argmax(1))


lr = 0.5
batch_size = 100
iters_num = 10000
losses = []
for i in range(iters_num):
    idx = np.random.randint(0, len(x_train), batch_size)
    g = gradient(params, x_train[idx], t_train[idx])
    for k in params:
        params[k] -= lr * g[k]
    losses.append(loss(params, x_train[idx], t_train[idx]))
    if i % 500 == 0:
        print(i, losses[-1], accuracy(params, x_test, t_test))
