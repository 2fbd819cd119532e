import numpy as np
from dataset.mnist import load_mnist


def relu(x):
    return np.maximum(0, x)


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def minibatches(x, y, batch_size):
    idx = np.random.permutation(len(x))
    for start in range(0, len(x), batch_size):
        sel = idx[start:start + batch_size]
        yield x[sel], y[sel]


def accuracy(x, y, w1, b1, w2, b2, w3, b3):
    h1 = relu(x @ w1 + b1)
    h2 = relu(h1 @ w2 + b2)
    return np.mean(np.argmax(h2 @ w3 + b3, axis=1) == y)


def train():
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False)

    # 784 -> 128 -> 64 -> 10, He initialisation for relu
    w1 = np.random.randn(784, 128) * np.sqrt(2.0 / 784)
    b1 = np.zeros(128)
    w2 = np.random.randn(128, 64) * np.sqrt(2.0 / 128)
    b2 = np.zeros(64)
    w3 = np.random.randn(64, 10) * np.sqrt(2.0 / 64)
    b3 = np.zeros(10)

    lr = 0.05
    epochs = 3
    step = 0
    for epoch in range(epochs):
        for xb, yb in minibatches(x_train, t_train, 64):
            n = xb.shape[0]
            onehot = np.eye(10)[yb]

            h1_pre = xb @ w1 + b1
            h1 = relu(h1_pre)
            h2_pre = h1 @ w2 + b2
            h2 = relu(h2_pre)
            probs = softmax(h2 @ w3 + b3)
            loss = -np.sum(onehot * np.log(probs + 1e-9)) / n

            dout = (probs - onehot) / n
            dh2 = (dout @ w3.T) * (h2_pre > 0)
            dh1 = (dh2 @ w2.T) * (h1_pre > 0)
            grads = {
                "w3": h2.T @ dout, "b3": dout.sum(axis=0),
                "w2": h1.T @ dh2, "b2": dh2.sum(axis=0),
                "w1": xb.T @ dh1, "b1": dh1.sum(axis=0),
            }

            w1 = w1 - lr * grads["w1"]
            b1 = b1 - lr * grads["b1"]
            w2 = w2 - lr * grads["w2"]
            b2 = b2 - lr * grads["b2"]
            w3 = w3 - lr * grads["w3"]
            b3 = b3 - lr * grads["b3"]

            if step % 200 == 0:
                print(f"epoch {epoch} step {step} loss {loss:.4f}")
            step += 1

        acc = accuracy(x_test, t_test, w1, b1, w2, b2, w3, b3)
        print(f"== end of epoch {epoch}: test accuracy {acc:.4f}")


train()
