"""The learner's network as it was when they got stuck (kept for `fastnn doctor`; do not copy it).

    fastnn doctor examples/learner_seed_net.py

It carries the classic bugs: softmax over the whole batch, a loss summed instead of averaged, a numerical
gradient that loops over the first axis only, and raw 0..255 pixels fed by the training code below (its
sigmoid's overflow "guard" never fires, but 1 / (1 + np.exp(-x)) still returns the right values). doctor
runs the program for its first training step (``--static``: only its imports, functions and classes).
"""
import numpy as np
from keras.datasets import mnist  # doctor serves MNIST here, with or without Keras


def sigmoid(x):
    if np.all(x < -709):          # the guard: np.all is almost never true for a whole array
        return np.zeros_like(x)
    return 1 / (1 + np.exp(-x))


def softmax(a):
    e = np.exp(a - np.max(a))
    return e / np.sum(e)          # the whole batch, not each row


def cross_entropy_error(y, t):
    return -np.sum(t * np.log(y + 1e-7))   # summed over the batch, never divided


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.shape[0]):           # first axis only: perturbs a whole row at once
        tmp = x[idx].copy()
        x[idx] = tmp + h
        fxh1 = f(x)
        x[idx] = tmp - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp
    return grad


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {"w1": weight_init_std * np.random.randn(input_size, hidden_size),
                       "b1": np.zeros(hidden_size),
                       "w2": weight_init_std * np.random.randn(hidden_size, output_size),
                       "b2": np.zeros(output_size)}

    def predict(self, x):
        z1 = sigmoid(np.dot(x, self.params["w1"]) + self.params["b1"])
        return softmax(np.dot(z1, self.params["w2"]) + self.params["b2"])

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def numerical_gradient(self, x, t):
        loss_w = lambda w: self.loss(x, t)  # noqa: E731
        return {key: numerical_gradient(loss_w, self.params[key]) for key in ("w1", "b1", "w2", "b2")}


if __name__ == "__main__":
    (x_train, y_train), _ = mnist.load_data()
    x_train = x_train.reshape(-1, 784)        # raw 0..255 pixels
    t_train = np.eye(10)[y_train]
    net = TwoLayerNet(784, 100, 10)
    for i in range(100):
        batch = np.random.choice(60000, 32)
        grad = net.numerical_gradient(x_train[batch], t_train[batch])   # minutes per step
        for key in ("w1", "b1", "w2", "b2"):
            net.params[key] = net.params[key] - 0.1 * grad[key]
