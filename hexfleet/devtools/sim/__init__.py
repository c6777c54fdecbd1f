"""The demo simulator (``hexfleet simulate``): drivers that drive, ping and take rides,
and riders who book them.

Pure modules (no I/O, no asyncio, tested with tables): ``grid`` (the street lattice),
``motion`` (how a car moves), ``steering`` (which way to a target), ``demand`` (what
riders ask for and how drivers answer). The rest talks to the app: ``accounts``
(PostgreSQL: demo drivers and the rider's token), ``api`` (HTTP), ``driving`` (a driver's
rides), ``riders``, ``report`` (progress output) and ``runner``, which ties them together.
"""
