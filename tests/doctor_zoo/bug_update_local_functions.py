# MNIST 784-50-10 with plain functions and an SGD helper, params in a dict with lowercase keys.
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)


def init_params(input_size=784, hidden_size=50, output_size=10, std=0.01):
    return {'w1': std * np.random.randn(input_size, hidden_size), 'b1': np.zeros(hidden_size),
            'w2': std * np.random.randn(hidden_size, output_size), 'b2': np.zeros(output_size)}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


def predict(params, x):
    z1 = sigmoid(np.dot(x, params['w1']) + params['b1'])
    return softmax(np.dot(z1, params['w2']) + params['b2'])


def loss(params, x, t):
    y = predict(params, x)
    return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]


def gradient(params, x, t):
    z1 = sigmoid(np.dot(x, params['w1']) + params['b1'])
    y = softmax(np.dot(z1, params['w2']) + params['b2'])
    dy = (y - t) / x.shape[0]
    da1 = np.dot(dy, params['w2'].T) * z1 * (1 - z1)
    return {'w1': np.dot(x.T, da1), 'b1': np.sum(da1, axis=0),
            'w2': np.dot(z1.T, dy), 'b2': np.sum(dy, axis=0)}


def sgd(params, grads, lr):
    for key in params.keys():
        param = params[key]
        param = param - lr * grads[key]


def accuracy(params, x, t):
    return np.mean(np.argmax(predict(params, x), axis=1) == np.argmax(t, axis=1))


params = init_params()
iters_num = 10000
batch_size = 100
learning_rate = 0.1
loss_list = []

for i in range(iters_num):
    batch_mask = np.random.choice(x_train.shape[0], batch_size)
    x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
    grads = gradient(params, x_batch, t_batch)
    sgd(params, grads, learning_rate)
    loss_list.append(loss(params, x_batch, t_batch))
    if i % 600 == 0:
        print("iter", i, "loss", loss_list[-1], "acc", accuracy(params, x_test, t_test))
