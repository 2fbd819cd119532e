"""fastnn.sweep: grids, joblib tasks, the thread budget, result files, the CLI, and a Dask LocalCluster."""
import csv
import json

import numpy as np
import pytest

import fastnn
from fastnn import _config, sweeps
from fastnn.cli import main

GRID = {"hidden": [[16], [8, 8]], "lr": [0.01, 0.001], "seed": [0, 1]}  # 8 configurations


def test_grid_expansion():
    configs = sweeps.expand(GRID)
    assert len(configs) == 8
    assert {tuple(c["hidden"]) for c in configs} == {(16,), (8, 8)}
    assert all(c["optimizer"] == "Adam" for c in configs)  # defaults fill the rest
    assert len(sweeps.expand({"hidden": [100, 50], "lr": 0.1})) == 1  # [100, 50] is one two-layer value
    assert len(sweeps.expand([{"lr": [0.1, 0.2]}, {"optimizer": "SGD"}])) == 3
    with pytest.raises(ValueError, match="unknown sweep parameter.*'learning_rate'"):
        sweeps.expand({"learning_rate": [0.1]})


def without_time(results):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in results]


def test_local_sweep_writes_csv_and_json_and_prints_a_table(tmp_path, capsys):
    results = fastnn.sweep(GRID, "digits", epochs=2, n_jobs=2, threads_per_task=1, out=tmp_path / "r.csv")
    assert len(results) == 8 and all(0 <= r["test_accuracy"] <= 1 for r in results)
    out = capsys.readouterr().out
    assert "8 configurations, 2 at a time, 1 thread(s) each" in out and "test_accuracy" in out
    with open(tmp_path / "r.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["test_accuracy"]) for r in rows] == [r["test_accuracy"] for r in results]
    again = fastnn.sweep(GRID, "digits", epochs=2, n_jobs=1, threads_per_task=1, out=tmp_path / "r.json",
                         verbose=False)
    assert without_time(again) == without_time(results)  # a configuration's result does not depend on its worker
    with open(tmp_path / "r.json") as f:
        assert without_time(json.load(f)) == without_time(results)
    assert max(r["test_accuracy"] for r in results) > 0.8


def test_thread_budget_splits_the_cores(monkeypatch):
    seen = []
    monkeypatch.setattr(sweeps, "run_config", lambda c, data, n, threads, backend: seen.append(threads) or
                        {**c, "hidden": "x", "train_loss": 0.0, "train_accuracy": 0.0, "test_accuracy": 0.0,
                         "seconds": 0.0})
    monkeypatch.setattr(_config, "available_cores", lambda: 8)
    import joblib
    with joblib.parallel_config("threading"):  # the patched function stays in this process
        fastnn.sweep({"lr": [0.1, 0.2, 0.3]}, "digits", verbose=False)
        assert seen == [2, 2, 2]  # 3 tasks at once on 8 cores: 2 threads each (never 3 x 8)
        seen.clear()
        fastnn.sweep({"lr": [0.1] * 1}, "digits", verbose=False, n_jobs=1)
        assert seen == [8]


def test_bad_arguments():
    with pytest.raises(ValueError, match="out must end in .csv or .json"):
        fastnn.sweep({"lr": [0.1]}, "digits", out="r.txt", verbose=False)
    with pytest.raises(ValueError, match="data must be one of"):
        sweeps.run_config({}, data="cifar")
    with pytest.raises(ValueError, match="n_jobs must be a positive integer"):
        fastnn.sweep({"lr": [0.1]}, "digits", n_jobs=0, verbose=False)


def test_cli_sweep(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"hidden": [[8]], "lr": [0.01, 0.02]}))
    assert main(["sweep", "--grid", str(grid), "--data", "digits", "--epochs", "1", "--out",
                 str(tmp_path / "out.json"), "--n-jobs", "1"]) == 0
    from_cli = json.loads((tmp_path / "out.json").read_text())
    assert "test_accuracy" in capsys.readouterr().out
    # the command is a thin layer over fastnn.sweep: the same configurations, the same results
    direct = fastnn.sweep({"hidden": [[8]], "lr": [0.01, 0.02]}, "digits", epochs=1, n_jobs=1, verbose=False)
    assert [(r["hidden"], r["lr"], r["epochs"]) for r in from_cli] == [("8", 0.01, 1), ("8", 0.02, 1)]
    assert without_time(from_cli) == json.loads(json.dumps(without_time(direct)))
    assert all(0.1 < r["test_accuracy"] <= 1 for r in from_cli)
    assert main(["sweep", "--grid", "{not json", "--data", "digits"]) == 2
    assert "--grid must be a JSON object" in capsys.readouterr().err


def test_same_results_on_a_dask_local_cluster():
    """The sweep of 8 configurations through joblib's dask backend, on a LocalCluster on 127.0.0.1."""
    distributed = pytest.importorskip("dask.distributed", reason="dask is an optional extra: pip install 'fastnn[dask]'")
    import joblib
    local = fastnn.sweep(GRID, "digits", epochs=2, threads_per_task=1, verbose=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_config("dask"):
            remote = fastnn.sweep(GRID, "digits", epochs=2, verbose=False)
        workers = {w["host"] for w in client.scheduler_info()["workers"].values()}
    assert workers == {"127.0.0.1"}
    assert without_time(remote) == without_time(local)
    assert {r["threads"] for r in remote} == {1}
    assert np.isfinite([r["train_loss"] for r in remote]).all()


def test_same_results_on_ray():
    """The same sweep through Ray's joblib backend (a local Ray instance), where Ray installs."""
    ray = pytest.importorskip("ray", reason="ray is an optional extra: pip install 'fastnn[ray]'")
    import joblib
    from ray.util.joblib import register_ray
    grid = {"hidden": [[8]], "lr": [0.01, 0.001], "seed": [0, 1]}
    local = fastnn.sweep(grid, "digits", epochs=1, threads_per_task=1, verbose=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        register_ray()
        with joblib.parallel_config("ray"):
            remote = fastnn.sweep(grid, "digits", epochs=1, verbose=False)
    finally:
        ray.shutdown()
    assert without_time(remote) == without_time(local)


def test_example_runs(capsys):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "sklearn_and_sweep.py"
    spec = importlib.util.spec_from_file_location("sklearn_and_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--quick"])
    out = capsys.readouterr().out
    assert "fastnn        fit" in out and "grid search: best" in out and "8 configurations" in out
    import re
    accuracy = {name: float(a) for name, a in re.findall(r"^(fastnn|scikit-learn) +fit .* test accuracy ([0-9.]+)",
                                                         out, re.M)}
    assert set(accuracy) == {"fastnn", "scikit-learn"}
    assert accuracy["fastnn"] > 0.8 and abs(accuracy["fastnn"] - accuracy["scikit-learn"]) < 0.01  # same training
    assert float(re.search(r"largest weight difference after \d+ epochs: ([0-9.e+-]+)", out).group(1)) < 1e-2
    assert float(re.search(r"cross-validated accuracy ([0-9.]+)", out).group(1)) > 0.8
    table = out[out.index("test_accuracy"):].splitlines()[1:]
    assert len(table) == 8 and all(0.5 < float(row.split()[-2]) <= 1 for row in table)  # test_accuracy column
