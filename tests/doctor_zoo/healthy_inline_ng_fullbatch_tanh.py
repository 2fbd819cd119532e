# Week 3/4 style: X is (n_x, m), one column per example.  Full-batch gradient descent.
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)

m = 10000                        # use a 10k subset so each step is quick
X = x_train[:m].T.astype(np.float64)  # (784, m)
Y = np.zeros((10, m))
Y[t_train[:m], np.arange(m)] = 1  # (10, m) one-hot columns
X_test = x_test.T

n_x, n_h, n_y = 784, 64, 10


def softmax(Z):
    Z = Z - Z.max(axis=0, keepdims=True)
    expZ = np.exp(Z)
    return expZ / expZ.sum(axis=0, keepdims=True)


np.random.seed(1)
W1 = np.random.randn(n_h, n_x) * np.sqrt(1. / n_x)
b1 = np.zeros((n_h, 1))
W2 = np.random.randn(n_y, n_h) * np.sqrt(1. / n_h)
b2 = np.zeros((n_y, 1))

learning_rate = 0.5
num_iterations = 200

for i in range(num_iterations):
    # forward propagation
    Z1 = W1 @ X + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1 + b2
    A2 = softmax(Z2)

    cost = -np.sum(Y * np.log(A2 + 1e-8)) / m

    # backward propagation
    dZ2 = A2 - Y
    dW2 = (1 / m) * dZ2 @ A1.T
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = (W2.T @ dZ2) * (1 - np.power(A1, 2))
    dW1 = (1 / m) * dZ1 @ X.T
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)

    # gradient descent update
    W1 = W1 - learning_rate * dW1
    b1 = b1 - learning_rate * db1
    W2 = W2 - learning_rate * dW2
    b2 = b2 - learning_rate * db2

    if i % 20 == 0:
        print("Cost after iteration %i: %f" % (i, cost))

A2_test = softmax(W2 @ np.tanh(W1 @ X_test + b1) + b2)
train_pred = np.argmax(softmax(W2 @ np.tanh(W1 @ X + b1) + b2), axis=0)
print("train accuracy:", np.mean(train_pred == t_train[:m]))
print("test accuracy:", np.mean(np.argmax(A2_test, axis=0) == t_test))
