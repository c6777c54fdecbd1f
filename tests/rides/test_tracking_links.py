"""Tracking links end: every terminal state starts the countdown, a new link revokes the old
one (410, not 404), and a link shows the passenger's first name and no one's free text."""

from __future__ import annotations

import time

import orjson
import pytest
from helpers import make_driver, make_fare, make_user, place_driver, wait_for

from hexfleet.rides import bookings, links
from hexfleet.rides.passengers import first_name
from hexfleet.rides.states import TERMINAL, BookingStatus
from streaming.hub import make_channel_event
from webapp.api.tracking import TrackView, booking_change
from webapp.services import services

PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}
S = links.LinkState


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(settings):
    """A booking with nobody in reach gives up at once: these tests follow what comes after
    no_driver (tests/rides/test_patience.py has the waiting)."""
    return settings.with_(dispatch_patience_s=0.0)


def token_of(url: str) -> str:
    return url.rsplit("/t/", 1)[1]


async def book(client, token: str, name: str = "Rita", **extra) -> dict:
    quote = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(token))
    assert quote.status_code == 201, quote.text
    body = {
        "quote_id": quote.json()["quote_id"],
        "passenger": {"name": name, "phone": "+49 30 5550101"},
        "confirm_no_driver": True,  # some tests book with nobody near on purpose
        **extra,
    }
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def status_is(db, booking_id: int, status: str) -> None:
    async def reached():
        return await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking_id) == status

    await wait_for(reached)


# ---------------------------------------------------------------- the rules (pure)


@pytest.mark.parametrize(
    ("nonce", "ended_at", "now", "expected"),
    [
        ("n1", None, 1e6, S.LIVE),  # a ride under way: no countdown yet
        ("n1", 1000.0, 1000.0 + 7200, S.LIVE),  # the last second of the TTL
        ("n1", 1000.0, 1000.0 + 7200.5, S.EXPIRED),
        ("old", None, 1e6, S.REVOKED),
        ("old", 1000.0, 1e6, S.REVOKED),  # replaced and expired: replaced says more
        ("", None, 0.0, S.REVOKED),
    ],
)
def test_link_state(nonce, ended_at, now, expected):
    assert links.link_state(nonce, "n1", ended_at, now, 7200.0) is expected


@pytest.mark.parametrize(
    ("name", "first"),
    [("Rita", "Rita"), ("Rita Rider-Smith", "Rita"), ("  Ana  Lucía de la Cruz ", "Ana"), ("李 小龙", "李"), ("", "")],
)
def test_first_name(name, first):
    assert first_name(name) == first


@pytest.mark.parametrize(
    ("cancelled_by", "note"),
    [
        ("customer", "Cancelled by the passenger"),
        ("dispatcher", "Cancelled by dispatch"),
        ("admin", "Cancelled by dispatch"),
        ("system", "Cancelled automatically"),
        (None, "Cancelled by dispatch"),
    ],
)
def test_cancel_note_never_says_why(cancelled_by, note):
    assert bookings.cancel_note(cancelled_by) == note


def test_every_terminal_state_starts_the_countdown():
    assert {BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.NO_DRIVER} == TERMINAL


# ---------------------------------------------------------------- no_driver ends too


async def test_a_no_driver_bookings_link_expires_and_lives_again_with_the_ride(client, app, db):
    await make_fare(db)
    _, customer = await make_user(db, "customer")
    _, staff = await make_user(db, "dispatcher")
    booking = await book(client, customer)  # nobody on duty anywhere: dispatch gives up
    await status_is(db, booking["id"], "no_driver")
    ended = await db.fetchval("SELECT ended_at FROM bookings WHERE id = $1", booking["id"])
    assert ended is not None and abs(ended.timestamp() - time.time()) < 30
    token = token_of(booking["tracking_url"])
    assert (await client.get(f"/api/v1/track/{token}")).status_code == 200

    rides = services(app).rides
    rides.clock = lambda: time.time() + rides.settings.tracking_link_ttl_s + 60
    r = await client.get(f"/api/v1/track/{token}")
    assert r.status_code == 410 and r.json()["type"].endswith("/tracking-link-expired"), r.text
    assert (await client.get(f"/api/v1/track/{token}/stream")).status_code == 410

    # A dispatcher gives the ride to a driver by hand: live again, and so is its link.
    driver, _ = await make_driver(db, "Late Larry")
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/assign", json={"driver_id": driver.id}, headers=bearer(staff)
    )
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["ended_at"] is None
    assert (await client.get(f"/api/v1/track/{token}")).json()["status"] == "assigned"


