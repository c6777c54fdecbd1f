"""The simulator makes rides happen: the real simulator against real web and worker
processes, the real tracker, PostgreSQL, Redis and Kafka, until a demo rider's ride is completed."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest
from helpers import make_fare, server_env, start_web, wait_for

from hexfleet.devtools.sim.accounts import DEMO_PREFIX, SIM_RIDER_DOMAIN
from hexfleet.devtools.sim.config import SimConfig
from hexfleet.devtools.sim.grid import haversine_m
from hexfleet.devtools.sim.runner import simulate
from streaming.tracker import Tracker

BERLIN = (52.52, 13.405)


@pytest.fixture
async def stack(settings, db, redis):
    """The Procfile's web and worker processes and the tracker, on this test's topic."""
    tracker = Tracker(settings, db, redis)
    task = asyncio.create_task(tracker.run())
    procs: list[subprocess.Popen] = []
    try:
        await asyncio.wait_for(tracker.assigned.wait(), 30)  # a fresh group takes ~5 s to join on Tansu
        # The worker runs offer timeouts, dispatch retries and the reconcile job, as in `hexfleet dev`.
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "arq", "workers.WorkerSettings"],
                env=server_env(settings),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        web, url = await start_web(settings)
        procs.append(web)
        yield url
        assert procs[0].poll() is None, "the worker stopped"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        tracker.stop()
        await asyncio.wait_for(task, 10)


async def test_demo_riders_book_and_demo_drivers_complete_rides(stack, db, database_url, capsys):
    await make_fare(db)  # what `hexfleet dev` seeds; no demo rider: the simulator makes customers of its own
    # A small area and a brisk rate, so a ride is booked, driven and completed within a minute or two.
    config = SimConfig(
        drivers=3,
        interval=0.5,
        duration=0.0,
        center=BERLIN,
        radius_m=150.0,
        url=stack,
        seed=7,
        progress=False,
        rides_per_minute=30.0,
        scheduled_share=0.0,
        accept_share=1.0,
        cancel_share=0.0,
        rider_accounts=8,  # under 4 bookings a minute each: far from the per-customer limits
    )
    stop = asyncio.Event()
    run = asyncio.create_task(simulate(config, database_url, stop))

    async def completed():
        if run.done():  # the simulator gave up: show why instead of waiting out the timeout
            pytest.fail(f"the simulator stopped: {run.result()}\n{capsys.readouterr()}")
        return await db.fetchval("SELECT id FROM bookings WHERE status = 'completed' LIMIT 1")

    async def history_caught_up():
        # Written in batches, in order per driver: once a ping after the ride is in, the ride's are too.
        return await db.fetchval(
            """SELECT count(*) FROM positions p JOIN bookings b ON b.driver_id = p.driver_id
               WHERE b.id = $1 AND p.device_time > b.ended_at""",
            booking_id,
        )

    try:
        booking_id = await wait_for(completed, timeout=150, interval=0.5)
        await wait_for(history_caught_up, timeout=15, interval=0.2)
    finally:
        stop.set()
        status = await asyncio.wait_for(run, 30)
    assert status == 0

    booking = await db.fetchrow(
        """SELECT b.*, u.email, d.name AS driver_name FROM bookings b JOIN users u ON u.id = b.customer_id
           JOIN drivers d ON d.id = b.driver_id WHERE b.id = $1""",
        booking_id,
    )
    assert booking["email"].endswith(SIM_RIDER_DOMAIN) and booking["driver_name"].startswith(DEMO_PREFIX)
    events = await db.fetch("SELECT action, actor FROM booking_events WHERE booking_id = $1 ORDER BY id", booking_id)
    assert [(e["action"], e["actor"]) for e in events] == [
        ("create", "customer"),
        ("offer", "system"),
        ("accept", "driver"),
        ("arrive", "driver"),
        ("start", "driver"),
        ("complete", "driver"),
    ]

    # The map saw it: while the passenger boarded, the driver's pings stood still at the
    # pickup; its last ping before the ride completed was at the drop-off.
    boarding = await db.fetch(
        "SELECT lat, lng, speed_mps FROM positions WHERE driver_id = $1 AND device_time BETWEEN $2 AND $3",
        booking["driver_id"],
        booking["arrived_at"],
        booking["started_at"],
    )
    assert boarding
    for fix in boarding:
        assert haversine_m(fix["lat"], fix["lng"], booking["pickup_lat"], booking["pickup_lng"]) < 20  # GPS noise
        assert fix["speed_mps"] == 0
    last = await db.fetchrow(
        """SELECT lat, lng FROM positions WHERE driver_id = $1 AND device_time <= $2
           ORDER BY device_time DESC LIMIT 1""",
        booking["driver_id"],
        booking["ended_at"],
    )
    assert haversine_m(last["lat"], last["lng"], booking["dropoff_lat"], booking["dropoff_lng"]) < 20
    out = capsys.readouterr().out
    summary = [line for line in out.splitlines() if line.startswith("simulate: stopped after")]
    assert len(summary) == 1
    counts = re.search(r"rides: (\d+) booked \(\d+ scheduled\), (\d+) assigned, (\d+) completed", summary[0])
    assert counts is not None, summary[0]
    booked, assigned, done = map(int, counts.groups())
    assert booked >= assigned >= done >= 1
    assert ", 0 rejected, 0 errors;" in summary[0]  # no failed request: no 5xx, no 429 from the per-customer limits
