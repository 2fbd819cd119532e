# params are float64, but I compute the softmax/loss in float32 ("it's faster on GPU" they said).
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)


class Net:
    def __init__(self, hidden=50):
        self.params = {}
        self.params['W1'] = 0.01 * np.random.randn(784, hidden)
        self.params['b1'] = np.zeros(hidden)
        self.params['W2'] = 0.01 * np.random.randn(hidden, 10)
        self.params['b2'] = np.zeros(10)

    def _forward(self, x):
        a1 = np.dot(x, self.params['W1']) + self.params['b1']
        z1 = 1 / (1 + np.exp(-a1))
        a2 = (np.dot(z1, self.params['W2']) + self.params['b2']).astype(np.float32)
        a2 = a2 - a2.max(axis=1, keepdims=True)
        y = np.exp(a2) / np.sum(np.exp(a2), axis=1, keepdims=True)
        return z1, y

    def predict(self, x):
        return self._forward(x)[1]

    def loss(self, x, t):
        y = self.predict(x)
        t32 = t.astype(np.float32)
        return -np.sum(t32 * np.log(y + np.float32(1e-7))) / np.float32(x.shape[0])

    def accuracy(self, x, t):
        return np.mean(self.predict(x).argmax(1) == t.argmax(1))

    def gradient(self, x, t):
        z1, y = self._forward(x)
        dy = (y - t) / x.shape[0]
        grads = {}
        grads['W2'] = np.dot(z1.T, dy)
        grads['b2'] = np.sum(dy, axis=0)
        dz1 = np.dot(dy, self.params['W2'].T) * z1 * (1 - z1)
        grads['W1'] = np.dot(x.T, dz1)
        grads['b1'] = np.sum(dz1, axis=0)
        return grads


network = Net(hidden=50)
iters_num = 10000
train_size = x_train.shape[0]
batch_size = 100
learning_rate = 0.1
for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    grad = network.gradient(x_train[batch_mask], t_train[batch_mask])
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] -= learning_rate * grad[key]
    if i % 600 == 0:
        print(i, network.loss(x_train[batch_mask], t_train[batch_mask]), network.accuracy(x_test, t_test))
