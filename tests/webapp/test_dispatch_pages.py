"""The control room's booking queue, booking card, phone bookings and manual dispatch (real app)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from helpers import browser_login, make_driver, make_fare, make_user, place_driver, wait_for

from hexfleet.rides import bookings, quotes
from webapp.services import services

HX = {"HX-Request": "true"}


@pytest.fixture
async def desk(client, db):
    await make_fare(db)
    user, _ = await make_user(db, "dispatcher")
    return {**await browser_login(client, user.email), **HX}


async def booking(app, db, *, later: bool = False):
    rides = services(app).rides
    customer, _ = await make_user(db, "customer")
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest((52.52, 13.405), (52.53, 13.43)))
    when = datetime.now(UTC) + timedelta(hours=1) if later else None
    return await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+4930555", None, when, confirm_no_driver=True),
    )


def outcome(html: str) -> str:
    """The line at the top of a booking card that says what an action did."""
    found = re.search(r'<div class="alert alert-(?:ok|error) card-outcome"[^>]*>([^<]*)</div>', html)
    assert found, html
    return unescape(found.group(1))


def section(html: str, key: str) -> str:
    return html.split(f'class="queue-section queue-{key}"', 1)[1].split("</section>", 1)[0]


async def test_the_queue_puts_what_needs_a_person_first(client, app, db, desk):
    no_driver = await booking(app, db)  # no drivers anywhere: gives up once its patience has run out

    async def gave_up():
        return await db.fetchval("SELECT status FROM bookings WHERE id = $1", no_driver.id) == "no_driver"

    from hexfleet.rides import dispatch

    rides = services(app).rides
    rides.clock = lambda: time.time() + rides.settings.dispatch_patience_s
    await dispatch.offer_next(rides, no_driver.id)
    await wait_for(gave_up)
    scheduled = await booking(app, db, later=True)
    html = (await client.get("/ui/bookings", headers=desk)).text
    assert f"#{no_driver.id} · Rita" in section(html, "attention")
    assert f"#{scheduled.id} · Rita" in section(html, "scheduled") and "pickup " in section(html, "scheduled")
    assert "No ride is waiting for a driver." in section(html, "searching")
    assert 'data-attention="1"' in html
    assert html.index("queue-attention") < html.index("queue-searching") < html.index("queue-scheduled")


async def test_the_card_offers_the_nearest_drivers_and_assigns_one(client, app, db, desk):
    driver, _ = await make_driver(db, "Close By", "B-CB-1")
    await place_driver(services(app).store, driver.id, 52.521, 13.405)
    b = await booking(app, db, later=True)
    card = (await client.get(f"/ui/bookings/{b.id}", headers=desk)).text
    assert "Close By" in card and f'data-assign="{driver.id}"' in card
    # 111 m away (0.001° of latitude): a distance element the page shows in the dispatcher's locale.
    assert re.search(r'<data class="distance" value="11\d">11\d m</data>', card), card
    r = await client.post(f"/ui/bookings/{b.id}/assign", data={"driver_id": str(driver.id)}, headers=desk)
    assert r.status_code == 200 and r.headers["HX-Trigger"] == "bookings-changed"
    assert outcome(r.text) == "Assigned to Close By (B-CB-1)."  # the card's first line says what happened
    assert await db.fetchval("SELECT driver_id FROM bookings WHERE id = $1", b.id) == driver.id
    # Now the ride has a driver: giving it to another is folded away and asks first.
    assert '<details class="nearest reassign"' in r.text
    assert f'hx-confirm="Give booking #{b.id} to this driver instead of Close By?"' in r.text
    again = await client.post(f"/ui/bookings/{b.id}/assign", data={"driver_id": str(driver.id)}, headers=desk)
    assert "already has this ride" in again.text  # a refusal is shown in the card
    bad = await client.post(f"/ui/bookings/{b.id}/assign", data={"driver_id": "x"}, headers=desk)
    assert "choose a driver" in bad.text
    cancelled = await client.post(f"/ui/bookings/{b.id}/cancel", data={"reason": "caller hung up"}, headers=desk)
    assert outcome(cancelled.text) == f"Booking #{b.id} cancelled: caller hung up."
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", driver.id) == "available"


async def test_a_phone_booking_is_priced_then_booked(client, app, db, desk):
    form = await client.get("/ui/bookings/new", headers=desk)
    assert 'id="phone-booking-form"' in form.text and "standard" in form.text
    fields = {
        "passenger_name": "Carl Caller", "passenger_phone": "+49 30 5550199", "pickup_lat": "52.5205",
        "pickup_lng": "13.4095", "dropoff_lat": "52.531", "dropoff_lng": "13.429", "vehicle_class": "standard",
        "when": "now", "notes": "",
    }  # fmt: skip
    quote = await client.post("/ui/bookings/quote", data=fields, headers=desk)
    assert "Price for Carl Caller" in quote.text and "EUR" in quote.text
    # Nobody is on duty: the card says so, and its button books anyway (the confirmation).
    assert "No standard car is near: dispatch will keep looking for 5 minutes." in quote.text
    assert "Book anyway: keep looking 5 min" in quote.text
    assert 'name="confirm_no_driver" value="yes"' in quote.text
    quote_id = re.search(r'name="quote_id" value="(\d+)"', quote.text).group(1)
    unconfirmed = await client.post("/ui/bookings", data={**fields, "quote_id": quote_id}, headers=desk)
    assert "no standard car is near" in unconfirmed.text and 'id="phone-booking-form"' in unconfirmed.text
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0
    confirmed = {**fields, "quote_id": quote_id, "confirm_no_driver": "yes"}
    booked = await client.post("/ui/bookings", data=confirmed, headers=desk)
    assert "for Carl Caller" in booked.text and "Booking #" in booked.text
    row = await db.fetchrow("SELECT customer_id, created_by, passenger_phone FROM bookings")
    assert row["customer_id"] is None and row["created_by"] is not None and row["passenger_phone"] == "+49 30 5550199"


async def test_a_phone_booking_with_a_driver_near_needs_no_confirmation(client, app, db, desk):
    driver, _ = await make_driver(db, "Close By", "B-CB-2")
    await place_driver(services(app).store, driver.id, 52.5206, 13.4095)
    fields = {
        "passenger_name": "Carl Caller", "passenger_phone": "+49 30 5550199", "pickup_lat": "52.5205",
        "pickup_lng": "13.4095", "dropoff_lat": "52.531", "dropoff_lng": "13.429", "vehicle_class": "standard",
        "when": "now", "notes": "",
    }  # fmt: skip
    quote = await client.post("/ui/bookings/quote", data=fields, headers=desk)
    assert "is near:" not in quote.text and "confirm_no_driver" not in quote.text and "Book it" in quote.text
    quote_id = re.search(r'name="quote_id" value="(\d+)"', quote.text).group(1)
    booked = await client.post("/ui/bookings", data={**fields, "quote_id": quote_id}, headers=desk)
    assert "Booking #" in booked.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pickup_lat": ""}, "choose the pickup from the search results, set it on the map, or type its coordinates"),
        ({"passenger_phone": "call me"}, None),  # priced first; the phone is checked when booking
        ({"dropoff_lat": "52.5205", "dropoff_lng": "13.4095"}, "same place"),
        ({"when": "later", "scheduled_for": "not a time"}, "pick a date and time"),
        ({"when": "later", "scheduled_for": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}, "15 minutes"),
    ],
)
async def test_phone_booking_mistakes_are_shown_in_the_form(client, db, desk, change, message):
    fields = {
        "passenger_name": "Carl", "passenger_phone": "+49 30 5550199", "pickup_lat": "52.5205",
        "pickup_lng": "13.4095", "dropoff_lat": "52.531", "dropoff_lng": "13.429", "vehicle_class": "standard",
        "when": "now", **change,
    }  # fmt: skip
    r = await client.post("/ui/bookings/quote", data=fields, headers=desk)
    assert r.status_code == 200
    if message:
        assert message in r.text and 'id="phone-booking-form"' in r.text
    else:
        quote_id = re.search(r'name="quote_id" value="(\d+)"', r.text).group(1)
        r = await client.post("/ui/bookings", data={**fields, "quote_id": quote_id}, headers=desk)
        assert "passenger.phone is not a phone number" in r.text
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0


async def test_customers_cannot_open_the_queue(client, db):
    user, _ = await make_user(db, "customer")
    headers = await browser_login(client, user.email)
    assert (await client.get("/ui/bookings", headers=headers)).status_code == 403
    assert (await client.get("/ui/bookings/new", headers=headers)).status_code == 403
