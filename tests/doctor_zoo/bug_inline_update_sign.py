import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=1, keepdims=True)


def cross_entropy_error(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]


np.random.seed(7)
W1 = np.random.randn(784, 100) * np.sqrt(2.0 / 784)
b1 = np.zeros(100)
W2 = np.random.randn(100, 10) * np.sqrt(2.0 / 100)
b2 = np.zeros(10)

lr = 0.05
batch_size = 64
epochs = 2
n = x_train.shape[0]
it = 0

for epoch in range(epochs):
    idx = np.arange(n)
    np.random.shuffle(idx)
    for b in range(0, n, batch_size):
        x = x_train[idx[b:b + batch_size]]
        t = t_train[idx[b:b + batch_size]]
        m = x.shape[0]

        # forward
        a1 = np.dot(x, W1) + b1
        z1 = relu(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        loss = cross_entropy_error(y, t)

        # backward
        dy = (y - t) / m
        dW2 = np.dot(z1.T, dy)
        db2 = np.sum(dy, axis=0)
        dz1 = np.dot(dy, W2.T)
        da1 = dz1 * (a1 > 0)
        dW1 = np.dot(x.T, da1)
        db1 = np.sum(da1, axis=0)

        # update
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 += lr * dW2
        b2 -= lr * db2

        if it % 100 == 0:
            print(f"epoch {epoch} iter {it} loss {loss:.4f}")
        it += 1

z1 = relu(np.dot(x_test, W1) + b1)
y = softmax(np.dot(z1, W2) + b2)
print("test accuracy:", np.mean(np.argmax(y, axis=1) == np.argmax(t_test, axis=1)))
