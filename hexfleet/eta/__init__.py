"""ETAs that learn: driving speed per H3 resolution-8 cell and hour of week, from the fleet's own fixes.

- ``segments``: pure; consecutive accepted fixes of one driver → time and distance driven per
  (clock hour, cell), robust to stops and GPS noise.
- ``table``: pure; the learned speeds in memory, the fallback chain (resolution 7, city-wide
  hour of week, ``AVERAGE_SPEED_KMH``) and the travel time along a straight line.
- ``queries``: the SQL (position history in, ``speed_hours`` and ``learned_speeds`` out).
- ``learn``: the workflow the worker's cron and ``python -m hexfleet.eta`` run.
- ``live``: the copy each web and worker process keeps in memory, refreshed periodically.
"""
