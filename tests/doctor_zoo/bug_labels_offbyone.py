# MNIST, 784-100-10 ReLU network, plain functions, mini-batches taken in order (no sampling).
import numpy as np
from keras.datasets import mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 784) / 255.0
x_test = x_test.reshape(-1, 784) / 255.0

rng = np.random.default_rng()
params = {
    'W1': rng.standard_normal((784, 100)) * np.sqrt(2 / 784),
    'b1': np.zeros(100),
    'W2': rng.standard_normal((100, 10)) * np.sqrt(2 / 100),
    'b2': np.zeros(10),
}


def forward(x):
    a1 = x @ params['W1'] + params['b1']
    h = np.maximum(0, a1)
    s = h @ params['W2'] + params['b2']
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    return a1, h, p


def loss(x, y):
    p = forward(x)[2]
    return -np.log(p[np.arange(len(y)), y] + 1e-7).mean()


def backward(x, y):
    a1, h, p = forward(x)
    n = len(y)
    ds = p.copy()
    ds[np.arange(n), y] -= 1
    ds /= n
    dh = ds @ params['W2'].T
    dh[a1 <= 0] = 0
    return {'W1': x.T @ dh, 'b1': dh.sum(0), 'W2': h.T @ ds, 'b2': ds.sum(0)}


batch_size = 100
lr = 0.1
epochs = 5
n_batches = len(x_train) // batch_size
history = []

for epoch in range(epochs):
    for i in range(n_batches):
        xb = x_train[i * batch_size:(i + 1) * batch_size]
        yb = y_train[i * batch_size + 1:(i + 1) * batch_size + 1]
        grads = backward(xb, yb)
        for k in params:
            params[k] -= lr * grads[k]
        history.append(loss(xb, yb))
        if i % 100 == 0:
            print(f"epoch {epoch} batch {i} loss {history[-1]:.4f}")
    acc = (forward(x_test)[2].argmax(1) == y_test).mean()
    print(f"epoch {epoch} test accuracy {acc:.4f}")
