"""Test plugin: plain gradient descent whose 22nd update has an accident, chosen by accident.txt beside this file.

Only a stack that runs 22 steps or more reaches update 22 (the probe runs two), so a sweep over steps=20,21,22
puts the accident in one batch. Modes (the file's first word):
  none          nothing happens
  kill-once     the first process to get there kills itself (SIGKILL); a marker file makes the next one go on
  kill-always   every process that gets there kills itself
  block         wait until a file named `gate` appears beside this file (the test interrupts meanwhile)
"""

import os
import signal
import time
from pathlib import Path

from gdlab import Optimizer, lr_at

HERE = Path(__file__).resolve().parent
GIVE_UP_S = 300  # a blocked batch that nobody interrupts still ends


def accident():
    mode = (HERE / "accident.txt").read_text().split()[0]
    if mode == "kill-always" or (mode == "kill-once" and not (HERE / "killed").exists()):
        (HERE / "killed").write_text("a worker died here\n")
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "block":
        deadline = time.monotonic() + GIVE_UP_S
        while not (HERE / "gate").exists() and time.monotonic() < deadline:
            time.sleep(0.02)


def gd(lr=0.1):
    def init(params):
        return ()

    def update(grads, state, params, t):
        if t == 22:
            accident()
        return params - lr_at(lr, t, params.dtype) * grads, state

    return Optimizer(init, update)
