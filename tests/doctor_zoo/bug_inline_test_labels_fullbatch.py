# full-batch gradient descent on a 10k subset of MNIST (quicker than all 60k)
import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)

N = 10000
x = x_train[:N].astype(np.float64)
t = np.eye(10)[t_test[:N]]

np.random.seed(0)
w1 = np.random.randn(784, 50) * 0.05
b1 = np.zeros(50)
w2 = np.random.randn(50, 10) * 0.1
b2 = np.zeros(10)

lr = 1.0
max_iter = 300
it = 0
while it < max_iter:
    h = sigmoid(x @ w1 + b1)
    y = softmax(h @ w2 + b2)
    loss = -np.sum(t * np.log(y + 1e-7)) / N

    e = (y - t) / N
    dw2 = h.T @ e
    db2 = e.sum(axis=0)
    eh = (e @ w2.T) * h * (1 - h)
    dw1 = x.T @ eh
    db1 = eh.sum(axis=0)

    w1 = w1 - lr * dw1
    b1 = b1 - lr * db1
    w2 = w2 - lr * dw2
    b2 = b2 - lr * db2

    if it % 25 == 0:
        print(f"it {it:4d}  loss {loss:.4f}")
    it += 1

train_acc = np.mean(np.argmax(y, axis=1) == np.argmax(t, axis=1))
test_acc = np.mean(np.argmax(softmax(sigmoid(x_test @ w1 + b1) @ w2 + b2), axis=1) == t_test)
print("train acc", train_acc, "test acc", test_acc)
