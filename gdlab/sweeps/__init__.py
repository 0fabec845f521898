"""Sweeps: a grid of settings planned as few vectorized stacks as possible, run, and written as one directory.

    runner.py     plan the stacks of a grid, run them through the engine, collect the results
"""