async def test_restarting_dispatch_on_a_no_driver_booking_clears_its_end(client, app, db):
    await make_fare(db)
    _, customer = await make_user(db, "customer")
    _, staff = await make_user(db, "dispatcher")
    booking = await book(client, customer)
    await status_is(db, booking["id"], "no_driver")
    driver, _ = await make_driver(db, "Fresh Fran")
    await place_driver(services(app).store, driver.id, 52.5205, 13.4050)
    r = await client.post(f"/api/v1/bookings/{booking['id']}/dispatch", headers=bearer(staff))
    assert r.status_code == 200, r.text
    await status_is(db, booking["id"], "offered")
    assert await db.fetchval("SELECT ended_at FROM bookings WHERE id = $1", booking["id"]) is None
    events = await db.fetch(
        "SELECT action, to_status FROM booking_events WHERE booking_id = $1 ORDER BY id", booking["id"]
    )
    assert [(e["action"], e["to_status"]) for e in events][-3:] == [
        ("give_up", "no_driver"), ("dispatch", "searching"), ("offer", "offered"),
    ]  # fmt: skip


async def test_the_migration_ends_no_driver_bookings_left_without_an_end(client, db):
    from hexfleet.migrate import MIGRATIONS_DIR

    await make_fare(db)
    _, customer = await make_user(db, "customer")
    made = [(await book(client, customer, scheduled_for=_later()))["id"] for _ in range(3)]
    # As the code before left them: no_driver without an end; others as they were.
    for booking_id, status, ended in zip(
        made, ("no_driver", "searching", "cancelled"), (None, None, 3600), strict=True
    ):
        await db.execute(
            """UPDATE bookings SET status = $2, updated_at = now() - interval '2 hours',
                      ended_at = now() - make_interval(secs => $3) WHERE id = $1""",
            booking_id,
            status,
            ended,
        )
    await db.execute((MIGRATIONS_DIR / "009_no_driver_ends.sql").read_text())
    rows = await db.fetch(
        "SELECT status, ended_at = updated_at AS at_last_change, ended_at IS NULL AS open FROM bookings ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("no_driver", True, False),
        ("searching", None, True),
        ("cancelled", False, False),
    ]


# ---------------------------------------------------------------- a new link revokes the old one


async def test_the_rider_and_staff_make_new_links_and_the_old_ones_answer_410(client, db):
    await make_fare(db)
    rider, customer = await make_user(db, "customer")
    _, stranger = await make_user(db, "customer")
    staff_user, staff = await make_user(db, "dispatcher")
    booking = await book(client, customer, scheduled_for=_later())
    first = token_of(booking["tracking_url"])

    r = await client.post(f"/api/v1/bookings/{booking['id']}/tracking-link", headers=bearer(customer))
    assert r.status_code == 201 and set(r.json()) == {"booking_id", "tracking_url"}, r.text
    second = token_of(r.json()["tracking_url"])
    assert second != first and r.json()["tracking_url"].startswith("http://test/t/")
    old = await client.get(f"/api/v1/track/{first}")
    assert old.status_code == 410 and old.headers["content-type"] == "application/problem+json"
    assert old.json()["type"].endswith("/tracking-link-revoked") and "new link" in old.json()["detail"]
    assert (await client.get(f"/api/v1/track/{first}/stream")).status_code == 410
    assert (await client.get(f"/api/v1/track/{second}")).status_code == 200
    listed = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=bearer(customer))).json()
    assert token_of(listed["tracking_url"]) == second

    # Someone else's booking does not exist for them; nothing changes.
    assert (
        await client.post(f"/api/v1/bookings/{booking['id']}/tracking-link", headers=bearer(stranger))
    ).status_code == 404
    assert (await client.post(f"/api/v1/bookings/{booking['id']}/tracking-link")).status_code == 401
    assert (await client.get(f"/api/v1/track/{second}")).status_code == 200

    r = await client.post(f"/api/v1/bookings/{booking['id']}/tracking-link", headers=bearer(staff))
    assert r.status_code == 201
    assert (await client.get(f"/api/v1/track/{second}")).status_code == 410
    assert (await client.get(f"/api/v1/track/{token_of(r.json()['tracking_url'])}")).status_code == 200
    # Each new link is in the booking's history, with who asked; the ride itself did not move.
    events = await db.fetch(
        "SELECT action, from_status, to_status, actor, actor_id, driver_id FROM booking_events "
        "WHERE booking_id = $1 AND action = 'new_tracking_link' ORDER BY id",
        booking["id"],
    )
    assert [tuple(e) for e in events] == [
        ("new_tracking_link", "scheduled", "scheduled", "customer", rider.id, None),
        ("new_tracking_link", "scheduled", "scheduled", "dispatcher", staff_user.id, None),
    ]
    # ... and not in the link's own timeline (not a step of the ride).
    view = (await client.get(f"/api/v1/track/{token_of(r.json()['tracking_url'])}")).json()
    assert [t["status"] for t in view["timeline"]] == ["scheduled"]


