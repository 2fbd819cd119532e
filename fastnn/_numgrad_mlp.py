"""The central-difference gradient of a plain MLP of any depth, perturbation-local, as Taylor series.

Design
------
Perturbing W_l[i, j] by +-h moves only unit j's pre-activation A_l[r, j] of each row r, by
s = +-h Z_{l-1}[r, i] (Z_0 = x; for b_l[j], s = +-h). Row r's loss then changes by phi_{l,r,j}(s), one
function of one scalar per (layer, row, unit), whatever i is. So the reference's two forward passes per
parameter reduce to knowing phi_{l,r,j} near 0:

* Its Taylor coefficients c_1..c_K are propagated from the one affected unit through the layers above
  it only (Taylor-mode forward propagation: each layer maps the K coefficient vectors of the shift of
  its input through W, then through the activation's series; the softmax cross-entropy's series at the
  end). Batched over all units j and rows r of layer l, the layer maps are matrix products.
* The central difference is then exact algebra on the series: (phi(s) - phi(-s)) / 2h =
  sum over odd k of c_k s^k / h, so dW_l = (1/N) sum_{k odd} h^(k-1) (Z_{l-1}^k)^T C_k (elementwise
  powers), dW_l = three matrix products for K = 5, plus lambda W_l from the weight decay (whose central
  difference is exact).
* The series is used for (l, r, j) only where it is exact to float64 rounding: every shift it implies,
  bounded by s_max |first-order coefficient| along the path (s_max = h max(1, max_i |Z_{l-1}[r, i]|)),
  is <= SERIES_LIMIT (so the omitted terms are below 1e-20), and, for relu, no pre-activation on the
  path crosses the kink: before a first crossing the map is exactly linear, so s_max |D1_q| < |A_q|
  for every unit q proves there is none. Elsewhere (raw pixels, huge weights, units at the kink) the
  exact differences are computed: both perturbed forward passes of that row from layer l on, as loss
  changes log1p(sum_k p_k expm1(u_k)) - u_t, never as a difference of two totals.

Arithmetic is float64 whatever the network's dtype. Elementwise series work is jitted (numba); the layer
maps go to BLAS through NumPy.
"""
import numpy as np
from numba import njit

from . import _codes, _config, reference
from ._codes import IDENTITY, RELU, SIGMOID, TANH
from ._config import EXACT_BLOCK, FAST_SHIFT, SERIES_LIMIT
from ._numerics import activation as _act

_jit = njit(**_config.NUMBA_OPTIONS)

#: Orders of the series (odd ones up to K enter the gradient; the omitted order K + 2 term is tiny).
K = _config.SERIES_TERMS
_NAMES = {code: name for name, code in _codes.ACTIVATIONS.items()}


@_jit
def _act_series_one(a0, d, act, y, g):
    """y[k-1] := order-k coefficient of act(a0 + D(s)) - act(a0), D(s) = sum_k d[k-1] s^k.

    sigmoid: y' = y (1 - y) D'; tanh: y' = (1 - y^2) D'; matching powers of s gives
    k Y_k = sum_{m=1..k} m D_m G_{k-m} with G the series of y (1 - y) or 1 - y^2.
    """
    n = y.shape[0]
    kd = d.shape[0]
    if act == RELU or act == IDENTITY:
        keep = 1.0 if (act == IDENTITY or a0 > 0) else 0.0
        for k in range(n):
            y[k] = keep * d[k] if k < kd else 0.0
        return
    y0 = _act(a0, act)
    for k in range(1, n + 1):
        # G_{k-1} needs Y up to k-1
        q = k - 1
        conv = y0 * (y[q - 1] if q >= 1 else y0)
        for p in range(1, q + 1):
            conv += y[p - 1] * (y[q - p - 1] if q - p >= 1 else y0)
        if act == SIGMOID:
            g[q] = (y[q - 1] if q >= 1 else y0) - conv
        else:
            g[q] = (1.0 if q == 0 else 0.0) - conv
        total = 0.0
        for m in range(1, min(k, kd) + 1):
            total += m * d[m - 1] * g[k - m]
        y[k - 1] = total / k


@_jit
def act_series(A, D, act, n_orders, out):
    """out[j, r, :, q] := series of act(A[r, q] + D[j, r, :, q](s)) - act(A[r, q]) to n_orders."""
    J, R, kd, Q = D.shape
    d = np.empty(kd)
    y = np.empty(n_orders)
    g = np.empty(n_orders)
    for j in range(J):
        for r in range(R):
            for q in range(Q):
                for k in range(kd):
                    d[k] = D[j, r, k, q]
                _act_series_one(A[r, q], d, act, y, g)
                for k in range(n_orders):
                    out[j, r, k, q] = y[k]


