"""Experiments on the model: single runs and their directories, executors (local processes,
Dask), designs, the records an ensemble keeps of each run, ensembles, sweeps and sensitivity
analyses, and the calibration to the observed history.

Modules: :mod:`~corridors.experiments.runs`, :mod:`~corridors.experiments.executors`,
:mod:`~corridors.experiments.designs`, :mod:`~corridors.experiments.records`,
:mod:`~corridors.experiments.ensemble`, and the package
:mod:`~corridors.experiments.calibrate` (the problem, the fit, the report).
"""
