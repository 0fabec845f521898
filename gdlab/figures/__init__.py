"""Figures: the only wing that imports matplotlib (import its modules lazily; this file imports nothing).

    style.py      backend, palette, sizes, markers, legends, saving
    curves.py     loss and metric curves
    paths.py      paths over a loss landscape: contours (2-D) or the curve (1-D), small multiples
    sweeps.py     final loss against a swept value, heat maps
    standard.py   which figures a run, compare or sweep directory gets
    replot.py     `gdlab plot`: redraw from directories alone, or overlay several
"""
