# float32 everything, weights in lists self.w / self.b, hand-written Adam
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
x_train = x_train.astype(np.float32)
t_train = t_train.astype(np.float32)


class Net:
    def __init__(self):
        self.w = [(np.random.randn(784, 100) * np.sqrt(2 / 784)).astype(np.float32),
                  (np.random.randn(100, 10) * np.sqrt(2 / 100)).astype(np.float32)]
        self.b = [np.zeros(100, dtype=np.float32), np.zeros(10, dtype=np.float32)]

    def predict(self, x):
        self.z = x @ self.w[0] + self.b[0]
        self.h = np.maximum(self.z, 0)
        o = self.h @ self.w[1] + self.b[1]
        o = o - o.max(axis=1, keepdims=True)
        e = np.exp(o)
        return e / e.sum(axis=1, keepdims=True)

    def loss(self, x, t):
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def gradient(self, x, t):
        y = self.predict(x)
        d = (y - t) / x.shape[0]
        gw1 = self.h.T @ d
        gb1 = d.sum(axis=0)
        dz = (d @ self.w[1].T) * (self.z > 0)
        gw0 = x.T @ dz
        gb0 = dz.sum(axis=0)
        return [gw0, gw1], [gb0, gb1]


net = Net()
params = net.w + net.b
m = [np.zeros_like(p) for p in params]
v = [np.zeros_like(p) for p in params]
lr, beta1, beta2, eps = 0.001, 0.9, 0.999, 1e-8
n_train = x_train.shape[0]
t = 0
for epoch in range(2):
    order = np.random.permutation(n_train)
    for i in range(0, n_train, 128):
        bi = order[i:i + 128]
        gw, gb = net.gradient(x_train[bi], t_train[bi])
        grads = gw + gb
        t += 1
        for p, g, mi, vi in zip(params, grads, m, v):
            mi[...] = beta1 * mi + (1 - beta1) * g
            vi[...] = beta2 * vi + (1 - beta2) * g * g
            mhat = mi / (1 - beta1 ** t)
            vhat = vi / (1 - beta2 ** t)
            p -= lr * mhat / (np.sqrt(vhat) + eps)
    print("epoch", epoch, net.loss(x_train[:2000], t_train[:2000]))

acc = np.mean(net.predict(x_test).argmax(axis=1) == t_test.argmax(axis=1))
print("test acc", acc)
