"""Operations analytics: duty history, hourly rollups and the KPIs read from them.

- ``duty`` (pure) and ``duty_log``: the tracker's duty history (who worked where, when).
- ``aggregate`` (pure): one hour's raw facts → rollup rows; ``totals``: what a row holds.
- ``histogram`` (pure): the buckets that let percentiles merge over any range.
- ``kpis`` (pure): every KPI, defined once, from merged rows.
- ``rollups``: the workflow (an hour, a day, the cron's tick, backfill, verify).
- ``queries``: all of it in SQL, and the reads of a range the API and page use;
  ``area`` (pure): a map's bounding box → the cells those reads take.
"""
