# MNIST from Keras, two-layer net with a ReLU hidden layer.
# Cross entropy written as -sum(t * log(y)) / N and its gradient (y - t) / N.
import numpy as np
from keras.datasets import mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(60000, 784) / 255.0
x_test = x_test.reshape(10000, 784) / 255.0
# labels as column vectors, like the inputs are rows
y_train = y_train.reshape(-1, 1)
y_test = y_test.reshape(-1, 1)
print("x_train", x_train.shape, "y_train", y_train.shape)


class Net:
    def __init__(self, n_in=784, n_hidden=128, n_out=10):
        self.W1 = np.random.randn(n_in, n_hidden) * 0.01
        self.b1 = np.zeros(n_hidden)
        self.W2 = np.random.randn(n_hidden, n_out) * 0.01
        self.b2 = np.zeros(n_out)
        self.params = {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def forward(self, x):
        self.x = x
        self.a1 = x @ self.W1 + self.b1
        self.h = np.maximum(self.a1, 0)
        s = self.h @ self.W2 + self.b2
        s = s - s.max(axis=1, keepdims=True)
        self.y = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        return self.y

    def loss(self, x, t):
        y = self.forward(x)
        return -np.sum(t * np.log(y + 1e-7)) / len(x)

    def gradient(self, x, t):
        y = self.forward(x)
        dy = (y - t) / len(x)
        dh = dy @ self.W2.T
        dh[self.a1 <= 0] = 0
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": self.h.T @ dy, "b2": dy.sum(axis=0)}

    def accuracy(self, x, t):
        return np.mean(self.forward(x).argmax(axis=1) == t.ravel())


net = Net()
epochs = 5
batch_size = 100
lr = 0.1
losses = []
for epoch in range(epochs):
    order = np.random.permutation(len(x_train))
    for start in range(0, len(x_train), batch_size):
        b = order[start:start + batch_size]
        grads = net.gradient(x_train[b], y_train[b])
        for name in net.params:
            net.params[name] -= lr * grads[name]
        losses.append(net.loss(x_train[b], y_train[b]))
        if len(losses) % 100 == 0:
            print("step", len(losses), "loss", round(losses[-1], 4))
    print("epoch", epoch, "test accuracy", net.accuracy(x_test, y_test))
