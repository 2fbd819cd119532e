# sigmoid net, numerical_gradient (nditer) used for a gradient check, then trained with backprop; BUG: the labels of each batch are drawn with their own random indices
import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        idx = it.multi_index
        tmp = x[idx]
        x[idx] = tmp + h
        fxh1 = f(x)
        x[idx] = tmp - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp
        it.iternext()
    return grad


class SmallNet:
    def __init__(self, hidden=30):
        self.params = {'W1': 0.01 * np.random.randn(784, hidden), 'b1': np.zeros(hidden),
                       'W2': 0.01 * np.random.randn(hidden, 10), 'b2': np.zeros(10)}

    def predict(self, x):
        p = self.params
        return softmax(sigmoid(x @ p['W1'] + p['b1']) @ p['W2'] + p['b2'])

    def loss(self, x, t):
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def numerical_gradient(self, x, t):
        f = lambda W: self.loss(x, t)
        return {k: numerical_gradient(f, self.params[k]) for k in self.params}

    def gradient(self, x, t):
        p = self.params
        h = sigmoid(x @ p['W1'] + p['b1'])
        y = softmax(h @ p['W2'] + p['b2'])
        dy = (y - t) / x.shape[0]
        dh = dy @ p['W2'].T * h * (1 - h)
        return {'W1': x.T @ dh, 'b1': dh.sum(0), 'W2': h.T @ dy, 'b2': dy.sum(0)}


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
net = SmallNet()

# gradient check on a few examples
gn = net.numerical_gradient(x_train[:3], t_train[:3])
gb = net.gradient(x_train[:3], t_train[:3])
for k in gn:
    print(k, np.average(np.abs(gn[k] - gb[k])))

lr = 0.5
for i in range(3000):
    mask = np.random.choice(60000, 100)
    tmask = np.random.choice(60000, 100)
    g = net.gradient(x_train[mask], t_train[tmask])
    for k in net.params:
        net.params[k] -= lr * g[k]
print("test acc", np.mean(net.predict(x_test).argmax(1) == t_test.argmax(1)))
