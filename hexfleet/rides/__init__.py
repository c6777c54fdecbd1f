"""Rides: fares and quotes, surge, bookings and their dispatch to drivers.

Pure rules (no I/O, table-tested): ``fares`` (prices in integer minor units), ``surge``
(multiplier per H3 cell), ``states`` (every booking transition), ``ranking`` (which
driver is asked first), ``routes`` (distance and duration estimates), ``windows`` (when a
ride may be scheduled).

``queries`` holds all the SQL. The workflows take what they touch as arguments (a
``Rides`` context: pool, live store, duty publisher, job scheduler, clock), so the web
app, the arq worker and the tests call the same code: ``quotes``, ``bookings``,
``dispatch`` and ``surge_job``.
"""
