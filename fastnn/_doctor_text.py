"""What the doctor says, in English and Chinese: templates over the measured numbers.

Every sentence of the report comes from here (``TEMPLATES`` for findings, ``WORDS`` for headers and
notes), so ``--lang zh`` translates all of it while the checks stay language-free.
"""


class _Missing:
    def __format__(self, spec):
        return "?"

    def __str__(self):
        return "?"


class _Values(dict):
    def __missing__(self, key):
        return _Missing()


# template -> {lang: (message, why, fix)}
TEMPLATES = {
    "input-scale": {
        "en": ("the program feeds inputs from {min:g} to {max:g} ({dtype}): raw 0..255 pixels",
               "raw pixels drive sigmoid units into saturation, where their gradient is ~0; the loss then stays high",
               "scale the inputs: x = x / 255.0 (or load_mnist(normalize=True))"),
        "zh": ("程序输入的取值范围是 {min:g} 到 {max:g}（{dtype}）：原始的 0..255 像素",
               "原始像素会让 sigmoid 单元饱和，饱和处梯度约为 0，损失一直降不下来",
               "把输入归一化：x = x / 255.0（或 load_mnist(normalize=True)）")},
    "labels-count": {
        "en": ("labels have shape {shape} for {examples} examples", "one label per example is needed",
               "pass t of shape (N,) or (N, classes)"),
        "zh": ("标签形状为 {shape}，而样本有 {examples} 个", "每个样本需要一个标签", "标签形状应为 (N,) 或 (N, 类别数)")},
    "labels-width": {
        "en": ("one-hot labels have {columns} columns but the network has {outputs} outputs",
               "each label row must say which of the outputs is right", "use {outputs} columns: np.eye({outputs})[t]"),
        "zh": ("one-hot 标签有 {columns} 列，但网络有 {outputs} 个输出", "每行标签必须指明哪个输出是正确的",
               "使用 {outputs} 列：np.eye({outputs})[t]")},
    "labels-range": {
        "en": ("labels range from {min:g} to {max:g} but the network has {outputs} outputs",
               "a label outside 0..classes-1 picks no output (or the wrong one)", "check the label encoding"),
        "zh": ("标签取值从 {min:g} 到 {max:g}，但网络只有 {outputs} 个输出", "超出 0..类别数-1 的标签选不到（或选错）输出",
               "检查标签编码")},
    "labels-form": {
        "en": ("the labels are a {form}, neither one-hot rows nor integer classes",
               "the loss cannot tell which output is right", "use integer classes or np.eye(classes)[t]"),
        "zh": ("标签是 {form}，既不是 one-hot 也不是整数类别", "损失函数无法判断哪个输出是正确的",
               "使用整数类别或 np.eye(类别数)[t]")},
    "labels-rejected": {
        "en": ("the loss rejects the {fed} labels the program feeds ({error}); it works with {expects} labels",
               "the loss was written for {expects} labels", "feed {expects} labels, or make the loss handle both forms"),
        "zh": ("损失函数拒绝程序输入的{fed}标签（{error}）；换成{expects}标签就能运行",
               "损失函数是按{expects}标签写的", "输入{expects}标签，或让损失函数同时支持两种形式")},
    "labels-misread": {
        "en": ("the loss misreads the {fed} labels the program feeds: {fed_loss:.4g}, while the same labels as "
               "{expects} give the cross-entropy {right_loss:.4g}",
               "the loss was written for {expects} labels; with the other form it broadcasts into nonsense",
               "feed {expects} labels, or make the loss handle both forms"),
        "zh": ("损失函数误读了程序输入的{fed}标签：得到 {fed_loss:.4g}，而同样的标签以{expects}形式给出时交叉熵为 "
               "{right_loss:.4g}", "损失函数是按{expects}标签写的；另一种形式经广播后得到无意义的值",
               "输入{expects}标签，或让损失函数同时支持两种形式")},
    "labels-shuffled": {
        "en": ("only {agree:.0%} of the fed labels are the true label of the image they are fed with "
               "({known} images recognised)",
               "images and labels no longer belong together (shuffled separately, train images with test labels, "
               "or an off-by-one slice): there is nothing to learn",
               "index images and labels with the same indices: x[batch], t[batch]"),
        "zh": ("输入的标签中只有 {agree:.0%} 是对应图像的真实标签（识别出 {known} 张图像）",
               "图像与标签不再对应（分别打乱、训练图像配测试标签、或切片错位），网络无从学习",
               "用同一组下标取图像和标签：x[batch], t[batch]")},
    "softmax-axis": {
        "en": ("{function}() on [[1, 2, 3], [1, 2, 3], [3, 1, 0]] gives rows summing to {row_sums} (all together "
               "{total:.3g})", "softmax normalised over the whole batch (or the wrong axis) makes each row's "
               "probabilities depend on the other examples; the loss and its gradient are wrong",
               "normalise each row: e = np.exp(a - a.max(axis=-1, keepdims=True)); y = e / e.sum(axis=-1, "
               "keepdims=True)"),
        "zh": ("{function}() 作用于 [[1, 2, 3], [1, 2, 3], [3, 1, 0]] 时各行之和为 {row_sums}（总和 {total:.3g}）",
               "softmax 对整个批次（或错误的轴）做了归一化，每一行的概率依赖其他样本，损失和梯度都错了",
               "按行归一化：e = np.exp(a - a.max(axis=-1, keepdims=True)); y = e / e.sum(axis=-1, keepdims=True)")},
    "softmax-axis-predict": {
        "en": ("predict() rows sum to {row_sums}, not 1 (the whole batch sums to {total:.3g})",
               "softmax normalised over the whole batch (or the wrong axis): the loss and its gradient are wrong",
               "normalise each row: y = e / e.sum(axis=-1, keepdims=True)"),
        "zh": ("predict() 的各行之和为 {row_sums}，而不是 1（整批总和 {total:.3g}）",
               "softmax 对整个批次（或错误的轴）做了归一化，损失和梯度都错了", "按行归一化：y = e / e.sum(axis=-1, keepdims=True)")},
    "overflow-softmax": {
        "en": ("{function}({input}) returns {nonfinite} NaN/inf values where the answer is finite",
               "exp overflows without subtracting the row's maximum; NaN then spreads to every parameter",
               "subtract the row max first: e = np.exp(a - a.max(axis=-1, keepdims=True))"),
        "zh": ("{function}({input}) 返回了 {nonfinite} 个 NaN/inf，而正确结果是有限值",
               "不减去每行最大值时 exp 会溢出，NaN 随后扩散到所有参数", "先减去每行最大值：e = np.exp(a - a.max(axis=-1, keepdims=True))")},
    "overflow-sigmoid": {
        "en": ("{function}({input}) returns {output}: NaN/inf or values outside [0, 1]",
               "sigmoid must return a value in [0, 1] for every input", "write it as 1 / (1 + np.exp(-x)) "
               "(which is right, only warning at -1000) or np.exp(-np.logaddexp(0, -x))"),
        "zh": ("{function}({input}) 返回 {output}：出现 NaN/inf 或超出 [0, 1]", "sigmoid 对任何输入都必须返回 [0, 1] 内的值",
               "写成 1 / (1 + np.exp(-x))（结果正确，只在 -1000 处警告）或 np.exp(-np.logaddexp(0, -x))")},
    "predict-random": {
        "en": ("predict() gives other outputs at each call on the same batch and parameters ({changed:.0%} of them "
               "change, by up to {largest:.3g})",
               "dropout (or other noise) is applied when the network is evaluated: the accuracy and the loss it "
               "reports are those of a randomly thinned network, different at each call",
               "apply the dropout mask only in training (if train_flg: ...) and scale at test time "
               "(x * (1.0 - dropout_ratio)), or divide by the keep ratio in training (inverted dropout)"),
        "zh": ("predict() 在同一批次、同一参数上每次调用给出不同的输出（{changed:.0%} 的输出改变，最多 {largest:.3g}）",
               "评估网络时也用了 dropout（或其他噪声）：得到的准确率和损失来自一个随机稀疏化的网络，每次调用都不同",
               "只在训练时使用 dropout 掩码（if train_flg: ...），测试时乘以 (1.0 - dropout_ratio)；或在训练时除以保留比例（inverted dropout）")},
    "dead-guard": {
        "en": ("{function}() line {line}: `if {test}` is False for every input: the guard never fires",
               "x.all() and x.any() give one True/False (1 or 0), and 1 or 0 compared with that number never "
               "changes; the branch never runs, so whatever it was to prevent (np.exp overflowing) is not prevented",
               "test the elements, or clip: x = np.clip(x, -500, 500) before np.exp (1 / (1 + np.exp(-x)) as it "
               "is only warns below -709, and its result is right)"),
        "zh": ("{function}() 第 {line} 行：`if {test}` 对任何输入都为 False：这个保护永远不会生效",
               "x.all() 和 x.any() 只给出一个 True/False（1 或 0），拿它和这个数比较，结果永远不变；该分支从不执行，"
               "它要防止的问题（np.exp 溢出）并没有被防止",
               "逐元素判断，或者直接截断：在 np.exp 之前 x = np.clip(x, -500, 500)（原样的 1 / (1 + np.exp(-x)) "
               "只在 -709 以下给出警告，结果是对的）")},
    "dead-guard-all": {
        "en": ("{function}() line {line}: `if {test}` tests the whole array at once: it fires only when "
               "`{cond}` holds for every element",
               "in a batch some inputs are extreme and most are not, so the guard almost never fires and never "
               "protects the elements that are (NumPy's overflow warnings come from there)",
               "guard each element: x = np.clip(x, -500, 500) before np.exp (1 / (1 + np.exp(-x)) as it is only "
               "warns below -709, and its result is right)"),
        "zh": ("{function}() 第 {line} 行：`if {test}` 一次检查整个数组：只有每个元素都满足 `{cond}` 时才生效",
               "一个批次里只有少数输入是极端值，所以这个保护几乎从不生效，也保护不了那些极端元素（NumPy 的溢出警告就来自这里）",
               "逐元素保护：在 np.exp 之前 x = np.clip(x, -500, 500)（原样的 1 / (1 + np.exp(-x)) 只在 -709 以下给出警告，结果是对的）")},
    "dead-guard-any": {
        "en": ("{function}() line {line}: `if {test}` tests the whole array at once: when `{cond}` holds for one "
               "element, every element takes the guarded branch",
               "one extreme input in a batch changes what the function returns for all the others",
               "guard each element: np.clip(x, -500, 500) or np.where(...) instead of one test of the whole array"),
        "zh": ("{function}() 第 {line} 行：`if {test}` 一次检查整个数组：只要有一个元素满足 `{cond}`，所有元素都走这个分支",
               "批次中一个极端输入就会改变函数对其他所有输入的返回值",
               "逐元素保护：用 np.clip(x, -500, 500) 或 np.where(...)，而不是对整个数组做一次判断")},
    "dead-guard-always": {
        "en": ("{function}() line {line}: `if {test}` is True for every input: the branch always runs",
               "x.all() and x.any() give one True/False (1 or 0), and 1 or 0 compared with that number never "
               "changes; the branch meant for extreme inputs runs for every input",
               "test the elements (np.where(x < -500, ..., ...)) or clip: x = np.clip(x, -500, 500)"),
        "zh": ("{function}() 第 {line} 行：`if {test}` 对任何输入都为 True：该分支总会执行",
               "x.all() 和 x.any() 只给出一个 True/False（1 或 0），拿它和这个数比较，结果永远不变；本应只处理极端输入的分支"
               "对所有输入都执行", "逐元素判断（np.where(x < -500, ..., ...)）或者截断：x = np.clip(x, -500, 500)")},
    "overflow-sigmoid-values": {
        "en": ("{function}({input}) returns {output}, not the sigmoid's {expected}",
               "each element's sigmoid must not depend on the others: a guard that tests the whole array (np.any, "
               "np.all) and then treats every element alike changes the values of the ordinary ones",
               "compute it elementwise: 1 / (1 + np.exp(-np.clip(x, -500, 500))) or np.exp(-np.logaddexp(0, -x))"),
        "zh": ("{function}({input}) 返回 {output}，而 sigmoid 的值应为 {expected}",
               "每个元素的 sigmoid 不应依赖其他元素：对整个数组做判断（np.any、np.all）再对所有元素一视同仁，会改变普通元素的值",
               "逐元素计算：1 / (1 + np.exp(-np.clip(x, -500, 500))) 或 np.exp(-np.logaddexp(0, -x))")},
    "loss-not-averaged": {
        "en": ("the loss of the batch repeated twice is {ratio:.2f}x the loss of the batch: it is summed, not averaged",
               "a summed loss grows with the batch size: every step is silently multiplied by the batch size "
               "({batch_size} here)", "divide by the batch size: np.sum(...) / batch_size"),
        "zh": ("把批次重复两次后损失变为原来的 {ratio:.2f} 倍：损失是求和而不是平均",
               "求和的损失随批大小增长，每一步都被悄悄乘上了批大小（这里是 {batch_size}）", "除以批大小：np.sum(...) / batch_size")},
    "nan-gradient": {
        "en": ("gradients of {params} contain NaN or inf", "one NaN step turns every parameter into NaN",
               "look for log(0), 0/0 or overflow in the loss and its backward pass"),
        "zh": ("{params} 的梯度中出现 NaN 或 inf", "一步 NaN 更新就会让所有参数变成 NaN", "检查损失及其反向传播中的 log(0)、0/0 或溢出")},
    "loss-nonfinite": {
        "en": ("the loss is {loss} at the first step", "nothing can be learned from a NaN/inf loss",
               "look for log(0), 0/0 or overflow in the loss"),
        "zh": ("第一步的损失就是 {loss}", "NaN/inf 的损失无法学习", "检查损失中的 log(0)、0/0 或溢出")},
    "backprop-shape": {
        "en": ("gradient()['{param}'] has shape {shape}, the parameter has shape {expected}",
               "a gradient must have its parameter's shape (e.g. a bias gradient summed over the wrong axis)",
               "look at the line that computes d{param}: sum a bias gradient over the batch, axis=0"),
        "zh": ("gradient()['{param}'] 的形状是 {shape}，而参数的形状是 {expected}",
               "梯度必须与参数同形（例如偏置梯度沿错误的轴求和）", "检查计算 d{param} 的那一行：偏置梯度应沿批次 axis=0 求和")},
    "backprop-transpose": {
        "en": ("gradient()['{param}'] is transposed: shape {shape} against the parameter's {expected}",
               "the gradient of x @ W with respect to W is x.T @ dout, not its transpose",
               "look at the line that computes d{param}: use x.T @ dout"),
        "zh": ("gradient()['{param}'] 被转置了：形状 {shape}，而参数是 {expected}", "x @ W 对 W 的梯度是 x.T @ dout，而不是它的转置",
               "检查计算 d{param} 的那一行：使用 x.T @ dout")},
    "backprop-sign": {
        "en": ("gradient() of {where} is minus the central difference of the loss (factor {factor:.3g})",
               "a gradient with the wrong sign makes every step climb the loss",
               "look at the line that computes it: dy = (y - t) / batch_size, not (t - y)"),
        "zh": ("{where} 的 gradient() 是损失中心差分的相反数（倍数 {factor:.3g}）", "符号相反的梯度让每一步都沿损失上升",
               "检查计算它的那一行：dy = (y - t) / batch_size，而不是 (t - y)")},
    "backprop-sign-factor": {
        "en": ("gradient() of {where} is {factor:.3g} times the central difference of the loss: wrong sign and scale",
               "a gradient with the wrong sign makes every step climb the loss", "look at the line that computes it"),
        "zh": ("{where} 的 gradient() 是损失中心差分的 {factor:.3g} 倍：符号和尺度都错了", "符号相反的梯度让每一步都沿损失上升",
               "检查计算它的那一行")},
    "backprop-scale": {
        "en": ("gradient() of {where} is {factor:.4g} times the central difference of the loss",
               "every step is silently {factor:.3g} times too large (or small)", "look at the line that computes it"),
        "zh": ("{where} 的 gradient() 是损失中心差分的 {factor:.4g} 倍", "每一步都被悄悄放大（或缩小）了 {factor:.3g} 倍",
               "检查计算它的那一行")},
    "backprop-scale-batch": {
        "en": ("gradient() of {where} is {factor:.4g} times the central difference of the loss: the batch size "
               "({batch_size}) is multiplied or divided once too often",
               "every step is silently {factor:.3g} times too large (or small)",
               "divide by the batch size exactly once: dy = (y - t) / batch_size"),
        "zh": ("{where} 的 gradient() 是损失中心差分的 {factor:.4g} 倍：批大小（{batch_size}）多乘或多除了一次",
               "每一步都被悄悄放大（或缩小）了 {factor:.3g} 倍", "只除一次批大小：dy = (y - t) / batch_size")},
    "zero-gradient": {
        "en": ("gradient()['{param}'] is identically zero while the loss does change with it (central difference up "
               "to {max_reference:.3g})", "a parameter with a zero gradient never changes",
               "look at the line that computes d{param}: it must be assigned from the backward pass"),
        "zh": ("gradient()['{param}'] 恒为零，但损失确实随它变化（中心差分最大 {max_reference:.3g}）", "梯度为零的参数永远不会更新",
               "检查计算 d{param} 的那一行：它必须由反向传播赋值")},
    "gradient-missing": {
        "en": ("gradient() returns no entry for {params}", "a parameter without a gradient never changes",
               "return a gradient for every key of params"),
        "zh": ("gradient() 没有返回 {params} 的梯度", "没有梯度的参数永远不会更新", "为 params 的每个键返回梯度")},
    "backprop-mismatch": {
        "en": ("gradient()['{param}'] disagrees with the central difference of the loss (e.g. element {index}: "
               "{theirs:.3g} vs {ours:.3g}) while {agree} agree: look at the line that computes d{param}",
               "backprop of this parameter is wrong (e.g. the pre-activation used instead of the activation, or a "
               "wrong activation derivative)", "recompute d{param} from the forward pass's cached values"),
        "zh": ("gradient()['{param}'] 与损失的中心差分不符（例如元素 {index}：{theirs:.3g} 对 {ours:.3g}），而 {agree} 相符："
               "检查计算 d{param} 的那一行", "该参数的反向传播有误（例如用了激活前的值而不是激活值，或激活函数的导数写错）",
               "用前向传播缓存的值重新计算 d{param}")},
    "numgrad-no-effect": {
        "en": ("numerical_gradient() returns exactly 0 for every parameter while the loss does change with them",
               "its perturbation never reaches the loss: a copy is perturbed, or the loss ignores what is perturbed",
               "perturb the network's own arrays in place: numerical_gradient(f, self.params[key]) with "
               "f = lambda W: self.loss(x, t)"),
        "zh": ("numerical_gradient() 对每个参数都返回 0，但损失确实随参数变化", "扰动从未作用到损失上：扰动的是副本，或损失忽略了被扰动的数组",
               "原地扰动网络自己的数组：numerical_gradient(f, self.params[key])，其中 f = lambda W: self.loss(x, t)")},
    "numgrad-first-axis": {
        "en": ("numerical_gradient() of {params} is constant along every row",
               "a loop over the first axis only perturbs a whole row at once, so every element of the row gets the "
               "row's total", "iterate over every element: np.nditer(x, flags=['multi_index'], "
               "op_flags=['readwrite']) and perturb x[it.multi_index]"),
        "zh": ("{params} 的 numerical_gradient() 每一行都是常数", "只沿第一个轴循环会一次扰动整行，整行元素得到同一个值",
               "逐元素扰动：np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])，扰动 x[it.multi_index]")},
    "numgrad-factor": {
        "en": ("numerical_gradient() of {params} is {factor:.4g} times the central difference of the loss",
               "a central difference divides by 2h (dividing by h doubles it)",
               "grad = (f(x + h) - f(x - h)) / (2 * h)"),
        "zh": ("{params} 的 numerical_gradient() 是损失中心差分的 {factor:.4g} 倍", "中心差分应除以 2h（除以 h 会翻倍）",
               "grad = (f(x + h) - f(x - h)) / (2 * h)")},
    "numgrad-shape": {
        "en": ("numerical_gradient() of {params} has shape {shape}, the parameter {expected}",
               "a gradient must have its parameter's shape", "return np.zeros_like(x) filled element by element"),
        "zh": ("{params} 的 numerical_gradient() 形状为 {shape}，参数为 {expected}", "梯度必须与参数同形",
               "返回按元素填充的 np.zeros_like(x)")},
    "numgrad-not-restored": {
        "en": ("numerical_gradient() leaves {params} changed (by up to {shift:.3g}): an element is not restored "
               "after it is perturbed", "every later loss is computed with shifted parameters, and the network "
               "trains from them", "restore each element after its two losses: x[idx] = tmp_val"),
        "zh": ("numerical_gradient() 之后 {params} 被改变了（最多 {shift:.3g}）：扰动后没有恢复元素",
               "之后的每次损失都用被移动的参数计算，网络也从这些参数开始训练", "每个元素算完两次损失后恢复：x[idx] = tmp_val")},
    "numgrad-mismatch": {
        "en": ("numerical_gradient() of {params} is not the central difference of the loss (e.g. element {index}: "
               "{theirs:.3g} vs {ours:.3g})", "each element must be (f(x+h) - f(x-h)) / 2h with only that element "
               "perturbed, and restored afterwards", "perturb one element at a time, restore it: x[idx] = tmp"),
        "zh": ("{params} 的 numerical_gradient() 不是损失的中心差分（例如元素 {index}：{theirs:.3g} 对 {ours:.3g}）",
               "每个元素都应是 (f(x+h) - f(x-h)) / 2h，每次只扰动该元素并在之后恢复", "每次只扰动一个元素，并恢复：x[idx] = tmp")},
    "update-lost": {
        "en": ("the parameters of the network did not change over {steps} steps, though the gradient is not zero",
               "the update never reaches the network (a copy, or a rebound local variable, is updated)",
               "update the network's own arrays in place: network.params[key] -= lr * grad[key]"),
        "zh": ("在 {steps} 步中网络参数没有任何变化，而梯度并不为零", "更新从未作用到网络上（更新的是副本或重新绑定的局部变量）",
               "原地更新网络自己的数组：network.params[key] -= lr * grad[key]")},
    "update-lost-copy": {
        "en": ("the update went to {name} (= params['{param}'] - {lr:.3g} * grad), not to the network's parameters",
               "the network never changes: the update is applied to a copy or a rebound variable",
               "update the network's own arrays in place: network.params[key] -= lr * grad[key]"),
        "zh": ("更新作用到了 {name}（= params['{param}'] - {lr:.3g} * grad），而不是网络的参数", "网络从不改变：更新作用在副本或重新绑定的变量上",
               "原地更新网络自己的数组：network.params[key] -= lr * grad[key]")},
    "update-lost-some": {
        "en": ("{params} never changed over the observed steps, though their gradients are not zero",
               "the update loop misses these parameters", "update every key: for key in network.params: ..."),
        "zh": ("在观察到的各步中 {params} 从未改变，而它们的梯度并不为零", "更新循环漏掉了这些参数", "更新每个键：for key in network.params: ...")},
    "update-lost-forward": {
        "en": ("the update changed params but the network's loss on the same batch is exactly the same ({loss:.6g})",
               "the layers still hold the old arrays: params[key] = params[key] - ... rebinds the dict entry, the "
               "layers never see it", "update in place: params[key] -= lr * grad[key]"),
        "zh": ("更新改变了 params，但网络在同一批次上的损失完全不变（{loss:.6g}）", "各层仍持有旧数组：params[key] = params[key] - ... "
               "只是重新绑定了字典项，各层看不到", "原地更新：params[key] -= lr * grad[key]")},
    "update-sign": {
        "en": ("each update points along +gradient (cosine with -gradient {cos:.3f}): the program climbs the loss",
               "gradient descent subtracts the gradient", "params[key] -= lr * grad[key]"),
        "zh": ("每次更新都沿 +梯度方向（与 -梯度的余弦为 {cos:.3f}）：程序在让损失上升", "梯度下降应减去梯度", "params[key] -= lr * grad[key]")},
    "update-sign-some": {
        "en": ("the update of {params} points along +gradient (cosine with -gradient {cos:.3f}) while the others "
               "descend: that line climbs the loss", "gradient descent subtracts the gradient",
               "{params} -= lr * (its gradient)"),
        "zh": ("{params} 的更新沿 +梯度方向（与 -梯度的余弦为 {cos:.3f}），而其他参数在下降：这一行在让损失上升",
               "梯度下降应减去梯度", "{params} -= lr * （它的梯度）")},
    "update-sign-loss": {
        "en": ("the program's update raises the loss on its own batch ({before:.4g} -> {after:.4g}) however small "
               "the step is made: it climbs the loss", "gradient descent subtracts the gradient",
               "params[key] -= lr * grad[key]"),
        "zh": ("程序的更新让本批次的损失上升（{before:.4g} -> {after:.4g}），无论步长多小都是如此：它在爬升损失",
               "梯度下降应减去梯度", "params[key] -= lr * grad[key]")},
    "learning-rate-high": {
        "en": ("the learning rate {lr_text} is far too large: one step raises the loss on its own batch from "
               "{before:.4g} to {after:.4g}, while along the same step the loss is lowest, {after_best:.4g}, "
               "at about 1/{by_text} of it",
               "steps that overshoot the minimum this far make the loss diverge or stall at chance",
               "try a learning rate about {by_text} times smaller"),
        "zh": ("学习率 {lr_text} 过大：一步更新让本批次的损失从 {before:.4g} 升到 {after:.4g}，而沿同一方向约 1/{by_text} 的步长处损失最低，为 {after_best:.4g}",
               "步长远远越过最低点，损失会发散或停在随机猜测的水平", "把学习率调小约 {by_text} 倍")},
    "learning-rate-high-stays": {
        "en": ("the learning rate {lr_text} is too large: one step raises the loss on its own batch from "
               "{before:.4g} to {after:.4g} (along that step the loss is lowest at about 1/{by_text} of it), and "
               "after {steps} steps that loss is still above where it started (lowest {lowest:.4g})",
               "steps that keep overshooting the minimum stop the network from learning",
               "try a learning rate about {by_text} times smaller"),
        "zh": ("学习率 {lr_text} 过大：一步更新让本批次的损失从 {before:.4g} 升到 {after:.4g}（沿这一步约 1/{by_text} 处损失最低），"
               "{steps} 步之后这一批的损失仍高于起点（最低 {lowest:.4g}）",
               "每一步都越过最低点，网络学不到东西", "把学习率调小约 {by_text} 倍")},
    "learning-rate-low": {
        "en": ("the learning rate {lr_text} is far too small: one step moves the loss on its own batch from "
               "{before:.6g} to {after:.6g}, while a 100x larger step lowers it to {after_100:.6g}",
               "steps that small take forever to learn anything", "try a learning rate about 100 times larger"),
        "zh": ("学习率 {lr_text} 过小：一步更新让本批次的损失只从 {before:.6g} 变为 {after:.6g}，而大 100 倍的步长会降到 {after_100:.6g}",
               "步长太小，几乎学不到东西", "把学习率调大约 100 倍")},
    "learning-rate-zero": {
        "en": ("nothing changes because {name} is 0", "a learning rate of zero never moves the parameters",
               "use a learning rate such as 0.1"),
        "zh": ("参数没有变化，因为 {name} 为 0", "学习率为零时参数永远不会移动", "使用例如 0.1 的学习率")},
    "init-symmetric": {
        "en": ("{params} start with every element equal to {value:g}", "identical weights give identical hidden "
               "units, and they stay identical: the layer acts as one unit",
               "initialise with small random numbers: weight_init_std * np.random.randn(...)"),
        "zh": ("{params} 的所有元素初始值都等于 {value:g}", "相同的权重产生相同的隐藏单元，并且会一直相同：整层相当于一个单元",
               "用小随机数初始化：weight_init_std * np.random.randn(...)")},
    "init-scale-large": {
        "en": ("{params} start far too large: params['{layer_param}'] has scale {std:.3g} (1/sqrt(fan_in) = "
               "{ideal:.3g}), its layer's pre-activations reach {preactivation_std:.3g} and its units saturate",
               "saturated units pass a gradient of ~0", "initialise with std ~1/sqrt(fan_in) (Xavier) or "
               "sqrt(2/fan_in) (He)"),
        "zh": ("{params} 的初始值过大：params['{layer_param}'] 的尺度为 {std:.3g}（1/sqrt(fan_in) = {ideal:.3g}），激活前的值达 {preactivation_std:.3g}，单元饱和",
               "饱和的单元梯度约为 0", "用约 1/sqrt(fan_in)（Xavier）或 sqrt(2/fan_in)（He）的标准差初始化")},
    "init-scale-small": {
        "en": ("{params} start far too small: params['{layer_param}'] has scale {std:.3g} (1/sqrt(fan_in) = "
               "{ideal:.3g}), its layer's pre-activations have std {preactivation_std:.3g}", "the signal and its gradient vanish", "initialise with std "
               "~1/sqrt(fan_in) (Xavier) or sqrt(2/fan_in) (He)"),
        "zh": ("{params} 的初始值过小：params['{layer_param}'] 的尺度为 {std:.3g}（1/sqrt(fan_in) = {ideal:.3g}），激活前的值标准差只有 {preactivation_std:.3g}",
               "信号和梯度都消失了", "用约 1/sqrt(fan_in)（Xavier）或 sqrt(2/fan_in)（He）的标准差初始化")},
    "init-scale-loss": {
        "en": ("the starting loss is {start_loss:.4g}, far above ln(classes) = {expected:.4g}; params['{param}'] "
               "has std {std:.3g} (1/sqrt(fan_in) = {ideal:.3g})", "small random weights start near ln(classes); "
               "a much larger loss means confident wrong outputs from weights that are too large",
               "initialise with a smaller std, e.g. 0.01 or 1/sqrt(fan_in)"),
        "zh": ("起始损失为 {start_loss:.4g}，远高于 ln(类别数) = {expected:.4g}；params['{param}'] 的标准差为 {std:.3g}"
               "（1/sqrt(fan_in) = {ideal:.3g}）", "小随机权重的起始损失约为 ln(类别数)；大得多说明权重过大、输出自信而错误",
               "用更小的标准差初始化，例如 0.01 或 1/sqrt(fan_in)")},
    "dead-units": {
        "en": ("{share:.0%} of the relu units of hidden layer {layer} are dead (zero for every example)",
               "a dead relu passes no gradient", "lower the learning rate, use He initialisation, check the biases"),
        "zh": ("第 {layer} 个隐藏层中 {share:.0%} 的 relu 单元已死亡（对所有样本都为零）", "死亡的 relu 不传递梯度",
               "降低学习率，使用 He 初始化，检查偏置")},
    "saturation": {
        "en": ("{share:.0%} of the sigmoid outputs of hidden layer {layer} are within 1e-3 of 0 or 1",
               "a saturated sigmoid has a gradient of ~0: learning stalls",
               "scale inputs to [0, 1] and weights to ~1/sqrt(fan_in)"),
        "zh": ("第 {layer} 个隐藏层中 {share:.0%} 的 sigmoid 输出距 0 或 1 不到 1e-3", "饱和的 sigmoid 梯度约为 0，学习停滞",
               "把输入缩放到 [0, 1]，权重缩放到约 1/sqrt(fan_in)")},
    "divergence": {
        "en": ("the loss went from {start:.4g} to {last:.4g} in {steps} steps", "the training diverges",
               "lower the learning rate; check the update"),
        "zh": ("损失在 {steps} 步内从 {start:.4g} 变为 {last:.4g}", "训练发散了", "降低学习率；检查更新")},
    "no-learning": {
        "en": ("the loss did not go down over {steps} steps (from {start:.4g}, lowest {lowest:.4g})",
               "something stops learning that the other checks did not name", "print the loss and the parameter "
               "changes of each step"),
        "zh": ("损失在 {steps} 步内没有下降（起始 {start:.4g}，最低 {lowest:.4g}）", "有其他检查未能指出的原因阻止了学习",
               "打印每一步的损失和参数变化")},
}

