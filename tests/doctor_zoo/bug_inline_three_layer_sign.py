# 3-layer MLP (784-128-64-10), relu, plain SGD, manual iteration counter
import numpy as np
from dataset.mnist import load_mnist


def relu(x):
    return np.maximum(x, 0)


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    ex = np.exp(x)
    return ex / ex.sum(axis=1, keepdims=True)


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

np.random.seed(7)
W1 = np.random.randn(784, 128) * np.sqrt(2 / 784)
b1 = np.zeros(128)
W2 = np.random.randn(128, 64) * np.sqrt(2 / 128)
b2 = np.zeros(64)
W3 = np.random.randn(64, 10) * np.sqrt(2 / 64)
b3 = np.zeros(10)

lr = 0.05
batch_size = 64
max_iter = 500
it = 0

while it < max_iter:
    idx = np.random.randint(0, x_train.shape[0], batch_size)
    x = x_train[idx]
    t = t_train[idx]

    # forward
    a1 = x @ W1 + b1
    z1 = relu(a1)
    a2 = z1 @ W2 + b2
    z2 = relu(a2)
    a3 = z2 @ W3 + b3
    y = softmax(a3)
    loss = -np.sum(t * np.log(y + 1e-7)) / batch_size

    # backward
    delta3 = (t - y) / batch_size
    dW3 = z2.T @ delta3
    db3 = np.sum(delta3, axis=0)
    delta2 = (delta3 @ W3.T) * (a2 > 0)
    dW2 = z1.T @ delta2
    db2 = np.sum(delta2, axis=0)
    delta1 = (delta2 @ W2.T) * (a1 > 0)
    dW1 = x.T @ delta1
    db1 = np.sum(delta1, axis=0)

    # update
    W3 -= lr * dW3
    b3 -= lr * db3
    W2 -= lr * dW2
    b2 -= lr * db2
    W1 -= lr * dW1
    b1 -= lr * db1

    if it % 25 == 0:
        print("iteration %d, loss = %.4f" % (it, loss))
    it += 1

out = softmax(relu(relu(x_test @ W1 + b1) @ W2 + b2) @ W3 + b3)
print("test accuracy:", np.mean(out.argmax(axis=1) == t_test.argmax(axis=1)))
