"""A ride through the real API, PostgreSQL and Redis: quote, book, offer, accept, drive, complete."""

from __future__ import annotations

import time

import pytest
from helpers import make_driver, make_fare, make_user, place_driver, wait_for

from hexfleet.rides import dispatch
from hexfleet.rides import queries as q
from webapp.services import services

PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def fleet(app, db):
    """A fare, a customer, a dispatcher, an admin, and two drivers near the pickup."""
    await make_fare(db)
    _, customer = await make_user(db, "customer")
    _, dispatcher = await make_user(db, "dispatcher")
    _, admin = await make_user(db, "admin")
    store = services(app).store
    near, near_dev = await make_driver(db, "Near", "B-NR-1")
    far, far_dev = await make_driver(db, "Far", "B-FR-2")
    await place_driver(store, near.id, 52.5205, 13.4050)  # 55 m from the pickup
    await place_driver(store, far.id, 52.5290, 13.4050)  # 1 km
    return {
        "customer": customer,
        "dispatcher": dispatcher,
        "admin": admin,
        "near": (near, near_dev.token),
        "far": (far, far_dev.token),
    }


async def book(client, token: str, **extra) -> dict:
    quote = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(token))
    assert quote.status_code == 201, quote.text
    body = {"quote_id": quote.json()["quote_id"], "passenger": {"name": "Rita", "phone": "+49 30 5550101"}, **extra}
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def offer_for(client, driver_token: str) -> dict:
    async def pending():
        offers = (await client.get("/api/v1/driver/offers", headers=bearer(driver_token))).json()["offers"]
        return offers[0] if offers else None

    return await wait_for(pending)


async def test_a_ride_from_quote_to_completion(client, app, db, fleet):
    quote = await client.post(
        "/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(fleet["customer"])
    )
    assert quote.status_code == 201
    body = quote.json()
    assert body["currency"] == "EUR" and body["surge_multiplier"] == 1.0 and body["route_source"] == "estimate"
    assert body["price_minor"] == body["breakdown"]["total_minor"] > 0
    assert body["eta_pickup_s"] is not None and body["eta_pickup_s"] < 60  # "Near" is 55 m away
    assert body["distance_m"] > 2000 and body["duration_s"] > 0

    booking = await book(client, fleet["customer"])
    assert booking["status"] == "searching" and booking["price_minor"] == body["price_minor"]
    assert booking["tracking_url"].startswith("http://test/t/")

    near, near_token = fleet["near"]
    offer = await offer_for(client, near_token)  # the nearest driver is asked first
    assert offer["booking_id"] == booking["id"] and offer["booking"]["pickup"] == {**PICKUP, "label": None}
    assert "passenger" not in offer["booking"]  # contact details only once the ride is taken
    accepted = await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(near_token))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "assigned" and accepted.json()["passenger"]["phone"] == "+49 30 5550101"

    # Duty followed: busy in PostgreSQL, out of the availability index in Redis.
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", near.id) == "busy"
    assert near.id not in await services(app).store.index_members()

    for step, status in (("arrived", "arrived"), ("start", "in_progress"), ("complete", "completed")):
        r = await client.post(f"/api/v1/driver/bookings/{booking['id']}/{step}", headers=bearer(near_token))
        assert (r.status_code, r.json()["status"]) == (200, status)
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", near.id) == "available"
    assert near.id in await services(app).store.index_members()

    seen = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=bearer(fleet["customer"]))).json()
    assert [e["to_status"] for e in seen["events"]] == [
        "searching", "offered", "assigned", "arrived", "in_progress", "completed",
    ]  # fmt: skip
    assert [e["actor"] for e in seen["events"]] == ["customer", "system", "driver", "driver", "driver", "driver"]
    # Every change is also an outbox row, waiting for the relay.
    assert await db.fetchval("SELECT count(*) FROM booking_events WHERE published_at IS NULL") == 6


async def test_decline_goes_to_the_next_driver_and_never_back(client, app, db, fleet):
    booking = await book(client, fleet["customer"])
    (near, near_token), (far, far_token) = fleet["near"], fleet["far"]
    first = await offer_for(client, near_token)
    r = await client.post(f"/api/v1/driver/offers/{first['id']}/decline", headers=bearer(near_token))
    assert r.status_code == 200
    second = await offer_for(client, far_token)
    assert second["booking_id"] == booking["id"] and second["driver_id"] == far.id
    r = await client.post(f"/api/v1/driver/offers/{second['id']}/decline", headers=bearer(far_token))

    async def both_declined():
        b = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=bearer(fleet["dispatcher"]))).json()
        return b if [o["status"] for o in b["offers"]] == ["declined", "declined"] else None

    done = await wait_for(both_declined)
    assert [o["driver_id"] for o in done["offers"]] == [near.id, far.id]  # each asked once
    assert (await client.get("/api/v1/driver/offers", headers=bearer(near_token))).json()["offers"] == []
    # Nobody else within reach: it keeps looking for DISPATCH_PATIENCE_S, asking neither again…
    assert done["status"] == "searching" and done["search_until"] is not None
    rides = services(app).rides
    await dispatch.offer_next(rides, booking["id"])
    assert (await client.get("/api/v1/driver/offers", headers=bearer(far_token))).json()["offers"] == []
    rides.clock = lambda: time.time() + rides.settings.dispatch_patience_s + 1
    await dispatch.offer_next(rides, booking["id"])  # …and gives up once that time has passed
    gone = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=bearer(fleet["dispatcher"]))).json()
    assert gone["status"] == "no_driver" and gone["search_until"] is None


