# weights in lists self.w / self.b, float64, plain SGD lr 0.1; BUG: the gradient is not divided by the batch size
import numpy as np
from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
x_train = x_train
t_train = t_train


class Net:
    def __init__(self):
        self.w = [(np.random.randn(784, 100) * np.sqrt(2 / 784)),
                  (np.random.randn(100, 10) * np.sqrt(2 / 100))]
        self.b = [np.zeros(100), np.zeros(10)]

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
        d = (y - t)
        gw1 = self.h.T @ d
        gb1 = d.sum(axis=0)
        dz = (d @ self.w[1].T) * (self.z > 0)
        gw0 = x.T @ dz
        gb0 = dz.sum(axis=0)
        return [gw0, gw1], [gb0, gb1]


net = Net()
params = net.w + net.b
lr = 0.1
n_train = x_train.shape[0]
for epoch in range(2):
    order = np.random.permutation(n_train)
    for i in range(0, n_train, 128):
        bi = order[i:i + 128]
        gw, gb = net.gradient(x_train[bi], t_train[bi])
        for p, g in zip(params, gw + gb):
            p -= lr * g
    print("epoch", epoch, net.loss(x_train[:2000], t_train[:2000]))

acc = np.mean(net.predict(x_test).argmax(axis=1) == t_test.argmax(axis=1))
print("test acc", acc)
