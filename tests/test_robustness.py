"""Nothing lost, nothing cryptic: gdlab under kills, concurrency, divergence and memory pressure.

Real subprocesses (`python -m gdlab ...`) where the operating system matters (kills, concurrent processes, what
reaches the terminal's stderr). Signals are in test_signals.py, bad input in test_bad_input.py, files gdlab must
not damage in test_outputs_safety.py, `gdlab plot` on directories it did not write in test_replot_safety.py.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import gdlab

from .battery import (
    BOWL,
    LONG,
    METRICS_HEADER,
    gdlab_cli,
    gdlab_subprocess,
    run_dir_of,
    run_dirs,
    start,
    stop,
    wait_for,
    whole_csv,
    write_yaml,
)

# ============================================================================================ SIGKILL


def assert_nothing_half_written(out: Path) -> None:
    """After a kill: config.yaml and summary.json absent or whole; metrics, trajectories and summary.csv whole lines."""
    for f in out.rglob("config.yaml"):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        assert isinstance(data, dict) and "problem" in data, f"{f}: {data!r}"
    for f in out.rglob("summary.json"):
        summary = json.loads(f.read_text(encoding="utf-8"))
        assert summary["status"] in ("completed", "diverged", "interrupted"), summary
    for f in out.rglob("metrics.csv"):
        whole_csv(f, METRICS_HEADER)
    for f in out.rglob("trajectory.csv"):
        whole_csv(f, ["step", "x1", "x2"])
    for f in out.rglob("summary.csv"):
        with open(f, newline="") as fh:
            rows = list(csv.reader(fh))
        assert f.read_bytes().endswith(b"\n") and all(len(r) == len(rows[0]) for r in rows), rows


@pytest.mark.parametrize("moment", ["run-dir-created", "mid-run", "first-summary-written"])
def test_sigkill_never_leaves_a_half_written_file(tmp_path, moment):
    out = tmp_path / "runs"
    if moment == "first-summary-written":  # a compare that finishes quickly: kill while its summaries are written
        data = {"name": "kill", "problem": {"objective": "bowl2d"}, "steps": 5_000, "log_every": 1,
                "optimizers": [{"name": "sgd", "lr": 0.1}, {"name": "momentum", "lr": 0.1}, {"name": "adam"}]}
        mode = "compare"
    else:
        data = {**LONG, "name": "kill", "log_every": 1}  # log every step: metrics are flushed all the time
        mode = "run"
    config = write_yaml(tmp_path / "kill.yaml", data)
    proc = start(mode, config, "--out", out, "--quiet", cwd=tmp_path)
    try:
        if moment == "run-dir-created":
            wait_for(lambda: bool(run_dirs(out)), proc, timeout=60, what="the run directory", poll=0.0005)
        elif moment == "mid-run":
            wait_for(lambda: any(f.read_bytes().count(b"\n") > 100 for f in out.glob("*/metrics.csv")), proc,
                     timeout=60, what="metrics rows")
        else:
            wait_for(lambda: any(out.glob("*/*/summary.json")), proc, timeout=60, what="a summary", poll=0.0005)
        assert proc.poll() is None, "gdlab finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        stop(proc)
    assert proc.returncode == -signal.SIGKILL
    assert len(run_dirs(out)) == 1
    assert_nothing_half_written(out)


# ============================================================================================ concurrency


def test_eight_processes_into_one_out_folder_each_get_a_whole_run_directory(tmp_path):
    config = write_yaml(tmp_path / "same.yaml", {**BOWL, "name": "same", "steps": 50})
    out = tmp_path / "runs"
    procs = [start("run", config, "--out", out, "--quiet", "--seed", i, cwd=tmp_path) for i in range(8)]
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=120)
            results.append((p.returncode, stdout, stderr))
    finally:
        for p in procs:
            stop(p)
    assert [r[0] for r in results] == [0] * 8, [r[2] for r in results if r[0]]
    printed = {Path(r[1].strip().splitlines()[-1]) for r in results}
    dirs = run_dirs(out)
    assert len(printed) == 8 and set(dirs) == printed
    seeds = set()
    for d in dirs:
        summary = json.loads((d / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["steps_run"] == 50
        seeds.add(summary["seed"])
        assert yaml.safe_load((d / "config.yaml").read_text())["seed"] == summary["seed"]
        assert len(whole_csv(d / "metrics.csv", METRICS_HEADER)) == 51
        assert len(whole_csv(d / "trajectory.csv", ["step", "x1", "x2"])) == 51
        assert (d / "plots" / "loss.png").is_file()
        assert not [f.name for f in d.rglob("*") if f.name.startswith(".")], "temporary files left behind"
    assert seeds == set(range(8))  # each directory holds its own process's results


# ============================================================================================ reproducibility

NOISY = {**BOWL, "name": "noisy", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 1.0},
         "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 200}


def loss_column(run_dir: Path) -> list[str]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [row["loss"] for row in csv.DictReader(f)]


def test_same_config_and_seed_give_byte_identical_results(tmp_path):
    config = write_yaml(tmp_path / "noisy.yaml", NOISY)
    a = run_dir_of(gdlab_cli("run", config, "--seed", 1, "--out", tmp_path / "a", "-q"))
    b = run_dir_of(gdlab_cli("run", config, "--seed", 1, "--out", tmp_path / "b", "-q"))
    assert (a / "trajectory.csv").read_bytes() == (b / "trajectory.csv").read_bytes()
    assert loss_column(a) == loss_column(b) and len(loss_column(a)) == 201
    assert (a / "metrics.csv").read_bytes() == (b / "metrics.csv").read_bytes()
    assert (a / "config.yaml").read_bytes() == (b / "config.yaml").read_bytes()


def test_a_different_seed_changes_the_noise_and_only_the_noise(tmp_path):
    config = write_yaml(tmp_path / "noisy.yaml", NOISY)
    one = run_dir_of(gdlab_cli("run", config, "--seed", 1, "--out", tmp_path / "runs", "-q"))
    two = run_dir_of(gdlab_cli("run", config, "--seed", 2, "--out", tmp_path / "runs", "-q"))
    t1 = np.loadtxt(one / "trajectory.csv", delimiter=",", skiprows=1)
    t2 = np.loadtxt(two / "trajectory.csv", delimiter=",", skiprows=1)
    assert t1.shape == t2.shape == (201, 3)
    assert np.array_equal(t1[0], t2[0])  # the same start
    assert not np.allclose(t1[1:, 1:], t2[1:, 1:])  # different noise, different paths
    # without noise the seed changes nothing
    quiet = write_yaml(tmp_path / "quiet.yaml", {**NOISY, "problem": {"objective": "bowl2d", "noise": 0.0}})
    q1 = run_dir_of(gdlab_cli("run", quiet, "--seed", 1, "--out", tmp_path / "q", "-q"))
    q2 = run_dir_of(gdlab_cli("run", quiet, "--seed", 2, "--out", tmp_path / "q", "-q"))
    assert (q1 / "trajectory.csv").read_bytes() == (q2 / "trajectory.csv").read_bytes()


def test_seed_from_the_file_and_from_the_command_line_are_the_same_seed(tmp_path):
    in_file = write_yaml(tmp_path / "in_file.yaml", {**NOISY, "seed": 2})
    a = run_dir_of(gdlab_cli("run", in_file, "--out", tmp_path / "runs", "-q"))
    b = run_dir_of(gdlab_cli("run", write_yaml(tmp_path / "flag.yaml", NOISY), "--seed", 2,
                             "--out", tmp_path / "runs", "-q"))
    assert (a / "trajectory.csv").read_bytes() == (b / "trajectory.csv").read_bytes()


def test_summary_records_seed_versions_and_the_resolved_config(tmp_path):
    d = run_dir_of(gdlab_cli("run", write_yaml(tmp_path / "noisy.yaml", NOISY), "--seed", 7,
                             "--out", tmp_path / "runs", "-q"))
    summary = json.loads((d / "summary.json").read_text())
    assert summary["seed"] == 7
    assert summary["gdlab_version"] == gdlab.__version__
    assert summary["numpy_version"] == np.__version__
    resolved = yaml.safe_load((d / "config.yaml").read_text())
    assert summary["config"] == resolved
    assert resolved["seed"] == 7 and resolved["problem"]["noise"] == 1.0 and resolved["steps"] == 200
    assert resolved["optimizer"]["momentum"] == 0.0  # defaults filled in: the config alone reproduces the run
    # and it does: running the resolved config gives the same trajectory
    again = run_dir_of(gdlab_cli("run", d / "config.yaml", "--out", tmp_path / "again", "-q"))
    assert (again / "trajectory.csv").read_bytes() == (d / "trajectory.csv").read_bytes()


def test_a_member_of_a_compare_follows_the_same_path_as_the_run_alone(tmp_path):
    """Same noise for every member, drawn once per step: a member's path does not depend on its neighbours."""
    alone = run_dir_of(gdlab_cli("run", write_yaml(tmp_path / "noisy.yaml", NOISY), "--seed", 3,
                                 "--out", tmp_path / "runs", "-q"))
    both = {**{k: v for k, v in NOISY.items() if k != "optimizer"},
            "optimizers": [{"name": "adam", "lr": 0.1}, {"name": "sgd", "lr": 0.1}]}
    together = run_dir_of(gdlab_cli("compare", write_yaml(tmp_path / "both.yaml", both), "--seed", 3,
                                    "--out", tmp_path / "runs", "-q"))
    assert (together / "sgd" / "trajectory.csv").read_bytes() == (alone / "trajectory.csv").read_bytes()
    assert loss_column(together / "sgd") == loss_column(alone)


