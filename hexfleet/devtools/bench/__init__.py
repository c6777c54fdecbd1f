"""`hexfleet bench`: measure ingest throughput and ping-to-stream latency of the real stack.

- ``procs``: child processes (own session, stopped term-then-kill) and /proc readings (CPU, RSS).
- ``fleet``: the bench database, Redis db and the driver fleet with known tokens.
- ``wrk``: Lua scripts for wrk (unary and batched pings) and its result.
- ``metrics``: the web workers' Prometheus counters, summed over worker processes.
- ``sse``: the ping→SSE latency phase (load generator and SSE readers, separate processes).
- ``report``: the table and the final JSON line.

Nothing in this package imports ``webapp``, ``streaming`` or ``workers``: servers are
started by module name, including the bare ceiling ``webapp.bench_bare`` (a minimal
raw-ASGI ingest server the real one is compared with).
"""
