"""The one vocabulary of members' fates, shared by the terminal tables, summary files and figures (NumPy only).

    diverged      the loss or the parameters became non-finite; the engine froze the member at that step
                  (status "diverged", with diverged_at)
    not settled   ran to the end with a finite loss, but ended above the loss it started from: still rising, or
                  caught at the top of an oscillation (momentum near 1 after 20 steps). Whether it would diverge
                  is for the stability theory (gdlab.problems.stability) to say, not for a finite run.
    completed     ran to the end otherwise; interrupted and not_run as the statuses say

"diverged" has this one meaning everywhere: a finite loss, however large, is never called diverged.
"""

from __future__ import annotations

import numpy as np

NOT_SETTLED = "not settled"


def not_settled(status, start_loss, final_loss) -> np.ndarray:
    """(R,) bool: completed members whose finite final loss is above their (finite) start loss.

    status (R,) str, start_loss (R,) and final_loss (R,) float (nan where unknown).
    """
    status = np.asarray(status, dtype=object).reshape(-1)
    start = np.asarray(start_loss, dtype=np.float64).reshape(-1)
    final = np.asarray(final_loss, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        return (status == "completed") & np.isfinite(start) & np.isfinite(final) & (final > start)


def fate_counts(status, unsettled) -> dict[str, int]:
    """How many members completed (and settled), were not settled, diverged, were interrupted or not run."""
    status = np.asarray(status, dtype=object).reshape(-1)
    unsettled = np.asarray(unsettled, dtype=bool).reshape(-1)
    return {"completed": int(np.sum((status == "completed") & ~unsettled)), NOT_SETTLED: int(unsettled.sum()),
            "diverged": int(np.sum(status == "diverged")), "interrupted": int(np.sum(status == "interrupted")),
            "not_run": int(np.sum(status == "not_run"))}
