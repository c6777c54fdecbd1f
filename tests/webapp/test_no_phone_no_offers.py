"""A driver with no phone connected never counts as available: going available without a
fresh fix is allowed, but such a driver is not in the available count, the index, the
nearby search or a quote's drivers near, and is shown as "Waiting for GPS"; a fix makes
them available for real. New drivers start off duty, whoever adds them."""

from __future__ import annotations

import time

import pytest
from helpers import browser_login, make_fare, make_user, place_driver

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import waiting_for_gps
from hexfleet.tracking.fleet import DriverView
from hexfleet.tracking.status import counts
from webapp.services import services

HX = {"HX-Request": "true"}


def view(status: str, online: bool, stale: bool = False) -> DriverView:
    return DriverView(
        1, "A", None, None, status, online, stale, None, None, None, None, None, None, None,
        waiting_for_gps=waiting_for_gps(status, online),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "fresh", "expected"),
    [
        ("available", False, True),
        ("available", True, False),
        ("off_duty", False, False),
        ("busy", False, False),  # a busy driver's phone going quiet is the stale mark's business
    ],
)
def test_waiting_for_gps(status, fresh, expected):
    assert waiting_for_gps(status, fresh) is expected


def test_counts_leave_drivers_without_a_fresh_fix_out_of_available():
    fleet = [
        view("available", online=True),
        view("available", online=False),  # went available, no phone sending
        view("available", online=False, stale=True),  # its phone went quiet
        view("off_duty", online=False),
        view("busy", online=True),
    ]
    c = counts(fleet)
    assert (c["available"], c["waiting_for_gps"], c["stale"], c["busy"], c["online"], c["total"]) == (1, 2, 1, 1, 2, 5)


async def test_new_drivers_start_off_duty(db):
    async with db.acquire() as conn:
        driver = await driver_queries.create_driver(conn, "Fresh Face")  # the CLI and the admin page add through here
    assert driver.status == "off_duty"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_available_without_a_fix_is_offered_nothing_until_one_comes(app, client, db):
    await make_fare(db)
    staff_user, staff = await make_user(db, "dispatcher")
    _, rider = await make_user(db, "customer")
    async with db.acquire() as conn:
        driver = await driver_queries.create_driver(conn, "Quiet Quinn")
        device = await driver_queries.issue_device(conn, driver.id)
    store = services(app).store

    # The phone's first fix before the driver chose anything: on the map, not available.
    now = time.time()
    from hexfleet.tracking.pings import Ping

    await store.apply_fixes([(driver.id, Ping(52.5201, 13.4050, now - 120), now - 120)])  # long ago: stale
    assert await store.index_members() == {}

    went = await client.post("/api/v1/driver/status", json={"status": "available"}, headers=bearer(device.token))
    assert went.status_code == 200 and went.json()["waiting_for_gps"] is True
    fleet = (await client.get("/api/v1/drivers", headers=bearer(staff))).json()
    assert fleet["counts"]["available"] == 0 and fleet["counts"]["waiting_for_gps"] == 1
    assert fleet["drivers"][0]["status"] == "available" and fleet["drivers"][0]["waiting_for_gps"] is True
    nearby = await client.get("/api/v1/drivers/nearby?lat=52.52&lng=13.405&radius_m=2000", headers=bearer(staff))
    assert nearby.json()["drivers"] == []
    ask = {"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.43}}
    quote = (await client.post("/api/v1/quotes", json=ask, headers=bearer(rider))).json()
    assert quote["availability"]["drivers_near"] == 0 and quote["eta_pickup_s"] is None

    # The control room says why: "Waiting for GPS", not "Available".
    desk = {**await browser_login(client, staff_user.email), **HX}
    rows = (await client.get("/ui/drivers", headers=desk)).text
    assert "Waiting for GPS" in rows and 'class="badge badge-available"' not in rows
    assert "1</span> waiting for GPS" in rows  # the counts, out of band
    pane = (await client.get(f"/ui/drivers/{driver.id}", headers=desk)).text
    assert "Waiting for GPS" in pane
    assert (await client.get("/ui/drivers?q=waiting", headers=desk)).text.count("data-driver-id=") == 1
    assert "No drivers match" in (await client.get("/ui/drivers?status=available", headers=desk)).text

    # A fresh fix: available for real.
    await place_driver(store, driver.id, 52.5201, 13.4050)
    fleet = (await client.get("/api/v1/drivers", headers=bearer(staff))).json()
    assert fleet["counts"]["available"] == 1 and fleet["counts"]["waiting_for_gps"] == 0
    quote = (await client.post("/api/v1/quotes", json=ask, headers=bearer(rider))).json()
    assert quote["availability"]["drivers_near"] == 1
    rows = (await client.get("/ui/drivers", headers=desk)).text
    assert "Waiting for GPS" not in rows and 'class="badge badge-available"' in rows