WORDS = {
    "en": {"found": "doctor: {n} finding{s}, most serious first", "none": "doctor: no problems found.",
           "measured": "measured", "why": "why", "fix": "fix", "explains": "this also explains",
           "not_checked": "not checked", "program": "== the program as written: {file} ==",
           "output": "== the program's own output (last {n} lines) ==", "no_output": "(no output)",
           "stopped": "watched {steps} training step(s); stopped because {reason}",
           "program_error": "the program stopped with its own error: {error} (at {where})",
           "learner_error": "the learner's {what}() raised {message} (at {where})",
           "timing": "doctor's own work {doctor:.1f} s; the learner's code in the checks {learner:.1f} s",
           "nothing": "doctor: no training step was observed, so the network was not examined (see 'not checked').",
           "every": "every parameter", "static": "== {cls}({n_in}, {hidden}, 10) on {n} {label} (definitions only) =="},
    "zh": {"found": "doctor：发现 {n} 个问题，按严重程度排列", "none": "doctor：未发现问题。",
           "measured": "测得", "why": "原因", "fix": "修正", "explains": "这也解释了",
           "not_checked": "未检查", "program": "== 程序本身：{file} ==",
           "output": "== 程序自己的输出（最后 {n} 行）==", "no_output": "（无输出）",
           "stopped": "观察了 {steps} 个训练步；停止原因：{reason}",
           "program_error": "程序因自身错误而停止：{error}（位置 {where}）",
           "learner_error": "学习者的 {what}() 抛出了 {message}（位置 {where}）",
           "timing": "doctor 自身用时 {doctor:.1f} 秒；检查中学习者代码用时 {learner:.1f} 秒",
           "nothing": "doctor：没有观察到训练步，因此没有检查网络（见“未检查”）。",
           "every": "所有参数", "static": "== {cls}({n_in}, {hidden}, 10) 在 {n} 个{label}上（只读取定义）=="},
}


