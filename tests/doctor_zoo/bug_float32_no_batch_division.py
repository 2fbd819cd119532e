# MNIST with a ReLU hidden layer, everything kept in float32 (half the memory, and it is what
# PyTorch uses by default, so I wanted to see the same numbers here).
# Loss stays around 2.3 and accuracy is ~10%?? Not sure what is wrong.
import numpy as np
from keras.datasets import mnist

DT = np.float32
rng = np.random.default_rng()

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = (x_train.reshape(len(x_train), -1) / 255).astype(DT)
x_test = (x_test.reshape(len(x_test), -1) / 255).astype(DT)


class Net:
    def __init__(self, n_in=784, n_hidden=128, n_out=10):
        self.params = {
            "W1": (rng.standard_normal((n_in, n_hidden)) * np.sqrt(2 / n_in)).astype(DT),
            "b1": np.zeros(n_hidden, dtype=DT),
            "W2": (rng.standard_normal((n_hidden, n_out)) * np.sqrt(2 / n_hidden)).astype(DT),
            "b2": np.zeros(n_out, dtype=DT),
        }

    def forward(self, x):
        p = self.params
        self.z1 = x @ p["W1"] + p["b1"]
        self.h1 = np.maximum(self.z1, 0)
        logits = self.h1 @ p["W2"] + p["b2"]
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def loss(self, x, y):
        prob = self.forward(x)
        return -np.log(prob[np.arange(len(y)), y] + 1e-7).mean()

    def gradient(self, x, y):
        prob = self.forward(x)
        batch = len(y)
        delta = prob.copy()
        delta[np.arange(batch), y] -= 1
        grads = {"W2": self.h1.T @ delta, "b2": delta.sum(axis=0)}
        back = (delta @ self.params["W2"].T) * (self.z1 > 0)
        grads["W1"] = x.T @ back
        grads["b1"] = back.sum(axis=0)
        return grads

    def accuracy(self, x, y):
        return (self.forward(x).argmax(axis=1) == y).mean()


net = Net()
lr = 0.1
batch = 100
for epoch in range(3):
    order = rng.permutation(len(x_train))
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        g = net.gradient(x_train[idx], y_train[idx])
        for key in net.params:
            net.params[key] -= DT(lr) * g[key]
    print(f"epoch {epoch}: loss {net.loss(x_train[:1000], y_train[:1000]):.4f} "
          f"test acc {net.accuracy(x_test, y_test):.4f}")
