"""The report of runs or ensembles: one self-contained HTML page (``corridors report``).

The modules, from the bottom up:

- :mod:`~corridors.report.sources`: the directories read and checked (runs, or ensembles),
  with their manifests and scenarios, and the report's year;
- :mod:`~corridors.report.figures`: the plotly figures (volumes, observed history, route
  shares, Sankey, fan charts) and the matplotlib maps as SVG;
- :mod:`~corridors.report.tables`: the headline table, the ``explain`` tables and the
  ``[[expect]]`` claims;
- :mod:`~corridors.report.build`: :func:`build_report` and :func:`write_report`, which fill
  ``templates/report.html.j2``.
"""

from __future__ import annotations

from corridors.report.build import build_report, check_out, write_report

__all__ = ["build_report", "check_out", "write_report"]
