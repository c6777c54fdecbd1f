"""`hexfleet bench`: ingest throughput, ping→SSE latency and rides of the real stack, on this machine.

It starts a fresh Tansu broker (its memory engine never frees a message, so a broker is
never reused), uses PostgreSQL and Redis from DATABASE_URL/REDIS_URL or embedded ones,
with its own database (``hexfleet_bench``) and Redis db (15). It then runs the web app
(uvicorn, as the Procfile does) and the tracker as subprocesses, measures with wrk and
its own load tools (the rides phases, rides.py, also start the arq worker), repeats the
wrk phases against a bare raw-ASGI server for the ceiling, prints a table and, as the
very last line, one JSON object of numbers.

Everything it starts is stopped on the way out, also on Ctrl-C and on errors. Servers
are started by module name: this module imports nothing above ``hexfleet``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

from hexfleet.devtools.bench import fleet as bench_fleet
from hexfleet.devtools.bench import metrics, report, rides, sse
from hexfleet.devtools.bench.options import configure as configure
from hexfleet.devtools.bench.procs import CpuMeter, Proc, listening_pid, pids_with_cmdline, rss_mb, stop_all
from hexfleet.devtools.bench.wrk import WrkMissing, run_wrk, write_script, wrk_binary
from hexfleet.devtools.embedded import EmbeddedError, Service, ensure_services, start_kafka, start_redis, stop_services
from hexfleet.devtools.testing import (
    NotReady,
    create_database,
    drop_database,
    free_port,
    wait_until_ready,
    with_redis_db,
)
from hexfleet.keys import TRACKER_STATS
from hexfleet.settings import ROOT, Settings

READY_TIMEOUT_S = 90.0
SETTLE_DEADLINE_S = 120.0
SETTLE_STILL_S = 1.5
IDLE_SAMPLE_S = 3.0
# Lanes of the paced load generator; each waits for its answer, so enough of them that a
# slow answer delays only its lane (2,000/s over 128 lanes: one send per lane every 64 ms).
SSE_GEN_CONNECTIONS = 128
BARE_APP = "webapp.bench_bare:app"


def _progress(message: str) -> None:
    print(f"bench: {message}", flush=True)


class Bench:
    def __init__(self, args, settings: Settings) -> None:
        self.args = args
        self.settings = settings
        self.workdir = Path(tempfile.mkdtemp(prefix="hexfleet-bench-"))
        self.services: list[Service] = []
        self.keep_running: set[str] = set()  # embedded servers that were already up: not ours to stop
        self.procs: list[Proc] = []
        self.meter = CpuMeter()
        self.admin_dsn = ""
        self.bench_dsn = ""
        self.redis_url = ""
        self.tansu_pid: int | None = None
        self.tracker: Proc | None = None
        self.failed = True

    # --- set-up ------------------------------------------------------------------

    def start_services(self) -> None:
        _progress("starting a fresh Tansu broker")
        kafka = start_kafka(log_dir=self.workdir)
        self.services.append(kafka)
        port = kafka.url.rsplit(":", 1)[1]
        self.tansu_pid = next(iter(pids_with_cmdline(f"--listener-url tcp://127.0.0.1:{port}")), None)
        self.meter.track("tansu", self.tansu_pid)
        settings = self.settings.with_(kafka_bootstrap_servers=kafka.url)
        if not settings.redis_url:
            # A throwaway Redis in the bench's folder: the dev one's dump.rdb stays untouched.
            redis = start_redis(self.workdir)
            self.services.append(redis)
            settings = settings.with_(redis_url=redis.url)
        if not settings.database_url:
            if (Path(settings.data_dir) / "postgres" / "postmaster.pid").exists():
                # A `hexfleet dev` may be using it: use it, but leave it running afterwards.
                self.keep_running.add("postgres")
            settings, started = ensure_services(settings)
            self.services.extend(started)
        self.settings = settings
        self.meter.track("postgres", self._postgres_pid(settings.database_url))
        redis_port = urlsplit(settings.redis_url).port
        self.meter.track("redis", listening_pid(redis_port) if redis_port else None)

    @staticmethod
    def _postgres_pid(dsn: str) -> int | None:
        parts = urlsplit(dsn)
        if parts.hostname in ("127.0.0.1", "localhost", "::1"):
            return listening_pid(parts.port or 5432)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        if socket_dir:
            found = [p for p in pids_with_cmdline(socket_dir.rstrip("/")) if b"postgres" in _comm(p)]
            return min(found) if found else None  # the postmaster started first
        return None

    def prepare_data(self) -> bench_fleet.Fleet:
        _progress(
            f"preparing database {bench_fleet.BENCH_DATABASE}, Redis db {bench_fleet.BENCH_REDIS_DB}, "
            f"{self.args.drivers:,} drivers"
        )
        self.admin_dsn = self.settings.database_url
        self.bench_dsn = asyncio.run(create_database(self.admin_dsn, bench_fleet.BENCH_DATABASE, replace=True))
        bench_fleet.migrate(self.bench_dsn, self.base_env())
        self.redis_url = with_redis_db(self.settings.redis_url, bench_fleet.BENCH_REDIS_DB)
        asyncio.run(bench_fleet.flush_redis(self.redis_url))
        return asyncio.run(bench_fleet.create_fleet(self.bench_dsn, self.args.drivers))

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.settings.kafka_bootstrap_servers,
            SECRET_KEY=self.settings.secret_key or secrets.token_urlsafe(48),
            MAP_TILE_URL="",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            # A hundred bench customers ask for thousands of quotes and hundreds of rides in a
            # few minutes: per-user limits would measure themselves (429s), not the platform.
            RATE_QUOTES="1000000/minute",
            RATE_BOOKINGS="1000000/minute",
        )
        if self.bench_dsn:
            env["DATABASE_URL"] = self.bench_dsn
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def start_server(self, name: str, app: str, factory: bool, workers: int) -> tuple[Proc, str]:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), app]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        argv += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--timeout-graceful-shutdown", "5"]
        proc = Proc(name, argv, self.base_env(), self.workdir / f"{name}.log", cwd=ROOT)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        self._wait_ready(proc, url, workers)
        return proc, url

    def _wait_ready(self, proc: Proc, url: str, workers: int) -> None:
        """/readyz answers 200 and every worker has finished its start-up (uvicorn logs each)."""
        try:
            wait_until_ready(
                url + "/readyz",
                READY_TIMEOUT_S,
                failed=lambda: None if proc.alive() else f"{proc.name} exited with {proc.popen.returncode}",
                also=lambda: proc.log_text().count("Application startup complete.") >= workers,
                interval=0.2,
            )
        except NotReady as error:
            raise RuntimeError(f"{proc.name} not ready: {error}\n{proc.log_tail()}") from None

    # --- phases ------------------------------------------------------------------

    def wrk_phase(
        self, key: str, label: str, url: str, fleet: bench_fleet.Fleet, batch: int, counted: bool
    ) -> report.Phase:
        """Warm up, then measure; ``counted``: read the server's counters around the measurement."""
        a = self.args
        step = batch * 0.001 + (0.001 if batch > 1 else 0.0)  # per driver visit; pings 1 ms apart
        if a.warmup > 0:
            self._run_wrk(url, fleet, step, batch, a.warmup, f"{key}-warmup")
        before_counts = metrics.scrape(url, self.args.web_workers) if counted else None
        before_cpu = self.meter.sample()
        result = self._run_wrk(url, fleet, step, batch, a.duration, key)
        cpu = CpuMeter.usage(before_cpu, self.meter.sample())
        phase = report.Phase(key, label, result, cpu)
        if before_counts is not None:
            phase.counters = metrics.scrape(url, self.args.web_workers).minus(before_counts)
        _progress(
            f"{label}: {phase.pings_per_s:,.0f} pings/s ({result.requests_per_s:,.0f} req/s, "
            f"p99 {result.lat_p99_ms:.1f} ms, non-2xx {result.non_2xx}, socket errors {result.socket_errors}"
            + (f", rejected pings {phase.counters.rejected_total:,.0f}" if phase.counters else "")
            + f"); machine CPU {cpu['machine']:.2f} of {os.cpu_count()} cores"
        )
        return phase

    def _run_wrk(self, url, fleet, step, per_request, duration, name):
        script = write_script(
            self.workdir / f"{name}.lua", fleet.tokens, time.time(), step, self.args.threads, per_request
        )
        connections = self.args.connections if per_request == 1 else self.args.batch_connections
        return run_wrk(url, script, duration, self.args.threads, connections, per_request, self.workdir / "wrk.log")

    def settle(self) -> float:
        """Wait until the tracker has worked off the phase's backlog; returns seconds waited.

        The tracker reports after every batch (records so far, lag): caught up means lag 0
        and no new batch for a while. CPU is no signal here: idle consumers poll the broker
        every few milliseconds, which keeps Tansu and the web workers slightly busy.
        """
        started = time.monotonic()
        last, still_since = None, started
        while time.monotonic() - started < SETTLE_DEADLINE_S:
            if self.tracker is not None and not self.tracker.alive():
                raise RuntimeError(f"the tracker exited:\n{self.tracker.log_tail()}")
            stats = self._tracker_stats()
            current = (stats.get("records"), stats.get("lag"))
            now = time.monotonic()
            if current != last:
                last, still_since = current, now
            elif stats.get("lag", 0) == 0 and now - still_since >= SETTLE_STILL_S:
                break
            time.sleep(0.25)
        return still_since - started  # when the tracker last made progress

    def _tracker_stats(self) -> dict:
        return asyncio.run(bench_fleet.redis_json(self.redis_url, TRACKER_STATS))

    def sse_phase(self, url: str, fleet: bench_fleet.Fleet) -> tuple[sse.SseResult, dict[str, float]]:
        a = self.args
        _progress(
            f"ping→SSE: connecting {a.sse_clients} SSE clients, then {a.sse_rate:,.0f} pings/s for "
            f"{a.sse_warmup:g} s warm-up + {a.sse_duration:g} s"
        )
        parts = urlsplit(url)
        samples: dict[str, object] = {}

        def started(group: str, _pid: int) -> None:
            if group == "loadgen":  # the readers are connected and the load starts now
                samples["before"] = self.meter.sample()

        result = sse.run_phase(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            fleet.driver_ids,
            fleet.tokens,
            fleet.dispatcher_token,
            rate=a.sse_rate,
            clients=a.sse_clients,
            dispatchers=a.sse_dispatchers,
            warmup_s=a.sse_warmup,
            duration_s=a.sse_duration,
            readers=a.sse_readers,
            gen_connections=SSE_GEN_CONNECTIONS,
            on_started=started,
        )
        # Sampled after the readers' grace period: the CPU figures cover warm-up + window + grace.
        cpu = CpuMeter.usage(samples["before"], self.meter.sample()) if "before" in samples else {}  # type: ignore[arg-type]
        p = sse.percentiles(result.all_ms)
        _progress(
            f"ping→SSE: p50 {p.get('p50', float('nan')):.1f} p99 {p.get('p99', float('nan')):.1f} ms, "
            f"{len(result.all_ms):,} events, send rate {result.achieved_rate:,.0f}/s"
        )
        return result, cpu

    # --- the run -----------------------------------------------------------------

    def run(self) -> dict[str, float]:
        """Every phase; prints the table and returns the numbers for the JSON line."""
        a = self.args
        rep = report.Report(
            cores=os.cpu_count() or 1,
            web_workers=a.web_workers,
            drivers=a.drivers,
            threads=a.threads,
            connections=a.connections,
            batch_connections=a.batch_connections,
            duration_s=a.duration,
            batch_size=a.batch_size,
            load_before=os.getloadavg()[0],
        )
        _progress(f"logs and scripts in {self.workdir}")
        self.start_services()
        fleet = self.prepare_data()
        _progress(f"starting the tracker and the web app ({a.web_workers} workers)")
        tracker = Proc("tracker", [sys.executable, "-m", "streaming"], self.base_env(), self.workdir / "tracker.log")
        self.procs.append(tracker)
        self.tracker = tracker
        self.meter.track("tracker", tracker.pid)
        web, url = self.start_server("web", a.web_app, True, a.web_workers)
        self.meter.track("web", web.pid)
        if not tracker.alive():
            raise RuntimeError(f"the tracker exited:\n{tracker.log_tail()}")
        idle_before = self.meter.sample()
        time.sleep(IDLE_SAMPLE_S)
        rep.idle_cpu = CpuMeter.usage(idle_before, self.meter.sample())
        _progress(
            f"idle stack (no load): web {rep.idle_cpu.get('web', 0):.2f} tracker {rep.idle_cpu.get('tracker', 0):.2f} "
            f"tansu {rep.idle_cpu.get('tansu', 0):.2f} cores; machine {rep.idle_cpu['machine']:.2f}"
        )
        # Latency first, on the still-empty broker: Tansu keeps every message, and after the
        # throughput phases (about a million pings, 1 GB) its fetches slow every consumer down
        # (p99 934 ms measured after them against 297 ms on a fresh broker).
        if not a.skip_sse:
            try:
                rep.sse, rep.sse_cpu = self.sse_phase(url, fleet)
            except RuntimeError as error:  # keep the throughput results
                _progress(f"ping→SSE phase failed: {error}")
                rep.notes.append(f"the ping→SSE phase failed: {error}")
            rep.sse_settle_s = self.settle()
        # Rides before the throughput phases too: booking events travel through the same
        # broker, and their latency target is tighter than what a filled Tansu gives.
        if not a.skip_rides:
            phases = rides.RidesPhases(self, fleet, url)
            try:
                phases.run()
            except RuntimeError as error:  # keep what was measured
                _progress(f"rides phases failed: {error}")
                rep.notes.append(f"the rides phases failed: {error}")
            rep.rides = phases.report
            rep.notes.extend(phases.notes)
            self.settle()
        ingest = (
            ()
            if a.skip_ingest
            else (("unary", "unary ingest", 1), ("batch", f"batched ingest x{a.batch_size}", a.batch_size))
        )
        tracker_before = self._tracker_stats()
        for key, label, batch in ingest:
            phase = self.wrk_phase(key, label, url, fleet, batch, counted=True)
            phase.settle_s = self.settle()
            tracker_after = self._tracker_stats()
            phase.tracker = {k: tracker_after.get(k, 0) - tracker_before.get(k, 0) for k in ("records", "batches")}
            tracker_before = tracker_after
            rep.phases[key] = phase
        rep.totals = metrics.scrape(url, self.args.web_workers)
        rep.tracker = self._tracker_stats()
        if rep.totals.workers_seen < a.web_workers:
            rep.notes.append("not every web worker answered /metrics: server counters are partial")
        _progress("stopping the web app and the tracker")
        self.meter.untrack("web")
        self.meter.untrack("tracker")
        stop_all([web, tracker])
        if not a.skip_bare:
            _progress(f"starting the bare raw-ASGI server ({a.web_workers} workers, same uvicorn flags)")
            bare, bare_url = self.start_server("bare", BARE_APP, False, a.web_workers)
            self.meter.track("web", bare.pid)
            for key, label, batch in (
                ("bare_unary", "bare unary", 1),
                ("bare_batch", f"bare batched x{a.batch_size}", a.batch_size),
            ):
                rep.phases[key] = self.wrk_phase(key, label, bare_url, fleet, batch, counted=False)
            stop_all([bare])
        if self.tansu_pid:
            rep.tansu_rss_mb = rss_mb(self.tansu_pid)
        rep.notes.append(
            "every process shares the same cores: the load tools' CPU is taken from the servers, so "
            "these are lower bounds for a machine where clients are elsewhere"
        )
        if rep.load_before > 1.0:
            rep.notes.append(f"the machine was already busy before the bench (load average {rep.load_before:.2f})")
        text, numbers = report.render(rep)
        print(text, flush=True)
        self.failed = False
        return numbers

    def cleanup(self) -> None:
        stop_all(reversed(self.procs))
        if self.admin_dsn and not self.args.keep_data:
            try:
                asyncio.run(drop_database(self.admin_dsn, bench_fleet.BENCH_DATABASE))
                if self.redis_url:
                    asyncio.run(bench_fleet.flush_redis(self.redis_url))
            except Exception as error:
                print(f"bench: could not remove the bench data: {error}", file=sys.stderr, flush=True)
        stop_services([s for s in self.services if s.name not in self.keep_running])
        if self.failed or self.args.keep_data:
            print(f"bench: logs kept in {self.workdir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _comm(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/comm").read_bytes()
    except OSError:
        return b""


def _json_line(numbers: dict[str, float]) -> str:
    return orjson.dumps({k: v for k, v in numbers.items() if isinstance(v, int | float)}).decode()


def run(args, settings: Settings) -> int:
    try:
        if not (args.skip_ingest and args.skip_bare):
            wrk_binary()
    except WrkMissing as error:
        print(f"hexfleet bench: {error}", file=sys.stderr)
        return 1
    # SIGTERM takes the Ctrl-C road: stop everything we started.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    bench = Bench(args, settings)
    numbers: dict[str, float] | None = None
    try:
        numbers = bench.run()
    except KeyboardInterrupt:
        print("bench: interrupted, stopping everything", file=sys.stderr, flush=True)
        return 130
    except (EmbeddedError, RuntimeError, OSError) as error:
        print(f"hexfleet bench: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        held = {s: signal.signal(s, _still_stopping) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            bench.cleanup()
        finally:
            for s, handler in held.items():
                signal.signal(s, handler)
            signal.signal(signal.SIGTERM, previous)
    # Last, after everything is stopped: the one line a script reads.
    print(_json_line(numbers), flush=True)
    return 0


def _still_stopping(_signum, _frame) -> None:
    print("bench: still stopping, please wait", file=sys.stderr, flush=True)
