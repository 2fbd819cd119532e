import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=False, one_hot_label=False)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


input_size, hidden_size, output_size = 784, 50, 10
W1 = 0.01 * np.random.randn(input_size, hidden_size)
b1 = np.zeros(hidden_size)
W2 = 0.01 * np.random.randn(hidden_size, output_size)
b2 = np.zeros(output_size)

iters_num = 2000
batch_size = 100
lr = 0.1
train_size = x_train.shape[0]

for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    x = x_train[batch_mask]
    t = t_train[batch_mask]

    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    y = softmax(a2)
    loss = cross_entropy_error(y, t)

    dy = y.copy()
    dy[np.arange(batch_size), t] -= 1
    dy /= batch_size
    dW2 = np.dot(z1.T, dy)
    db2 = np.sum(dy, axis=0)
    dz1 = np.dot(dy, W2.T)
    da1 = dz1 * (1 - z1) * z1
    dW1 = np.dot(x.T, da1)
    db1 = np.sum(da1, axis=0)

    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2

    if i % 100 == 0:
        print("iteration:", i, "loss:", loss)

z1 = sigmoid(np.dot(x_test, W1) + b1)
y = softmax(np.dot(z1, W2) + b2)
print("test accuracy:", np.mean(np.argmax(y, axis=1) == t_test))
