"""What zones do to quotes and bookings, through the real API: a pickup outside every active
service area is refused (422 outside-service-area) and so is its booking once an area appears;
an airport's fees and a fixed fare are lines of the quote's breakdown; surge is off for a fixed
fare that says so. The zones come from the in-memory cover (changed through the API, so this
process's cover is rebuilt at once)."""

from __future__ import annotations

import pytest
from helpers import make_fare, make_user

from webapp.services import services

CENTRE_PICKUP = {"lat": 52.5200, "lng": 13.4050}
CENTRE_DROPOFF = {"lat": 52.5300, "lng": 13.4300}
AIRPORT = {"lat": 52.3667, "lng": 13.5033}  # BER
OUTSIDE = {"lat": 52.6500, "lng": 13.0500}

CITY = {
    "name": "Berlin",
    "kind": "service_area",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[13.30, 52.45], [13.50, 52.45], [13.50, 52.58], [13.30, 52.58], [13.30, 52.45]]],
    },
}
CENTRE = {
    "name": "Mitte",
    "kind": "custom",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[13.38, 52.50], [13.44, 52.50], [13.44, 52.54], [13.38, 52.54], [13.38, 52.50]]],
    },
}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def people(app, db):
    await make_fare(db, "standard")
    await make_fare(db, "comfort")
    _, customer = await make_user(db, "customer")
    _, admin = await make_user(db, "admin")
    return {"customer": bearer(customer), "admin": bearer(admin)}


async def add_zone(client, people, zone: dict) -> dict:
    res = await client.post("/api/v1/zones", json=zone, headers=people["admin"])
    assert res.status_code == 201, res.text
    return res.json()


async def quote(client, people, pickup, dropoff, vehicle_class="standard"):
    body = {"pickup": pickup, "dropoff": dropoff, "vehicle_class": vehicle_class}
    return await client.post("/api/v1/quotes", json=body, headers=people["customer"])


async def test_without_service_areas_everywhere_is_served(client, people):
    await add_zone(client, people, CENTRE)  # other kinds of zone do not restrict anything
    res = await quote(client, people, OUTSIDE, CENTRE_DROPOFF)
    assert res.status_code == 201, res.text
    breakdown = res.json()["breakdown"]
    assert breakdown["zone_lines"] == [] and breakdown["fixed_fare"] is None and breakdown["zone_fees_minor"] == 0


async def test_a_pickup_outside_the_service_area_is_refused(client, people, db):
    city = await add_zone(client, people, CITY)
    res = await quote(client, people, OUTSIDE, CENTRE_DROPOFF)
    assert res.status_code == 422
    assert res.json()["type"].endswith("/outside-service-area")
    assert "outside the service area" in res.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM quotes") == 0
    # Inside: priced; a drop-off outside is allowed by default.
    assert (await quote(client, people, CENTRE_PICKUP, OUTSIDE)).status_code == 201
    # Unless the area says otherwise.
    strict = {**CITY, "rules": {"allow_dropoff_outside": False}}
    assert (await client.put(f"/api/v1/zones/{city['id']}", json=strict, headers=people["admin"])).status_code == 200
    res = await quote(client, people, CENTRE_PICKUP, OUTSIDE)
    assert res.status_code == 422 and res.json()["type"].endswith("/dropoff-outside-service-area")
    # An inactive service area restricts nothing.
    off = {**CITY, "active": False}
    assert (await client.put(f"/api/v1/zones/{city['id']}", json=off, headers=people["admin"])).status_code == 200
    assert (await quote(client, people, OUTSIDE, CENTRE_DROPOFF)).status_code == 201


async def test_a_booking_is_refused_once_its_pickup_is_no_longer_served(client, people, db):
    res = await quote(client, people, OUTSIDE, CENTRE_DROPOFF)
    assert res.status_code == 201
    await add_zone(client, people, CITY)  # switched on between the quote and the booking
    body = {"quote_id": res.json()["quote_id"], "passenger": {"name": "Rita", "phone": "+49 30 5550101"},
            "confirm_no_driver": True}  # fmt: skip
    booked = await client.post("/api/v1/bookings", json=body, headers=people["customer"])
    assert booked.status_code == 422 and booked.json()["type"].endswith("/outside-service-area")
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0
    assert await db.fetchval("SELECT used_at FROM quotes") is None  # the claim rolled back


