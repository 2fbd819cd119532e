"""doctor: run a network on a batch and say, in plain words, why it does not learn.

Works with any book-style network: a ``params`` dict of arrays and ``loss(x, t)``; ``predict``,
``gradient`` and ``numerical_gradient`` are used when present. Every finding has a stable ``code``,
what was measured, why it matters and the fix. Consequences are folded into their cause (raw pixels
saturate the sigmoid, which zeroes the gradient: one finding, ``input-scale``, not three).
"""
import inspect
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _config, reference

#: Severity: 0 = learning cannot work, 1 = learning is crippled, 2 = worth fixing.
SEVERITY = {"labels": 0, "nan-gradient": 0, "softmax-axis": 0, "numgrad-first-axis": 0, "numgrad-mismatch": 0,
            "loss-not-averaged": 1, "input-scale": 1, "saturation": 1, "zero-gradient": 1, "learning-rate": 1,
            "init-scale": 2, "overflow": 2}
#: A cause hides the findings it explains.
EXPLAINS = {"labels": {"loss-not-averaged", "softmax-axis", "zero-gradient", "nan-gradient", "numgrad-mismatch"},
            "input-scale": {"saturation", "overflow", "zero-gradient", "init-scale", "learning-rate"},
            "init-scale": {"saturation", "zero-gradient", "overflow", "learning-rate"},
            "saturation": {"zero-gradient"},
            "overflow": {"nan-gradient"}}


@dataclass
class Finding:
    """One diagnosis: ``code`` is stable; ``measured`` holds the numbers behind it."""
    code: str
    message: str
    why: str
    fix: str
    measured: dict = field(default_factory=dict)

    @property
    def severity(self):
        return SEVERITY.get(self.code, 2)

    def __str__(self):
        return self.text("en")

    def text(self, lang="en"):
        """The finding in English or Chinese ('zh'); the measurement stays as measured."""
        if lang == "zh" and self.code in ZH:
            why, fix = ZH[self.code]
            return f"[{self.code}] 测得：{self.message}\n    原因：{why}\n    修正：{fix}"
        return f"[{self.code}] {self.message}\n    why: {self.why}\n    fix: {self.fix}"


#: Chinese explanations (why, fix) per code, for learners reading the book in Chinese.
ZH = {
    "labels": ("标签的形式与损失函数不符（one-hot 与整数混用、越界或列数不对），损失和梯度都会出错。",
               "检查标签编码：one-hot 用 np.eye(类别数)[t]，整数标签取值须在 0..类别数-1。"),
    "input-scale": ("原始像素（0..255）会让 sigmoid 单元饱和，饱和处梯度约为 0，损失一直降不下来。",
                    "把输入归一化：x = x / 255.0（或 load_mnist(normalize=True)）。"),
    "saturation": ("大部分 sigmoid 输出贴近 0 或 1（或 relu 单元全部为 0），梯度几乎为零，学习停滞。",
                   "把输入缩放到 [0, 1]，权重初始化为约 1/sqrt(fan_in)（Xavier）或 sqrt(2/fan_in)（He）。"),
    "init-scale": ("权重尺度远离 1/sqrt(fan_in)：过大则单元饱和，过小则信号和梯度消失。",
                   "用 'xavier'（sigmoid）或 'he'（relu）初始化。"),
    "softmax-axis": ("softmax 对整个批次（或错误的轴）做了归一化，每一行的概率依赖其他样本，损失和梯度都错了。",
                     "按行归一化：e = np.exp(a - a.max(axis=-1, keepdims=True)); y = e / e.sum(axis=-1, keepdims=True)。"),
    "loss-not-averaged": ("损失对批次求和而不是求平均，步长被悄悄乘上了批大小。",
                          "求和后除以批大小：np.sum(...) / batch_size。"),
    "numgrad-first-axis": ("数值梯度只沿第一个轴循环，一次扰动整行，整行元素得到同一个值。",
                           "逐元素扰动：np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])，扰动 x[it.multi_index]。"),
    "numgrad-mismatch": ("数值梯度不是损失函数的中心差分。",
                         "逐元素计算 (f(x+h) - f(x-h)) / 2h，每次只扰动一个元素并及时恢复。"),
    "zero-gradient": ("梯度为零的参数永远不会更新。",
                      "检查反向传播是否给每个参数赋了梯度，以及单元是否饱和或死亡。"),
    "nan-gradient": ("梯度中出现 NaN 或 inf，一步更新就会让所有参数变成 NaN。",
                     "检查损失及其反向传播中的 log(0)、0/0 或溢出。"),
    "learning-rate": ("一次更新相对于权重本身过大会发散，过小则学不动（通常约为权重的 1e-3 到 1e-1）。",
                      "按报告的比例调整学习率。"),
    "overflow": ("exp 溢出得到 inf，下一步就变成 NaN；警告还会掩盖真正的问题。",
                 "sigmoid 写成 np.exp(-np.logaddexp(0, -x)) 或按 x 的符号分开计算；softmax 先减去每行最大值。"),
}


