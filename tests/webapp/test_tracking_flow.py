"""Pings through Kafka into the tracker: live positions, the nearby search, history, redelivery."""

import asyncio
import time

import pytest
from helpers import make_driver, make_user, wait_for

from streaming.tracker import Tracker
from webapp.services import services


@pytest.fixture
async def tracker(settings, db, redis):
    tracker = Tracker(settings, db, redis)
    task = asyncio.create_task(tracker.run())
    await asyncio.wait_for(tracker.assigned.wait(), 30)  # a fresh group takes ~5 s to join on Tansu
    yield tracker
    tracker.stop()
    await asyncio.wait_for(task, 10)


async def test_pings_reach_live_state_nearby_and_history(client, db, tracker):
    (near, near_dev), (far, far_dev) = await make_driver(db, "Near"), await make_driver(db, "Far")
    (_off, off_dev) = await make_driver(db, "Off")
    _, staff = await make_user(db)
    auth = {"Authorization": f"Bearer {staff}"}
    now = time.time()
    for dev in (near_dev, far_dev):  # as their phones do (drivers start off duty)
        r = await client.post(
            "/api/v1/driver/status", json={"status": "available"}, headers={"Authorization": f"Bearer {dev.token}"}
        )
        assert r.json()["waiting_for_gps"] is True  # no position sent yet
    for dev, (lat, lng) in (
        (near_dev, (52.5205, 13.4049)),
        (far_dev, (52.5400, 13.4300)),
        (off_dev, (52.5201, 13.4051)),
    ):
        r = await client.post(
            "/api/v1/driver/pings",
            json={"pings": [{"lat": lat - 0.001, "lng": lng, "ts": now - 5}, {"lat": lat, "lng": lng, "ts": now - 1}]},
            headers={"Authorization": f"Bearer {dev.token}"},
        )
        assert r.json()["accepted"] == 2
    await client.post(
        "/api/v1/driver/status", json={"status": "off_duty"}, headers={"Authorization": f"Bearer {off_dev.token}"}
    )

    async def history_written():
        return await db.fetchval("SELECT count(*) FROM positions") == 6

    await wait_for(history_written)

    async def nearby():
        r = await client.get("/api/v1/drivers/nearby?lat=52.52&lng=13.405&radius_m=5000", headers=auth)
        found = r.json()["drivers"]
        return found if len(found) == 2 else None

    found = await wait_for(nearby)
    assert [d["id"] for d in found] == [near.id, far.id]  # nearest first; the off-duty driver is excluded
    assert found[0]["distance_m"] == pytest.approx(55.7, abs=1)
    small = (await client.get("/api/v1/drivers/nearby?lat=52.52&lng=13.405&radius_m=500", headers=auth)).json()
    assert [d["id"] for d in small["drivers"]] == [near.id]
    trail = (await client.get(f"/api/v1/drivers/{near.id}/trail?minutes=10", headers=auth)).json()
    assert [p["lat"] for p in trail["points"]] == pytest.approx([52.5195, 52.5205])
    listing = (await client.get("/api/v1/drivers", headers=auth)).json()
    assert listing["counts"] == {
        "total": 3, "online": 3, "available": 2, "busy": 0, "off_duty": 1, "stale": 0, "waiting_for_gps": 0,
    }  # fmt: skip


async def test_redelivered_batch_is_harmless(settings, db, redis, tracker):
    from hexfleet.tracking.pings import Ping
    from streaming.events import encode_pings

    drv, _ = await make_driver(db, "Replay")
    now = time.time()
    value = encode_pings(drv.id, now, [Ping(52.5, 13.4, now - 10), Ping(52.5005, 13.4, now)])
    await tracker.handle([value, value, b"not an event"])  # delivered twice, plus a poison record
    assert await db.fetchval("SELECT count(*) FROM positions WHERE driver_id = $1", drv.id) == 2
    assert tracker.stats["bad_events"] == 1
    assert (await tracker.store.fixes([drv.id]))[drv.id].lat == 52.5005


