"""Experiments on the model: single runs and their directories, executors, designs and ensembles.

The executors run on local processes or Dask; the records are what an ensemble keeps of
each run; ensembles, sweeps and sensitivity analyses run plans and write resumable
directories; the calibration fits the model to the observed history.

Modules: :mod:`~corridors.experiments.runs`, :mod:`~corridors.experiments.executors`,
:mod:`~corridors.experiments.designs`, :mod:`~corridors.experiments.records`,
:mod:`~corridors.experiments.plans` (what an ensemble runs, one task per run),
:mod:`~corridors.experiments.directory` (the resumable ensemble directory),
:mod:`~corridors.experiments.ensemble` (ensembles, sweeps, sensitivity),
:mod:`~corridors.experiments.figures` (the figure drawn into an ensemble, sweep or
sensitivity directory),
:mod:`~corridors.experiments.effects` (a scenario's ``[[expect]]`` claims against the baseline),
:mod:`~corridors.experiments.scenario_table` (docs/scenarios.md), and the package
:mod:`~corridors.experiments.calibrate` (the problem, the fit, the report).
"""
