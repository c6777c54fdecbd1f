"""Development tooling: nothing here runs in production.

- ``embedded``: PostgreSQL, Redis and a Kafka-protocol broker from PyPI wheels.
- ``dev``: `hexfleet dev` (what `make run` runs): the servers, migrations, the demo, the Procfile.
- ``demo``: the demo logins and fares.
- ``sim``: the driver (and rider) simulator, `hexfleet simulate`.
- ``bench``: `hexfleet bench` (what `make bench` runs).
- ``testing``: helpers shared by the test suites and the bench.

Its third-party needs (the embedded servers) are the ``devtools`` install extra:
`pip install .` for production carries none of them, and the core never imports this package.
"""
