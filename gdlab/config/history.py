"""How often a sweep logs its members' losses when the config does not say: a bounded history.

A sweep keeps every member's loss history (metrics.npz, and in memory while it runs), so its size grows with
members × logged points. Unless the config sets `log_every`, a sweep logs about MAX_POINTS points per member (plus
the end point), evenly spaced; the final and best losses are computed at every step whatever is logged. Written
down here, below the engine and the sweeps, so that a memory estimate counts the same points as the sweep keeps.
"""

from __future__ import annotations

import math

MAX_POINTS = 200  # logged points per member when the config does not set log_every (plus the end point)


def bounded_log_every(total_steps: int) -> int:
    """log_every for a history of at most about MAX_POINTS points per member (every step for short runs)."""
    return max(1, math.ceil(total_steps / MAX_POINTS))
