"""MNIST with one sigmoid hidden layer, lr decays every epoch."""
import numpy as np
from dataset.mnist import load_mnist


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    c = np.max(x, axis=1, keepdims=True)
    exp_x = np.exp(x - c)
    return exp_x / np.sum(exp_x, axis=1, keepdims=True)


def main():
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
    n_train = x_train.shape[0]

    rng = np.random.default_rng(42)
    W_hidden = rng.normal(0.0, np.sqrt(1.0 / 784), size=(784, 64))
    b_hidden = np.zeros(64)
    W_out = rng.normal(0.0, np.sqrt(1.0 / 64), size=(64, 10))
    b_out = np.zeros(10)

    lr0 = 0.5
    decay = 0.3
    batch_size = 128
    n_epochs = 4

    for epoch in range(n_epochs):
        lr = lr0 / (1.0 + decay * epoch)
        order = rng.permutation(n_train)
        running = 0.0
        for k, start in enumerate(range(0, n_train, batch_size)):
            idx = order[start:start + batch_size]
            X = x_train[idx]
            T = t_train[idx]
            B = X.shape[0]

            hidden_in = X @ W_hidden + b_hidden
            hidden_out = sigmoid(hidden_in)
            scores = hidden_out @ W_out + b_out
            P = softmax(scores)
            loss = -np.sum(T * np.log(P + 1e-7)) / B
            running += loss

            d_scores = (P - T) / B
            grad_W_out = hidden_out.T @ d_scores
            grad_b_out = d_scores.sum(axis=0)
            d_hidden = (d_scores @ W_out.T) * hidden_out * (1.0 - hidden_out)
            grad_W_hidden = X.T @ d_hidden
            grad_b_hidden = d_hidden.sum(axis=0)

            W_out -= lr * grad_W_out
            b_out -= lr * grad_b_out
            W_hidden -= lr * grad_W_hidden
            b_hidden -= lr * grad_b_hidden

            if k % 100 == 0:
                print("epoch %d batch %3d  lr %.3f  loss %.4f" % (epoch, k, lr, loss))

        pred = np.argmax(sigmoid(x_test @ W_hidden + b_hidden) @ W_out + b_out, axis=1)
        acc = np.mean(pred == np.argmax(t_test, axis=1))
        print("epoch %d done, mean loss %.4f, test acc %.4f" % (epoch, running / (k + 1), acc))


if __name__ == "__main__":
    main()
