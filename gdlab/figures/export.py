"""`gdlab plot RUN_DIR --export DIR`: each figure's data as CSV, a self-contained script that redraws it with plain
matplotlib from that CSV (a student restyles it for a report without gdlab), and a pgfplots .tex for LaTeX.

Per figure NAME: NAME.csv (plain columns, a header line, empty cells for missing values), NAME.py (reads the CSV
beside it with the csv module, draws with matplotlib.pyplot, writes NAME.png), NAME.tex (a pgfplots axis over the
same CSV). Column names are made of [A-Za-z0-9_] so that pgfplots can address them; the scripts map them back to
the members' labels.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..outputs.files import write_atomic
from ..outputs.series import Series
from ..problems.landscape import Landscape
from .curves import member_curve, wants_log
from .paths import _surface, finite_path, view_window

LOSS_SCRIPT = '''"""Redraw {name}.png from {name}.csv with plain matplotlib (written by gdlab; edit freely)."""
import csv
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
LABELS = {labels!r}  # CSV column -> legend label

with open(HERE / "{name}.csv", newline="") as f:
    rows = list(csv.DictReader(f))
x = [float(r["{x}"]) for r in rows]
fig, ax = plt.subplots(figsize=(7, 4.5))
for column, label in LABELS.items():
    points = [(xi, float(r[column])) for xi, r in zip(x, rows) if r[column] != ""]
    ax.plot([p[0] for p in points], [p[1] for p in points], label=label)
ax.set_yscale("{yscale}")
ax.set_xlabel("{xlabel}")
ax.set_ylabel("{ylabel}")
ax.set_title("{title}")
ax.legend()
fig.tight_layout()
fig.savefig(HERE / "{name}.png", dpi=150)
'''

PATH_SCRIPT = '''"""Redraw {name}.png from {name}.csv and {name}_surface.csv with plain matplotlib (written by gdlab)."""
import csv
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = {labels!r}  # CSV column prefix -> legend label


def read(name):
    with open(HERE / name, newline="") as f:
        rows = list(csv.DictReader(f))
    return {{k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}}


path = read("{name}.csv")
fig, ax = plt.subplots(figsize=(7, 5))
if (HERE / "{name}_surface.csv").exists():
    s = read("{name}_surface.csv")
    n = len(np.unique(s["x1"]))
    shape = (len(s["x1"]) // n, n)
    ax.contour(s["x1"].reshape(shape), s["x2"].reshape(shape), s["f"].reshape(shape), levels={levels!r},
               colors="0.5", linewidths=0.7)
for prefix, label in LABELS.items():
    ax.plot(path[prefix + "_x1"], path[prefix + "_x2"], "-o", markersize=3, label=label)
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.set_title("{title}")
ax.legend()
fig.tight_layout()
fig.savefig(HERE / "{name}.png", dpi=150)
'''


def column_name(label: str, taken: set[str]) -> str:
    """A CSV column name of [A-Za-z0-9_] for a member's label, unique among `taken` (which it joins)."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_") or "member"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _cells(values: np.ndarray) -> list[str]:
    return ["" if not np.isfinite(v) else repr(float(v)) for v in values]


def _write_table(path: Path, header: list[str], columns: list[list[str]]) -> None:
    write_atomic(path, "\n".join([",".join(header), *map(",".join, zip(*columns))]) + "\n")