async def test_an_expired_offer_cannot_be_accepted(client, app, fleet):
    await book(client, fleet["customer"])
    _, near_token = fleet["near"]
    offer = await offer_for(client, near_token)
    rides = services(app).rides
    rides.clock = lambda: time.time() + rides.settings.offer_timeout_s + 1  # the clock, moved past the timeout
    r = await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(near_token))
    assert r.status_code == 409 and r.json()["type"].endswith("offer-expired")
    _, far_token = fleet["far"]
    assert (await offer_for(client, far_token))["booking_id"] == offer["booking_id"]  # and the next one is asked


async def test_dispatcher_assigns_reassigns_and_cancels(client, db, fleet):
    booking = await book(client, fleet["customer"])
    (near, near_token), (far, _) = fleet["near"], fleet["far"]
    await offer_for(client, near_token)
    staff = bearer(fleet["dispatcher"])
    r = await client.post(f"/api/v1/bookings/{booking['id']}/assign", json={"driver_id": far.id}, headers=staff)
    assert (r.status_code, r.json()["status"], r.json()["driver_id"]) == (200, "assigned", far.id)
    # The open offer to "Near" was withdrawn.
    assert (await client.get("/api/v1/driver/offers", headers=bearer(near_token))).json()["offers"] == []
    r = await client.post(f"/api/v1/bookings/{booking['id']}/reassign", json={"driver_id": near.id}, headers=staff)
    assert r.json()["driver_id"] == near.id
    statuses = dict(await db.fetch("SELECT id, status FROM drivers"))
    assert (statuses[near.id], statuses[far.id]) == ("busy", "available")
    r = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "caller hung up"}, headers=staff)
    assert (r.json()["status"], r.json()["cancelled_by"]) == ("cancelled", "dispatcher")
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", near.id) == "available"
    again = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=staff)
    assert again.status_code == 409 and again.json()["current_status"] == "cancelled"


async def test_a_driver_who_releases_the_ride_is_not_asked_again(client, db, fleet):
    booking = await book(client, fleet["customer"])
    (near, near_token), (_far, far_token) = fleet["near"], fleet["far"]
    offer = await offer_for(client, near_token)
    await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(near_token))
    r = await client.post(
        f"/api/v1/driver/bookings/{booking['id']}/cancel", json={"reason": "flat tyre"}, headers=bearer(near_token)
    )
    assert r.status_code == 200 and r.json()["released"] is True
    assert (await offer_for(client, far_token))["booking_id"] == booking["id"]
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", near.id) == "available"
    events = await db.fetch(
        "SELECT action, reason FROM booking_events WHERE booking_id = $1 ORDER BY id", booking["id"]
    )
    assert ("release", "flat tyre") in [(e["action"], e["reason"]) for e in events]


async def test_scheduled_booking_waits_for_its_dispatch_time(client, db, fleet):
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    booking = await book(client, fleet["customer"], scheduled_for=later)
    assert booking["status"] == "scheduled" and booking["scheduled_for"] is not None
    row = await db.fetchrow("SELECT scheduled_for - dispatch_at AS lead FROM bookings WHERE id = $1", booking["id"])
    assert row["lead"] == timedelta(minutes=10)  # DISPATCH_LEAD_S


async def test_tracking_link_shows_one_ride_and_nothing_else(client, app, fleet):
    booking = await book(client, fleet["customer"])
    token = booking["tracking_url"].rsplit("/t/", 1)[1]
    _near, near_token = fleet["near"]
    offer = await offer_for(client, near_token)
    await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(near_token))
    r = await client.get(f"/api/v1/track/{token}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    view = r.json()
    assert view["status"] == "assigned" and view["driver"]["name"] == "Near"
    assert view["driver"]["vehicle_plate"] == "B-NR-1" and view["eta_to"] == "pickup" and view["eta_s"] >= 0
    assert "id" not in view and "driver_id" not in str(view)  # no id that opens anything else
    assert [t["status"] for t in view["timeline"]] == ["searching", "offered", "assigned"]
    tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    assert (await client.get(f"/api/v1/track/{tampered}")).status_code == 404
    for step in ("arrived", "start", "complete"):
        await client.post(f"/api/v1/driver/bookings/{booking['id']}/{step}", headers=bearer(near_token))
    assert (await client.get(f"/api/v1/track/{token}")).json()["status"] == "completed"
    rides = services(app).rides
    rides.clock = lambda: time.time() + rides.settings.tracking_link_ttl_s + 60  # long after the ride
    assert (await client.get(f"/api/v1/track/{token}")).status_code == 410  # a real link, expired


async def test_quote_can_be_used_once_by_its_owner_before_it_expires(client, app, db, fleet):
    quote = (
        await client.post(
            "/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(fleet["customer"])
        )
    ).json()
    body = {"quote_id": quote["quote_id"], "passenger": {"name": "Rita", "phone": "+49 30 5550101"}}
    _, other = await make_user(db, "customer")
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(other))
    assert r.status_code == 409 and r.json()["type"].endswith("quote-unknown")  # someone else's
    rides = services(app).rides
    real_clock = rides.clock
    rides.clock = lambda: time.time() + rides.settings.quote_ttl_s + 1
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(fleet["customer"]))
    assert r.status_code == 409 and r.json()["type"].endswith("quote-expired")
    rides.clock = real_clock
    assert (await client.post("/api/v1/bookings", json=body, headers=bearer(fleet["customer"]))).status_code == 201
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(fleet["customer"]))
    assert r.status_code == 409 and r.json()["type"].endswith("quote-used")
    assert await db.fetchval("SELECT count(*) FROM bookings") == 1  # nothing half-written


