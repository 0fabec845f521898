"""`gdlab tune`: every optimizer of a compare config tuned on the same budget, then compared with repetitions.

    select.py     the criterion, diverged trials, ties: picking each optimizer's best trial (pure)
    trials.py     the trials of every optimizer as one vectorized stack, run, and chosen from
    runner.py     the tune directory: trials.csv, chosen.csv, tuned.yaml, sensitivity figure, the final compare
"""