def _quiet_call(fn, *args):
    """(result, [warning texts], exception) of fn(*args), numerical warnings recorded."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn",
                                                                     under="ignore"):
        warnings.simplefilter("always")
        try:
            result, error = fn(*args), None
        except Exception as exc:  # the network's own code may fail in any way: report it, do not crash
            result, error = None, exc
    return result, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)], error


def _network_globals(network):
    """The globals the network's methods see (its module's, or a learner script's namespace)."""
    for name in ("predict", "loss"):
        fn = getattr(type(network), name, None)
        if fn is not None and hasattr(fn, "__globals__"):
            return fn.__globals__
    module = inspect.getmodule(type(network))
    return vars(module) if module else {}


def _n_classes(network, x):
    y, _, _ = _quiet_call(network.predict, x[:1]) if hasattr(network, "predict") else (None, [], None)
    if y is not None and np.ndim(y) == 2:
        return np.shape(y)[1]
    biases = [v for k, v in network.params.items() if np.ndim(v) == 1]
    return np.shape(biases[-1])[0] if biases else None


def _weights(network):
    return [(k, np.asarray(v, np.float64)) for k, v in network.params.items() if np.ndim(v) == 2]


def _bias_for(network, key):
    b = network.params.get(str(key).replace("W", "b").replace("w", "b"))
    return np.asarray(b, np.float64) if b is not None else 0.0


def _hidden(network, x, activation):
    """Pre-activations and outputs of each hidden layer, recomputed from params (W1, b1, ...)."""
    layers, z = [], np.asarray(x, np.float64).reshape(len(x), -1)
    weights = _weights(network)
    for key, W in weights[:-1]:
        if W.shape[0] != z.shape[1]:
            break
        a = z @ W + _bias_for(network, key)
        z = reference.relu(a) if activation == "relu" else reference.sigmoid(a)
        layers.append((key, a, z))
    return layers


# --- the checks ---------------------------------------------------------------------------------------

def check_labels(network, x, t, k):
    t = np.asarray(t)
    if t.ndim == 2:
        if k is not None and t.shape[1] != k:
            return Finding("labels", f"one-hot labels have {t.shape[1]} columns but the network has {k} outputs",
                           "each label row must say which of the outputs is right", f"use {k} columns",
                           {"label_width": t.shape[1], "outputs": k})
        if not (np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1)):
            return Finding("labels", "2-D labels are not one-hot (rows must hold a single 1)",
                           "the cross-entropy then mixes several targets per example",
                           "build labels with np.eye(n_classes)[t]", {"row_sums": t.sum(axis=1)[:5].tolist()})
        return None
    if t.ndim != 1 or len(t) != len(x):
        return Finding("labels", f"labels have shape {t.shape} for {len(x)} examples",
                       "one label per example is needed", "pass t of shape (N,) or (N, classes)")
    if not np.issubdtype(t.dtype, np.integer):
        return Finding("labels", f"integer labels were expected, got dtype {t.dtype}",
                       "class indices are used to pick the right output", "t.astype(int)")
    if k is not None and (t.min() < 0 or t.max() >= k):
        return Finding("labels", f"labels range from {t.min()} to {t.max()} but the network has {k} outputs",
                       "a label outside 0..classes-1 picks no output (or the wrong one)",
                       "check the label encoding", {"min": int(t.min()), "max": int(t.max()), "outputs": k})
    if k is not None:
        as_int, _, e1 = _quiet_call(network.loss, x, t)
        as_onehot, _, e2 = _quiet_call(network.loss, x, np.eye(k)[t])
        if e2 is None and (e1 is not None or not np.isclose(float(as_int), float(as_onehot), rtol=1e-6)):
            return Finding("labels", "the loss gives a different value for integer labels than for the same labels "
                           "one-hot" + (f" (integer labels fail: {e1})" if e1 else
                                        f" ({float(as_int):.4g} vs {float(as_onehot):.4g})"),
                           "the loss function expects one-hot rows; integer labels broadcast into nonsense",
                           "pass one-hot labels (np.eye(10)[t]) or make the loss handle both forms")
    return None


