"""Turn a pytest-benchmark JSON into a Markdown report (tables, goal ratios) and a PNG bar chart.

    pytest benchmarks/ --benchmark-json=bench.json
    python benchmarks/report.py bench.json [--markdown RESULTS.md] [--png results.png]
    python benchmarks/report.py part1.json part2.json ...   # one run made in several pytest processes

Ratios use medians of one run, contenders side by side on the same machine.

Every timing carries the outcome of its correctness check (``extra_info['check']``, written by the
benchmark after it checked the contender's result, and ``extra_info['outcome']``, the test's outcome,
written by benchmarks/conftest.py). A contender is "checked" only with a passing check and a passing test;
"FAILED" when either failed; "unchecked" when no passing check was recorded. A goal is met ("yes") only when
both of its contenders are checked; otherwise it says which contender failed or went unchecked.
"""
import argparse
import json
import os
import re
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = []
    for b in data["benchmarks"]:
        extra = b.get("extra_info", {})
        rows.append({"group": b.get("group") or "", "name": b["name"], "median": b["stats"]["median"],
                     "min": b["stats"]["min"], "rounds": b["stats"]["rounds"], "extra": extra,
                     "status": status(extra)})
    return data, rows


def status(extra):
    """'checked', 'FAILED' or 'unchecked' from a timing's extra_info (see the module docstring)."""
    if extra.get("outcome") == "failed" or extra.get("check") == "failed":
        return "FAILED"
    if extra.get("check") == "passed" and extra.get("outcome", "passed") == "passed":
        return "checked"
    return "unchecked"


def verdict(met, *contenders):
    """'yes' only when the ratio meets its target and every contender's result was checked."""
    failed = [c["name"] for c in contenders if c["status"] == "FAILED"]
    unchecked = [c["name"] for c in contenders if c["status"] == "unchecked"]
    if failed:
        return f"NO (check FAILED: {', '.join(failed)})"
    if unchecked:
        return f"unchecked ({', '.join(unchecked)})"
    return "yes" if met else "NO"


def fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def find(rows, group_pattern, name_pattern):
    for r in rows:
        if re.search(group_pattern, r["group"]) and re.search(name_pattern, r["name"]):
            return r
    return None


def gemm_bound(epoch_gflop, gemm_flops, gemm_seconds):
    """Seconds the epoch's matrix products would take at the rate of a GEMM of gemm_flops in gemm_seconds."""
    return epoch_gflop * 1e9 * gemm_seconds / gemm_flops


