import numpy as np
from dataset.mnist import load_mnist


def softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    ea = np.exp(a)
    return ea / ea.sum(axis=1, keepdims=True)


def cross_entropy(p, labels):
    return -np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-7))


def minibatches(x, y, batch_size):
    for i in range(0, len(x), batch_size):
        yield x[i:i + batch_size], y[i:i + batch_size]


def accuracy(p, labels):
    return np.mean(np.argmax(p, axis=1) == labels)


def main():
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)

    # Xavier init for tanh
    W1 = np.random.randn(784, 100) * np.sqrt(1.0 / 784)
    b1 = np.zeros(100)
    W2 = np.random.randn(100, 10) * np.sqrt(1.0 / 100)
    b2 = np.zeros(10)

    lr = 0.1
    n_epochs = 3
    count = 0
    for epoch in range(n_epochs):
        np.random.shuffle(x_train)
        for xb, yb in minibatches(x_train, t_train, 64):
            a1 = xb @ W1 + b1
            z1 = np.tanh(a1)
            p = softmax(z1 @ W2 + b2)
            loss = cross_entropy(p, yb)

            d2 = p.copy()
            d2[np.arange(len(yb)), yb] -= 1
            d2 /= len(yb)
            dW2 = z1.T @ d2
            db2 = d2.sum(axis=0)
            d1 = (d2 @ W2.T) * (1 - z1 ** 2)
            dW1 = xb.T @ d1
            db1 = d1.sum(axis=0)

            W1 -= lr * dW1
            b1 -= lr * db1
            W2 -= lr * dW2
            b2 -= lr * db2

            if count % 200 == 0:
                print("epoch", epoch, "iter", count, "loss", round(loss, 4))
            count += 1

        test_p = softmax(np.tanh(x_test @ W1 + b1) @ W2 + b2)
        print("epoch", epoch, "test accuracy", accuracy(test_p, t_test))


main()