def export_curves(series: list[Series], out_dir: Path, name: str, *, x: str = "step", y: str = "loss",
                  title: str = "") -> list[Path]:
    """NAME.csv (x, one column per member on the union of x values), NAME.py, NAME.tex."""
    curves = [member_curve(s, x, y) for s in series]
    xs = np.unique(np.concatenate([c[0] for c in curves] or [np.zeros(0)]))
    taken: set[str] = {x}
    names = [column_name(s.label, taken) for s in series]
    columns = [_cells(xs)]
    for cx, cy, _ in curves:
        full = np.full(xs.shape, np.nan)
        full[np.searchsorted(xs, cx)] = cy
        columns.append(_cells(full))
    csv_path = out_dir / f"{name}.csv"
    _write_table(csv_path, [x, *names], columns)
    log = wants_log([c[1] for c in curves], y)
    labels = dict(zip(names, (s.label for s in series)))
    script = out_dir / f"{name}.py"
    write_atomic(script, LOSS_SCRIPT.format(name=name, labels=labels, x=x, yscale="log" if log else "linear",
                                            xlabel=x.replace("_", " "), ylabel=y.replace("_", " "),
                                            title=_escape(title)))
    plots = "\n".join(f"\\addplot table[x={x}, y={c}, col sep=comma]{{{name}.csv}};\n\\addlegendentry{{{_tex(lab)}}}"
                      for c, lab in labels.items())
    tex = out_dir / f"{name}.tex"
    write_atomic(tex, f"% pgfplots figure over {name}.csv (written by gdlab); \\input it inside a tikzpicture\n"
                      f"\\begin{{axis}}[xlabel={{{x.replace('_', ' ')}}}, ylabel={{{y.replace('_', ' ')}}}, "
                      f"ymode={'log' if log else 'normal'}, legend pos=outer north east, "
                      f"unbounded coords=jump, width=12cm, height=7cm]\n{plots}\n\\end{{axis}}\n")
    return [csv_path, script, tex]


def export_paths(series: list[Series], landscape: Landscape, out_dir: Path, name: str = "trajectory", *,
                 title: str = "") -> list[Path]:
    """NAME.csv (step, then <member>_x1, <member>_x2 per member), NAME_surface.csv (x1, x2, f on a grid), NAME.py,
    NAME.tex. Two-parameter problems only (a 1-D path is a loss curve's x)."""
    members = [s for s in series if s.path is not None and s.path.shape[1] == 2]
    if landscape.dim != 2 or not members:
        return []
    paths = [finite_path(s) for s in members]
    n = max(len(p) for p in paths)
    taken: set[str] = {"step"}
    names = [column_name(s.label, taken) for s in members]
    columns = [[str(k) for k in range(n)]]
    for p in paths:
        full = np.full((n, 2), np.nan)
        full[: len(p)] = p
        columns += [_cells(full[:, 0]), _cells(full[:, 1])]
    csv_path = out_dir / f"{name}.csv"
    _write_table(csv_path, ["step"] + [f"{c}_{d}" for c in names for d in ("x1", "x2")], columns)
    written = [csv_path]
    surface = _surface(landscape, view_window(members, landscape), 80)
    levels = []
    if surface is not None:
        xx, yy, zz, levels = surface
        written.append(out_dir / f"{name}_surface.csv")
        _write_table(written[-1], ["x1", "x2", "f"], [_cells(xx.ravel()), _cells(yy.ravel()), _cells(zz.ravel())])
    labels = dict(zip(names, (s.label for s in members)))
    script = out_dir / f"{name}.py"
    write_atomic(script, PATH_SCRIPT.format(name=name, labels=labels, levels=[float(v) for v in levels],
                                            title=_escape(title)))
    plots = "\n".join(f"\\addplot+[mark size=1pt] table[x={c}_x1, y={c}_x2, col sep=comma]{{{name}.csv}};\n"
                      f"\\addlegendentry{{{_tex(lab)}}}" for c, lab in labels.items())
    tex = out_dir / f"{name}.tex"
    write_atomic(tex, f"% pgfplots paths over {name}.csv (written by gdlab); contours: {name}_surface.csv\n"
                      f"\\begin{{axis}}[xlabel={{x1}}, ylabel={{x2}}, axis equal, legend pos=outer north east, "
                      f"unbounded coords=jump, width=12cm]\n{plots}\n\\end{{axis}}\n")
    return written + [script, tex]


def export_figures(series: list[Series], landscape: Landscape | None, out_dir: Path, *, title: str = "") -> list[Path]:
    """Every standard figure of these members as data + script + pgfplots (see the module docstring)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if any("train_loss" in s.columns for s in series):
        written += export_curves(series, out_dir, "loss", x="epoch", y="train_loss", title=title)
        written += export_curves(series, out_dir, "batch_loss", title=title)
    else:
        written += export_curves(series, out_dir, "loss", title=title)
    for col in ("val_loss", "train_accuracy", "val_accuracy"):
        if all(col in s.columns for s in series):
            written += export_curves(series, out_dir, col, x="epoch", y=col, title=title)
    if landscape is not None:
        written += export_paths(series, landscape, out_dir, title=title)
    return written


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _tex(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text)
