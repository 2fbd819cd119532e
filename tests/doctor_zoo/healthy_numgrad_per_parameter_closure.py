# ch4 two-layer net trained with numerical gradients (book-style nditer version)
# kept small (784-10-10) so one step only takes a fraction of a second
import os
import sys
import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    batch_size = y.shape[0]
    return -np.sum(t * np.log(y + 1e-7)) / batch_size


def numerical_gradient(f, x):
    h = 1e-4  # 0.0001
    grad = np.zeros_like(x)

    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)  # f(x+h)

        x[idx] = tmp_val - h
        fxh2 = f(x)  # f(x-h)
        grad[idx] = (fxh1 - fxh2) / (2 * h)

        x[idx] = tmp_val
        it.iternext()

    return grad


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        a1 = np.dot(x, W1) + b1
        z1 = sigmoid(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        return y

    def loss(self, x, t):
        y = self.predict(x)
        return cross_entropy_error(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])


def main():
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=True)

    network = TwoLayerNet(input_size=784, hidden_size=10, output_size=10)

    iters_num = int(os.environ.get('ITERS', 10000))
    train_size = x_train.shape[0]
    batch_size = 20
    learning_rate = 1.0

    train_loss_list = []

    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]

        f = lambda W: network.loss(x_batch, t_batch)

        grads = {}
        grads['W1'] = numerical_gradient(f, network.params['W1'])
        grads['b1'] = numerical_gradient(f, network.params['b1'])
        grads['W2'] = numerical_gradient(f, network.params['W2'])
        grads['b2'] = numerical_gradient(f, network.params['b2'])

        for key in ('W1', 'b1', 'W2', 'b2'):
            network.params[key] -= learning_rate * grads[key]

        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
        if i % 20 == 0:
            print("iter", i, "loss", round(loss, 4), flush=True)
        if i % 100 == 0:
            print("  test acc", network.accuracy(x_test, t_test), flush=True)

    test_acc = network.accuracy(x_test, t_test)
    print("final test accuracy:", test_acc)


if __name__ == '__main__':
    main()
