import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=False)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    c = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - c)
    return e / np.sum(e, axis=1, keepdims=True)


def cross_entropy_error(y, t):
    # t: integer labels
    n = y.shape[0]
    return -np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n


np.random.seed(42)
W1 = np.random.randn(784, 64) / np.sqrt(784)
b1 = np.zeros(64)
W2 = np.random.randn(64, 10) / np.sqrt(64)
b2 = np.zeros(10)

lr = 0.1
batch_size = 128
epochs = 4
n_train = x_train.shape[0]
step = 0

for epoch in range(epochs):
    perm = np.random.permutation(n_train)
    for start in range(0, n_train, batch_size):
        batch_idx = perm[start:start + batch_size]
        x = x_train[batch_idx]
        t = t_train[batch_idx]
        n = x.shape[0]

        # forward
        a1 = x @ W1 + b1
        z1 = sigmoid(a1)
        a2 = z1 @ W2 + b2
        y = softmax(a2)
        loss = cross_entropy_error(y, t)

        # backward
        dy = y.copy()
        dy[np.arange(n), t] -= 1
        dy = dy / n
        dW2 = z1.T @ dy
        db2 = dy.sum(axis=0)
        dz1 = dy @ W2.T
        da1 = dz1 * (1.0 - z1) * z1
        dW1 = x.T @ da1
        db1 = da1.sum(axis=0)

        # SGD
        W1 = W1 - lr * dW1
        b1 = b1 - lr * db1
        W2 = W2 - lr * dW2
        b2 = b2 - lr * db2

        if step % 100 == 0:
            print("epoch", epoch, "step", step, "loss %.4f" % loss)
        step += 1

    test_out = softmax(sigmoid(x_test @ W1 + b1) @ W2 + b2)
    print("epoch", epoch, "test acc", np.mean(np.argmax(test_out, axis=1) == t_test))
