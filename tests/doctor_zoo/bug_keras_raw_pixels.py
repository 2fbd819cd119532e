# My first MNIST network without a framework: 784 -> 100 (ReLU) -> 10 (softmax).
# Keras only downloads the data.
import numpy as np
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(x_train.shape[0], -1).astype(np.float64)
x_test = x_test.reshape(x_test.shape[0], -1).astype(np.float64)
t_train = np.eye(10)[y_train]
t_test = np.eye(10)[y_test]


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


class MLP:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        z1 = relu(x @ self.params['W1'] + self.params['b1'])
        return softmax(z1 @ self.params['W2'] + self.params['b2'])

    def loss(self, x, t):
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def accuracy(self, x, t):
        return np.mean(np.argmax(self.predict(x), axis=1) == np.argmax(t, axis=1))

    def gradient(self, x, t):
        W1, b1, W2, b2 = self.params['W1'], self.params['b1'], self.params['W2'], self.params['b2']
        a1 = x @ W1 + b1
        z1 = relu(a1)
        y = softmax(z1 @ W2 + b2)
        dy = (y - t) / x.shape[0]
        dz1 = (dy @ W2.T) * (a1 > 0)
        return {'W1': x.T @ dz1, 'b1': dz1.sum(axis=0), 'W2': z1.T @ dy, 'b2': dy.sum(axis=0)}


model = MLP(784, 100, 10)
iters_num = 10000
batch_size = 100
learning_rate = 0.1
train_loss = []

for i in range(iters_num):
    idx = np.random.choice(len(x_train), batch_size, replace=False)
    grads = model.gradient(x_train[idx], t_train[idx])
    for k in model.params:
        model.params[k] -= learning_rate * grads[k]
    train_loss.append(model.loss(x_train[idx], t_train[idx]))
    if i % 200 == 0:
        print("iter {:5d} | loss {:.4f} | test acc {:.4f}".format(i, train_loss[-1], model.accuracy(x_test, t_test)))
