"""The learner's loop that started fastnn, now on fastnn's TwoLayerNet (one import changed).

Keras-style data, one-hot labels, inputs scaled to [0, 1], batch 32, 100 iterations of *numerical*
gradients, lowercase keys, and parameter arrays replaced every step. With the book's numerical gradient
this takes minutes to hours; here it takes seconds.

    python examples/seed_loop.py
"""
import time

import numpy as np

from fastnn import TwoLayerNet                    # was: the learner's own TwoLayerNet
from fastnn.datasets.mnist import load_data       # was: from keras.datasets import mnist

(x_train, y_train), (x_test, y_test) = load_data()
x_train = x_train.reshape(-1, 784).astype(np.float64) / 255.0   # the fix for a saturated sigmoid
t_train = np.eye(10)[y_train]                                     # one-hot, as the learner had it

network = TwoLayerNet(input_size=784, hidden_size=100, output_size=10, seed=0)
batch_size, learning_rate, iters = 32, 0.5, 100
rng = np.random.default_rng(0)
losses = []
start = time.perf_counter()
for i in range(iters):
    batch = rng.choice(x_train.shape[0], batch_size)
    x_batch, t_batch = x_train[batch], t_train[batch]
    grad = network.numerical_gradient(x_batch, t_batch)
    for key in ("w1", "b1", "w2", "b2"):
        network.params[key] = network.params[key] - learning_rate * grad[key]
    losses.append(network.loss(x_batch, t_batch))
    if i % 20 == 0:
        print(f"iteration {i:3d}: loss {losses[-1]:.4f}")
elapsed = time.perf_counter() - start
print(f"{iters} iterations of numerical gradients in {elapsed:.1f} s ({elapsed / iters * 1000:.1f} ms each), "
      f"backend {network.backend}")
print(f"loss: first 10 iterations {np.mean(losses[:10]):.4f} -> last 10 {np.mean(losses[-10:]):.4f}")
print(f"test accuracy {network.accuracy(x_test.reshape(-1, 784) / 255.0, y_test):.4f}")