async def test_validation_errors_on_read_apis(client, db):
    _, staff = await make_user(db)
    auth = {"Authorization": f"Bearer {staff}"}
    r = await client.get("/api/v1/drivers/nearby?lat=95&lng=1", headers=auth)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = await client.get("/api/v1/drivers/nearby?lat=1&lng=1&radius_m=999999", headers=auth)
    assert r.status_code == 422 and "radius_m" in r.json()["detail"]
    r = await client.get("/api/v1/drivers/12345", headers=auth)
    assert r.status_code == 404


async def test_flagged_fixes_go_to_history_but_not_live(settings, db, redis, tracker):
    from hexfleet.tracking.pings import Ping
    from streaming.events import encode_attributes, encode_pings

    drv, _ = await make_driver(db, "Jumpy")
    now = time.time()
    good = Ping(52.5, 13.4, now - 60)
    batch = [
        good,
        Ping(48.1, 11.5, now - 50),  # Munich ten seconds later: an implausible jump
        Ping(52.5001, 13.4, now - 40, accuracy_m=900),  # too inaccurate to show
        Ping(52.5002, 13.4, now - 70),  # older than the latest: late, but part of the route
        Ping(52.5003, 13.4, now - 30),  # fine
    ]
    await tracker.handle(
        [encode_pings(drv.id, now, batch), encode_attributes(drv.id, now, now - 5, {"cell": "262-01"})]
    )
    rows = await db.fetch("SELECT lat, flag FROM positions WHERE driver_id = $1 ORDER BY device_time", drv.id)
    assert [(r["lat"], r["flag"]) for r in rows] == [
        (52.5002, "out-of-order"), (52.5, None), (48.1, "implausible-jump"), (52.5001, "inaccurate"), (52.5003, None),
    ]  # fmt: skip
    live = (await tracker.store.fixes([drv.id]))[drv.id]
    assert live.lat == 52.5003
    assert live.problem == "out-of-order"  # the last decision that kept a fix out of the live view
    assert dict(tracker.flagged) == {"implausible-jump": 1, "inaccurate": 1, "out-of-order": 1}
    attrs = await db.fetchval("SELECT attributes->>'cell' FROM device_events WHERE driver_id = $1", drv.id)
    assert attrs == "262-01"


async def test_rows_postgres_refuses_are_skipped_not_fatal(settings, db, redis, tracker):
    from hexfleet.tracking.pings import Ping
    from streaming.events import encode_attributes, encode_pings

    drv, _ = await make_driver(db, "Poison")
    now = time.time()
    # Values ingest would refuse, as if written by an older or foreign producer.
    poison = Ping(52.5, 13.4, now - 20, speed_mps=1e39)
    good = Ping(52.5001, 13.4, now - 10)
    await tracker.handle([
        encode_pings(drv.id, now, [poison, good]),
        encode_attributes(drv.id, now, now - 5, {"note": "nul\x00byte"}),
    ])  # fmt: skip
    lats = [r["lat"] for r in await db.fetch("SELECT lat FROM positions WHERE driver_id = $1", drv.id)]
    assert lats == [52.5001]
    assert tracker.stats["bad_events"] == 2


async def test_nearby_orders_equidistant_drivers_by_id(client, db, app):
    """Two phones at one depot: a tie in distance used to compare LiveFix objects (500)."""
    from hexfleet.tracking.pings import Ping

    _, staff = await make_user(db)
    drivers = [(await make_driver(db, name))[0] for name in ("Depot B", "Depot A", "Across")]
    now = time.time()
    # Two at the very same point, the third at the same distance on the other side.
    points = [(52.521, 13.405), (52.521, 13.405), (52.519, 13.405)]
    for d in drivers:
        await services(app).store.set_duty(d.id, "available", now - 60)
    await services(app).store.apply_fixes(
        [(d.id, Ping(lat, lng, now - 1), now - 1) for d, (lat, lng) in zip(drivers, points, strict=True)]
    )
    r = await client.get(
        "/api/v1/drivers/nearby?lat=52.52&lng=13.405&radius_m=1000", headers={"Authorization": f"Bearer {staff}"}
    )
    assert r.status_code == 200
    found = r.json()["drivers"]
    assert [d["id"] for d in found] == sorted(d.id for d in drivers)
    assert len({d["distance_m"] for d in found}) == 1
