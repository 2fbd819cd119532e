import numpy as np
from dataset.mnist import load_mnist

# load data (labels as integers 0-9)
(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)


def relu(x):
    return np.maximum(0, x)


def softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    exp_a = np.exp(a)
    return exp_a / exp_a.sum(axis=1, keepdims=True)


params = {}
params['W1'] = np.random.randn(784, 100) * np.sqrt(2.0 / 784)   # He init
params['b1'] = np.zeros(100)
params['W2'] = np.random.randn(100, 10) * np.sqrt(2.0 / 100)
params['b2'] = np.zeros(10)

learning_rate = 0.05
batch_size = 64
iters_num = 2000
train_size = x_train.shape[0]

for i in range(iters_num):
    idx = np.random.choice(train_size, batch_size)
    x_batch = x_train[idx]
    t_batch = t_train[idx]

    # forward
    h1 = np.dot(x_batch, params['W1']) + params['b1']
    r1 = relu(h1)
    h2 = np.dot(r1, params['W2']) + params['b2']
    y = softmax(h2)
    loss = -np.sum(np.log(y[np.arange(batch_size), t_batch] + 1e-7)) / batch_size

    # backward
    grads = {}
    dh2 = y.copy()
    dh2[np.arange(batch_size), t_batch] -= 1
    dh2 /= batch_size
    grads['W2'] = np.dot(r1.T, dh2)
    grads['b2'] = np.sum(dh2, axis=0)
    dr1 = np.dot(dh2, params['W2'].T)
    dh1 = dr1 * (h1 > 0)
    grads['W1'] = np.dot(x_batch.T, dh1)
    grads['b1'] = np.sum(dh1, axis=0)

    for key in ('W1', 'b1', 'W2', 'b2'):
        params[key] -= learning_rate * grads[key]

    if i % 200 == 0:
        print(f"step {i}: loss = {loss:.4f}")

h = relu(np.dot(x_test, params['W1']) + params['b1'])
out = np.dot(h, params['W2']) + params['b2']
print("test accuracy:", np.mean(np.argmax(out, axis=1) == t_test))
