"""What the program's update did between two observed steps.

For each parameter: delta = after - before, compared with the gradient the step computed: the
effective learning rate -<delta, g>/<g, g>, the cosine between delta and -g (plain SGD: 1; climbing
the gradient: -1), the update/weight ratio. When nothing changed, the training loop's variables are
searched for an array that did receive ``before - c * g`` (a copy or a rebound local was updated).
At the first step the learner's own loss on its own batch says whether the step was too large (the
loss rises, and along the step it is lowest at a tenth of it or less) or too small (it barely moves while
a 100x larger one lowers it a lot).
"""
import numpy as np

from ._doctor_findings import Finding
from ._doctor_probes import as_float, attempt

LR_NAMES = ("lr", "learning_rate", "learningrate", "eta", "alpha", "step_size", "rate")

# A first step that raises the loss is "far too large" only when the loss along that step is lowest at
# 1/OVERSHOOT of it or less. Overshooting by a few times is how healthy SGD runs at the edge of stability
# (the book's network at lr 1-2 with 100 hidden units and batch 32, or 2-6 with 50 and batch 100, overshoots
# 2-8x on its first batch and still reaches 93-96% on MNIST); 10x and more (lr 10 with 50 hidden units, lr 6
# with 100 and batch 32) ends at 10-30% on most seeds.
OVERSHOOT = 10.0
# A smaller overshoot leaves the verdict open: the watch goes on (up to RECOVER_STEPS steps) until the loss on
# the first batch is back below where it started. Overshooting runs measured on MNIST that learn were back
# within 1-30 steps; one that is not back after RECOVER_STEPS is not learning at that rate.
RECOVER_STEPS = 50
SCALES = 2.0 ** (-0.5 * np.arange(1, 55))  # sqrt(2) apart, from 0.71 down to 7.5e-9


def training_records(watch, closed=False):
    """The observed steps from the first that changed the network (calls before it, a gradient check on a few
    images say, trained nothing); all of them when none did. ``closed``: only those measured after the step."""
    first = getattr(watch, "first_training", None)
    records = watch.step_records[first:] if first is not None else watch.step_records
    return [r for r in records if "after" in r and "measures" in r] if closed else list(records)


def far_too_large(overshoot, end):
    """Whether a step that raised the loss to ``end`` overshot so far that it is a finding at once."""
    return end is None or not np.isfinite(end) or overshoot >= OVERSHOOT


def undecided(watch):
    """Whether the watch should go on past ``--steps``: the first step overshot by less than OVERSHOOT and the
    loss on its batch has not come back below where it started (within RECOVER_STEPS steps)."""
    records = training_records(watch)
    if getattr(watch, "first_training", None) is None or len(records) >= RECOVER_STEPS:
        return False
    first = records[0]
    overshoot, start, end = first.get("overshoot"), first.get("loss_before"), first.get("loss_after")
    if overshoot is None or far_too_large(overshoot, end):
        return False
    return not any(v < start for v in watch.fixed_losses)


def judge_step(stepped, start, end):
    """What one step did to the loss on its batch (``stepped(scale)``: the loss after scale times the step):
    {loss_step_best, overshoot} when it raised the loss and a shorter step along it lowers it; {climbs} when
    none does; {loss_step_100} (the loss after a 100x larger step) when it lowered the loss."""
    if end is None or not np.isfinite(end) or end > start:
        best, scale = line_search(stepped, start)
        return {"climbs": best} if scale is None else {"loss_step_best": best, "overshoot": 1.0 / scale}
    return {"loss_step_100": stepped(100.0)}


def rate_finding(lr, start, end, judged, fixed=(), steps=0):
    """The learning-rate finding (or None) of a step of rate ``lr`` (None: not a plain SGD step) that took the
    loss on its batch from start to end, from judge_step's measures and the loss on that batch after each of
    the ``steps`` steps watched (``fixed``; none for a single step)."""
    text = "in use" if lr is None else f"{lr:.3g}"
    overshoot, big = judged.get("overshoot"), judged.get("loss_step_100")
    if overshoot is not None:
        values = {"lr": lr, "lr_text": text, "before": start, "after": float("nan") if end is None else end,
                  "after_best": judged["loss_step_best"],
                  "by": overshoot, "by_text": f"{float(f'{overshoot:.2g}'):g}"}
        if far_too_large(overshoot, end):
            return Finding("learning-rate", None, values, template="learning-rate-high")
        if len(fixed) >= RECOVER_STEPS - 1 and min(fixed) >= start:
            values.update(steps=steps, lowest=min(fixed))
            return Finding("learning-rate", None, values, template="learning-rate-high-stays")
    elif big is not None and end is not None and np.isfinite(end) and 0 <= start - end < 1e-4 * abs(start) and \
            start - big > 50 * max(start - end, 1e-15):
        return Finding("learning-rate", None, {"lr": lr, "lr_text": text, "before": start, "after": end,
                                               "after_100": big}, template="learning-rate-low")
    return None


