"""`gdlab bench`: problems × optimizers to targets, performance profiles and AlgoPerf's score.

    suite.py      the suite YAML: problems (each a config's problem, length and target) and optimizers
    profiles.py   performance ratios, Dolan–Moré profiles rho(τ), AlgoPerf's integrated score (pure)
    runner.py     run every problem (tuning first where asked), write results.csv, profile.csv, figure, table
"""