@_jit
def path_checks(A, D, s_max, relu, rho, ok):
    """Along one layer of the path: rho[j, r] := max(rho, s_max[r] |D1|), ok[j, r] &= no relu kink crossed."""
    J, R, _, Q = D.shape
    for j in range(J):
        for r in range(R):
            m = rho[j, r]
            for q in range(Q):
                v = abs(D[j, r, 0, q]) * s_max[r]
                m = max(m, v)
                if relu and v != 0.0 and v >= abs(A[r, q]):
                    ok[j, r] = False
            rho[j, r] = m


@_jit
def ce_series(P, t, U, n_orders, out):
    """out[k-1, r, j] := order-k coefficient of phi(s) = log sum_c p_c exp(U_c(s)) - U_t(s), U = U[j, r, :, c].

    exp: k E_k = sum_m m U_m E_{k-m}; S = sum_c p_c E_c (S_0 = 1); log: k L_k = k S_k - sum_m m L_m S_{k-m}.
    """
    J, R, ku, C = U.shape
    E = np.empty(n_orders + 1)
    S = np.empty(n_orders + 1)
    Lg = np.empty(n_orders + 1)
    for j in range(J):
        for r in range(R):
            for k in range(n_orders + 1):
                S[k] = 0.0
            for c in range(C):
                E[0] = 1.0
                for k in range(1, n_orders + 1):
                    acc = 0.0
                    for m in range(1, min(k, ku) + 1):
                        acc += m * U[j, r, m - 1, c] * E[k - m]
                    E[k] = acc / k
                    S[k] += P[r, c] * E[k]
            for k in range(1, n_orders + 1):
                acc = k * S[k]
                for m in range(1, k):
                    acc -= m * Lg[m] * S[k - m]
                Lg[k] = acc / k
                out[k - 1, r, j] = Lg[k] - (U[j, r, k - 1, t[r]] if k <= ku else 0.0)


def _forward(Ws, bs, x, act):
    """Pre-activations A_1..A_L, outputs Z_0 = x .. Z_{L-1}, the softmax P of the logits and its log LP."""
    As, Zs = [], [x]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        a = Zs[-1] @ W + b
        As.append(a)
        if l < len(Ws) - 1:
            Zs.append(_act_array(a, act))
    shifted = As[-1] - As[-1].max(axis=1, keepdims=True)
    LP = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return As, Zs, np.exp(LP), LP


def _act_array(a, act):
    """The reference's activation of code act, elementwise."""
    return reference.ACTIVATION_FUNCTIONS[_NAMES[act]](a)


def _unit_series(l, Ws, As, P, t, act, s_max):
    """(C, ok): C[k-1, r, j] the series of phi_{l,r,j}, ok[r, j] where it is exact (l is 0-based)."""
    L = len(Ws)
    R, J = As[l].shape
    smooth = act in (SIGMOID, TANH)
    kp = K if smooth else 1  # orders worth propagating: relu and identity layers are linear
    relu = act == RELU
    rho = np.tile(s_max, (J, 1))  # the perturbed unit's own shift
    ok = np.ones((J, R), dtype=np.bool_)
    if l == L - 1:  # an output unit: the logit itself moves
        U = np.zeros((J, R, 1, J))
        U[np.arange(J), :, 0, np.arange(J)] = 1.0
    else:
        # the perturbed units' own activation series, act(A_l[r, j] + s) - act(A_l[r, j]), all j at once
        own = np.empty((1, R, kp, J))
        act_series(As[l], np.ones((1, R, 1, J)), act, kp, own)
        y = own[0].transpose(2, 0, 1)[..., None]  # (J, R, kp, 1)
        if relu:
            ok &= (np.abs(As[l]).T > s_max[None, :])
        U = y * Ws[l + 1][:, None, None, :]  # (J, R, kp, n_{l+1})
        for m in range(l + 1, L - 1):
            path_checks(As[m], U, s_max, relu, rho, ok)
            Y = np.empty_like(U)
            act_series(As[m], U, act, kp, Y)
            U = (Y.reshape(-1, Y.shape[3]) @ Ws[m + 1]).reshape(J, R, kp, -1)
    path_checks(As[L - 1], U, s_max, False, rho, ok)
    ok &= rho <= SERIES_LIMIT
    C = np.empty((K, R, J))
    ce_series(P, t, U, K, C)
    return C, ok.T


