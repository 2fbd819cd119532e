"""Sparse first-layer kernels in numba: the same functions, signatures and sums as src_cython/_sparse.h's
(exposed by fastnn._sparse_kernels), for the numba backend.

Design
------
A batch xb = x[perm[start:stop]] is gathered as CSR (row pointers of intp, int32 columns, values), then
regrouped by column (a counting sort: for each input pixel, its (batch row, value) pairs, rows ascending).
The forward pass z := xb W1 + b1 runs over each row's nonzeros; dW1 := xb^T dA1 over each pixel's
nonzeros, so every product costs one row update per nonzero instead of one per input element. numba
vectorizes the inner loops over the hidden units (the accumulator row stays in L1); the C kernels hold it
in registers. Buffers are the caller's (sized rows * d); ranges [r0, r1) / [j0, j1) are for the caller's
threads. An empty perm means the rows of x themselves.
"""
import numba
import numpy as np

from ._config import NUMBA_OPTIONS, NUMBA_PARALLEL_OPTIONS


@numba.njit(**NUMBA_OPTIONS)
def _compress_row(x, row, indices_out, values_out, p):
    """x[row]'s nonzeros (columns ascending) to indices_out / values_out from p on; returns where they end."""
    for k in range(x.shape[1]):
        v = x[row, k]
        if v != 0:
            values_out[p] = v
            indices_out[p] = k
            p += 1
    return p


@numba.njit(**NUMBA_OPTIONS)
def gather_csr(x, perm, start, stop, indptr_out, indices_out, values_out):
    """CSR of x[perm[start:stop]] (x[start:stop] for an empty perm); returns the number of nonzeros."""
    nnz = 0
    indptr_out[0] = 0
    for r in range(start, stop):
        nnz = _compress_row(x, perm[r] if perm.shape[0] > 0 else r, indices_out, values_out, nnz)
        indptr_out[r - start + 1] = nnz
    return nnz


@numba.njit(**NUMBA_OPTIONS)
def rows_to_csc(begin, end, indices, values, d, colptr_out, rows_out, cvalues_out):
    """The CSC (columns = input pixels) of the rows whose nonzeros lie at begin[r] .. end[r] - 1: colptr
    counts, then is each column's cursor; rows ascending within a column."""
    n_rows = begin.shape[0]
    colptr_out[:d + 1] = 0
    for r in range(n_rows):
        for p in range(begin[r], end[r]):
            colptr_out[indices[p] + 1] += 1
    for j in range(d):
        colptr_out[j + 1] += colptr_out[j]
    for r in range(n_rows):
        for p in range(begin[r], end[r]):
            q = colptr_out[indices[p]]
            colptr_out[indices[p]] = q + 1
            rows_out[q] = r
            cvalues_out[q] = values[p]
    for j in range(d, 0, -1):
        colptr_out[j] = colptr_out[j - 1]
    colptr_out[0] = 0


@numba.njit(**NUMBA_OPTIONS)
def csr_to_csc(indptr, indices, values, d, colptr_out, rows_out, cvalues_out):
    """The batch's CSC (columns = input pixels) from its CSR."""
    rows_to_csc(indptr[:-1], indptr[1:], indices, values, d, colptr_out, rows_out, cvalues_out)


@numba.njit(**NUMBA_OPTIONS)
def forward_rows(begin, end, indices, values, W1, b1, z_out, r0, r1):
    """z_out[b] := b1 + sum over row b's nonzeros (at begin[b] .. end[b] - 1) of x[b, j] W1[j], r0 <= b < r1."""
    h = W1.shape[1]
    for b in range(r0, r1):
        z = z_out[b]
        for k in range(h):
            z[k] = b1[k]
        for p in range(begin[b], end[b]):
            v = values[p]
            w = W1[indices[p]]
            for k in range(h):
                z[k] += v * w[k]


@numba.njit(**NUMBA_OPTIONS)
def forward(indptr, indices, values, W1, b1, z_out, r0, r1):
    """z_out[b] := b1 + sum over row b's nonzeros of x[b, j] W1[j], for batch rows r0 <= b < r1."""
    forward_rows(indptr[:-1], indptr[1:], indices, values, W1, b1, z_out, r0, r1)


