"""MNIST with a hand-written two-layer network (sigmoid hidden layer, softmax output).

The network owns its parameters and knows how to update itself: net.update(x, t, lr).
"""
import numpy as np
from tensorflow.keras.datasets import mnist

rng = np.random.default_rng(0)


def one_hot(labels, num_classes=10):
    return np.eye(num_classes)[labels]


class Network:
    def __init__(self, sizes=(784, 64, 10), scale=0.05):
        n_in, n_hid, n_out = sizes
        self.params = {
            "W1": rng.normal(0.0, scale, size=(n_in, n_hid)),
            "b1": np.zeros(n_hid),
            "W2": rng.normal(0.0, scale, size=(n_hid, n_out)),
            "b2": np.zeros(n_out),
        }

    @staticmethod
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    @staticmethod
    def softmax(z):
        z = z - np.max(z, axis=1, keepdims=True)
        ez = np.exp(z)
        return ez / np.sum(ez, axis=1, keepdims=True)

    def forward(self, x):
        p = self.params
        self.x = x
        self.h = self.sigmoid(x @ p["W1"] + p["b1"])
        self.y = self.softmax(self.h @ p["W2"] + p["b2"])
        return self.y

    def loss(self, x, t):
        y = self.forward(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def gradient(self, x, t):
        p = self.params
        y = self.forward(x)
        n = x.shape[0]
        dy = (y - t) / n
        dh = (dy @ p["W2"].T) * self.h * (1.0 - self.h)
        return {
            "W1": x.T @ dh,
            "b1": dh.sum(axis=0),
            "W2": self.h.T @ dy,
            "b2": dy.sum(axis=0),
        }

    def update(self, x, t, lr):
        grads = self.gradient(x, t)
        for key in self.params:
            self.params[key] -= lr * grads[key]

    def accuracy(self, x, t):
        return np.mean(self.forward(x).argmax(axis=1) == t.argmax(axis=1))


(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(len(x_train), -1) / 255.0
x_test = x_test.reshape(len(x_test), -1) / 255.0
t_train, t_test = one_hot(y_train), one_hot(y_test)

net = Network()
learning_rate = 0.5
batch_size = 128
iters = 5000
history = []

for step in range(iters):
    idx = rng.integers(0, len(x_train), size=batch_size)
    net.update(x_train[idx], t_train[idx], learning_rate)
    if step % 100 == 0:
        l = net.loss(x_train[idx], t_train[idx])
        history.append(l)
        print("step %5d  loss %.4f" % (step, l))
    if step % 1000 == 0:
        print("test acc:", net.accuracy(x_test, t_test))

print("final test acc:", net.accuracy(x_test, t_test))
