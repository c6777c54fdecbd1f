"""A quote says when its vehicle class has no driver in reach and suggests the classes that
have one; booking such a quote for now needs "confirm_no_driver": true (409 no-driver-near
otherwise, the quote still usable); scheduled bookings need no confirmation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet.rides.availability import Availability, suggest
from webapp.api.ride_models import BookingOut, QuoteOut
from webapp.services import services

PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}
M_PER_DEG_LAT = 111_195.0


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- the rules (pure)


@pytest.mark.parametrize(
    ("asked", "nearest", "offered", "expected"),
    [
        ("xl", {"standard": 300.0, "comfort": 100.0}, ("standard", "comfort", "xl"), ("comfort", "standard")),
        ("xl", {"standard": 300.0, "comfort": 100.0}, ("standard", "xl"), ("standard",)),  # comfort has no fare
        ("xl", {}, ("standard", "comfort", "xl", "van"), ()),  # nobody at all
        ("xl", {"xl": 900.0, "standard": 10.0}, ("standard", "xl"), ()),  # the class asked is near
        ("van", {"comfort": 500.0, "standard": 500.0}, ("standard", "comfort", "van"), ("standard", "comfort")),
        ("standard", {"van": 50.0}, ("standard", "van"), ("van",)),
    ],
)
def test_suggest(asked, nearest, offered, expected):
    assert suggest(asked, nearest, offered) == expected


@pytest.mark.parametrize(
    ("vehicle_class", "near", "patience_s", "notice", "minutes"),
    [
        ("xl", 0, 300.0, "No XL car is near: dispatch will keep looking for 5 minutes.", 5),
        ("van", 0, 61.0, "No van is near: dispatch will keep looking for 2 minutes.", 2),
        ("standard", 0, 60.0, "No standard car is near: dispatch will keep looking for 1 minute.", 1),
        ("comfort", 0, 0.0, "No comfort car is near: dispatch will not wait for one to come near.", 0),
        ("xl", 3, 300.0, None, 5),
    ],
)
def test_what_the_rider_is_told(vehicle_class, near, patience_s, notice, minutes):
    availability = Availability(vehicle_class, near, (), patience_s)
    body = availability.to_json()
    assert body["notice"] == notice and availability.notice() == notice
    assert body["needs_confirmation"] is (near == 0)
    assert body["keep_looking_minutes"] == minutes and body["keep_looking_s"] == patience_s


# ---------------------------------------------------------------- through the API


@pytest.fixture
async def rider(app, db):
    for vehicle_class in ("standard", "comfort", "xl"):  # no van fare
        await make_fare(db, vehicle_class)
    _, token = await make_user(db, "customer")
    return token


async def driver_at(app, db, metres: float, vehicle_class: str) -> int:
    plate = f"B-{vehicle_class[:2].upper()}-{int(metres)}"
    driver, _ = await make_driver(db, f"{vehicle_class} at {metres:g} m", plate=plate)
    await db.execute("UPDATE vehicles SET class = $1 WHERE plate = $2", vehicle_class, plate)
    await place_driver(services(app).store, driver.id, PICKUP["lat"] + metres / M_PER_DEG_LAT, PICKUP["lng"])
    return driver.id


async def quote(client, token: str, vehicle_class: str, **extra) -> dict:
    body = {"pickup": PICKUP, "dropoff": DROPOFF, "vehicle_class": vehicle_class, **extra}
    r = await client.post("/api/v1/quotes", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def book(client, token: str, quote_id: int, **extra):
    body = {"quote_id": quote_id, "passenger": {"name": "Rita", "phone": "+49 30 5550101"}, **extra}
    return await client.post("/api/v1/bookings", json=body, headers=bearer(token))


async def test_a_quote_says_who_is_near_and_suggests_the_classes_that_are(client, app, db, rider):
    await driver_at(app, db, 400, "standard")
    await driver_at(app, db, 900, "standard")
    await driver_at(app, db, 200, "comfort")
    await driver_at(app, db, 300, "van")  # near, but vans have no fare here: never suggested
    beyond = services(app).settings.dispatch_max_rings * services(app).settings.dispatch_ring_m + 300
    await driver_at(app, db, beyond, "xl")  # an XL driver, out of dispatch reach

    xl = await quote(client, rider, "xl")
    assert xl["eta_pickup_s"] is None
    assert xl["availability"] == {
        "drivers_near": 0,
        "suggested_classes": ["comfort", "standard"],  # nearest first
        "needs_confirmation": True,
        "keep_looking_s": 300.0,
        "keep_looking_minutes": 5,
        "notice": "No XL car is near: dispatch will keep looking for 5 minutes.",
    }
    standard = await quote(client, rider, "standard")
    assert standard["availability"]["drivers_near"] == 2 and standard["availability"]["suggested_classes"] == []
    assert standard["availability"]["needs_confirmation"] is False and standard["availability"]["notice"] is None
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    ahead = await quote(client, rider, "xl", pickup_at=later)
    assert ahead["availability"] is None  # who is near now says nothing about then


async def test_booking_for_now_with_no_driver_near_needs_a_confirmation(client, app, db, rider):
    await driver_at(app, db, 300, "standard")
    xl = await quote(client, rider, "xl")
    r = await book(client, rider, xl["quote_id"])
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"].endswith("/no-driver-near")
    assert "no XL car is near: dispatch will keep looking for 5 minutes" in problem["detail"]
    assert '"confirm_no_driver": true' in problem["detail"]
    assert (problem["vehicle_class"], problem["keep_looking_minutes"], problem["keep_looking_s"]) == ("xl", 5, 300.0)
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0
    assert await db.fetchval("SELECT used_at FROM quotes WHERE id = $1", xl["quote_id"]) is None  # still usable

    r = await book(client, rider, xl["quote_id"], confirm_no_driver=True)
    assert r.status_code == 201, r.text
    booking = r.json()
    assert booking["status"] == "searching"
    created = datetime.fromisoformat(booking["created_at"])
    until = datetime.fromisoformat(booking["search_until"])
    assert until - created == timedelta(seconds=300)  # how long dispatch keeps looking
    started = await db.fetchval("SELECT search_started_at FROM bookings WHERE id = $1", booking["id"])
    assert started == created


async def test_a_quote_with_a_driver_near_books_without_confirmation(client, app, db, rider):
    await driver_at(app, db, 300, "standard")
    standard = await quote(client, rider, "standard")
    r = await book(client, rider, standard["quote_id"])
    assert r.status_code == 201, r.text


async def test_scheduled_bookings_need_no_confirmation(client, app, db, rider):
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    later = await quote(client, rider, "xl", pickup_at=ahead)  # nobody anywhere
    r = await book(client, rider, later["quote_id"])
    assert r.status_code == 201 and r.json()["status"] == "scheduled", r.text
    assert r.json()["search_until"] is None
    # A quote for now, booked for later: no confirmation either.
    now = await quote(client, rider, "xl")
    assert now["availability"]["needs_confirmation"] is True
    r = await book(client, rider, now["quote_id"], scheduled_for=ahead)
    assert r.status_code == 201 and r.json()["status"] == "scheduled", r.text


async def test_the_contract_is_in_the_openapi_document(client, app, db, rider):
    await driver_at(app, db, 300, "standard")
    xl = await quote(client, rider, "xl")
    QuoteOut.model_validate(xl)  # the documented shapes are the real ones
    booking = (await book(client, rider, xl["quote_id"], confirm_no_driver=True)).json()
    BookingOut.model_validate(booking)
    spec = (await client.get("/openapi.json")).json()
    assert {"drivers_near", "suggested_classes", "needs_confirmation", "keep_looking_s", "notice"} <= set(
        spec["components"]["schemas"]["AvailabilityOut"]["properties"]
    )
    post_booking = spec["paths"]["/api/v1/bookings"]["post"]
    body = post_booking["requestBody"]["content"]["application/json"]["schema"]
    assert "confirm_no_driver" in body["properties"]
    assert {"201", "409", "422"} <= set(post_booking["responses"])
    assert "no-driver-near" in post_booking["description"]
    assert "201" in spec["paths"]["/api/v1/quotes"]["post"]["responses"]
