# numerical-gradient training, updating each parameter right after its gradient
import os
import numpy as np
from dataset.mnist import load_mnist


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    c = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - c)
    return e / np.sum(e, axis=1, keepdims=True)


def cross_entropy(y, t):
    return -np.mean(np.sum(t * np.log(y + 1e-7), axis=1))


def num_grad(f, W):
    h = 1e-4
    g = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        W[idx] += h
        f1 = f(W)
        W[idx] -= 2 * h
        f2 = f(W)
        W[idx] += h
        g[idx] = (f1 - f2) / (2 * h)
    return g


class Net:
    def __init__(self, n_in, n_hidden, n_out):
        self.params = {}
        self.params['W1'] = np.random.randn(n_in, n_hidden) * 0.01
        self.params['b1'] = np.zeros(n_hidden)
        self.params['W2'] = np.random.randn(n_hidden, n_out) * 0.01
        self.params['b2'] = np.zeros(n_out)

    def forward(self, x):
        h = relu(x.dot(self.params['W1']) + self.params['b1'])
        return softmax(h.dot(self.params['W2']) + self.params['b2'])

    def loss(self, x, t):
        return cross_entropy(self.forward(x), t)

    def accuracy(self, x, t):
        return (self.forward(x).argmax(axis=1) == t.argmax(axis=1)).mean()


def shrink(x):
    # 28x28 -> 14x14 by averaging 2x2 blocks (numerical gradient is too slow on 784 inputs)
    return x.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(x), -1)


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=True)
x_train, x_test = shrink(x_train), shrink(x_test)

net = Net(196, 16, 10)
iters_num = int(os.environ.get('ITERS', 10000))
batch_size = 20
lr = 0.5

for it in range(iters_num):
    mask = np.random.choice(len(x_train), batch_size)
    x_batch, t_batch = x_train[mask], t_train[mask]
    f = lambda W: net.loss(x_batch, t_batch)

    for key in ('W1', 'b1', 'W2', 'b2'):
        g = num_grad(f, net.params[key])
        net.params[key] -= lr * g

    if it % 50 == 0:
        print("it", it, "loss", net.loss(x_batch, t_batch), "test acc", net.accuracy(x_test, t_test), flush=True)

print("final test accuracy:", net.accuracy(x_test, t_test))
