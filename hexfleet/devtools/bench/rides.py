"""The rides phases of `hexfleet bench`: quote latency, booking→offer latency, dispatch throughput.

They run against the same web app and stream process as the other phases, plus the arq
worker (started here, as the Procfile's ``worker``): a booking that finds every driver
in reach answering another offer is retried by it, every offer's timeout job runs there,
and its reconcile job resumes searches left without an offer for 10 s (so when the web
process falls behind, the worker dispatches too). Setup (customers, fares, quotes to
book, drivers' fixes) happens before each phase's clock and CPU sample start; the load
itself runs in a child process of its own (rides_load), so its CPU is the 'load' column
and not the servers'.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import sys
import threading
import time
from urllib.parse import urlsplit

from redis.asyncio import Redis

from hexfleet.devtools.bench import rides_data as data
from hexfleet.devtools.bench import rides_load as load
from hexfleet.devtools.bench.procs import CpuMeter, Proc, stop_all
from hexfleet.devtools.bench.rides_report import RidesReport, load_percentiles, offer_segments
from hexfleet.settings import ROOT

WORKER_READY_S = 60.0
# The arq worker records its health in Redis once its start-up hook has run.
WORKER_HEALTH_KEY = "arq:queue:health-check"
OFFER_GRACE_S = 20.0  # the longest an offer may take before it counts as missing
DISPATCH_DEADLINE_S = 90.0
CHILD_START_S = 60.0
REFRESH_S = 15.0  # new fixes for the phase's drivers this often (STALE_AFTER_S is 60 by default)
# Before each phase, the servers finish what the last one left: a client that gave up on
# a request does not stop the server working on it. The web process idles near 0.15 cores
# (its consumers poll the broker every few milliseconds).
QUIET_CORES = 0.3
QUIET_SAMPLE_S = 1.0
QUIET_DEADLINE_S = 60.0


def _positive(kind):
    def parse(raw: str):
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {raw}")
        return value

    return parse


def configure(parser) -> None:
    g = parser.add_argument_group("rides phases (quotes, booking→offer, dispatch throughput)")
    g.add_argument("--skip-rides", action="store_true", help="skip the rides phases")
    g.add_argument("--rides-drivers", type=_positive(int), default=1000, metavar="N", help="drivers per city (1000)")
    g.add_argument("--customers", type=_positive(int), default=100, metavar="N", help="customer accounts (100)")
    g.add_argument("--rides-warmup", type=float, default=3.0, metavar="S", help="load before each window (3)")
    g.add_argument("--quote-rate", type=_positive(float), default=200.0, metavar="R", help="quotes/s (200)")
    g.add_argument("--quote-duration", type=_positive(float), default=25.0, metavar="S", help="window (25)")
    g.add_argument("--booking-rate", type=_positive(float), default=15.0, metavar="R", help="bookings/s (15)")
    g.add_argument("--booking-duration", type=_positive(float), default=20.0, metavar="S", help="window (20)")
    g.add_argument(
        "--dispatch-bookings", type=_positive(int), default=600, metavar="N", help="bookings in the flood (600)"
    )
    g.add_argument(
        "--dispatch-connections",
        type=_positive(int),
        default=32,
        metavar="N",
        help="concurrent booking requests in the flood (32)",
    )


def _progress(message: str) -> None:
    print(f"bench: rides: {message}", flush=True)


class RidesPhases:
    """Runs the three phases against a running web app (``url``) and stream process."""

    def __init__(self, bench, fleet, url: str) -> None:
        self.bench = bench
        self.args = bench.args
        self.fleet = fleet
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.resolution = bench.settings.h3_resolution
        self.customers: list[str] = []
        self.worker: Proc | None = None
        self.report: RidesReport | None = None  # filled phase by phase: a failure keeps what was measured
        self.notes: list[str] = []

    def run(self) -> RidesReport:
        a = self.args
        hamburg, munich = data.split_fleet(self.fleet.driver_ids, self.fleet.tokens, a.rides_drivers)
        self.report = report = RidesReport(len(hamburg.driver_ids), a.customers, data.GEOMETRY)
        _progress(f"{a.customers} customers, fares, {len(hamburg.driver_ids):,} drivers in each of two cities")
        self.customers = asyncio.run(data.create_customers(self.bench.bench_dsn, a.customers))
        try:
            self.start_worker()
            self.quote_phase(report, hamburg)
            self.offer_phase(report, hamburg)
            self.dispatch_phase(report, munich)
        finally:
            self.stop_worker()
            # The ingest phases' pings must not look like a jump from another city.
            asyncio.run(data.send_home(self.bench.redis_url, self.resolution, self.fleet.driver_ids))
        return report

    # --- the worker --------------------------------------------------------------------

    def start_worker(self) -> None:
        b = self.bench
        argv = [sys.executable, "-m", "arq", "workers.WorkerSettings"]
        self.worker = worker = Proc("worker", argv, b.base_env(), b.workdir / "worker.log", cwd=ROOT)
        b.procs.append(worker)
        deadline = time.monotonic() + WORKER_READY_S
        while not asyncio.run(self._worker_healthy()):
            if not worker.alive():
                raise RuntimeError(f"the arq worker exited:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the arq worker did not start in {WORKER_READY_S:g} s:\n{worker.log_tail()}")
            time.sleep(0.2)
        b.meter.track("worker", worker.pid)

    async def _worker_healthy(self) -> bool:
        redis = Redis.from_url(self.bench.redis_url)
        try:
            return bool(await redis.exists(WORKER_HEALTH_KEY))
        finally:
            await redis.aclose()

    def stop_worker(self) -> None:
        self.bench.meter.untrack("worker")
        if self.worker is not None:
            stop_all([self.worker])

    # --- phases ------------------------------------------------------------------------

    def _place(self, area: data.Area) -> None:
        placed = asyncio.run(data.place_area(self.bench.redis_url, self.resolution, area))
        if placed < len(area.driver_ids):
            raise RuntimeError(f"only {placed} of {len(area.driver_ids)} drivers placed in {area.name}")

    def _keep_fresh(self, area: data.Area, stop: threading.Event) -> None:
        """Real drivers ping every few seconds; without new fixes a phase longer than
        STALE_AFTER_S would lose its drivers to the stale sweep (and end in no_driver)."""
        while not stop.wait(REFRESH_S):
            try:
                asyncio.run(data.place_area(self.bench.redis_url, self.resolution, area))
            except Exception as error:  # the phase will show the drivers missing
                _progress(f"could not refresh the drivers' fixes: {error}")

    def quote_phase(self, report: RidesReport, area: data.Area) -> None:
        a = self.args
        count = math.ceil(a.quote_rate * (a.rides_warmup + a.quote_duration))
        bodies = data.quote_bodies(area.center, min(count, 20_000), data.SEED)
        _progress(
            f"quotes: {a.quote_rate:g}/s for {a.rides_warmup:g} s warm-up + {a.quote_duration:g} s "
            f"({len(area.driver_ids):,} drivers in {area.name})"
        )
        args = (self.host, self.port, self.customers, bodies, a.quote_rate, a.rides_warmup, a.quote_duration)
        result, report.quotes_cpu = self._child(load.quotes_main, args, a.rides_warmup + a.quote_duration + 60, area)
        report.quotes = result
        p = load_percentiles(result.latency_ms)
        _progress(
            f"quotes: p50 {p.get('p50', math.nan):.1f} p95 {p.get('p95', math.nan):.1f} "
            f"p99 {p.get('p99', math.nan):.1f} ms at {result.achieved_rate:,.0f}/s"
        )

    def offer_phase(self, report: RidesReport, area: data.Area) -> None:
        a = self.args
        count = math.ceil(a.booking_rate * (a.rides_warmup + a.booking_duration)) + 1
        _progress(f"booking→offer: making {count} quotes to book")
        self._place(area)  # quotes carry an ETA to the nearest driver
        bodies = data.quote_bodies(area.center, count, data.SEED + 1)
        quotes = asyncio.run(data.create_quotes(self.host, self.port, self.customers, bodies))
        _progress(
            f"booking→offer: {a.booking_rate:g} bookings/s for {a.rides_warmup:g} s warm-up + "
            f"{a.booking_duration:g} s, every offer accepted"
        )
        args = (
            self.host, self.port, quotes, area.tokens, self.fleet.dispatcher_token, a.booking_rate,
            a.rides_warmup, a.booking_duration, OFFER_GRACE_S,
        )  # fmt: skip
        timeout = a.rides_warmup + a.booking_duration + OFFER_GRACE_S + 60
        result, report.offers_cpu = self._child(load.offers_main, args, timeout, area)
        report.offers = result
        report.offers_db = asyncio.run(data.booking_outcomes(self.bench.bench_dsn, result.booking_ids))
        times = asyncio.run(data.offer_times(self.bench.bench_dsn, [t[0] for t in result.timeline]))
        report.offer_segments = offer_segments(result.timeline, times)
        p = load_percentiles(result.offer_ms)
        _progress(
            f"booking→offer: p50 {p.get('p50', math.nan):.1f} p95 {p.get('p95', math.nan):.1f} "
            f"p99 {p.get('p99', math.nan):.1f} ms, {result.offered_in_window}/{result.booked_in_window} offered"
        )

    def dispatch_phase(self, report: RidesReport, area: data.Area) -> None:
        a = self.args
        count = a.dispatch_bookings
        _progress(f"dispatch: making {count} quotes to book in {area.name}")
        self._place(area)  # quotes carry an ETA to the nearest driver
        bodies = data.quote_bodies(area.center, count, data.SEED + 2)
        quotes = asyncio.run(data.create_quotes(self.host, self.port, self.customers, bodies))
        _progress(
            f"dispatch: {count} bookings over {a.dispatch_connections} connections, "
            f"{len(area.driver_ids):,} available drivers, every offer accepted"
        )
        args = (
            self.host, self.port, quotes, area.tokens, self.fleet.dispatcher_token, a.dispatch_connections,
            DISPATCH_DEADLINE_S,
        )  # fmt: skip
        result, report.dispatch_cpu = self._child(load.dispatch_main, args, DISPATCH_DEADLINE_S + 60, area)
        report.dispatch = result
        report.dispatch_db = asyncio.run(data.booking_outcomes(self.bench.bench_dsn, result.booking_ids))
        _progress(
            f"dispatch: {result.outcomes.get('assigned', 0)} assigned, {result.outcomes.get('no_driver', 0)} "
            f"no driver of {result.created} in {result.finished_s:.1f} s"
        )

    def _child(self, target, args: tuple, timeout: float, area: data.Area):
        """Run a load function in a process of its own, with ``area``'s drivers placed and
        kept fresh; CPU is sampled from its start signal to after it was reaped (so its
        own CPU time is in the 'load' group)."""
        waited = self.wait_quiet()
        if waited >= QUIET_DEADLINE_S:
            self.notes.append(f"rides: the servers were still busy after {waited:.0f} s when {target.__name__} began")
        if waited > 2 * QUIET_SAMPLE_S:
            _progress(f"waited {waited:.0f} s for the servers to finish the previous work")
        self._place(area)
        stop = threading.Event()
        refresher = threading.Thread(target=self._keep_fresh, args=(area, stop), daemon=True)
        refresher.start()
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=target, args=(*args, child), daemon=True, name=f"rides-{target.__name__}")
        proc.start()
        try:
            message = _receive(parent, CHILD_START_S, "the rides load did not start")
            if message != ("started",):
                raise RuntimeError(f"the rides load sent {message!r} instead of starting")
            before = self.bench.meter.sample()
            result = _receive(parent, timeout, "the rides load did not finish")
        finally:
            stop.set()
            refresher.join(10)
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        return result, CpuMeter.usage(before, self.bench.meter.sample())

    def wait_quiet(self) -> float:
        started = time.monotonic()
        last = self.bench.meter.sample()
        while time.monotonic() - started < QUIET_DEADLINE_S:
            time.sleep(QUIET_SAMPLE_S)
            now = self.bench.meter.sample()
            used = CpuMeter.usage(last, now)
            last = now
            if used.get("web", 0.0) < QUIET_CORES and used.get("worker", 0.0) < QUIET_CORES:
                break
        return time.monotonic() - started


def _receive(pipe, timeout: float, what: str):
    try:
        if not pipe.poll(max(1.0, timeout)):
            raise RuntimeError(f"{what} in time")
        return pipe.recv()
    except EOFError:
        raise RuntimeError(f"{what}: the process died (see its error above)") from None