def check_input_scale(x):
    lo, hi = float(np.min(x)), float(np.max(x))
    if max(abs(lo), abs(hi)) > 2.0:
        return Finding("input-scale", f"inputs range from {lo:g} to {hi:g}",
                       "raw pixels (0..255) drive sigmoid units into saturation, where their gradient is ~0; "
                       "the loss then stays high",
                       "scale the inputs: x = x / 255.0 (or load_mnist(normalize=True))", {"min": lo, "max": hi})
    return None


def check_overflow(network, x, t):
    notes = []
    for name, fn, args in (("predict", getattr(network, "predict", None), (x,)), ("loss", network.loss, (x, t))):
        if fn is None:
            continue
        result, warned, error = _quiet_call(fn, *args)
        if warned or (error is None and not np.all(np.isfinite(result))):
            notes.append(f"{name}(x): " + ("; ".join(sorted(set(warned))) or "non-finite values"))
    probe = _network_globals(network).get("sigmoid")
    if callable(probe) and probe is not reference.sigmoid:
        result, warned, error = _quiet_call(probe, np.array([-1000.0, 0.0, 1000.0]))
        if warned:
            notes.append(f"sigmoid(-1000): {'; '.join(sorted(set(warned)))} (its overflow guard never fires)")
    if notes:
        return Finding("overflow", "numerical warnings or NaN: " + " | ".join(notes),
                       "an exp that overflows returns inf; the next step turns it into NaN, and warnings hide "
                       "real problems", "write sigmoid as np.exp(-np.logaddexp(0, -x)) or by sign of x, and "
                       "subtract the row max before exp in softmax", {"notes": notes})
    return None


def check_softmax_axis(network, x):
    if not hasattr(network, "predict"):
        return None
    y, _, error = _quiet_call(network.predict, x)
    if error is not None or y is None or np.ndim(y) != 2 or not np.all(np.isfinite(y)):
        return None
    y = np.asarray(y, np.float64)
    if y.min() < 0 or y.max() > 1:  # logits, not probabilities: nothing to check here
        return None
    sums = y.sum(axis=1)
    if np.max(np.abs(sums - 1)) > 1e-3:
        return Finding("softmax-axis", f"predict rows sum to {sums.min():.3g}..{sums.max():.3g}, not 1 "
                       f"(the whole batch sums to {y.sum():.3g}, columns to {y.sum(axis=0).min():.3g}.."
                       f"{y.sum(axis=0).max():.3g})",
                       "softmax normalised over the whole batch (or the wrong axis) makes each row's probabilities "
                       "depend on the other examples; the loss and its gradient are wrong",
                       "normalise each row: e = np.exp(a - a.max(axis=-1, keepdims=True)); "
                       "y = e / e.sum(axis=-1, keepdims=True)", {"row_sums": sums[:5].tolist()})
    return None


def check_loss_averaged(network, x, t):
    one, _, e1 = _quiet_call(network.loss, x, t)
    two, _, e2 = _quiet_call(network.loss, np.concatenate([x, x]), np.concatenate([t, t]))
    if e1 or e2 or not np.isfinite(one) or not np.isfinite(two) or float(one) <= 0:
        return None
    ratio = float(two) / float(one)
    if ratio > 1.5:
        return Finding("loss-not-averaged", f"the loss of a batch repeated twice is {ratio:.2f}x the loss of the "
                       "batch", "a summed loss grows with the batch size: the step size is silently multiplied "
                       f"by the batch size ({len(x)} here)", "divide the summed loss by the batch size "
                       "(np.sum(...) / batch_size)", {"ratio": ratio})
    return None


def _our_central_difference(network, x, t, key, index, h=_config.DEFAULT_H):
    W = network.params[key]
    saved = W[index]
    W[index] = saved + h
    fp = float(network.loss(x, t))
    W[index] = saved - h
    fm = float(network.loss(x, t))
    W[index] = saved
    return (fp - fm) / (2 * h)


