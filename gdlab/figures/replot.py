"""`gdlab plot`: redraw figures from saved run directories, alone or overlaid."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import ConfigError
from ..outputs.aggregate import repeat_groups
from ..outputs.tune_files import is_bench_dir, is_tune_dir, load_profile, load_sensitivity
from ..outputs.rundir import is_run_dir, load_series
from ..outputs.sweep_dir import is_sweep_dir
from .standard import draw_figures, draw_repeat_figures, landscape_of, redraw_sweep, run_name
from .style import FORMATS


def member_dirs_of(path: Path) -> list[Path]:
    """A run directory itself, or the member sub-directories of a compare directory."""
    path = Path(path)
    if is_run_dir(path):
        return [path]
    members = sorted(d for d in path.iterdir() if d.is_dir() and is_run_dir(d)) if path.is_dir() else []
    if not members:
        raise ConfigError(f"RUN_DIR {path}: not a gdlab run or compare directory (no summary.json inside)")
    if (path / "summary.csv").is_file():  # keep the compare's member order
        import csv

        with open(path / "summary.csv", newline="", encoding="utf-8") as f:
            order = [row["member"] for row in csv.DictReader(f)]
        rank = {_label(d): i for i, d in enumerate(members)}
        members.sort(key=lambda d: order.index(_label(d)) if _label(d) in order else len(order) + rank[_label(d)])
    return members


def _label(d: Path) -> str:
    import json

    return json.loads((d / "summary.json").read_text(encoding="utf-8")).get("label", d.name)


def _problem_of(d: Path) -> dict:
    return yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8")).get("problem", {})


def _run_of(d: Path, run_dirs: list[Path]) -> Path:
    """The run directory a member directory belongs to (itself for a plain run)."""
    return d if d in run_dirs else d.parent


def short_labels(labels: list[str], runs: list[Path]) -> list[str]:
    """Legend labels that tell members of different runs apart by the run's config name, not its timestamp:
    'd2l-gd: gd', 'd2l-gd-lr0.6: gd'; the run's short id joins only when two runs share a config name."""
    if len(set(labels)) == len(labels):
        return labels
    names = [run_name(r) for r in runs]
    if len(set(zip(names, labels))) < len(labels):
        names = [f"{n} ({r.name.rsplit('-', 1)[-1]})" for n, r in zip(names, runs)]
    return [f"{n}: {label}" for n, label in zip(names, labels)]