# ============================================================================================ divergence


@pytest.mark.parametrize("objective, lr, steps, window", [
    pytest.param("bowl2d", 0.6, 3000, (1040, 1060), id="d2l-bowl-lr0.6"),
    pytest.param("rosenbrock", 0.1, 200, (1, 200), id="rosenbrock-lr0.1"),
])
def test_divergence_is_a_result_and_no_warning_reaches_the_terminal(tmp_path, objective, lr, steps, window):
    config = write_yaml(tmp_path / "div.yaml", {"name": "div", "problem": {"objective": objective},
                                                "optimizer": {"name": "sgd", "lr": lr}, "steps": steps})
    r = gdlab_subprocess("run", config, "--out", tmp_path / "runs", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "RuntimeWarning" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    d = Path(r.stdout.strip().splitlines()[-1])
    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert window[0] <= summary["diverged_at"] <= window[1]
    assert summary["steps_run"] <= summary["diverged_at"]
    blowup = summary["blowup"]
    assert set(blowup) == {"last_finite_loss", "grad_norm", "lr"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in blowup.values()), blowup
    assert blowup["lr"] == lr and summary["final_loss"] == blowup["last_finite_loss"]
    rows = whole_csv(d / "metrics.csv", METRICS_HEADER)
    assert all(math.isfinite(float(row[2])) for row in rows), "metrics after the blow-up"
    last = rows[-1]
    assert int(last[0]) == summary["diverged_at"] - 1  # every step up to the blow-up is kept
    assert (float(last[2]), float(last[3]), float(last[4])) == (blowup["last_finite_loss"], blowup["grad_norm"],
                                                                blowup["lr"])
    assert all(math.isfinite(x) for x in summary["final_params"])
    assert (d / "plots" / "loss.png").stat().st_size > 0 and (d / "plots" / "trajectory.png").stat().st_size > 0


def test_in_a_compare_the_diverged_member_is_frozen_and_the_others_go_on(tmp_path):
    data = {"name": "div-compare", "problem": {"objective": "bowl2d"}, "steps": 3000,
            "optimizers": [{"name": "sgd", "lr": 0.6, "label": "fast"}, {"name": "sgd", "lr": 0.1, "label": "slow"}]}
    r = gdlab_subprocess("compare", write_yaml(tmp_path / "c.yaml", data), "--out", tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "RuntimeWarning" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    d = Path(r.stdout.strip().splitlines()[-1])
    with open(d / "summary.csv", newline="") as f:
        rows = {row["member"]: row for row in csv.DictReader(f)}
    assert rows["fast"]["status"] == "diverged" and 1040 <= int(rows["fast"]["diverged_at"]) <= 1060
    assert rows["slow"]["status"] == "completed" and rows["slow"]["steps_run"] == "3000"
    assert rows["slow"]["diverged_at"] == "" and float(rows["slow"]["final_loss"]) < 1e-10
    assert len(whole_csv(d / "slow" / "metrics.csv", METRICS_HEADER)) == 3001
    for f in ("loss.png", "trajectory.png", "trajectories_grid.png"):
        assert (d / "plots" / f).stat().st_size > 0, f


# ======================================================================================= numbers as people write them


def test_scientific_notation_is_a_number(tmp_path):
    """`lr: 1e-3` is how learning rates are written (PyTorch, papers); YAML 1.1 reads it as text unless it has a
    dot (1.0e-3). The message 'expected a finite number, got '1e-3'' is cryptic: the value looks like a number."""
    data = {**BOWL, "optimizer": {"name": "adam"}}
    config = write_yaml(tmp_path / "sci.yaml", yaml.safe_dump(data).replace("name: adam", "name: adam\n  lr: 1e-3"))
    r = gdlab_cli("run", config, "--set", "optimizer.eps=1e-8", "--out", tmp_path / "runs", "-q")
    assert r.exit_code == 0, r.output
    resolved = yaml.safe_load((run_dir_of(r) / "config.yaml").read_text())
    assert resolved["optimizer"]["lr"] == 0.001 and resolved["optimizer"]["eps"] == 1e-8


def test_set_on_a_shorthand_optimizer_keeps_its_name(tmp_path):
    """`optimizer: adam` is short for `{name: adam}`: `--set optimizer.lr=...` tunes adam, it does not erase it."""
    config = write_yaml(tmp_path / "short.yaml", {**BOWL, "optimizer": "adam"})
    r = gdlab_cli("run", config, "--set", "optimizer.lr=1e-2", "--out", tmp_path / "runs", "-q")
    assert r.exit_code == 0, r.output
    resolved = yaml.safe_load((run_dir_of(r) / "config.yaml").read_text())
    assert resolved["optimizer"]["name"] == "adam" and resolved["optimizer"]["lr"] == 0.01


def test_a_grid_in_scientific_notation_is_numbers(tmp_path):
    r = gdlab_cli("sweep", write_yaml(tmp_path / "b.yaml", BOWL), "--grid", "optimizer.lr=1e-3,1e-2",
                  "--out", tmp_path / "runs", "-q")
    assert r.exit_code == 0, r.output
    rows = (run_dir_of(r) / "summary.csv").read_text().splitlines()
    assert [row.split(",")[1] for row in rows[1:]] == ["0.001", "0.01"], rows


# ============================================================================================ memory

MEMORY_SCRIPT = """
import json, resource, sys
from gdlab.config import validate
from gdlab.runner import run_config

steps, out = int(sys.argv[1]), sys.argv[2]

def config(n):
    return validate({"name": f"mem{n}", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]},
                     "optimizer": {"name": "sgd", "lr": 0.01}, "steps": n, "log_every": 1})

run_config(config(500), out=out, plots=False)  # warm-up: every module and buffer the loop needs
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = run_config(config(steps), out=out, plots=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kb": after - before, "run_dir": str(outcome.run_dir)}))
"""


def test_a_long_run_streams_its_metrics_and_does_not_grow_in_memory(tmp_path):
    """Peak memory (RSS high-water mark, measured in a fresh process after a warm-up run) of a 200,000-step run
    with log_every 1 is not materially larger than that of a 20,000-step run. Both run at once (2 cores)."""
    procs = {n: subprocess.Popen([sys.executable, "-c", MEMORY_SCRIPT, str(n), str(tmp_path / f"out{n}")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
             for n in (20_000, 200_000)}
    report = {}
    try:
        for n, p in procs.items():
            stdout, stderr = p.communicate(timeout=120)
            assert p.returncode == 0, stderr
            report[n] = json.loads(stdout.strip().splitlines()[-1])
    finally:
        for p in procs.values():
            stop(p)
    small, large = report[20_000]["growth_kb"], report[200_000]["growth_kb"]
    assert large <= 1.5 * small + 5 * 1024, f"peak grew by {large} kB for 200k steps, {small} kB for 20k"
    for n, r in report.items():
        metrics = Path(r["run_dir"]) / "metrics.csv"
        assert metrics.read_bytes().count(b"\n") == n + 2  # header, steps 0..n-1, and the end point n