def line_search(loss_at_scale, start):
    """(lowest loss, its scale) along the step over SCALES, stopping once past the minimum; (loss at the
    smallest scale, None) when no scale lowers the loss below ``start``."""
    best, where, value = start, None, None
    for scale in SCALES:
        value = loss_at_scale(scale)
        if value is not None and np.isfinite(value) and value < best:
            best, where = value, scale
        elif where is not None:
            break
    return (best, where) if where is not None else (value, None)


def _candidates(frame, main_globals):
    """(name, value) of arrays and scalars the training loop can see."""
    spaces = []
    if frame is not None:
        spaces.append(frame.f_locals)
    if main_globals is not None:
        spaces.append(main_globals)
    out = []
    for ns in spaces:
        for name, value in list(ns.items()):
            out.append((name, value))
            if isinstance(value, dict):
                out += [(f"{name}[{k!r}]", v) for k, v in list(value.items())[:50]]
            elif hasattr(value, "__dict__") and not isinstance(value, type):
                for attr, v in list(vars(value).items())[:50]:
                    out.append((f"{name}.{attr}", v))
                    if isinstance(v, dict):
                        out += [(f"{name}.{attr}[{k!r}]", w) for k, w in list(v.items())[:50]]
    return out


def _fit(before, after, g):
    """(c, residual) of after = before - c * g."""
    d = (np.asarray(before, np.float64) - np.asarray(after, np.float64)).ravel()
    g = np.asarray(g, np.float64).ravel()
    gg = float(np.dot(g, g))
    if gg == 0:
        return None, None
    c = float(np.dot(d, g) / gg)
    return c, float(np.linalg.norm(d - c * g) / max(np.linalg.norm(d), 1e-300))


def _movable(g, W):
    """Whether a gradient g is large enough that a step along it (at a learning rate up to 1000) changes W at
    all in W's precision: a gradient of 1e-218 (a network whose units all sit at sigmoid(-500)) is not."""
    if not isinstance(g, np.ndarray) or not isinstance(W, np.ndarray) or g.shape != W.shape or not np.any(g):
        return False
    scale = float(np.max(np.abs(W))) if W.size else 0.0
    eps = np.finfo(W.dtype).eps if W.dtype.kind == "f" else np.finfo(np.float64).eps
    return float(np.max(np.abs(g))) * 1e3 > eps * scale * 0.5 if scale > 0 else True


def step_measures(record):
    """Per parameter: effective lr, cosine(delta, -g), |delta|/|W|, changed?"""
    out = {}
    grads = record.get("grads") if isinstance(record.get("grads"), dict) else {}
    for key, before in record["before"].items():
        after, g = record["after"].get(key), grads.get(key)
        if after is None or after.shape != before.shape:
            continue
        delta = np.asarray(after, np.float64) - before
        m = {"changed": bool(np.any(delta)), "ratio": float(np.linalg.norm(delta) / max(np.linalg.norm(before), 1e-12))}
        if isinstance(g, np.ndarray) and g.shape == before.shape and np.all(np.isfinite(g)) and np.any(g):
            m["lr"] = -float(np.dot(delta.ravel(), g.ravel()) / np.dot(g.ravel(), g.ravel()))
            norm = np.linalg.norm(delta) * np.linalg.norm(g)
            m["cos"] = -float(np.dot(delta.ravel(), g.ravel()) / norm) if norm else 0.0
        out[key] = m
    return out


def close(record, frame, main_globals):
    """Measure the step just finished; look for where an update went when the network did not change."""
    record["measures"] = step_measures(record)
    if any(m["changed"] for m in record["measures"].values()):
        return
    grads = record.get("grads") if isinstance(record.get("grads"), dict) else {}
    network = {id(v) for v in record["params"].values()}
    for name, value in _candidates(frame, main_globals):
        if isinstance(value, np.ndarray) and id(value) not in network:
            for key, before in record["before"].items():
                g = grads.get(key)
                if value.shape == before.shape and isinstance(g, np.ndarray) and g.shape == before.shape:
                    c, residual = _fit(before, value, g)
                    if c and c > 0 and residual is not None and residual < 1e-6:
                        record["lost_to"] = {"name": name, "param": key, "lr": c}
                        return
        low = name.lower().split(".")[-1]
        if low in LR_NAMES and isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            record["zero_lr"] = name


def loss_with(params, values, loss, x, t):
    """The learner's loss on (x, t) with ``values`` written into its parameters in place (None where it fails)."""
    for k, v in values.items():
        if k in params and params[k].shape == np.shape(v):
            params[k][...] = v
    value, err = attempt(loss, x, t)
    try:
        return None if err else as_float(value)
    except (TypeError, ValueError):
        return None


