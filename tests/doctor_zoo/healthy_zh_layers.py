# coding: utf-8
# 《深度学习入门：基于Python的理论与实现》第5章 —— 误差反向传播法
# 自己照着书写的两层神经网络，用层（Affine / Relu / SoftmaxWithLoss）来实现
import numpy as np
from collections import OrderedDict
from dataset.mnist import load_mnist


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)  # 防止溢出
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


def cross_entropy_error(y, t):
    # t 是整数标签（不是 one-hot）
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class SoftmaxWithLoss:
    def __init__(self):
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        return cross_entropy_error(self.y, t)

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1  # 整数标签：正确类别减 1
        return dx / batch_size


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        # 初始化权重
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

        # 生成层
        self.layers = OrderedDict()
        self.layers['Affine1'] = Affine(self.params['W1'], self.params['b1'])
        self.layers['Relu1'] = Relu()
        self.layers['Affine2'] = Affine(self.params['W2'], self.params['b2'])
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def accuracy(self, x, t):
        y = np.argmax(self.predict(x), axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def gradient(self, x, t):
        # 正向传播
        self.loss(x, t)
        # 反向传播
        dout = self.lastLayer.backward(1)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)
        grads = {}
        grads['W1'], grads['b1'] = self.layers['Affine1'].dW, self.layers['Affine1'].db
        grads['W2'], grads['b2'] = self.layers['Affine2'].dW, self.layers['Affine2'].db
        return grads


# 读入数据（标签是整数）
(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)

network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)

# 超参数
epochs = 10
batch_size = 100
learning_rate = 0.1
train_size = x_train.shape[0]

train_loss_list = []

for epoch in range(epochs):
    # 每个 epoch 打乱一次顺序（图像和标签一起打乱）
    perm = np.random.permutation(train_size)
    x_shuffled = x_train[perm]
    t_shuffled = t_train[perm]
    for i in range(0, train_size, batch_size):
        x_batch = x_shuffled[i:i + batch_size]
        t_batch = t_shuffled[i:i + batch_size]

        grad = network.gradient(x_batch, t_batch)  # 误差反向传播法求梯度
        for key in ('W1', 'b1', 'W2', 'b2'):
            network.params[key] -= learning_rate * grad[key]

        train_loss_list.append(network.loss(x_batch, t_batch))

    print("第 %d 轮  损失 %.4f  训练精度 %.4f  测试精度 %.4f" % (
        epoch + 1, train_loss_list[-1],
        network.accuracy(x_train, t_train), network.accuracy(x_test, t_test)))