@numba.njit(**NUMBA_PARALLEL_OPTIONS)
def forward_threads(indptr, indices, values, W1, b1, z_out, chunks):
    """forward over every row of the CSR (z_out has its rows), in `chunks` chunks of rows on numba's threads."""
    n = indptr.shape[0] - 1
    for c in numba.prange(chunks):
        forward(indptr, indices, values, W1, b1, z_out, c * n // chunks, (c + 1) * n // chunks)


@numba.njit(**NUMBA_OPTIONS)
def _column_sum(colptr, rows, cvalues, dA1, j, acc):
    """acc := sum over column j's nonzeros of x[b, j] dA1[b]."""
    h = acc.shape[0]
    for k in range(h):
        acc[k] = 0
    for q in range(colptr[j], colptr[j + 1]):
        v = cvalues[q]
        a = dA1[rows[q]]
        for k in range(h):
            acc[k] += v * a[k]


@numba.njit(**NUMBA_OPTIONS)
def weight_grad(colptr, rows, cvalues, dA1, dW1_out, j0, j1):
    """dW1_out[j] := sum over column j's nonzeros of x[b, j] dA1[b], for pixels j0 <= j < j1."""
    for j in range(j0, j1):
        _column_sum(colptr, rows, cvalues, dA1, j, dW1_out[j])


@numba.njit(**NUMBA_OPTIONS)
def sgd_step(colptr, rows, cvalues, dA1, W1, lr, j0, j1, touched_out):
    """W1[j] -= lr dW1[j] for the pixels j0 <= j < j1 with a nonzero in the batch (lr != 0); their indices go
    to touched_out[:n]; returns n."""
    h = W1.shape[1]
    acc = np.empty(h, W1.dtype)
    step = W1.dtype.type(lr)
    n = 0
    for j in range(j0, j1):
        if colptr[j + 1] == colptr[j]:
            continue
        _column_sum(colptr, rows, cvalues, dA1, j, acc)
        w = W1[j]
        for k in range(h):
            w[k] -= step * acc[k]
        touched_out[n] = j
        n += 1
    return n


@numba.njit(**NUMBA_OPTIONS)
def _csr_rows(x, rows):
    n = rows.shape[0] if rows.shape[0] > 0 else x.shape[0]
    d = x.shape[1]
    indptr = np.zeros(n + 1, np.intp)
    for i in range(n):
        row = rows[i] if rows.shape[0] > 0 else i
        c = 0
        for k in range(d):
            c += x[row, k] != 0
        indptr[i + 1] = indptr[i] + c
    indices = np.empty(indptr[n], np.int32)
    values = np.empty(indptr[n], x.dtype)
    for i in range(n):
        _compress_row(x, rows[i] if rows.shape[0] > 0 else i, indices, values, indptr[i])
    return indptr, indices, values


def csr_rows(x, rows, n_threads=1):
    """(indptr, indices, values) of x[rows] over their nonzeros (x's own rows for an empty ``rows``); serial."""
    return _csr_rows(x, rows)


# --- a batch over its nonzeros, for the compiled epoch loops (fastnn/_mlp_numba.py) ---

@numba.njit(**NUMBA_OPTIONS)
def batch_buffers(m, d, h, dtype_like, sparse):
    """(colptr, rows, cvalues, zero) for batches of at most m nonzeros of d inputs and a first layer of h units;
    empty arrays when not ``sparse`` (the types stay the same for the compiler)."""
    m = m if sparse else 0
    dt = dtype_like.dtype
    return (np.empty(d + 1 if sparse else 0, np.intp), np.empty(m, np.int32), np.empty(m, dt),
            np.zeros(h if sparse else 0, dt))


@numba.njit(**NUMBA_OPTIONS)
def first_layer_forward(buffers, begin, end, indices, values, W1, z_out):
    """z_out[:nb] := xb W1 over the nonzeros of the batch's rows (row r's at begin[r] .. end[r] - 1; no
    bias: the caller adds it with the activation, in the dense path's order)."""
    zero = buffers[3]
    forward_rows(begin, end, indices, values, W1, zero, z_out, 0, begin.shape[0])


@numba.njit(**NUMBA_OPTIONS)
def first_layer_weight_grad(buffers, begin, end, indices, values, dA1, dW1_out):
    """dW1_out := xb^T dA1 over the nonzeros of the batch's rows (as first_layer_forward's)."""
    colptr, rows, cvalues, _ = buffers
    d = dW1_out.shape[0]
    rows_to_csc(begin, end, indices, values, d, colptr, rows, cvalues)
    weight_grad(colptr, rows, cvalues, dA1, dW1_out, 0, d)
