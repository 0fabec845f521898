"""Names gdlab gives to what it writes: run directories and the member sub-directories of a compare."""

from __future__ import annotations

import re


def safe_name(text: str) -> str:
    """A name of [A-Za-z0-9._=-] only, safe in any shell and file system: 'RMSProp (0.4, 0.9)' -> 'RMSProp_0.4_0.9'."""
    cleaned = re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("._-")
    return cleaned[:80] or "run"


# what gdlab itself writes into a run or compare directory: no member directory may take one of these names
OWN_NAMES = frozenset({"config.yaml", "metrics.csv", "trajectory.csv", "summary.json", "summary.csv", "metrics.npz",
                       "landscape.npz", "plots"})


def member_dir_names(labels: list[str]) -> list[str]:
    """The sub-directory name of each member of a compare: its label made file-system friendly, never one of
    gdlab's own file names (a member labelled `plots` gets `plots_`), never twice (case-insensitively)."""
    names, used = [], {n.lower() for n in OWN_NAMES}
    for label in labels:
        name = safe_name(label)
        while name.lower() in used:
            name += "_"
        used.add(name.lower())
        names.append(name)
    return names
