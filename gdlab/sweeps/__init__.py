"""Sweeps: a grid of settings planned as few vectorized stacks as possible, run, and written as one directory.

    members.py    who the members are: which config entries each axis applies to, each entry's grid, names
    variants.py   members sharing every structural value, each a validated single-optimizer config
    plan.py       plan_sweep: the members as Batch records, one vectorized stack each (pure)
    batch.py      run_batch: one batch through the engine, its outcome as arrays (pure)
    merge.py      assemble: batch results back in grid order (SweepOutcome, History)
    runner.py     run_sweep: plan, run the batches, assemble, write the directory, draw
"""
