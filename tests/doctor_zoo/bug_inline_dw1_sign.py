import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


def cross_entropy_error(y, t):
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


np.random.seed(3)
hidden = 64
W1 = np.random.randn(784, hidden) * np.sqrt(2 / 784)
b1 = np.zeros(hidden)
W2 = np.random.randn(hidden, 10) * np.sqrt(2 / hidden)
b2 = np.zeros(10)

lr = 0.1
batch_size = 100
num_epochs = 3
train_size = x_train.shape[0]
count = 0

for epoch in range(num_epochs):
    shuffled = np.random.permutation(train_size)
    for s in range(0, train_size, batch_size):
        ids = shuffled[s:s + batch_size]
        x = x_train[ids]
        t = t_train[ids]

        a1 = np.dot(x, W1) + b1
        z1 = relu(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        loss = cross_entropy_error(y, t)

        dy = y.copy()
        dy[np.arange(len(t)), t] -= 1
        dy /= len(t)
        dW2 = np.dot(z1.T, dy)
        db2 = np.sum(dy, axis=0)
        dz1 = np.dot(dy, W2.T)
        da1 = dz1 * (a1 > 0)
        dW1 = -np.dot(x.T, da1)
        db1 = np.sum(da1, axis=0)

        W1 = W1 - lr * dW1
        b1 = b1 - lr * db1
        W2 = W2 - lr * dW2
        b2 = b2 - lr * db2

        if count % 100 == 0:
            print("iter", count, "loss", round(float(loss), 4))
        count += 1

y_test = softmax(np.dot(relu(np.dot(x_test, W1) + b1), W2) + b2)
print("test acc", np.mean(np.argmax(y_test, axis=1) == t_test))
