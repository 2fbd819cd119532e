# relu net, params float32 (like torch), but the data I leave as float64 from the /255.0
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=False, flatten=True, one_hot_label=False)
x_train = x_train / 255.0          # float64
x_test = x_test / 255.0

rng = np.random.default_rng()
params = {
    'W1': rng.normal(0, np.sqrt(2 / 784), (784, 64)).astype(np.float32),
    'b1': np.zeros(64, np.float32),
    'W2': rng.normal(0, np.sqrt(2 / 64), (64, 10)).astype(np.float32),
    'b2': np.zeros(10, np.float32),
}


def predict(x):
    a1 = x @ params['W1'] + params['b1']
    z1 = np.maximum(0, a1)
    a2 = z1 @ params['W2'] + params['b2']
    a2 = a2 - a2.max(axis=1, keepdims=True)
    y = np.exp(a2)
    y /= y.sum(axis=1, keepdims=True)
    return a1, z1, y


def loss(x, t):
    _, _, y = predict(x)
    return -np.log(y[np.arange(len(t)), t] + 1e-7).mean()


def gradient(x, t):
    a1, z1, y = predict(x)
    n = len(t)
    dy = y.copy()
    dy[np.arange(n), t] -= 1
    dy /= n
    g = {}
    g['W2'] = z1.T @ dy
    g['b2'] = dy.sum(axis=0)
    dz1 = dy @ params['W2'].T
    da1 = dz1 * (a1 > 0)
    g['W1'] = x.T @ da1
    g['b1'] = da1.sum(axis=0)
    return g


lr = 0.05
batch = 128
for epoch in range(10):
    perm = rng.permutation(len(x_train))
    for i in range(0, len(perm) - batch + 1, batch):
        idx = perm[i:i + batch]
        g = gradient(x_train[idx], t_train[idx])
        for k in params:
            params[k] -= lr * g[k]
    acc = (predict(x_test)[2].argmax(1) == t_test).mean()
    print('epoch', epoch, 'loss', loss(x_train[:2000], t_train[:2000]), 'acc', acc)
