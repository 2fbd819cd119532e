# MNIST two-layer network, functional style (a dict of parameters and plain functions).
import numpy as np
from tensorflow.keras.datasets import mnist


def to_one_hot(labels):
    t = np.zeros((labels.size, 10))
    for i, label in enumerate(labels):
        t[i, label] = 1
    return t


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(a):
    c = np.max(a)
    exp_a = np.exp(a - c)  # subtract the max against overflow
    return exp_a / np.sum(exp_a)


def init_network(input_size=784, hidden_size=50, output_size=10, std=0.01):
    return {
        'W1': std * np.random.randn(input_size, hidden_size),
        'b1': np.zeros(hidden_size),
        'W2': std * np.random.randn(hidden_size, output_size),
        'b2': np.zeros(output_size),
    }


def forward(params, x):
    a1 = x @ params['W1'] + params['b1']
    z1 = sigmoid(a1)
    a2 = z1 @ params['W2'] + params['b2']
    return z1, softmax(a2)


def loss(params, x, t):
    _, y = forward(params, x)
    return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]


def gradient(params, x, t):
    n = x.shape[0]
    z1, y = forward(params, x)
    dy = (y - t) / n
    dz1 = dy @ params['W2'].T
    da1 = dz1 * z1 * (1 - z1)
    return {
        'W2': z1.T @ dy,
        'b2': dy.sum(axis=0),
        'W1': x.T @ da1,
        'b1': da1.sum(axis=0),
    }


def accuracy(params, x, t):
    _, y = forward(params, x)
    return np.mean(y.argmax(axis=1) == t.argmax(axis=1))


(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 28 * 28).astype('float32') / 255
x_test = x_test.reshape(-1, 28 * 28).astype('float32') / 255
t_train, t_test = to_one_hot(y_train), to_one_hot(y_test)

params = init_network()
iters_num = 10000
batch_size = 100
learning_rate = 0.1
loss_history = []

for i in range(iters_num):
    mask = np.random.choice(x_train.shape[0], batch_size)
    x_batch, t_batch = x_train[mask], t_train[mask]
    grads = gradient(params, x_batch, t_batch)
    for key in params:
        params[key] -= learning_rate * grads[key]
    loss_history.append(loss(params, x_batch, t_batch))
    if i % 500 == 0:
        print(f"iter {i:5d}  loss {loss_history[-1]:.4f}  test acc {accuracy(params, x_test, t_test):.4f}")