def goals(rows):
    """(goal, measured, target, met) for every acceptance ratio the run has the data for."""
    out = []

    def ratio(label, num, den, target, higher=True):
        if num and den:
            value = num["median"] / den["median"]
            by_min = num["min"] / den["min"]
            met = value >= target if higher else value <= target
            out.append((label, f"{value:,.2f}x (min times: {by_min:,.2f}x)", f"{'>=' if higher else '<='} {target}x",
                        verdict(met, num, den)))
        elif num or den:  # a contender failed before its timing (a check that runs first), or was skipped
            out.append((label, "-", f"{'>=' if higher else '<='} {target}x",
                        "NO (a contender has no timing: failed before it, or was skipped)"))

    ng = r"^numgrad .* float64$"
    numba2 = find(rows, ng, r"numba_numerical_gradient\[(series-)?2\]")
    ratio("numgrad: reference / numba (2 threads)", find(rows, ng, "reference_numerical"), numba2, 1000)
    for suffix, label in (("mse", "MSE"), ("raw pixels, xavier init", "raw pixels, xavier init")):
        exact = rf"^numgrad .* float64, exact kernel: {suffix}$"
        ratio(f"numgrad, exact kernel ({label}): reference / numba (2 threads)",
              find(rows, exact, "reference_numerical"), find(rows, exact, r"numba_numerical_gradient\[.*2\]"), 1000)
    ratio("numgrad: numba (2 threads) / one backprop gradient (NumPy)", numba2,
          find(rows, ng, r"backprop_gradient_for_scale\[(series-)?numpy\]"), 30, higher=False)
    ratio("numgrad: numba 1 thread / 2 threads (separate runs)",
          find(rows, ng, r"numba_numerical_gradient\[(series-)?1\]"), numba2, 1.7)
    for name, label, target in (("numba_thread_scaling", "numgrad: numba 1 thread / 2 threads (interleaved call by call)",
                                 1.7),
                                ("machine_thread_scaling", "context: a perfectly parallel job, 1 thread / 2 threads "
                                 "(interleaved, same run)", None)):
        scaling = find(rows, r"threads interleaved", name)
        if scaling and "one_thread_median" in scaling["extra"]:
            value = scaling["extra"]["one_thread_median"] / scaling["median"]
            by_min = scaling["extra"]["one_thread_min"] / scaling["min"]
            out.append((label, f"{value:,.2f}x (min times: {by_min:,.2f}x)", f">= {target}x" if target else "-",
                        verdict(value >= target, scaling) if target else
                        ("-" if scaling["status"] == "checked" else verdict(True, scaling))))
    for batch, torch_goal in ((32, 3), (100, 2)):
        group = rf"epoch float32 batch {batch}$"
        cy = find(rows, group, r"cython\]")
        ratio(f"epoch float32 batch {batch}: PyTorch / cython", find(rows, group, r"torch\]"), cy, torch_goal)
        ratio(f"epoch float32 batch {batch}: NumPy loop / cython", find(rows, group, r"numpy\]"), cy, 1.5)
    ratio("recipe 512 relu Adam, 10 epochs: PyTorch / fastnn", find(rows, "^recipe", "torch"),
          find(rows, "^recipe", r"fastnn$"), 2)
    ratio("recipe: the whole `fastnn train` command (start-up, data, test pass) / PyTorch's training loop",
          find(rows, "^recipe", "fastnn_train_command"), find(rows, "^recipe", "torch"), 0.5, higher=False)
    mlp = r"MultiLayerNet numgrad"
    ratio("MultiLayerNet 784-[100]*4-10 numgrad batch 16: reference / numba", find(rows, mlp, r"reference\]"),
          find(rows, mlp, r"numba\]"), 300)
    mlp = r"MultiLayerNet epoch"
    fast = [r for r in (find(rows, mlp, r"cython\]"), find(rows, mlp, r"numba\]")) if r]
    ratio("MultiLayerNet 784-[100]*4-10 epoch batch 128 float32: PyTorch / fastnn (fastest backend)",
          find(rows, mlp, r"torch\]"), min(fast, key=lambda r: r["median"]) if fast else None, 1.5)
    ratio("MLPClassifier fit on MNIST: scikit-learn / fastnn", find(rows, "MLPClassifier fit on MNIST$", r"sklearn\]"),
          find(rows, "MLPClassifier fit on MNIST$", r"fastnn\]"), 5)
    row = find(rows, "MLPClassifier fit on MNIST, interleaved", r"fit_interleaved")
    label = "MLPClassifier fit on MNIST: scikit-learn / fastnn, the two fits alternating round by round"
    targets = ">= 5x (issue 8); >= 4x (issue 17)"
    if row and "sklearn_median" in row["extra"]:
        x = row["extra"]
        value = x["sklearn_median"] / row["median"]
        out.append((label, f"{value:,.2f}x (min times: {x['sklearn_min'] / row['min']:,.2f}x; "
                    f"{len(x['sklearn_seconds'])} rounds)", targets,
                    f"{verdict(value >= 5, row)}; {verdict(value >= 4, row)}"))
    elif row:  # failed before its rounds were recorded
        out.append((label, "-", targets, "NO (no scikit-learn times recorded)"))
    fits = [find(rows, "MLPClassifier fit on MNIST$", rf"{name}\]") for name in ("fastnn", "sklearn")]
    if all(f and f["extra"].get("n_iter") for f in fits):
        per = [f["median"] / f["extra"]["n_iter"] for f in fits]
        out.append(("context: MLPClassifier fit, seconds per epoch (fit time / epochs): fastnn, scikit-learn",
                    f"{fmt_time(per[0])}, {fmt_time(per[1])} ({fits[0]['extra']['n_iter']} and "
                    f"{fits[1]['extra']['n_iter']} epochs; test accuracy {fits[0]['extra'].get('test_accuracy', 0):.4f} "
                    f"and {fits[1]['extra'].get('test_accuracy', 0):.4f})", "-", verdict(True, *fits).replace("yes", "-")))
    first = [find(rows, "numba first call", rf"{cache}\]") for cache in ("cold", "warm")]
    if all(first):
        out.append(("context: numba's first numerical gradient in a fresh process, cold cache (compiling), warm "
                    "cache (loading)", f"{fmt_time(first[0]['median'])}, {fmt_time(first[1]['median'])}", "-",
                    verdict(True, *first).replace("yes", "-")))
    gemm = find(rows, "gemm rate", r"float32")
    cy = find(rows, r"epoch float32 batch 100$", r"cython\]")
    if gemm and cy:
        rate = gemm["extra"]["flops"] / gemm["median"]
        bound = gemm_bound(cy["extra"]["gemm_gflop"], gemm["extra"]["flops"], gemm["median"])
        for name, label, target in (("cython-dense", "dense first layer", 2),
                                    ("cython", f"first layer {cy['extra'].get('first_layer', '?')}, x dense, "
                                               "compressed each epoch", None),
                                    ("cython-held", "sparse first layer, x held over its nonzeros as a fit "
                                                    "holds it", 0.7)):
            row = find(rows, r"epoch float32 batch 100$", rf"-{name}\]")
            if row is None:
                continue
            value = row["median"] / bound
            out.append((f"epoch float32 batch 100: {name} ({label}) / the dense GEMM bound",
                        f"{value:.2f}x (min times: {row['min'] / bound:.2f}x; {fmt_time(row['median'])} vs "
                        f"{fmt_time(bound)} at {rate / 1e9:.0f} GFLOP/s)",
                        f"<= {target}x" if target else "-",
                        verdict(value <= target, gemm, row) if target else "-"))
    row = find(rows, r"interleaved round by round", r"held_epoch_against_gemm")
    if row and "gemm_median" in row["extra"]:
        x = row["extra"]
        rate = x["gemm_flops"] / x["gemm_median"]
        bound = gemm_bound(x["gemm_gflop"], x["gemm_flops"], x["gemm_median"])
        bound_min = gemm_bound(x["gemm_gflop"], x["gemm_flops"], x["gemm_min"])
        value = row["median"] / bound
        out.append(("epoch float32 batch 100: cython-held / the dense GEMM bound, each round one GEMM then one epoch",
                    f"{value:.2f}x (min times: {row['min'] / bound_min:.2f}x; {fmt_time(row['median'])} vs "
                    f"{fmt_time(bound)} at {rate / 1e9:.0f} GFLOP/s)", "<= 0.7x", verdict(value <= 0.7, row)))
    return out


