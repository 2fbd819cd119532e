"""The book's chapter-5 training script (train_neuralnet.py) on fastnn: backprop, SGD, batch 100.

    python examples/book_ch5.py
"""
import numpy as np

from fastnn import TwoLayerNet                 # was: from two_layer_net import TwoLayerNet
from fastnn.datasets import load_mnist         # was: from dataset.mnist import load_mnist

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)

iters_num, train_size, batch_size, learning_rate = 10000, x_train.shape[0], 100, 0.1
train_loss_list, train_acc_list, test_acc_list = [], [], []
iter_per_epoch = max(train_size / batch_size, 1)

for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
    grad = network.gradient(x_batch, t_batch)
    for key in ("W1", "b1", "W2", "b2"):
        network.params[key] -= learning_rate * grad[key]
    train_loss_list.append(network.loss(x_batch, t_batch))
    if i % iter_per_epoch == 0:
        train_acc_list.append(network.accuracy(x_train, t_train))
        test_acc_list.append(network.accuracy(x_test, t_test))
        print(f"train acc, test acc | {train_acc_list[-1]:.4f}, {test_acc_list[-1]:.4f}")
