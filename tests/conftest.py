"""Shared fixtures: where the shared test data lives, and tiny configs written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data next to the repository; tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def write_config(tmp_path):
    """Write a config mapping (or raw YAML text) to a file and return its path."""

    def write(data, name: str = "cfg.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write


def bowl_config(**top) -> dict:
    cfg = {"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]},
           "optimizer": {"name": "sgd", "lr": 0.4}, "steps": 20}
    cfg.update(top)
    return cfg


@pytest.fixture(scope="session")
def dask_cluster():
    """A scheduler and two one-thread worker processes on 127.0.0.1, set up as the README's cluster commands: a
    batch whose worker dies is retried once (allowed-failures 1). Skipped where the Dask extra is not installed."""
    pytest.importorskip("distributed", reason="the Dask extra is not installed (pip install 'gdlab[dask]')")
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.CRITICAL)
    yield cluster.scheduler_address
    cluster.close()
