"""What the engine can run: toy objectives, and models learning from datasets with a loss.

    objectives.py   toy functions with analytic value and gradient (bowl2d, rosenbrock, ...), plugin objectives
    toy.py          a toy objective from a start point, with optional gradient noise
    datasets/       built-in datasets (linefit, airfoil, mnist, synthetic ones), readers and batching
    models.py       linear, logistic, softmax and MLP models with hand-written backward passes
    losses.py       mse, half_mse, mae, lp, bce, cross_entropy
    learning.py     a model on a dataset with a loss, batches and held-out rows
    spec.py         ProblemSpec: a problem as the config describes it
    landscape.py    the loss surface of a 1- or 2-parameter problem (for the path figures)
    build.py        spec -> problem, landscape and stability warnings

A new objective, dataset, model or loss is a factory registered in its module's registry.
"""
