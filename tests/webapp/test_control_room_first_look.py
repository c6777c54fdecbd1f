"""What a dispatcher meets first in the control room (real app): the booking card says what an
action did and folds the Reassign buttons away behind a confirmation; the ends of a ride by name
(coordinates on hover) in the card, the queue and the price; a class with a car near one click
away; a driver's position by name; the staff sections in the header."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from helpers import browser_login, make_driver, make_fare, make_user, place_driver

from hexfleet.devtools.demo import DEMO_PLACES
from hexfleet.drivers import queries as driver_queries
from hexfleet.places import queries as place_queries
from hexfleet.rides import bookings, quotes
from webapp.pages.dispatch import driver_words, with_article
from webapp.pages.template_filters import place_point
from webapp.services import services

HX = {"HX-Request": "true"}
M_PER_DEG_LAT = 111_195.0
ALEX = next(p for p in DEMO_PLACES if p.name == "Alexanderplatz")
NEAR_ALEX = (ALEX.lat + 60 / M_PER_DEG_LAT, ALEX.lng)  # 60 m north of the square
NOWHERE = (52.4400, 13.5600)  # a field in Köpenick: no place within 150 m


@pytest.fixture
async def desk(client, db):
    await make_fare(db)
    user, _ = await make_user(db, "dispatcher")
    return {**await browser_login(client, user.email), **HX}


def outcome(html: str) -> str:
    """The line at the top of a booking card that says what an action did."""
    found = re.search(r'<div class="alert alert-(?:ok|error) card-outcome"[^>]*>([^<]*)</div>', html)
    assert found, html
    return unescape(found.group(1))


async def scheduled_booking(app, db, pickup=(52.52, 13.405), dropoff=(52.53, 13.43), **labels):
    rides = services(app).rides
    customer, _ = await make_user(db, "customer")
    when = datetime.now(UTC) + timedelta(hours=1)
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(pickup, dropoff, pickup_at=when, **labels))
    return await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+4930555", "Ring twice, 3rd floor", when),
    )


# ---------------------------------------------------------------- pure tables


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ("van", "a van"),
        ("standard car", "a standard car"),
        ("comfort car", "a comfort car"),
        ("XL car", "an XL car"),
        ("SUV", "an SUV"),
        ("estate", "an estate"),
        ("Sedan", "a Sedan"),  # a word, not letters
        ("minibus", "a minibus"),
    ],
)
def test_a_class_with_its_article(words, said):
    assert with_article(words) == said


@pytest.mark.parametrize(
    ("name", "plate", "said"),
    [("Ann Lee", "B-HF 1", "Ann Lee (B-HF 1)"), ("Ann Lee", None, "Ann Lee"), ("Ann Lee", "", "Ann Lee")],
)
def test_a_driver_as_a_dispatcher_names_them(name, plate, said):
    assert driver_words(name, plate) == said


@pytest.mark.parametrize(
    ("label", "tap", "markup"),
    [
        (
            "Alexanderplatz, 60 m",
            True,
            '<button type="button" class="place-name" data-coords="52.52190, 13.41320" title="52.52190, 13.41320 '
            '(tap for the coordinates)" aria-pressed="false">Alexanderplatz, 60 m</button>',
        ),
        (
            "Alexanderplatz, 60 m",
            False,
            '<span class="place-name" title="52.52190, 13.41320">Alexanderplatz, 60 m</span>',
        ),
        (None, True, '<span class="coords mono">52.52190, 13.41320</span>'),
        ("", False, '<span class="coords mono">52.52190, 13.41320</span>'),
        (
            '<b>"Ritz"</b>',
            False,
            '<span class="place-name" title="52.52190, 13.41320">&lt;b&gt;&#34;Ritz&#34;&lt;/b&gt;</span>',
        ),
    ],
)
def test_a_place_by_name_with_its_coordinates_on_hover(label, tap, markup):
    assert str(place_point(label, 52.521904, 13.413196, tap=tap)) == markup


# ---------------------------------------------------------------- what an action did


async def test_each_action_says_what_it_did_at_the_top_of_the_card(client, app, db, desk):
    ann, _ = await make_driver(db, "Ann Lee", "B-HF-1")
    ben, _ = await make_driver(db, "Ben Ode")  # no plate
    for driver, north in ((ann, 0.001), (ben, 0.002)):
        await place_driver(services(app).store, driver.id, 52.52 + north, 13.405)
    b = await scheduled_booking(app, db)

    card = (await client.get(f"/ui/bookings/{b.id}", headers=desk)).text
    assert "card-outcome" not in card  # a card only opened says nothing of the kind
    assert '<h3 id="nearest-title" class="section-title">Nearest available drivers</h3>' in card
    assert "hx-confirm" not in card.split('class="nearest')[1].split("</section>")[0]  # a first Assign asks nothing

    r = await client.post(f"/ui/bookings/{b.id}/assign", data={"driver_id": str(ann.id)}, headers=desk)
    assert outcome(r.text) == "Assigned to Ann Lee (B-HF-1)."
    folded = r.text.split('<details class="nearest reassign"', 1)[1].split("</details>", 1)[0]
    assert "Give the ride to another driver" in folded and f'data-assign="{ben.id}"' in folded
    assert f'hx-confirm="Give booking #{b.id} to Ben Ode instead of Ann Lee?"' in folded
    assert f'hx-confirm="Give booking #{b.id} to this driver instead of Ann Lee?"' in folded  # by number too

    r = await client.post(f"/ui/bookings/{b.id}/assign", data={"driver_id": f"#{ben.id}"}, headers=desk)
    assert outcome(r.text) == "Reassigned to Ben Ode (was Ann Lee)."
    refused = await client.post(f"/ui/bookings/{b.id}/assign", data={"driver_id": str(ben.id)}, headers=desk)
    assert outcome(refused.text) == "Ben Ode already has this ride"  # a refusal is the first line too

    r = await client.post(f"/ui/bookings/{b.id}/cancel", data={"reason": ""}, headers=desk)
    assert outcome(r.text) == f"Booking #{b.id} cancelled."

    later = await scheduled_booking(app, db, pickup=NOWHERE, dropoff=(52.45, 13.57))
    r = await client.post(f"/ui/bookings/{later.id}/dispatch", headers=desk)
    assert outcome(r.text) == "Dispatch restarted: looking for a driver again."
    assert r.headers["HX-Trigger"] == "bookings-changed"


# ---------------------------------------------------------------- places by name


async def test_a_phone_booking_keeps_the_names_it_was_given(client, app, db, desk):
    fields = {
        "passenger_name": "Carl Caller", "passenger_phone": "+49 30 5550199", "pickup_lat": "52.5205",
        "pickup_lng": "13.4095", "pickup_label": "Park Inn by Radisson", "dropoff_lat": "52.531",
        "dropoff_lng": "13.429", "dropoff_label": "", "vehicle_class": "standard", "when": "later",
        "scheduled_for": (datetime.now(UTC) + timedelta(hours=2)).isoformat(), "notes": "Two suitcases",
    }  # fmt: skip
    quote = (await client.post("/ui/bookings/quote", data=fields, headers=desk)).text
    assert '<button type="button" class="place-name" data-coords="52.52050, 13.40950"' in quote
    assert ">Park Inn by Radisson</button>" in quote
    assert '<span class="coords mono">52.53100, 13.42900</span>' in quote  # nothing near, nothing chosen
    # Back to the form ("Change"): the name goes with the point.
    assert '<input type="hidden" name="pickup_label" value="Park Inn by Radisson">' in quote
    edit = await client.post("/ui/bookings/edit", data=fields, headers=desk)
    assert (
        'value="Park Inn by Radisson"' in edit.text and 'name="pickup_label" value="Park Inn by Radisson"' in edit.text
    )
    assert 'name="dropoff_lat" value="52.531"' in edit.text and 'value="52.531, 13.429"' in edit.text  # typed numbers

    quote_id = re.search(r'name="quote_id" value="(\d+)"', quote).group(1)
    card = (await client.post("/ui/bookings", data={**fields, "quote_id": quote_id}, headers=desk)).text
    assert 'data-pickup-label="Park Inn by Radisson"' in card
    assert re.search(r'<dt>Pickup</dt><dd class="place-fact"><button [^>]*>Park Inn by Radisson</button>', card)
    assert '<p class="driver-note"><span class="driver-note-title">Note for the driver</span> Two suitcases</p>' in card
    queue = (await client.get("/ui/bookings", headers=desk)).text
    assert '<span class="place-name" title="52.52050, 13.40950">Park Inn by Radisson</span>' in queue
    assert '<span class="coords mono">52.53100, 13.42900</span>' in queue


async def test_an_end_booked_without_a_name_is_named_after_a_place_added_since(client, app, db, desk):
    b = await scheduled_booking(app, db, pickup=NEAR_ALEX, dropoff=NOWHERE)
    assert b.pickup_label is None  # no place then
    before = (await client.get(f"/ui/bookings/{b.id}", headers=desk)).text
    assert f'<span class="coords mono">{NEAR_ALEX[0]:.5f}, {NEAR_ALEX[1]:.5f}</span>' in before
    async with db.acquire() as conn:
        await place_queries.add_missing_places(conn, [ALEX])
    await services(app).places.reload()
    after = (await client.get(f"/ui/bookings/{b.id}", headers=desk)).text
    assert ">Alexanderplatz, 60 m</button>" in after and 'data-pickup-label="Alexanderplatz, 60 m"' in after
    assert f'<span class="coords mono">{NOWHERE[0]:.5f}, {NOWHERE[1]:.5f}</span>' in after


async def test_a_driver_s_position_by_name_with_the_numbers_under_it(client, app, db, desk):
    async with db.acquire() as conn:
        await place_queries.add_missing_places(conn, [ALEX])
    await services(app).places.reload()
    near, _ = await make_driver(db, "Near Alex")
    far, _ = await make_driver(db, "Far Away")
    await place_driver(services(app).store, near.id, *NEAR_ALEX)
    await place_driver(services(app).store, far.id, *NOWHERE)
    card = (await client.get(f"/ui/drivers/{near.id}", headers=desk)).text
    assert (
        f'<span class="place-name" title="{NEAR_ALEX[0]:.5f}, {NEAR_ALEX[1]:.5f}">Alexanderplatz, 60 m</span>' in card
    )
    assert f'<span class="coords-line mono">{NEAR_ALEX[0]:.5f}, {NEAR_ALEX[1]:.5f}</span>' in card
    assert 'class="detail-name" title="Near Alex"' in card
    away = (await client.get(f"/ui/drivers/{far.id}", headers=desk)).text
    assert f'<span class="mono">{NOWHERE[0]:.5f}, {NOWHERE[1]:.5f}</span>' in away and "place-name" not in away


# ---------------------------------------------------------------- a class with a car near


async def test_the_price_offers_the_classes_that_have_a_car_near(client, app, db, desk):
    await make_fare(db, "van")
    van, _ = await make_driver(db, "Vera Van", "B-VAN-1")
    async with db.acquire() as conn:
        await driver_queries.set_vehicle_class(conn, van.id, "van")
    await place_driver(services(app).store, van.id, 52.5206, 13.4095)
    fields = {
        "passenger_name": "Carl Caller", "passenger_phone": "+49 30 5550199", "pickup_lat": "52.5205",
        "pickup_lng": "13.4095", "pickup_label": "Park Inn by Radisson", "dropoff_lat": "52.531",
        "dropoff_lng": "13.429", "vehicle_class": "standard", "when": "now", "notes": "",
    }  # fmt: skip
    quote = (await client.post("/ui/bookings/quote", data=fields, headers=desk)).text
    assert "No standard car is near: dispatch will keep looking for 5 minutes." in quote
    assert quote.index('id="quote-no-driver"') < quote.index('class="quote-price"')  # said before the price
    assert "no standard car in reach" in quote
    suggestion = re.search(r'<form hx-post="/ui/bookings/quote"[^>]*>(.*?)</form>', quote, re.S).group(1)
    assert "Price a van instead" in suggestion
    assert re.findall(r'name="vehicle_class" value="([^"]*)"', suggestion) == ["van"]  # once: no "standard" before it
    assert 'name="pickup_label" value="Park Inn by Radisson"' in suggestion
    sent = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', suggestion))
    as_van = (await client.post("/ui/bookings/quote", data=sent, headers=desk)).text
    assert (
        "quote-no-driver" not in as_van
        and "Book it" in as_van
        and '<span class="muted quote-class">van</span>' in as_van
    )


# ---------------------------------------------------------------- the header


async def test_staff_have_their_sections_in_the_header(client, browsers, db):
    dispatcher, _ = await make_user(db, "dispatcher")
    headers = await browser_login(client, dispatcher.email)
    room = (await client.get("/", headers=headers)).text
    links = room.split('<div class="staff-nav-links">', 1)[1].split("</div>", 1)[0]
    assert '<a class="staff-nav-link" href="/" aria-current="page">Control room</a>' in links
    assert '<a class="staff-nav-link" href="/history">History</a>' in links
    assert '<a class="staff-nav-link" href="/analytics">Analytics</a>' in links
    assert "Fleet admin" not in room
    assert '<summary><span class="visually-hidden">Sections: </span>Control room</summary>' in room
    history = (await client.get("/history", headers=headers)).text
    assert '<a class="staff-nav-link" href="/history" aria-current="page">History</a>' in history
    assert "Sections: </span>History</summary>" in history
    account = (await client.get("/account", headers=headers)).text
    assert "Sections: </span>Menu</summary>" in account and 'aria-current="page">Control room' not in account

    admin, _ = await make_user(db, "admin")
    admin_browser = browsers()
    headers = await browser_login(admin_browser, admin.email)
    fleet = (await admin_browser.get("/admin/drivers", headers=headers)).text
    assert '<a class="staff-nav-link" href="/admin" aria-current="page">Fleet admin</a>' in fleet

    rider, _ = await make_user(db, "customer")
    rider_browser = browsers()
    headers = await browser_login(rider_browser, rider.email)
    rides = (await rider_browser.get("/rides", headers=headers)).text
    assert "staff-nav" not in rides and "My rides" in rides
