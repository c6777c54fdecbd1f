"""`hexfleet seed-demo`: create the demo logins, fares and places, skipping the ones that exist.

The passwords are public (they are printed by `hexfleet dev`): for local demos only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from hexfleet import security
from hexfleet.errors import Conflict
from hexfleet.places import queries as place_queries
from hexfleet.places.rules import PlaceIn
from hexfleet.rides import queries as ride_queries
from hexfleet.rides.fares import Fare
from hexfleet.settings import SettingsError
from hexfleet.users import queries

# (email, password, role)
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("dispatcher@hexfleet.local", "dispatch-demo", "dispatcher"),
    ("admin@hexfleet.local", "admin-demo", "admin"),
    ("rider@hexfleet.local", "ride-demo", "customer"),
]

# Euro fares in cents, roughly a European city's taxi tariff; admins change them with
# PUT /api/v1/fares/{class} or `hexfleet fares set`.
DEMO_FARES = [
    Fare("standard", "EUR", base_minor=250, per_km_minor=135, per_minute_minor=30, booking_fee_minor=100,
         minimum_minor=700),
    Fare("comfort", "EUR", base_minor=350, per_km_minor=180, per_minute_minor=40, booking_fee_minor=100,
         minimum_minor=1000),
    Fare("xl", "EUR", base_minor=450, per_km_minor=210, per_minute_minor=45, booking_fee_minor=100,
         minimum_minor=1200),
    Fare("van", "EUR", base_minor=600, per_km_minor=240, per_minute_minor=50, booking_fee_minor=150,
         minimum_minor=1500),
]  # fmt: skip


# Places an operator in the demo city (Berlin, MAP_CENTER) would keep: stations, the airport's
# terminals, hospitals, hotels, venues, sights and the depot, at their real positions.
P = PlaceIn
DEMO_PLACES = [
    P("Berlin Hauptbahnhof", "station", "Europaplatz 1, 10557 Berlin", 52.52508, 13.36940,
      ("Hauptbahnhof", "Hbf", "Central Station")),
    P("Alexanderplatz", "landmark", "Alexanderplatz, 10178 Berlin", 52.52192, 13.41321, ("Alex",)),
    P("Bahnhof Alexanderplatz", "station", "Dircksenstraße 2, 10179 Berlin", 52.52150, 13.41106,
      ("S+U Alexanderplatz",)),
    P("Ostbahnhof", "station", "Koppenstraße 3, 10243 Berlin", 52.51032, 13.43493, ("Berlin Ostbahnhof",)),
    P("Bahnhof Friedrichstraße", "station", "Georgenstraße 14, 10117 Berlin", 52.52029, 13.38712, ("Friedrichstraße",)),
    P("Südkreuz", "station", "General-Pape-Straße 1, 10829 Berlin", 52.47522, 13.36557, ("Berlin Südkreuz",)),
    P("BER Terminal 1", "airport", "Melli-Beese-Ring 1, 12529 Schönefeld", 52.36548, 13.50999,
      ("BER", "Flughafen BER", "Airport T1")),
    P("BER Terminal 2", "airport", "Melli-Beese-Ring 2, 12529 Schönefeld", 52.36716, 13.51389, ("Airport T2",)),
    P("Charité Campus Mitte", "hospital", "Charitéplatz 1, 10117 Berlin", 52.52568, 13.37676, ("Charite", "Charité")),
    P("Vivantes Klinikum im Friedrichshain", "hospital", "Landsberger Allee 49, 10249 Berlin", 52.52838, 13.44122,
      ("Klinikum Friedrichshain",)),
    P("Hotel Adlon Kempinski", "hotel", "Unter den Linden 77, 10117 Berlin", 52.51609, 13.38030, ("Adlon",)),
    P("Park Inn by Radisson Alexanderplatz", "hotel", "Alexanderplatz 7, 10178 Berlin", 52.52262, 13.41174,
      ("Park Inn",)),
    P("Hotel de Rome", "hotel", "Behrenstraße 37, 10117 Berlin", 52.51654, 13.39325),
    P("Brandenburger Tor", "landmark", "Pariser Platz, 10117 Berlin", 52.51628, 13.37770, ("Brandenburg Gate",)),
    P("Reichstag", "landmark", "Platz der Republik 1, 11011 Berlin", 52.51862, 13.37618, ("Bundestag",)),
    P("Potsdamer Platz", "landmark", "Potsdamer Platz, 10785 Berlin", 52.50966, 13.37597),
    P("Museumsinsel", "landmark", "Bodestraße 1-3, 10178 Berlin", 52.51693, 13.40191, ("Museum Island",)),
    P("East Side Gallery", "landmark", "Mühlenstraße 3-100, 10243 Berlin", 52.50503, 13.43955),
    P("Uber Arena", "venue", "Uber-Platz 1, 10243 Berlin", 52.50534, 13.44328, ("Mercedes-Benz Arena",)),
    P("Tempodrom", "venue", "Möckernstraße 10, 10963 Berlin", 52.50098, 13.38045),
    P("hexfleet Depot Moabit", "depot", "Beusselstraße 44, 10553 Berlin", 52.53185, 13.32934, ("Depot",)),
]  # fmt: skip
del P


def configure(parser) -> None:
    pass


async def seed_demo(dsn: str, log: Callable[[str], None] = lambda _m: None) -> list[str]:
    """Create the missing demo logins; returns the emails created by this call."""
    created: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        for email, password, role in DEMO_LOGINS:
            if await queries.get_login(conn, email) is not None:
                log(f"{email} exists, skipped")
                continue
            password_hash = await asyncio.to_thread(security.hash_password, password)
            try:
                await queries.create_user(conn, email, password_hash, role)
            except Conflict:  # a concurrent seed created it meanwhile: same outcome
                log(f"{email} exists, skipped")
                continue
            log(f"created {role} {email}")
            created.append(email)
        existing = {f.vehicle_class for f in await ride_queries.list_fares(conn)}
        for fare in DEMO_FARES:
            if fare.vehicle_class not in existing:  # an admin's fare is never overwritten
                await ride_queries.put_fare(conn, fare, None)
                log(f"fare for {fare.vehicle_class} set")
        added = await place_queries.add_missing_places(conn, DEMO_PLACES)
        if added:
            log(f"{len(added)} demo places added")
    finally:
        await conn.close()
    return created


def run(args, settings) -> int:
    if not settings.database_url:
        raise SettingsError("DATABASE_URL not set. Run `hexfleet dev`, or point it at PostgreSQL.")
    created = asyncio.run(seed_demo(settings.database_url, log=lambda m: print(f"seed: {m}")))
    print(f"seed: {len(created)} demo logins created (demo passwords: never use them in production)")
    return 0