def markdown(data, rows):
    machine = data.get("machine_info", {})
    first_extra = next((r["extra"] for r in rows if r["extra"].get("blas")), {})
    lines = ["# fastnn benchmark results", "",
             f"Machine: {first_extra.get('cpu', machine.get('cpu', {}).get('brand_raw', '?'))}, "
             f"Python {machine.get('python_version', '?')}, threads {first_extra.get('threads', '?')}; "
             f"run {data.get('datetime', '?')}.", ""]
    isa = machine.get("fastnn_isa") or first_extra.get("isa") or {}
    if isa:
        lines.append("- instruction sets: " + ", ".join(f"{k} {v}" for k, v in isa.items()))
    for blas in first_extra.get("blas", []):
        lines.append(f"- threadpool: {blas}")
    lines += ["", "## Goals", "", "Ratios of medians over the rounds of one run (ratios of the minimum times in brackets); "
              "'met' is judged on the medians, and is 'yes' only when both contenders' results passed their "
              "correctness check (a failed or missing check says so instead).", "",
              "| goal | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {g} | {m} | {t} | {ok} |" for g, m, t, ok in goals(rows)]
    groups = defaultdict(list)
    for r in rows:
        groups[r["group"]].append(r)
    for group, members in groups.items():
        best = min(m["median"] for m in members)
        lines += ["", f"## {group}", "", "| contender | median | min | rounds | vs fastest | check |",
                  "|---|---|---|---|---|---|"]
        for m in sorted(members, key=lambda m: m["median"]):
            lines.append(f"| {m['name']} | {fmt_time(m['median'])} | {fmt_time(m['min'])} | {m['rounds']} | "
                         f"{m['median'] / best:.2f}x | {m['status']}: {m['extra'].get('checked', 'no check recorded')} |")
        for m in members:
            extra = {k: v for k, v in m["extra"].items()
                     if k not in ("blas", "cpu", "isa", "threads", "check", "checked", "outcome")}
            if {"peak_rss_mb_after_each_epoch", "seconds_to_first_gradient", "test_accuracy", "n_iter", "kernel",
                    "max_abs_diff_to_reference"} & set(extra):
                lines.append(f"| {m['name']} extra | {extra} | | | | |")
    return "\n".join(lines) + "\n"


def chart(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'fastnn[plot]'): no chart written", file=sys.stderr)
        return False
    epoch = [r for r in rows if r["group"].startswith("epoch")]
    groups = sorted({r["group"] for r in epoch})
    contenders = ["numpy", "numba", "cython", "torch"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.2
    for i, c in enumerate(contenders):
        values = [next((r["median"] for r in epoch if r["group"] == g and r["name"].endswith(f"{c}]")), 0)
                  for g in groups]
        ax.bar([j + (i - 1.5) * width for j in range(len(groups))], values, width, label=c)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.replace("epoch ", "") for g in groups])
    ax.set_ylabel("seconds per epoch (median)")
    ax.set_title("One SGD epoch, 784-100-10 sigmoid, 60,000 MNIST images")
    ax.legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return True


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="pytest-benchmark --benchmark-json output (several: the parts of "
                        "one run made in separate processes, merged; the first one's machine info is shown)")
    parser.add_argument("--markdown", default=None, help="write the report here (default: print it)")
    parser.add_argument("--png", default=None, help="write the epoch bar chart here")
    args = parser.parse_args(argv)
    data, rows = load(args.json[0])
    for path in args.json[1:]:
        more, more_rows = load(path)
        rows += more_rows
        data["datetime"] = f"{data.get('datetime', '?')} to {more.get('datetime', '?')}"
    text = markdown(data, rows)
    if args.markdown:
        write_atomic(args.markdown, text)
    else:
        print(text)
    if args.png:
        chart(rows, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
