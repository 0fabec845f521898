"""What a run leaves behind and what the terminal shows: no matplotlib here.

    rundir.py     run directories: created exclusively, written atomically, streamed metrics, read back
    sweep_dir.py  a sweep directory's summary.csv and metrics.npz, written and read back
    series.py     a member's history as read back (what the figures draw)
    report.py     the terminal: progress bars, summary tables, catalogues (rich)
"""