def judge_first_step(watch, record):
    """The first step's effect on the learner's own loss on its own batch, and smaller/larger steps."""
    exam, subject = watch.exam, watch.subject
    x, t = record["x"], record["t"]
    if exam.labels is None or subject.loss is None:
        return
    measures = record["measures"] = step_measures(record)
    params, before, after = record["params"], record["before"], record["after"]

    def loss_at(values):
        return loss_with(params, values, subject.loss, x, t)

    sgd = [m for m in measures.values() if "cos" in m and m["changed"]]
    if sgd and all(m["cos"] > 0.999 for m in sgd):
        record["lr"] = float(np.median([m["lr"] for m in sgd]))
    delta = {k: np.asarray(after[k], np.float64) - before[k] for k in before
             if k in after and np.shape(after[k]) == before[k].shape}

    def stepped(scale):  # the program's own update direction, scaled
        return loss_at({k: (before[k] + scale * d).astype(before[k].dtype) for k, d in delta.items()})
    try:
        start, end = loss_at(before), loss_at(after)
        record["loss_before"], record["loss_after"] = start, end
        if start is None or not any(np.any(d) for d in delta.values()):
            return
        record.update(judge_step(stepped, start, end))
    finally:
        loss_at(after)


def findings(watch):
    """Findings about the updates and the loss over the observed steps."""
    records = training_records(watch, closed=True)
    if not records or not watch.looping:  # a script that ended by itself after a gradient or two: not training
        return []
    found = []
    lost = next((r["lost_to"] for r in records if "lost_to" in r), None)
    unchanged = all(not any(m["changed"] for m in r["measures"].values()) for r in records)
    if unchanged:
        zero = next((r["zero_lr"] for r in records if "zero_lr" in r), None)
        if lost:
            found.append(Finding("update-lost", None, lost, template="update-lost-copy"))
        elif zero:
            found.append(Finding("learning-rate", None, {"name": zero}, template="learning-rate-zero"))
        else:
            found.append(Finding("update-lost", None, {"steps": len(records)}))
        return found
    first = records[0]
    never = [k for k in first["measures"] if not any(r["measures"].get(k, {}).get("changed") for r in records)
             and any(_movable(r.get("grads", {}).get(k), r["before"].get(k))
                     for r in records if isinstance(r.get("grads"), dict))]
    if never:
        found.append(Finding("update-lost", never[0] if len(never) == 1 else None, {"params": never},
                             template="update-lost-some"))
    cos = [m["cos"] for r in records for m in r["measures"].values() if "cos" in m and m["changed"]]
    by_key = {k: [r["measures"][k]["cos"] for r in records if "cos" in r["measures"].get(k, {})
                  and r["measures"][k]["changed"]] for k in first["measures"]}
    climbing = [k for k, c in by_key.items() if c and np.median(c) < -0.9]
    if cos and np.median(cos) < -0.9:
        found.append(Finding("update-sign", None, {"cos": float(np.median(cos))}))
    elif climbing:  # one update line adds its gradient, the others subtract theirs
        found.append(Finding("update-sign", climbing[0] if len(climbing) == 1 else None,
                             {"cos": float(np.median(by_key[climbing[0]])), "params": climbing},
                             template="update-sign-some"))
    start, end = first.get("loss_before"), first.get("loss_after")
    if start is not None and end is not None:
        if end == start and any(m["changed"] for m in first["measures"].values()) and \
                first.get("loss_step_100") in (None, start):  # (a tiny step lost to rounding moves it 100x larger)
            found.append(Finding("update-lost", None, {"loss": start}, template="update-lost-forward"))
        lr, climbs = first.get("lr"), first.get("climbs")
        if lr is None and climbs is not None and np.isfinite(climbs) and climbs > start + 1e-12 * abs(start):
            found.append(Finding("update-sign", None, {"before": start, "after": end}, template="update-sign-loss"))
        if lr is None or lr > 0:
            rate = rate_finding(lr, start, end, first, list(getattr(watch, "fixed_losses", [])), len(records))
            found += [rate] if rate is not None else []
    found += _trajectory(watch, records)
    return found


def _trajectory(watch, records):
    """divergence / no-learning from the learner's loss on the first batch after each step (else the losses
    the program computed itself)."""
    values = list(getattr(watch, "fixed_losses", [])) or [v for _, v in watch.loss_values]
    start = records[0].get("loss_before")
    if start is None or not values:
        return []
    last = values[-1]
    if not np.isfinite(last) or last > 3 * max(start, 1e-12):
        return [Finding("divergence", None, {"start": start, "last": last, "steps": len(records)})]
    if len(records) >= 3 and min(values) >= start:
        return [Finding("no-learning", None, {"start": start, "lowest": min(values), "steps": len(records)})]
    return []


def measured(watch):
    out = {"steps_observed": len(watch.step_records), "losses_seen": [v for _, v in watch.loss_values][:50]}
    first = next((r for r in training_records(watch) if "measures" in r), None)
    if first is not None:
        out["first_update"] = first["measures"]
        for key in ("lr", "loss_before", "loss_after", "loss_step_best", "overshoot", "loss_step_100"):
            if key in first:
                out[key] = first[key]
    return out