async def test_surge_rises_where_demand_outruns_supply(client, app, db, fleet):
    from hexfleet.rides import surge_job

    for _ in range(6):  # six riders asking around the pickup, two drivers nearby
        _, rider = await make_user(db, "customer")
        await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(rider))
    rides = services(app).rides
    published: list = []

    class Recorder:
        async def surge_changed(self, changes, at):
            published.append(changes)

    changes = await surge_job.recalculate(db, rides.store, rides.surge, Recorder(), rides.settings, time.time())
    cell = rides.surge.cell(PICKUP["lat"], PICKUP["lng"])
    # 6 wanting, 2 driving: target 1 + 0.5 × (3 − 1) = ×2.0, half the way from ×1.0 on the first run.
    assert changes[cell] == 15 and published == [changes]
    quote = await client.post(
        "/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(fleet["customer"])
    )
    assert quote.json()["surge_multiplier"] == 1.5 and quote.json()["breakdown"]["surge_minor"] > 0
    history = await db.fetchrow("SELECT multiplier, demand, supply FROM surge_history WHERE cell = $1", cell)
    assert (float(history["multiplier"]), history["demand"], history["supply"]) == (1.5, 6, 2)
    surge = await client.get("/api/v1/surge", headers=bearer(fleet["dispatcher"]))
    [shown] = surge.json()["cells"]
    assert shown["multiplier"] == 1.5 and len(shown["boundary"]) == 6


async def test_fares_are_read_by_riders_and_set_by_admins(client, fleet):
    assert (await client.get("/api/v1/fares/standard", headers=bearer(fleet["customer"]))).json()["currency"] == "EUR"
    new = {"currency": "CHF", "base_minor": 600, "per_km_minor": 380, "per_minute_minor": 80,
           "booking_fee_minor": 0, "minimum_minor": 1500}  # fmt: skip
    r = await client.put("/api/v1/fares/standard", json=new, headers=bearer(fleet["dispatcher"]))
    assert r.status_code == 403
    r = await client.put("/api/v1/fares/standard", json=new, headers=bearer(fleet["admin"]))
    assert r.status_code == 200 and r.json()["currency"] == "CHF"
    assert (await client.get("/api/v1/fares/limousine", headers=bearer(fleet["admin"]))).status_code == 404
    bad = await client.put("/api/v1/fares/van", json={**new, "currency": "chf"}, headers=bearer(fleet["admin"]))
    assert bad.status_code == 422 and "currency" in bad.json()["detail"]
    assert (await client.get("/api/v1/fares/van", headers=bearer(fleet["admin"]))).status_code == 404


async def test_listing_is_paged_newest_first(client, fleet):
    ids = [(await book(client, fleet["customer"]))["id"] for _ in range(3)]
    page = (await client.get("/api/v1/bookings?limit=2", headers=bearer(fleet["customer"]))).json()
    assert [b["id"] for b in page["bookings"]] == ids[:0:-1]
    rest = (
        await client.get(f"/api/v1/bookings?limit=2&cursor={page['next_cursor']}", headers=bearer(fleet["customer"]))
    ).json()
    assert [b["id"] for b in rest["bookings"]] == [ids[0]] and rest["next_cursor"] is None
    only = await client.get("/api/v1/bookings?status=cancelled", headers=bearer(fleet["customer"]))
    assert only.json()["bookings"] == []
    bad = await client.get("/api/v1/bookings?status=lost", headers=bearer(fleet["customer"]))
    assert bad.status_code == 422 and "lost" in bad.json()["detail"]


async def test_the_outbox_holds_each_booking_event_once(db, fleet, client):
    booking = await book(client, fleet["customer"])
    async with db.acquire() as conn:
        events = await q.unpublished_events(conn, 100)
    mine = [e for e in events if e.booking_id == booking["id"]]
    assert mine[0].action == "create" and mine[0].customer_id is not None
    assert len({e.id for e in events}) == len(events)
