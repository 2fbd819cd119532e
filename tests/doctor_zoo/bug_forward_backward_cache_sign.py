# functional style: params is a dict, forward/backward are plain functions,
# and every step builds a NEW params dict.
import os
import numpy as np
from dataset.mnist import load_mnist


def init_params(sizes=(784, 100, 10)):
    n_in, n_h, n_out = sizes
    return {
        'W1': np.random.randn(n_in, n_h) * np.sqrt(2.0 / n_in),   # He init for relu
        'b1': np.zeros(n_h),
        'W2': np.random.randn(n_h, n_out) * np.sqrt(2.0 / n_h),
        'b2': np.zeros(n_out),
    }


def forward(params, x):
    a1 = x @ params['W1'] + params['b1']
    z1 = np.maximum(a1, 0)
    a2 = z1 @ params['W2'] + params['b2']
    a2 = a2 - a2.max(axis=1, keepdims=True)
    y = np.exp(a2) / np.exp(a2).sum(axis=1, keepdims=True)
    cache = (x, a1, z1, y)
    return y, cache


def loss_fn(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]


def backward(params, cache, t):
    x, a1, z1, y = cache
    n = x.shape[0]
    da2 = (y - t) / n
    grads = {}
    grads['W2'] = z1.T @ da2
    grads['b2'] = da2.sum(axis=0)
    dz1 = da2 @ params['W2'].T
    da1 = dz1 * (a1 > 0)
    grads['W1'] = x.T @ da1
    grads['b1'] = da1.sum(axis=0)
    return grads


def accuracy(params, x, t):
    y, _ = forward(params, x)
    return np.mean(y.argmax(axis=1) == t.argmax(axis=1))


(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=True)

params = init_params()
lr = 0.1
batch_size = 100
iters_num = int(os.environ.get('ITERS', 10000))

for step in range(iters_num):
    idx = np.random.randint(0, len(x_train), batch_size)
    x, t = x_train[idx], t_train[idx]
    y, cache = forward(params, x)
    loss = loss_fn(y, t)
    grads = backward(params, cache, t)
    params = {k: params[k] + lr * grads[k] for k in params}

    if step % 500 == 0:
        print(f"step {step} loss {loss:.4f} test acc {accuracy(params, x_test, t_test):.4f}", flush=True)

print("final test accuracy:", accuracy(params, x_test, t_test))
