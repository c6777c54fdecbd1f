"""The rider's pages, as a new rider meets them (real app, PostgreSQL, Redis): both ends of a ride
named wherever they are shown (/rides, the tracking page) with the coordinates a tap away, the
rider's note for the driver on their own booking only, until when a ride keeps looking for a
driver, and the booking form starting from the last passenger."""

from __future__ import annotations

import re
from datetime import datetime

from helpers import browser_login, make_fare, make_user

HAUPTBAHNHOF = {"lat": 52.5251, "lng": 13.3694}
NEAR_HBF = {"lat": 52.5251 + 60 / 111_195, "lng": 13.3694}  # 60 m north of it
CHOSEN = {"lat": 52.5200, "lng": 13.4050, "label": "Gleis 1 entrance"}
NOWHERE = {"lat": 52.4400, "lng": 13.5600}  # a field in Köpenick: no place near
VALUE = re.compile(r'id="passenger-(name|phone)"[^>]*value="([^"]*)"')


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def path_of(booking: dict) -> str:
    return "/t/" + booking["tracking_url"].rsplit("/t/", 1)[1]


async def book(client, token: str, pickup: dict, dropoff: dict, **extra) -> dict:
    quote = await client.post("/api/v1/quotes", json={"pickup": pickup, "dropoff": dropoff}, headers=bearer(token))
    assert quote.status_code == 201, quote.text
    body = {
        "quote_id": quote.json()["quote_id"],
        "passenger": {"name": "Rita Rider", "phone": "+49 30 5550101"},
        "confirm_no_driver": True,  # nobody is on duty in these tests
        **extra,
    }
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def add_place(client, db, name: str, category: str, at: dict) -> None:
    _, admin = await make_user(db, "admin")
    r = await client.post("/api/v1/places", json={"name": name, "category": category, **at}, headers=bearer(admin))
    assert r.status_code == 201, r.text


def summary(label: str, lat: float, lng: float) -> str:
    """A named end as templates/_rider_place.html shows it: the coordinates in its title and under it."""
    coords = f"{lat:.5f}, {lng:.5f}"
    return (
        f'<details class="rd-where"><summary class="rd-where-name" title="{coords}">{label}</summary>'
        f'<span class="rd-where-coords">{coords}</span></details>'
    )


def card(html: str, booking_id: int) -> str:
    """One ride's card in the rides list."""
    return html.split(f'data-booking-id="{booking_id}"', 1)[1].split('<li class="ride-card', 1)[0]


async def test_both_ends_are_named_with_the_coordinates_a_tap_away(client, db):
    await make_fare(db)
    user, token = await make_user(db, "customer")
    # Booked before the station was listed: no name kept, so the pages name it now.
    early = await book(client, token, NEAR_HBF, NOWHERE)
    assert early["pickup"]["label"] is None
    await add_place(client, db, "Hauptbahnhof", "station", HAUPTBAHNHOF)
    # The rider's own name for the pickup; the drop-off a bare point the server names.
    chosen = await book(client, token, CHOSEN, NEAR_HBF)
    assert chosen["pickup"]["label"] == "Gleis 1 entrance" and chosen["dropoff"]["label"] == "Hauptbahnhof, 60 m"

    session = await browser_login(client, user.email)
    html = (await client.get("/rides", headers=session)).text
    mine, before = card(html, chosen["id"]), card(html, early["id"])
    assert summary("Gleis 1 entrance", CHOSEN["lat"], CHOSEN["lng"]) in mine
    assert summary("Hauptbahnhof, 60 m", NEAR_HBF["lat"], NEAR_HBF["lng"]) in mine
    assert summary("Hauptbahnhof, 60 m", NEAR_HBF["lat"], NEAR_HBF["lng"]) in before
    # Nothing near and no geocoder: the coordinates are all there is.
    assert '<span class="rd-where rd-where-plain">52.44000, 13.56000</span>' in before

    for headers in (session, {}):  # the rider, and whoever holds the link
        client.cookies.clear()
        page = (await client.get(path_of(chosen), headers=headers)).text
        assert summary("Gleis 1 entrance", CHOSEN["lat"], CHOSEN["lng"]) in page
        assert summary("Hauptbahnhof, 60 m", NEAR_HBF["lat"], NEAR_HBF["lng"]) in page
        panel = (await client.get(path_of(early) + "/panel", headers=headers)).text
        assert summary("Hauptbahnhof, 60 m", NEAR_HBF["lat"], NEAR_HBF["lng"]) in panel


async def test_the_rider_sees_their_note_for_the_driver_and_a_link_holder_does_not(client, db):
    await make_fare(db)
    user, token = await make_user(db, "customer")
    booking = await book(client, token, CHOSEN, NOWHERE, notes="Side entrance, <ring twice>")
    session = await browser_login(client, user.email)
    rides = (await client.get("/rides", headers=session)).text
    assert "Note for the driver:</span> Side entrance, &lt;ring twice&gt;" in card(rides, booking["id"])
    page = (await client.get(path_of(booking), headers=session)).text
    assert '<dd class="rd-driver-note">Side entrance, &lt;ring twice&gt;</dd>' in page
    client.cookies.clear()
    shared = (await client.get(path_of(booking))).text
    assert "Side entrance" not in shared and "Note for the driver" not in shared


async def test_a_ride_looking_for_a_driver_says_until_when(client, db):
    await make_fare(db)
    user, token = await make_user(db, "customer")
    booking = await book(client, token, CHOSEN, NOWHERE)  # nobody near: it keeps looking (DISPATCH_PATIENCE_S)
    assert booking["status"] == "searching" and booking["search_until"]
    until = datetime.fromisoformat(booking["search_until"].replace("Z", "+00:00"))
    shown = f'<time datetime="{until.isoformat(timespec="seconds")}" data-format="time">{until:%H:%M} UTC</time>'
    client.cookies.clear()
    page = (await client.get(path_of(booking))).text
    assert f"We are asking the drivers nearby, and keep looking until {shown}." in page
    session = await browser_login(client, user.email)
    rides = (await client.get("/rides", headers=session)).text
    assert f'<p class="ride-looking">Looking for a driver until {shown}</p>' in card(rides, booking["id"])


async def test_the_booking_form_starts_from_the_last_passenger(client, db):
    await make_fare(db)
    user, token = await make_user(db, "customer")
    session = await browser_login(client, user.email)
    first = (await client.get("/ride", headers=session)).text
    assert dict(VALUE.findall(first)) == {"name": "", "phone": ""}  # a first booking: nothing to go on
    await book(client, token, CHOSEN, NOWHERE)
    await book(client, token, CHOSEN, NOWHERE, passenger={"name": "Ben Rider", "phone": "+49 30 5550177"})
    again = (await client.get("/ride", headers=session)).text
    assert dict(VALUE.findall(again)) == {"name": "Ben Rider", "phone": "+49 30 5550177"}  # the latest
    # Nobody else's: another rider, and staff (their bookings are for callers).
    other, _ = await make_user(db, "customer")
    client.cookies.clear()
    theirs = (await client.get("/ride", headers=await browser_login(client, other.email))).text
    assert dict(VALUE.findall(theirs)) == {"name": "", "phone": ""}
    staff, staff_token = await make_user(db, "dispatcher")
    await book(client, staff_token, CHOSEN, NOWHERE, passenger={"name": "Caller Carla", "phone": "+49 30 5550155"})
    client.cookies.clear()
    desk = (await client.get("/ride", headers=await browser_login(client, staff.email))).text
    assert dict(VALUE.findall(desk)) == {"name": "", "phone": ""} and "Caller Carla" not in desk