async def test_airport_fees_and_fixed_fares_are_lines_of_the_breakdown(client, people, app):
    await add_zone(client, people, CITY)
    mitte = await add_zone(client, people, CENTRE)
    ber = {
        "name": "BER Airport",
        "kind": "airport",
        "geometry": {"type": "Circle", "center": [13.5033, 52.3667], "radius_m": 3000},
        "rules": {
            "pickup_fee_minor": 500,
            "dropoff_fee_minor": 250,
            "fixed_fares": [
                {"to_zone_id": mitte["id"], "vehicle_class": "standard", "amount_minor": 4500, "no_surge": True},
                {"from_zone_id": mitte["id"], "vehicle_class": "standard", "amount_minor": 4000, "no_surge": False},
            ],
        },
    }
    # The airport lies outside the city: it must be a service area too for pickups there.
    airport = await add_zone(client, people, ber)
    served = {**CITY, "name": "BER service", "geometry": ber["geometry"]}
    await add_zone(client, people, served)

    # Surge at the airport: a fixed fare with no_surge ignores it.
    rides = services(app).rides
    cell = rides.surge.cell(AIRPORT["lat"], AIRPORT["lng"])
    await rides.surge.replace({cell: 20})
    res = await quote(client, people, AIRPORT, CENTRE_PICKUP)
    assert res.status_code == 201, res.text
    body = res.json()
    parts = body["breakdown"]
    assert parts["fixed_fare"] == {"amount_minor": 4500, "no_surge": True, "from_zone_id": airport["id"],
                                   "to_zone_id": mitte["id"], "label": "Fixed fare: BER Airport → Mitte"}  # fmt: skip
    assert parts["zone_lines"] == [
        {"code": "pickup_fee", "label": "Pickup fee: BER Airport", "amount_minor": 500, "zone_id": airport["id"]}
    ]
    assert parts["fixed_fare_minor"] == 4500 and parts["surge_minor"] == 0 and body["surge_multiplier"] == 1.0
    assert parts["base_minor"] == parts["distance_minor"] == parts["time_minor"] == 0
    booking_fee = parts["booking_fee_minor"]
    assert body["price_minor"] == parts["total_minor"] == 4500 + booking_fee + 500

    # Another class: no fixed fare, metered (with the airport's surge), the pickup fee still a line.
    res = await quote(client, people, AIRPORT, CENTRE_PICKUP, "comfort")
    parts = res.json()["breakdown"]
    assert parts["fixed_fare"] is None and parts["surge_minor"] > 0 and parts["zone_fees_minor"] == 500

    # Towards the airport: its drop-off fee, and the fixed fare that lets surge apply.
    centre_cell = rides.surge.cell(CENTRE_PICKUP["lat"], CENTRE_PICKUP["lng"])
    await rides.surge.replace({centre_cell: 15})
    res = await quote(client, people, CENTRE_PICKUP, AIRPORT)
    body = res.json()
    parts = body["breakdown"]
    assert parts["fixed_fare"]["label"] == "Fixed fare: Mitte → BER Airport"
    assert parts["fixed_fare_minor"] == 4000 and parts["surge_minor"] == 2000 and body["surge_multiplier"] == 1.5
    assert [line["code"] for line in parts["zone_lines"]] == ["dropoff_fee"]
    assert body["price_minor"] == 4000 + 2000 + parts["booking_fee_minor"] + 250
    # A booking keeps the quote's breakdown, lines included.
    booked = await client.post("/api/v1/bookings", json={"quote_id": body["quote_id"], "confirm_no_driver": True,
                               "passenger": {"name": "Rita", "phone": "+49 30 5550101"}},
                               headers=people["customer"])  # fmt: skip
    assert booked.status_code == 201, booked.text
    assert booked.json()["breakdown"] == parts
