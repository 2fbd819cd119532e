"""The epoch loop in Python over any backend's gradient: the path for optimizers no kernel fuses."""
import numpy as np

from ..reference import batches


def train_epoch_python(gradient, params, x, t, perm, batch_size, optimizer, activation, loss, n_threads):
    """Mini-batch steps over perm with ``gradient`` and ``optimizer.update``; the batch losses."""
    losses = []
    for idx in batches(perm, batch_size):
        value, grads = gradient(params, x[idx], t[idx], activation, loss, n_threads)
        optimizer.update(params, grads)
        losses.append(value)
    return np.asarray(losses, dtype=np.float64)
