"""Two-layer network for MNIST (book chapter 4/5 style), random weights from numpy's Generator."""
import numpy as np
from dataset.mnist import load_mnist

rng = np.random.default_rng(42)


class TwoLayerNet:
    def __init__(self, input_size=784, hidden_size=50, output_size=10):
        # random starting weights in [0, 1)
        self.params = {
            'W1': rng.random((input_size, hidden_size)),
            'b1': np.zeros(hidden_size),
            'W2': rng.random((hidden_size, output_size)),
            'b2': np.zeros(output_size),
        }

    def _forward(self, x):
        p = self.params
        a1 = x @ p['W1'] + p['b1']
        z1 = 1 / (1 + np.exp(-a1))
        a2 = z1 @ p['W2'] + p['b2']
        a2 = a2 - a2.max(axis=1, keepdims=True)
        y = np.exp(a2) / np.exp(a2).sum(axis=1, keepdims=True)
        return z1, y

    def predict(self, x):
        return self._forward(x)[1]

    def loss(self, x, t):
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def accuracy(self, x, t):
        return np.mean(self.predict(x).argmax(axis=1) == t.argmax(axis=1))

    def gradient(self, x, t):
        z1, y = self._forward(x)
        dy = (y - t) / x.shape[0]
        dz1 = dy @ self.params['W2'].T
        da1 = dz1 * z1 * (1 - z1)
        return {'W1': x.T @ da1, 'b1': da1.sum(axis=0), 'W2': z1.T @ dy, 'b2': dy.sum(axis=0)}


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
net = TwoLayerNet()

iters_num = 10000
batch_size = 100
learning_rate = 0.1
train_loss_list = []

for i in range(iters_num):
    batch = rng.choice(len(x_train), batch_size)
    grad = net.gradient(x_train[batch], t_train[batch])
    for key in ('W1', 'b1', 'W2', 'b2'):
        net.params[key] -= learning_rate * grad[key]
    train_loss_list.append(net.loss(x_train[batch], t_train[batch]))
    if i % 500 == 0:
        print("iter", i, "loss", train_loss_list[-1], "test acc", net.accuracy(x_test, t_test))
