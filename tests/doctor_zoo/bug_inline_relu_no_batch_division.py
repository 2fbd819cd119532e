import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def one_hot(labels, n=10):
    out = np.zeros((labels.size, n))
    out[np.arange(labels.size), labels] = 1
    return out


# network 784 -> 100 -> 10, He init
w1 = np.random.randn(784, 100) * np.sqrt(2 / 784)
b1 = np.zeros(100)
w2 = np.random.randn(100, 10) * np.sqrt(2 / 100)
b2 = np.zeros(10)

iters_num = 2000
batch_size = 100
lr = 0.1
train_size = x_train.shape[0]
loss_list = []

for i in range(iters_num):
    mask = np.random.choice(train_size, batch_size)
    x = x_train[mask]
    t = one_hot(t_train[mask])

    # forward
    h = x @ w1 + b1
    z = relu(h)
    out = z @ w2 + b2
    y = softmax(out)
    loss = -np.mean(np.sum(t * np.log(y + 1e-7), axis=1))
    loss_list.append(loss)

    # backward
    dout = y - t
    dw2 = z.T @ dout
    db2 = np.sum(dout, axis=0)
    dz = dout @ w2.T
    dh = dz * (h > 0)
    dw1 = x.T @ dh
    db1 = np.sum(dh, axis=0)

    # sgd
    w1 = w1 - lr * dw1
    b1 = b1 - lr * db1
    w2 = w2 - lr * dw2
    b2 = b2 - lr * db2

    if i % 100 == 0:
        print(i, "loss:", loss)

y_test = softmax(relu(x_test @ w1 + b1) @ w2 + b2)
print("test acc:", np.mean(np.argmax(y_test, axis=1) == t_test))
