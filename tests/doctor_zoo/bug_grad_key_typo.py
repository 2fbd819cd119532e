# Two-layer MNIST network; the gradient dict is preallocated with zeros and filled in by backprop.
import numpy as np
from dataset.mnist import load_mnist


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    @staticmethod
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def softmax(x):
        x = x - np.max(x, axis=-1, keepdims=True)
        return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)

    def predict(self, x):
        z1 = self.sigmoid(np.dot(x, self.params['W1']) + self.params['b1'])
        return self.softmax(np.dot(z1, self.params['W2']) + self.params['b2'])

    def loss(self, x, t):
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def accuracy(self, x, t):
        return np.sum(np.argmax(self.predict(x), axis=1) == np.argmax(t, axis=1)) / x.shape[0]

    def gradient(self, x, t):
        grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        W1, b1 = self.params['W1'], self.params['b1']
        W2, b2 = self.params['W2'], self.params['b2']
        n = x.shape[0]

        a1 = np.dot(x, W1) + b1
        z1 = self.sigmoid(a1)
        y = self.softmax(np.dot(z1, W2) + b2)

        dy = (y - t) / n
        grads['W2'] = np.dot(z1.T, dy)
        grads['b2'] = np.sum(dy, axis=0)
        dz1 = np.dot(dy, W2.T) * z1 * (1.0 - z1)
        grads['w1'] = np.dot(x.T, dz1)
        grads['b1'] = np.sum(dz1, axis=0)
        return grads


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
network = TwoLayerNet(784, 50, 10)

iters_num = 10000
batch_size = 100
learning_rate = 0.1
train_loss_list = []

for i in range(iters_num):
    batch_mask = np.random.choice(x_train.shape[0], batch_size)
    x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
    grad = network.gradient(x_batch, t_batch)
    for key in network.params:
        network.params[key] -= learning_rate * grad[key]
    train_loss_list.append(network.loss(x_batch, t_batch))
    if i % 600 == 0:
        print(i, train_loss_list[-1], network.accuracy(x_test, t_test))