#: Why a check did not run, and why the watch stopped: key -> {lang: template}.
NOTES = {
    "labels-both-fail": {"en": "the loss fails with both label forms: {error}", "zh": "两种标签形式都让损失函数出错：{error}"},
    "labels-undecided": {"en": "the loss gives {fed_loss:.4g} for the {fed} labels and {other_loss:.4g} for the other "
                               "form; predict() gives nothing to tell which is right",
                         "zh": "损失函数对{fed}标签给出 {fed_loss:.4g}，对另一种形式给出 {other_loss:.4g}；predict() 无法判断哪个正确"},
    "probe-failed": {"en": "{name}() could not be probed: {why}", "zh": "无法探测 {name}()：{why}"},
    "neither-form": {"en": "the loss accepts neither label form", "zh": "损失函数不接受任何一种标签形式"},
    "loss-fails": {"en": "the loss fails: {error}", "zh": "损失函数出错：{error}"},
    "loss-nonfinite": {"en": "the loss is {value} at the first step", "zh": "第一步的损失为 {value}"},
    "raised": {"en": "{what}(x, t) raised {error}", "zh": "{what}(x, t) 抛出了 {error}"},
    "absent": {"en": "the program has no {what}()", "zh": "程序没有 {what}()"},
    "not-dict": {"en": "{what}() returned {type}, not a dict of arrays", "zh": "{what}() 返回了 {type}，而不是数组字典"},
    "random": {"en": "{what}() gives another result on the same batch at each call (dropout or other noise in "
                     "training mode), so it cannot be compared with the loss's central difference",
               "zh": "{what}() 对同一批数据每次调用结果都不同（训练模式下的 dropout 或其他噪声），无法与损失的中心差分比较"},
    "too-slow": {"en": "it would take ~{estimate:.0f} s on {n} parameters (budget {budget:.0f} s)",
                 "zh": "在 {n} 个参数上约需 {estimate:.0f} 秒（预算 {budget:.0f} 秒）"},
    "stopped": {"en": "it was stopped after the budget of {budget:.0f} s on {n} parameters",
                "zh": "在 {n} 个参数上运行超过预算 {budget:.0f} 秒，已停止"},
    "not-mnist": {"en": "the fed images are not recognised as MNIST images", "zh": "输入的图像无法识别为 MNIST 图像"},
    "too-few": {"en": "only {known} of {n} fed images are recognised as MNIST images: too few to judge",
                "zh": "{n} 张输入图像中只有 {known} 张被识别为 MNIST 图像，不足以判断"},
    "no-step": {"en": "no training step was observed (no call of the learner's gradient() or numerical_gradient())",
                "zh": "没有观察到训练步（学习者的 gradient() 或 numerical_gradient() 从未被调用）"},
    "no-loss": {"en": "no loss function was found next to the gradient the program calls",
                "zh": "在程序调用的梯度函数旁没有找到损失函数"},
    "two-steps": {"en": "needs two observed training steps, saw {n}", "zh": "需要观察到两个训练步，只看到 {n} 个"},
    "internal": {"en": "{error}", "zh": "{error}"},
    "child-timeout": {"en": "the watched program did not stop within {seconds:.0f} s",
                      "zh": "被观察的程序在 {seconds:.0f} 秒内没有停止"},
    "child-died": {"en": "the watched program ended (exit code {code}) before the doctor could report",
                   "zh": "被观察的程序在 doctor 报告之前就结束了（退出码 {code}）"},
    "stop-steps": {"en": "{n} training steps observed (--steps)", "zh": "已观察到 {n} 个训练步（--steps）"},
    "stop-steps-more": {"en": "{n} training steps observed: past --steps, until the loss on the first batch, raised "
                              "by the first step, came back below where it started (or 50 steps)",
                        "zh": "已观察到 {n} 个训练步：第一步让第一批的损失升高，因此超过 --steps 继续观察，直到它回到起点以下（最多 50 步）"},
    "stop-slow": {"en": "the program's numerical_gradient() would take ~{seconds:.0f} s per step; its first step was "
                        "examined, not run (fastnn's drop-in TwoLayerNet/MultiLayerNet take the same central "
                        "differences in milliseconds: from fastnn import TwoLayerNet)",
                  "zh": "程序的 numerical_gradient() 每步约需 {seconds:.0f} 秒；只检查了第一步，没有运行它（fastnn 可直接替换的 "
                        "TwoLayerNet/MultiLayerNet 以毫秒计算同样的中心差分：from fastnn import TwoLayerNet）"},
    "stop-timeout": {"en": "--timeout of {seconds:g} s reached", "zh": "达到 --timeout {seconds:g} 秒"},
    "stop-ended": {"en": "the script ended", "zh": "脚本自行结束"},
    "stop-exit": {"en": "the script called exit({code})", "zh": "脚本调用了 exit({code})"},
    "stop-error": {"en": "the script raised an error", "zh": "脚本抛出了错误"},
}


