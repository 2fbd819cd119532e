import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    y = np.exp(x)
    return y / y.sum(axis=1, keepdims=True)


def cross_entropy_error(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

np.random.seed(0)
params = {}
params['W1'] = 0.01 * np.random.randn(784, 100)
params['b1'] = np.zeros(100)
params['W2'] = 0.01 * np.random.randn(100, 10)
params['b2'] = np.zeros(10)

learning_rate = 0.1
batch_size = 100
n_epochs = 3
N = x_train.shape[0]
it = 0

for epoch in range(n_epochs):
    order = np.random.permutation(N)
    for k in range(N // batch_size):
        idx = order[k * batch_size:(k + 1) * batch_size]
        x, t = x_train[idx], t_train[idx]

        # forward
        a1 = np.dot(x, params['W1']) + params['b1']
        z1 = sigmoid(a1)
        a2 = np.dot(z1, params['W2']) + params['b2']
        y = softmax(a2)
        loss = cross_entropy_error(y, t)

        # backward
        grads = {}
        dy = (y - t) / batch_size
        grads['W2'] = np.dot(z1.T, dy)
        grads['b2'] = np.sum(dy, axis=0)
        dz1 = np.dot(dy, params['W2'].T)
        da1 = dz1 * a1 * (1 - a1)
        grads['W1'] = np.dot(x.T, da1)
        grads['b1'] = np.sum(da1, axis=0)

        # update
        params['W1'] -= learning_rate * grads['W1']
        params['b1'] -= learning_rate * grads['b1']
        params['W2'] -= learning_rate * grads['W2']
        params['b2'] -= learning_rate * grads['b2']

        if it % 100 == 0:
            print("epoch %d iter %d loss %.4f" % (epoch, it, loss))
        it += 1

z1 = sigmoid(np.dot(x_test, params['W1']) + params['b1'])
y = softmax(np.dot(z1, params['W2']) + params['b2'])
print("test accuracy", np.mean(y.argmax(axis=1) == t_test.argmax(axis=1)))
