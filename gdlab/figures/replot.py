"""`gdlab plot`: redraw figures from saved run directories, alone or overlaid.

From the files alone (outputs/readback.py, outputs/landscape_file.py): no plugin is imported, no data is loaded,
nothing named in a directory's config.yaml is run. Figures are written whole (rendered beside their final name and
renamed), into real folders only; `--output` names the file, and other figures of the same call go beside it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, OutputError
from ..outputs.aggregate import repeat_groups
from ..outputs.files import real_dir
from ..outputs.landscape_file import landscape_of
from ..outputs.readback import kind_of, load_series, member_dirs_of, read_config
from ..outputs.tune_files import read_study
from .standard import draw_figures, draw_repeat_figures, redraw_sweep, run_name
from .style import FORMATS


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


def check_output(output: Path) -> None:
    """An --output file name gdlab may write: not a folder, in a folder that exists."""
    if output.is_dir():
        raise ConfigError(f"--output {output}: is a directory; give a file name such as {output / 'loss.png'}")
    if not output.parent.is_dir():
        raise OutputError(f"--output {output}: the folder {output.parent} does not exist")


def _alone(kinds: list[str], kind: str, output: Path | None, what: str) -> None:
    if len(kinds) > 1 or output is not None:
        raise ConfigError(f"RUN_DIR: {what} is redrawn on its own, into its plots/ folder "
                          f"(no --output, no other directories)")


def replot(run_dirs: list[Path], *, kind: str, output: Path | None, smooth: int, fmt: str = "png") -> list[Path]:
    run_dirs = [Path(r) for r in run_dirs]
    kinds = [kind_of(r) for r in run_dirs]  # every directory checked (damaged, incomplete) before anything is drawn
    if "sweep" in kinds:
        _alone(kinds, "sweep", output, "a sweep directory")
        return redraw_sweep(run_dirs[0], fmt=fmt)
    if "tune" in kinds or "bench" in kinds:
        _alone(kinds, "study", output, "a tune or bench directory")
        return redraw_study(run_dirs[0], fmt)
    if "repeats" in kinds:
        _alone(kinds, "repeats", output, "a directory of repeated runs (several seeds)")
        return _redraw_repeats(run_dirs[0], fmt)
    if output is not None:
        fmt = output_format(Path(output))
        check_output(Path(output))
    groups = [member_dirs_of(r) for r in run_dirs]
    dirs = [m for g in groups for m in g]
    series = [load_series(d) for d in dirs]
    for s, label in zip(series, short_labels([s.label for s in series], [_run_of(d, run_dirs) for d in dirs])):
        s.label = label
    problems = [read_config(d).get("problem") for d in dirs]
    land = landscape_of(dirs[0]) if all(p == problems[0] for p in problems) else None
    if kind == "trajectory" and land is None:
        raise ConfigError("--kind trajectory: these runs have no common 1- or 2-parameter landscape to draw on")
    smooth = min(smooth, max((len(s.step) for s in series), default=0))  # a longer window averages the same
    if output is None:
        written = []
        for r, group in zip(run_dirs, groups):
            mine = [s for s, d in zip(series, dirs) if d in group]
            written += draw_figures(mine, land, r / "plots", kind=kind, smooth=smooth, grid=len(mine) > 1,
                                    title=run_name(r), fmt=fmt)
        return written
    output = Path(output)
    main = f"trajectory.{fmt}" if kind == "trajectory" else f"loss.{fmt}"
    title = " vs ".join(dict.fromkeys(run_name(r) for r in run_dirs))
    return draw_figures(series, land, output.parent, kind=kind, smooth=smooth, title=title, fmt=fmt, own_folder=False,
                        name=lambda f: output.name if f == main else f"{output.stem}-{Path(f).stem}{output.suffix}")


def _redraw_repeats(run_dir: Path, fmt: str) -> list[Path]:
    groups = repeat_groups(run_dir)
    if not groups:
        raise OutputError(f"{run_dir / 'summary.csv'}: damaged (no member rows)")
    series = [(label, [load_series(d) for d in dirs]) for label, dirs in groups]
    return draw_repeat_figures(series, landscape_of(groups[0][1][0]), run_dir / "plots", title=run_name(run_dir),
                               fmt=fmt)


def load_members(run_dirs: list[Path]) -> tuple[list, object, str]:
    """(series with short labels, the common landscape or None, a title) of run or compare directories, read as
    `replot` reads them (for --animate and --export)."""
    run_dirs = [Path(r) for r in run_dirs]
    kinds = [kind_of(r) for r in run_dirs]
    if any(k not in ("run", "compare") for k in kinds):
        raise ConfigError("RUN_DIR: only run and compare directories keep the paths and per-member curves to "
                          "animate or export (not a sweep, tune, bench or repeated-runs directory)")
    dirs = [m for r in run_dirs for m in member_dirs_of(r)]
    series = [load_series(d) for d in dirs]
    for s, label in zip(series, short_labels([s.label for s in series], [_run_of(d, run_dirs) for d in dirs])):
        s.label = label
    problems = [read_config(d).get("problem") for d in dirs]
    return series, landscape_of(dirs[0]) if all(p == problems[0] for p in problems) else None, \
        " vs ".join(dict.fromkeys(run_name(r) for r in run_dirs))


def redraw_study(run_dir: Path, fmt: str = "png") -> list[Path]:
    """A tune directory's sensitivity figure (and its compare's), a bench directory's profile, from their files."""
    from .tuning import performance_profiles, sensitivity

    name = run_name(run_dir)
    study = read_study(run_dir)  # checked: OutputError for damaged or incomplete files
    plots = real_dir(run_dir / "plots")
    if study["kind"] == "tune":
        curves, criterion, multi = study["sensitivity"]
        written = [sensitivity(curves, plots / f"sensitivity.{fmt}", criterion=criterion, multi_seed=multi,
                               title=f"{name.removesuffix('-tune')}: {criterion.replace('_', ' ')} by learning rate")]
        if (run_dir / "compare").is_dir() and kind_of(run_dir / "compare") == "repeats":
            written += _redraw_repeats(run_dir / "compare", fmt)
        return written
    p = study["profile"]
    return [performance_profiles(p["labels"], p["taus"], p["rho"], plots / f"profile.{fmt}",
                                 scores=p["scores"], measure=p["measure"], n_problems=p["n_problems"],
                                 title=f"{p['name']}: performance profiles")]
