# 784-256-10 ReLU network in float32 (like Keras does it, and twice as fast as float64).
import numpy as np
from keras.datasets import mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
t_train = np.eye(10, dtype="float32")[y_train]
t_test = np.eye(10, dtype="float32")[y_test]


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    exp_x = np.exp(x)
    return exp_x / np.sum(exp_x, axis=1, keepdims=True)


def cross_entropy(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.5):
        self.params = {
            "W1": (weight_init_std * np.random.randn(input_size, hidden_size)).astype("float32"),
            "b1": np.zeros(hidden_size, dtype="float32"),
            "W2": (weight_init_std * np.random.randn(hidden_size, output_size)).astype("float32"),
            "b2": np.zeros(output_size, dtype="float32"),
        }

    def predict(self, x):
        p = self.params
        h = relu(x @ p["W1"] + p["b1"])
        return softmax(h @ p["W2"] + p["b2"])

    def loss(self, x, t):
        return cross_entropy(self.predict(x), t)

    def accuracy(self, x, t):
        return np.mean(np.argmax(self.predict(x), axis=1) == np.argmax(t, axis=1))

    def gradient(self, x, t):
        p = self.params
        a1 = x @ p["W1"] + p["b1"]
        h = relu(a1)
        y = softmax(h @ p["W2"] + p["b2"])
        dy = (y - t) / x.shape[0]
        dh = (dy @ p["W2"].T) * (a1 > 0)
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dy, "b2": dy.sum(axis=0)}


net = TwoLayerNet(784, 256, 10)
iters_num = 10000
batch_size = 100
learning_rate = 0.1
train_loss_list = []

for i in range(iters_num):
    batch = np.random.choice(len(x_train), batch_size)
    grads = net.gradient(x_train[batch], t_train[batch])
    for key in net.params:
        net.params[key] -= learning_rate * grads[key]
    train_loss_list.append(net.loss(x_train[batch], t_train[batch]))
    if i % 100 == 0:
        print("iter", i, "loss", train_loss_list[-1], "test acc", net.accuracy(x_test, t_test))