def _row_dloss(p, lp, u):
    """log sum_c p_c exp(u_c) per row: log1p(sum p expm1(u)) where every |u| <= FAST_SHIFT (exact for small
    shifts), else logsumexp(lp + u) (expm1 overflows past 709, and 1 + sum cancels when a confident class
    loses its mass)."""
    out = np.empty(u.shape[0])
    small = np.all(np.abs(u) <= FAST_SHIFT, axis=1)
    out[small] = np.log1p(np.sum(p[small] * np.expm1(u[small]), axis=1))
    big = ~small
    if np.any(big):
        v = lp[big] + u[big]
        m = v.max(axis=1, keepdims=True)
        out[big] = (m + np.log(np.sum(np.exp(v - m), axis=1, keepdims=True)))[:, 0]
    return out


def _exact(l, items, Ws, As, Zs, P, LP, t, act, h, n, gW, gb):
    """Exact central differences for the (row, unit) pairs `items` of layer l, added into gW and gb."""
    L = len(Ws)
    zin = Zs[l]
    d = zin.shape[1]
    rows, units, inputs, shifts, signs = [], [], [], [], []
    for r, j in items:
        nz = np.flatnonzero(zin[r])
        i = np.concatenate([nz, [d]])  # input d is the bias, of value 1
        v = np.concatenate([zin[r, nz], [1.0]]) * h
        rows.append(np.full(2 * i.size, r))
        units.append(np.full(2 * i.size, j))
        inputs.append(np.concatenate([i, i]))
        shifts.append(np.concatenate([v, -v]))
        signs.append(np.repeat([1.0, -1.0], i.size))
    rows, units, inputs, shifts, signs = (np.concatenate(a) for a in (rows, units, inputs, shifts, signs))
    dl = np.empty(rows.size)
    for b0 in range(0, rows.size, EXACT_BLOCK):
        sl = slice(b0, b0 + EXACT_BLOCK)
        r, j, s = rows[sl], units[sl], shifts[sl]
        a0 = As[l][r, j]
        if l == L - 1:
            u = np.zeros((r.size, Ws[l].shape[1]))
            u[np.arange(r.size), j] = s
        else:
            dz = _act_array(a0 + s, act) - _act_array(a0, act)
            u = dz[:, None] * Ws[l + 1][j]
            for m in range(l + 1, L - 1):
                dz = _act_array(As[m][r] + u, act) - Zs[m + 1][r]
                u = dz @ Ws[m + 1]
        dl[sl] = _row_dloss(P[r], LP[r], u) - u[np.arange(r.size), t[r]]
    contrib = signs * dl / (2 * h) / n  # (dl+ - dl-) / 2hN, summed per parameter (1 / 2hN overflows for tiny h)
    weight = inputs < d
    np.add.at(gW, (inputs[weight], units[weight]), contrib[weight])
    np.add.at(gb, units[~weight], contrib[~weight])


def numerical_gradient(Ws, bs, x, t, act, lam, h, series=True):
    """dW_l, db_l (float64 lists) of the mean cross-entropy + 0.5 lam sum ||W||^2 by central differences."""
    L = len(Ws)
    n = x.shape[0]
    As, Zs, P, LP = _forward(Ws, bs, x, act)
    gWs, gbs = [], []
    for l in range(L):
        zin = Zs[l]
        s_max = h * np.maximum(1.0, np.abs(zin).max(axis=1))
        C, ok = _unit_series(l, Ws, As, P, t, act, s_max)
        if not series:
            ok[:] = False
        C *= ok[None]
        gW = np.zeros_like(Ws[l])
        gb = np.zeros_like(bs[l])
        power = np.ones_like(zin)
        z2 = zin * zin
        for k in range(1, K + 1, 2):
            scale = h ** (k - 1) / n
            gW += scale * ((zin * power).T @ C[k - 1])
            gb += scale * C[k - 1].sum(axis=0)
            power = power * z2
        bad = np.argwhere(~ok)
        if bad.size:
            _exact(l, [tuple(rj) for rj in bad], Ws, As, Zs, P, LP, t, act, h, n, gW, gb)
        gWs.append(gW + lam * Ws[l])
        gbs.append(gb)
    return gWs, gbs
