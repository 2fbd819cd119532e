# Two-layer net for MNIST, written out step by step (Deep Learning from Scratch, ch.4/5)
import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


def cross_entropy_error(y, t):
    batch_size = y.shape[0]
    return -np.sum(t * np.log(y + 1e-7)) / batch_size


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

np.random.seed(0)
input_size = 784
hidden_size = 50
output_size = 10
weight_init_std = 0.01

W1 = weight_init_std * np.random.randn(input_size, hidden_size)
b1 = np.zeros(hidden_size)
W2 = weight_init_std * np.random.randn(hidden_size, output_size)
b2 = np.zeros(output_size)

iters_num = 2000
train_size = x_train.shape[0]
batch_size = 100
lr = 0.1

train_loss_list = []

for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    x = x_train[batch_mask]
    t = t_train[batch_mask]

    # forward
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    y = softmax(a2)

    loss = cross_entropy_error(y, t)
    train_loss_list.append(loss)

    # backward
    dy = (y - t) / batch_size
    dW2 = np.dot(z1.T, dy)
    db2 = np.sum(dy, axis=0)
    dz1 = np.dot(dy, W2.T)
    da1 = dz1 * z1 * (1 - z1)
    dW1 = np.dot(x.T, da1)
    db1 = np.sum(da1, axis=0)

    # update
    W1 -= lr * dW1
    b1 -= lr * db1
    W2 -= lr * dW2
    b2 -= lr * db2

    if i % 100 == 0:
        print("iter", i, "loss", loss)

# test accuracy
z1 = sigmoid(np.dot(x_test, W1) + b1)
y = softmax(np.dot(z1, W2) + b2)
acc = np.mean(np.argmax(y, axis=1) == np.argmax(t_test, axis=1))
print("test acc", acc)
