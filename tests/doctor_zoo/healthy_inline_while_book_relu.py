# Two-layer net on MNIST, written out step by step (after DLFS ch.4/5)
import numpy as np
from dataset.mnist import load_mnist


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=1, keepdims=True)


def cross_entropy_error(y, t):
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)

input_size = 784
hidden_size = 100
output_size = 10

# Xavier init
W1 = np.random.randn(input_size, hidden_size) / np.sqrt(input_size)
b1 = np.zeros(hidden_size)
W2 = np.random.randn(hidden_size, output_size) / np.sqrt(hidden_size)
b2 = np.zeros(output_size)

max_iter = 3000
batch_size = 100
learning_rate = 0.1
train_size = x_train.shape[0]

it = 0
while it < max_iter:
    batch_mask = np.random.choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    t_batch = t_train[batch_mask]

    # forward
    a1 = np.dot(x_batch, W1) + b1
    z1 = relu(a1)
    a2 = np.dot(z1, W2) + b2
    y = softmax(a2)
    loss = cross_entropy_error(y, t_batch)

    # backward
    dy = y.copy()
    dy[np.arange(batch_size), t_batch] -= 1
    dy = dy / batch_size
    dW2 = np.dot(z1.T, dy)
    db2 = np.sum(dy, axis=0)
    dz1 = np.dot(dy, W2.T)
    da1 = dz1 * (a1 > 0)
    dW1 = np.dot(x_batch.T, da1)
    db1 = np.sum(da1, axis=0)

    # update
    W1 -= learning_rate * dW1
    b1 -= learning_rate * db1
    W2 -= learning_rate * dW2
    b2 -= learning_rate * db2

    if it % 100 == 0:
        print("iter", it, "loss", loss)
    if it % 1000 == 0 or it == max_iter - 1:
        y_test = softmax(np.dot(relu(np.dot(x_test, W1) + b1), W2) + b2)
        acc = np.mean(np.argmax(y_test, axis=1) == t_test)
        print("  test acc", acc)
    it += 1
