# Training the chapter-4 network with numerical differentiation.
# numerical gradient is slow, so I shrink the images to 14x14 (2x2 average pooling)
import os
import time
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=True)

# 28x28 -> 14x14
x_train = x_train.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(-1, 196)
x_test = x_test.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(-1, 196)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(a):
    a = a - np.max(a, axis=1, keepdims=True)
    exp_a = np.exp(a)
    return exp_a / np.sum(exp_a, axis=1, keepdims=True)


def cross_entropy_error(y, t):
    delta = 1e-7
    return -np.sum(t * np.log(y + delta)) / y.shape[0]


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    flat_x = x.reshape(-1)      # view on the same memory
    flat_g = grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        fxh1 = f(x)
        flat_x[i] = old - h
        fxh2 = f(x)
        flat_g[i] = (fxh1 - fxh2) / (2 * h)
        flat_x[i] = old
    return grad


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {
            'W1': weight_init_std * np.random.randn(input_size, hidden_size),
            'b1': np.zeros(hidden_size),
            'W2': weight_init_std * np.random.randn(hidden_size, output_size),
            'b2': np.zeros(output_size),
        }

    def predict(self, x):
        z1 = sigmoid(x @ self.params['W1'] + self.params['b1'])
        return softmax(z1 @ self.params['W2'] + self.params['b2'])

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        return np.mean(np.argmax(self.predict(x), axis=1) == np.argmax(t, axis=1))


net = TwoLayerNet(196, 16, 10)

iters_num = int(os.environ.get('ITERS', 10000))
batch_size = 20
learning_rate = 2.0
train_size = x_train.shape[0]
start = time.time()

for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    t_batch = t_train[batch_mask]

    f = lambda W: net.loss(x_batch, t_batch)

    grad = {}
    for key in ('W1', 'b1', 'W2', 'b2'):
        grad[key] = numerical_gradient(f, net.params[key])

    for key in ('W1', 'b1', 'W2', 'b2'):
        param = net.params[key].copy()
        param -= learning_rate * grad[key]

    if i % 50 == 0:
        print(f"iter {i:5d}  loss {net.loss(x_batch, t_batch):.4f}  "
              f"train acc {net.accuracy(x_train[:2000], t_train[:2000]):.3f}  "
              f"({time.time() - start:.0f}s)", flush=True)

print("final test accuracy:", net.accuracy(x_test, t_test))
