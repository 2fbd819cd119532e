# module-level, params list, tanh + Xavier init, integer labels one-hot inside, permutation; BUG: the update adds the gradient
import numpy as np
from dataset.mnist import load_mnist

(train_x, train_y), (test_x, test_y) = load_mnist(normalize=True, one_hot_label=False)

params = [np.random.randn(784, 64) / np.sqrt(784), np.zeros(64),
          np.random.randn(64, 10) / np.sqrt(64), np.zeros(10)]


def predict(params, x):
    W1, b1, W2, b2 = params
    h = np.tanh(x.dot(W1) + b1)
    logits = h.dot(W2) + b2
    return h, logits


def loss(params, x, y):
    _, logits = predict(params, x)
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def gradient(params, x, y):
    W1, b1, W2, b2 = params
    h, logits = predict(params, x)
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1
    dlogits = (p - onehot) / len(y)
    dW2 = h.T.dot(dlogits)
    db2 = dlogits.sum(axis=0)
    dh = dlogits.dot(W2.T) * (1 - h ** 2)
    dW1 = x.T.dot(dh)
    db1 = dh.sum(axis=0)
    return [dW1, db1, dW2, db2]


learning_rate = 0.3
bs = 50
for epoch in range(2):
    perm = np.random.permutation(len(train_x))
    xs, ys = train_x[perm], train_y[perm]
    for i in range(0, len(xs), bs):
        grads = gradient(params, xs[i:i + bs], ys[i:i + bs])
        for p, g in zip(params, grads):
            p += learning_rate * g
    print("epoch", epoch, "loss", loss(params, train_x[:1000], train_y[:1000]))

_, logits = predict(params, test_x)
print("test acc", np.mean(logits.argmax(axis=1) == test_y))