async def test_the_api_documents_the_new_link_and_the_410(client):
    spec = (await client.get("/openapi.json")).json()
    post = spec["paths"]["/api/v1/bookings/{booking_id}/tracking-link"]["post"]
    assert set(post["responses"]) >= {"201", "401", "404"} and "TrackingLinkOut" in str(post["responses"]["201"])
    for path in ("/api/v1/track/{token}", "/api/v1/track/{token}/stream"):
        assert set(spec["paths"][path]["get"]["responses"]) >= {"404", "410"}
    assert "TrackView" in str(spec["paths"]["/api/v1/track/{token}"]["get"]["responses"]["200"])


# ---------------------------------------------------------------- what a link shows


async def test_a_link_shows_the_first_name_and_nobodys_free_text(client, app, db):
    await make_fare(db)
    _, customer = await make_user(db, "customer")
    _, staff = await make_user(db, "dispatcher")
    driver, device = await make_driver(db, "Dora Driver", "B-DD-1")
    await place_driver(services(app).store, driver.id, 52.5205, 13.4050)
    booking = await book(client, customer, name="Rita Rider-Smith", notes="gate code behind the bins")
    await status_is(db, booking["id"], "offered")
    offer = (await client.get("/api/v1/driver/offers", headers=bearer(device.token))).json()["offers"][0]
    await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(device.token))
    # The driver gives it back with a reason meant for dispatch; then dispatch cancels with one.
    r = await client.post(
        f"/api/v1/driver/bookings/{booking['id']}/cancel",
        json={"reason": "passenger was rude"},
        headers=bearer(device.token),
    )
    assert r.status_code == 200, r.text
    await status_is(db, booking["id"], "no_driver")  # the driver is not asked again; nobody else is near
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={"reason": "prank caller, number blocked"},
        headers=bearer(staff),
    )
    assert r.json()["status"] == "cancelled"

    token = token_of(booking["tracking_url"])
    view = (await client.get(f"/api/v1/track/{token}")).json()
    TrackView.model_validate(view)  # the documented shape
    assert view["passenger_name"] == "Rita" and view["status_note"] == "Cancelled by dispatch"
    assert [(t["status"], t["by"]) for t in view["timeline"]][-3:] == [
        ("searching", "driver"), ("no_driver", "system"), ("cancelled", "dispatcher"),
    ]  # fmt: skip
    client.cookies.clear()
    page = (await client.get(f"/t/{token}")).text
    panel = (await client.get(f"/t/{token}/panel")).text
    for text in (orjson.dumps(view).decode(), page, panel):
        for private in (
            "Rider-Smith",
            "was rude",
            "prank caller",
            "number blocked",
            "behind the bins",
            "no driver within",
        ):
            assert private not in text
    assert "Rita" in page and "Cancelled by dispatch" in page


def test_the_link_stream_never_carries_a_reason():
    event = {
        "event_id": 9, "booking_id": 1, "action": "release", "from_status": "assigned", "status": "searching",
        "actor": "driver", "at": 1.0, "driver_id": 3, "reason": "passenger was rude", "booking": {"driver_id": None},
    }  # fmt: skip
    change = booking_change(make_channel_event("booking", 1, orjson.dumps(event), frozenset({"booking:1"})))
    assert change is not None and change.frame is not None and not change.link_renewed
    body = orjson.loads(change.frame.split(b"data: ", 1)[1])
    assert body == {k: event[k] for k in ("event_id", "action", "from_status", "status", "actor", "at")}
    renewed = {**event, "action": "new_tracking_link", "status": "scheduled", "from_status": "scheduled"}
    change = booking_change(make_channel_event("booking", 1, orjson.dumps(renewed), frozenset({"booking:1"})))
    assert change is not None and change.frame is None and change.link_renewed  # not shown: checked at once


def _later() -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()