def note(entry, lang="en"):
    """A not-checked reason or stop reason ([key, values], or plain text) in lang."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, (list, tuple)) and len(entry) == 1:
        entry = entry[0]
        if isinstance(entry, str):
            return entry
    key, values = entry
    table = NOTES.get(key)
    if table is None:
        return f"{key} {values}"
    return table[lang].format_map(_Values(values))


def words(lang):
    if lang not in WORDS:
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    return WORDS[lang]


def render(finding, lang="en"):
    """(message, why, fix) of a finding in lang."""
    words(lang)
    table = TEMPLATES.get(finding.template) or TEMPLATES.get(finding.code)
    if table is None:
        return (finding.code, "", "")
    values = _Values(finding.measured)
    values.setdefault("param", finding.param)
    where = f"params['{finding.param}']" if finding.param is not None else words(lang)["every"]
    values.setdefault("where", where)
    for key in ("params", "agree"):
        if isinstance(values.get(key), list):
            values[key] = ", ".join(map(str, values[key])) or "-"
    parts = tuple(part.format_map(values) for part in table[lang])
    variable = finding.measured.get("variable")
    if variable:  # a step written inline: the loop's own variable, not a gradient() it does not have
        own = (f"gradient()['{finding.param}']", f"gradient() of {where}", f"{where} 的 gradient()")
        parts = tuple(_replace_all(p, own, variable) for p in parts)
        parts = tuple(_replace_all(p, (f"computes d{finding.param}", f"recompute d{finding.param}",
                                       f"计算 d{finding.param}"),
                                   None, lambda old: old[:-len(f"d{finding.param}")] + variable) for p in parts)
    return parts


def _replace_all(text, olds, new, make=None):
    for old in olds:
        text = text.replace(old, make(old) if make is not None else new)
    return text


def finding_text(finding, lang="en"):
    w = words(lang)
    message, why, fix = render(finding, lang)
    param = f" ({finding.param})" if finding.param is not None else ""
    text = f"[{finding.code}]{param} {message}\n    {w['why']}: {why}\n    {w['fix']}: {fix}"
    if finding.explains:
        text += f"\n    {w['explains']}: {', '.join(finding.explains)}"
    return text


def report(findings, lang="en"):
    """Findings most serious first, in lang."""
    w = words(lang)
    if not findings:
        return w["none"]
    head = w["found"].format(n=len(findings), s="s" if len(findings) > 1 else "")
    return "\n".join([head] + [finding_text(f, lang) for f in findings])
