# coding: utf-8
import sys, os
sys.path.append(os.pardir)  # 親ディレクトリのファイルをインポートするための設定
import numpy as np
from dataset.mnist import load_mnist
from common_alt4.multi_layer_net_extend import MultiLayerNetExtend
from common.optimizer import SGD, Adam

(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True)

# 学習データを削減
x_train = x_train[:1000]
t_train = t_train[:1000]

max_epochs = int(os.environ.get('ZOO_EPOCHS', 20))
train_size = x_train.shape[0]
batch_size = 100
learning_rate = 0.01

np.random.seed(0)


def __train(weight_init_std):
    bn_network = MultiLayerNetExtend(input_size=784, hidden_size_list=[100, 100, 100, 100, 100], output_size=10, 
                                    weight_init_std=weight_init_std, use_batchnorm=True)
    optimizer = SGD(lr=learning_rate)
    
    train_acc_list = []
    iter_per_epoch = max(train_size / batch_size, 1)
    epoch_cnt = 0
    
    for i in range(1000000000):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
    
        grads = bn_network.gradient(x_batch, t_batch)
        optimizer.update(bn_network.params, grads)
    
        if i % iter_per_epoch == 0:
            train_acc = bn_network.accuracy(x_train, t_train)
            train_acc_list.append(train_acc)
    
            print("epoch:" + str(epoch_cnt) + " | " + str(train_acc))
    
            epoch_cnt += 1
            if epoch_cnt >= max_epochs:
                break
                
    return bn_network, train_acc_list


# 3.グラフの描画==========
w = 0.05
print("============== w = " + str(w) + " ==============")
network, train_acc_list = __train(w)
print("final train acc:" + str(network.accuracy(x_train, t_train)))
print("final test acc:" + str(network.accuracy(x_test, t_test)))
