"""The driver simulator: plausible motion for demo drivers (``hexfleet simulate``).

``motion`` is pure (no I/O, no asyncio); the command in ``hexfleet.devtools.sim.runner``
creates the demo drivers and posts their pings.
"""
