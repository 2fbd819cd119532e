import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


np.random.seed(1)
params = {
    'w1': 0.01 * np.random.randn(784, 50),
    'b1': np.zeros(50),
    'w2': 0.01 * np.random.randn(50, 10),
    'b2': np.zeros(10),
}

iters_num = 2000
batch_size = 100
lr = 0.1
train_size = x_train.shape[0]

for i in range(iters_num):
    mask = np.random.choice(train_size, batch_size)
    x = x_train[mask]
    t = t_train[mask]

    a1 = np.dot(x, params['w1']) + params['b1']
    z1 = relu(a1)
    a2 = np.dot(z1, params['w2']) + params['b2']
    y = softmax(a2)
    loss = -np.sum(t * np.log(y + 1e-7))

    dy = y - t
    dw2 = np.dot(z1.T, dy)
    db2 = np.sum(dy, axis=0)
    dz1 = np.dot(dy, params['w2'].T)
    da1 = dz1 * (a1 > 0)
    dw1 = np.dot(x.T, da1)
    db1 = np.sum(da1, axis=0)

    params['w1'] -= lr * dw1
    params['b1'] -= lr * db1
    params['w2'] -= lr * dw2
    params['b2'] -= lr * db2

    if i % 100 == 0:
        print(i, loss)

z1 = relu(np.dot(x_test, params['w1']) + params['b1'])
y = softmax(np.dot(z1, params['w2']) + params['b2'])
print("test acc:", np.mean(np.argmax(y, axis=1) == np.argmax(t_test, axis=1)))