def check_numerical_gradient(network, x, t, rng):
    if not hasattr(network, "numerical_gradient"):
        return None, None
    theirs, _, error = _quiet_call(network.numerical_gradient, x, t)
    if error is not None or not isinstance(theirs, dict):
        return None, None
    for key, W in network.params.items():
        if np.ndim(W) != 2 or key not in theirs or np.shape(theirs[key]) != np.shape(W):
            continue
        g = np.asarray(theirs[key], np.float64)
        idx = [(int(rng.integers(0, W.shape[0])), int(rng.integers(0, W.shape[1]))) for _ in range(40)]
        ours = np.array([_our_central_difference(network, x, t, key, i) for i in idx])
        mine = np.array([g[i] for i in idx])
        scale = max(np.abs(ours).max(), 1e-12)
        if np.max(np.abs(ours - mine)) > 1e-4 * scale + 1e-9:
            constant_rows = bool(np.all(np.ptp(g, axis=1) <= 1e-12 * max(np.abs(g).max(), 1e-300)))
            code = "numgrad-first-axis" if constant_rows else "numgrad-mismatch"
            return Finding(code, f"numerical_gradient()['{key}'] disagrees with an element-wise central difference "
                           f"(max difference {np.max(np.abs(ours - mine)):.3g} on 40 sampled elements)"
                           + ("; it is constant along every row" if constant_rows else ""),
                           "a loop over the first axis only perturbs a whole row at once, so every element of the "
                           "row gets the row's total" if constant_rows else "the numerical gradient is not the "
                           "central difference of the loss", "iterate over every element: np.nditer(x, "
                           "flags=['multi_index'], op_flags=['readwrite']) and perturb x[it.multi_index]",
                           {"param": str(key)}), theirs
    return None, theirs


def check_gradients(network, x, t, fallback):
    grads = None
    if hasattr(network, "gradient"):
        grads, _, error = _quiet_call(network.gradient, x, t)
        if error is not None:
            grads = None
    grads = grads if isinstance(grads, dict) else fallback
    if not isinstance(grads, dict):
        return [], None
    found = []
    bad = [k for k, g in grads.items() if not np.all(np.isfinite(np.asarray(g, np.float64)))]
    if bad:
        found.append(Finding("nan-gradient", f"gradients of {', '.join(map(str, bad))} contain NaN or inf",
                             "one NaN step turns every parameter into NaN", "look for log(0), 0/0 or overflow "
                             "in the loss and its backward pass", {"params": bad}))
    zero = [k for k, g in grads.items() if k not in bad and np.max(np.abs(np.asarray(g, np.float64))) < 1e-12]
    if zero:
        found.append(Finding("zero-gradient", f"the gradient of {', '.join(map(str, zero))} is zero (max |g| < 1e-12)",
                             "a parameter with a zero gradient never changes",
                             "check that backward() assigns every parameter's gradient and that units are not "
                             "saturated or dead", {"params": zero}))
    return found, grads


def check_learning_rate(network, grads, lr):
    if lr is None or grads is None:
        return None
    ratios = {}
    for key, W in _weights(network):
        if key in grads:
            ratios[key] = float(lr * np.linalg.norm(grads[key]) / max(np.linalg.norm(W), 1e-12))
    high = {k: r for k, r in ratios.items() if r > 1.0}  # one step larger than the weights themselves
    low = {k: r for k, r in ratios.items() if r < 1e-7}
    if high or low:
        which = high or low
        return Finding("learning-rate", f"one step with lr={lr} changes the weights by "
                       + ", ".join(f"{k}: {r:.2g}" for k, r in which.items()) + " of their size",
                       "updates of about 1e-3 to 1e-1 of the weights are usual; larger ones diverge, much smaller "
                       "ones do not learn", f"try lr about {lr * 1e-3 / max(which.values()):.2g}",
                       {"update_ratio": ratios})
    return None


