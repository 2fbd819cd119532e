import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(a):
    c = np.max(a)
    exp_a = np.exp(a - c)
    sum_exp_a = np.sum(exp_a)
    y = exp_a / sum_exp_a
    return y


def cross_entropy_error(y, t):
    delta = 1e-7
    return -np.sum(t * np.log(y + delta)) / y.shape[0]


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

params = {}
params['W1'] = 0.01 * np.random.randn(784, 50)
params['b1'] = np.zeros(50)
params['W2'] = 0.01 * np.random.randn(50, 10)
params['b2'] = np.zeros(10)

iters_num = 2000
train_size = x_train.shape[0]
batch_size = 100
learning_rate = 0.1
train_loss_list = []

for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    t_batch = t_train[batch_mask]

    # forward
    a1 = np.dot(x_batch, params['W1']) + params['b1']
    z1 = sigmoid(a1)
    a2 = np.dot(z1, params['W2']) + params['b2']
    y = softmax(a2)
    loss = cross_entropy_error(y, t_batch)
    train_loss_list.append(loss)

    # backward
    grads = {}
    dy = (y - t_batch) / batch_size
    grads['W2'] = np.dot(z1.T, dy)
    grads['b2'] = np.sum(dy, axis=0)
    dz1 = np.dot(dy, params['W2'].T)
    da1 = dz1 * z1 * (1 - z1)
    grads['W1'] = np.dot(x_batch.T, da1)
    grads['b1'] = np.sum(da1, axis=0)

    # update
    for key in ('W1', 'b1', 'W2', 'b2'):
        params[key] -= learning_rate * grads[key]

    if i % 100 == 0:
        print("loss at iteration", i, ":", loss)

z1 = sigmoid(np.dot(x_test, params['W1']) + params['b1'])
y = softmax(np.dot(z1, params['W2']) + params['b2'])
print("test acc:", np.mean(np.argmax(y, axis=1) == np.argmax(t_test, axis=1)))
