# parameters as attributes rebound by the update; train_step(x, t); integer labels, one-hot inside loss; float32; BUG: dW1 has the wrong sign
import numpy as np
from dataset.mnist import load_mnist

class Net:
    def __init__(self, n_in=784, n_hid=64, n_out=10, lr=0.2):
        rng = np.random.default_rng(7)
        self.W1 = (rng.standard_normal((n_in, n_hid)) * 0.05).astype(np.float32)
        self.b1 = np.zeros(n_hid, dtype=np.float32)
        self.W2 = (rng.standard_normal((n_hid, n_out)) * 0.05).astype(np.float32)
        self.b2 = np.zeros(n_out, dtype=np.float32)
        self.lr = lr
    def forward(self, x):
        self.x = x
        self.z1 = x @ self.W1 + self.b1
        self.h1 = np.maximum(self.z1, 0)
        return self.h1 @ self.W2 + self.b2
    def loss(self, x, t):
        logits = self.forward(x)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits); p /= p.sum(axis=1, keepdims=True)
        self.p = p
        onehot = np.eye(10, dtype=np.float32)[t]
        self.onehot = onehot
        return float(-np.sum(onehot * np.log(p + 1e-7)) / len(t))
    def gradient(self, x, t):
        L = self.loss(x, t)
        n = len(t)
        dz2 = (self.p - self.onehot) / n
        dW2 = self.h1.T @ dz2
        db2 = dz2.sum(0)
        dh1 = dz2 @ self.W2.T
        dz1 = dh1 * (self.z1 > 0)
        dW1 = -(self.x.T @ dz1)
        db1 = dz1.sum(0)
        return L, dW1, db1, dW2, db2
    def train_step(self, x, t):
        L, dW1, db1, dW2, db2 = self.gradient(x, t)
        self.W1 = self.W1 - self.lr * dW1
        self.b1 = self.b1 - self.lr * db1
        self.W2 = self.W2 - self.lr * dW2
        self.b2 = self.b2 - self.lr * db2
        return L
    def accuracy(self, x, t):
        return np.mean(self.forward(x).argmax(1) == t)

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)
x_train = x_train.astype(np.float32); x_test = x_test.astype(np.float32)
net = Net()
n_steps = 6000
for step in range(n_steps):
    sel = np.random.randint(0, len(x_train), 64)
    L = net.train_step(x_train[sel], t_train[sel])
    if step % 1000 == 0:
        print(step, L)
print("test acc", net.accuracy(x_test, t_test))
