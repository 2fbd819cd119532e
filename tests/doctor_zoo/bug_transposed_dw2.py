# A small 784-10-10 network so the numerical gradient check runs quickly; lowercase keys.
import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)


class SmallNet:
    def __init__(self, input_size=784, hidden_size=10, output_size=10):
        self.params = {
            'w1': 0.01 * np.random.randn(input_size, hidden_size),
            'b1': np.zeros(hidden_size),
            'w2': 0.01 * np.random.randn(hidden_size, output_size),
            'b2': np.zeros(output_size),
        }

    def predict(self, x):
        h = sigmoid(x @ self.params['w1'] + self.params['b1'])
        return softmax(h @ self.params['w2'] + self.params['b2'])

    def loss(self, x, t):
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def accuracy(self, x, t):
        return np.mean(self.predict(x).argmax(axis=1) == t.argmax(axis=1))

    def gradient(self, x, t):
        w1, b1, w2, b2 = (self.params[k] for k in ('w1', 'b1', 'w2', 'b2'))
        h = sigmoid(x @ w1 + b1)
        y = softmax(h @ w2 + b2)
        d_out = (y - t) / x.shape[0]
        d_hidden = (d_out @ w2.T) * h * (1 - h)
        return {
            'w1': x.T @ d_hidden,
            'b1': d_hidden.sum(axis=0),
            'w2': d_out.T @ h,
            'b2': d_out.sum(axis=0),
        }


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
net = SmallNet()

iters_num = 10000
batch_size = 100
learning_rate = 0.5
loss_list = []

for i in range(iters_num):
    mask = np.random.choice(len(x_train), batch_size)
    grads = net.gradient(x_train[mask], t_train[mask])
    for k in net.params:
        net.params[k] -= learning_rate * grads[k]
    loss_list.append(net.loss(x_train[mask], t_train[mask]))
    if i % 500 == 0:
        print("iter %5d  loss %.4f  test acc %.4f" % (i, loss_list[-1], net.accuracy(x_test, t_test)))