def check_saturation(network, x, activation):
    for key, a, z in _hidden(network, x, activation):
        if activation == "relu":
            dead = float(np.mean(np.all(z <= 0, axis=0)))
            if dead > 0.5:
                return Finding("saturation", f"{dead:.0%} of the relu units after {key} are dead (zero for every "
                               "example)", "a dead relu passes no gradient", "lower the learning rate or use He "
                               "initialisation ('he')", {"dead_share": dead})
        else:
            share = float(np.mean((z < 1e-3) | (z > 1 - 1e-3)))
            if share > 0.5:
                return Finding("saturation", f"{share:.0%} of the sigmoid outputs after {key} are within 1e-3 of "
                               "0 or 1", "a saturated sigmoid has a gradient of ~0: learning stalls",
                               "scale inputs to [0, 1] and weights to ~1/sqrt(fan_in)", {"saturated_share": share})
    return None


def check_init_scale(network, x, activation):
    z = np.asarray(x, np.float64).reshape(len(x), -1)
    for key, W in _weights(network):
        if W.shape[0] != z.shape[1]:
            break
        a = z @ W
        spread = float(np.std(a))
        if spread > 10 or spread < 1e-3:
            ideal = 1 / np.sqrt(W.shape[0])
            return Finding("init-scale", f"{key} has std {W.std():.3g} (1/sqrt(fan_in) = {ideal:.3g}): its "
                           f"pre-activations have std {spread:.3g} for these inputs",
                           "pre-activations far above 1 saturate the units; far below 1 the signal and its "
                           "gradient vanish", "initialise with std ~1/sqrt(fan_in) ('xavier') or sqrt(2/fan_in) "
                           "('he')", {"param": str(key), "std": float(W.std()), "preactivation_std": spread})
        z = reference.relu(a + _bias_for(network, key)) if activation == "relu" else reference.sigmoid(
            a + _bias_for(network, key))
    return None


# --- the report ---------------------------------------------------------------------------------------

def doctor(network, x, t, lr=None, activation=None, verbose=True, seed=0, lang="en"):
    """Diagnose why a network does not learn on the batch (x, t).

    Parameters
    ----------
    network : any object with ``params`` (dict of arrays) and ``loss(x, t)``
    x, t : arrays
        A batch of inputs and labels (one-hot or integer), e.g. 32 MNIST images.
    lr : float, optional
        The learning rate in use, to judge the size of an update.
    activation : {'sigmoid', 'relu'}, optional
        Hidden activation; default the network's ``activation`` attribute, else sigmoid.
    verbose : bool
        Print the report.
    lang : {'en', 'zh'}
        Language of the printed report (the findings' codes and numbers are the same).

    Returns
    -------
    list of Finding
        Most serious first; empty for a healthy network.
    """
    if not hasattr(network, "params") or not hasattr(network, "loss"):
        raise TypeError("network must have a params dict and a loss(x, t) method")
    x = np.asarray(x)
    activation = activation or getattr(network, "activation", "sigmoid")
    rng = np.random.default_rng(seed)
    k = _n_classes(network, x)
    findings = [check_labels(network, x, t, k)]
    if findings[0] is None:
        small = slice(0, min(len(x), 4))
        numgrad, theirs = check_numerical_gradient(network, x[small], np.asarray(t)[small], rng)
        grad_findings, grads = check_gradients(network, x, t, theirs)
        findings += [check_input_scale(x), check_overflow(network, x, t), check_softmax_axis(network, x),
                     check_loss_averaged(network, x, t), numgrad, *grad_findings,
                     check_learning_rate(network, grads, lr), check_saturation(network, x, activation),
                     check_init_scale(network, x, activation)]
    findings = [f for f in findings if f is not None]
    causes = {f.code for f in findings}
    kept = [f for f in findings if not any(f.code in EXPLAINS.get(c, set()) for c in causes if c != f.code)]
    for f in kept:
        folded = sorted(EXPLAINS.get(f.code, set()) & causes)
        if folded:
            f.message += f" (this also explains: {', '.join(folded)})"
    kept.sort(key=lambda f: f.severity)
    if verbose:
        print(report(kept, lang))
    return kept


def report(findings, lang="en"):
    """The printed report: findings most serious first, in English or Chinese ('zh')."""
    _check_lang(lang)
    if not findings:
        return "doctor：未发现问题。" if lang == "zh" else "doctor: no problems found."
    head = (f"doctor：发现 {len(findings)} 个问题，按严重程度排列" if lang == "zh" else
            f"doctor: {len(findings)} finding{'s' if len(findings) > 1 else ''}, most serious first")
    return "\n".join([head] + [f.text(lang) for f in findings])


def _check_lang(lang):
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