def output_format(output: Path) -> str:
    """The figure format an --output file name asks for by its suffix."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"--output {output}: unknown figure format {output.suffix or '(no suffix)'}; "
                          f"accepted: {', '.join('.' + f for f in FORMATS)}")
    return fmt


def replot(run_dirs: list[Path], *, kind: str, output: Path | None, smooth: int, fmt: str = "png") -> list[Path]:
    sweeps = [Path(r) for r in run_dirs if is_sweep_dir(Path(r))]
    if sweeps:
        if len(sweeps) < len(run_dirs) or output is not None:
            raise ConfigError("RUN_DIR: a sweep directory is redrawn on its own, into its plots/ folder "
                              "(no --output, no other directories)")
        return [p for d in sweeps for p in redraw_sweep(d, fmt=fmt)]
    studies = [Path(r) for r in run_dirs if is_tune_dir(Path(r)) or is_bench_dir(Path(r))]
    if studies:
        if len(studies) < len(run_dirs) or output is not None:
            raise ConfigError("RUN_DIR: a tune or bench directory is redrawn on its own, into its plots/ folder "
                              "(no --output, no other directories)")
        return [p for d in studies for p in redraw_study(d, fmt)]
    repeats = [repeat_groups(Path(r)) for r in run_dirs]
    if any(repeats):
        if len(run_dirs) > 1 or output is not None:
            raise ConfigError("RUN_DIR: a directory of repeated runs (several seeds) is redrawn on its own, into its "
                              "plots/ folder (no --output, no other directories)")
        groups = [(label, [load_series(d) for d in dirs]) for label, dirs in repeats[0]]
        return draw_repeat_figures(groups, landscape_of(repeats[0][0][1][0]), Path(run_dirs[0]) / "plots",
                                   title=run_name(Path(run_dirs[0])), fmt=fmt)
    run_dirs = [Path(r) for r in run_dirs]
    dirs = [m for r in run_dirs for m in member_dirs_of(r)]
    series = [load_series(d) for d in dirs]
    runs = [_run_of(d, run_dirs) for d in dirs]
    for s, label in zip(series, short_labels([s.label for s in series], runs)):
        s.label = label
    same_problem = all(_problem_of(d) == _problem_of(dirs[0]) for d in dirs)
    land = landscape_of(dirs[0]) if same_problem else None
    if kind == "trajectory" and land is None:
        raise ConfigError("--kind trajectory: these runs have no common 1- or 2-parameter landscape to draw on")
    if output is None:
        written = []
        for r in run_dirs:
            members = member_dirs_of(r)
            group = [s for s, d in zip(series, dirs) if d in members]
            written += draw_figures(group, land, Path(r) / "plots", kind=kind, smooth=smooth,
                                    grid=len(group) > 1, title=run_name(Path(r)), fmt=fmt)
        return written
    output = Path(output)
    fmt = output_format(output)
    title = " vs ".join(dict.fromkeys(run_name(r) for r in run_dirs))
    tmp_dir = output.parent / f".{output.stem}-figures"
    figs = draw_figures(series, land, tmp_dir, kind=kind, smooth=smooth, title=title, fmt=fmt)
    written = []
    for f in figs:
        target = output if f.stem == ("trajectory" if kind == "trajectory" else "loss") else \
            output.with_name(f"{output.stem}-{f.stem}{output.suffix}")
        f.replace(target)
        written.append(target)
    for leftover in tmp_dir.glob("*"):
        leftover.unlink()
    tmp_dir.rmdir()
    return written


def load_members(run_dirs: list[Path]) -> tuple[list, object, str]:
    """(series with short labels, the common landscape or None, a title) of run or compare directories."""
    run_dirs = [Path(r) for r in run_dirs]
    if any(is_sweep_dir(r) for r in run_dirs):
        raise ConfigError("RUN_DIR: a sweep directory keeps no paths or per-member curves to animate or export")
    dirs = [m for r in run_dirs for m in member_dirs_of(r)]
    series = [load_series(d) for d in dirs]
    for s, label in zip(series, short_labels([s.label for s in series], [_run_of(d, run_dirs) for d in dirs])):
        s.label = label
    same_problem = all(_problem_of(d) == _problem_of(dirs[0]) for d in dirs)
    return series, landscape_of(dirs[0]) if same_problem else None, \
        " vs ".join(dict.fromkeys(run_name(r) for r in run_dirs))


def redraw_study(run_dir: Path, fmt: str = "png") -> list[Path]:
    """A tune directory's sensitivity figure (and its compare's), a bench directory's profile, from their files."""
    from .tuning import performance_profiles, sensitivity

    name = run_name(run_dir)
    if is_tune_dir(run_dir):
        curves, criterion, multi = load_sensitivity(run_dir)
        written = [sensitivity(curves, run_dir / "plots" / f"sensitivity.{fmt}", criterion=criterion, multi_seed=multi,
                               title=f"{name.removesuffix('-tune')}: {criterion.replace('_', ' ')} by learning rate")]
        groups = repeat_groups(run_dir / "compare") if (run_dir / "compare").is_dir() else None
        if groups:
            series = [(label, [load_series(d) for d in dirs]) for label, dirs in groups]
            written += draw_repeat_figures(series, landscape_of(groups[0][1][0]), run_dir / "compare" / "plots",
                                           title=run_name(run_dir / "compare"), fmt=fmt)
        return written
    p = load_profile(run_dir)
    return [performance_profiles(p["labels"], p["taus"], p["rho"], run_dir / "plots" / f"profile.{fmt}",
                                 scores=p["scores"], measure=p["measure"], n_problems=p["n_problems"],
                                 title=f"{p['name']}: performance profiles")]
