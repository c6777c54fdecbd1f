"""`hexfleet bench`: ingest throughput, ping-to-stream latency and ride dispatch of the real stack.

- ``command``: the run (servers, phases, clean-up); ``options`` its flags.
- ``procs``: child processes (own session, stopped term-then-kill) and /proc readings (CPU, RSS).
- ``fleet``: the bench database, Redis db and the driver fleet with known tokens.
- ``wrk``: Lua scripts for wrk (unary and batched pings) and its result.
- ``metrics``: the web workers' Prometheus counters, summed over worker processes.
- ``sse``: the ping→SSE latency phase (load generator and SSE readers, separate processes).
- ``rides``: the rides phases (quote latency, booking→offer latency, dispatch throughput)
  and the arq worker they run with; ``rides_data`` their customers, drivers and quotes,
  ``rides_load`` their load tools and accept-bot, ``rides_report`` their part of the table.
- ``rawhttp``: the minimal HTTP/1.1 client and SSE follower the rides load tools use.
- ``report``: the table and the final JSON line.

Nothing in this package imports ``webapp``, ``streaming`` or ``workers``: servers are
started by module name, including the bare ceiling ``webapp.bench_bare`` (a minimal
raw-ASGI ingest server the real one is compared with).
"""
