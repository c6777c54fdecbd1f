"""Hostile input on every route of the web app: never a 5xx, never a traceback in the log.

Every rule of ``app.url_map`` has a row in ROUTES (a test fails for a rule without one), and
each row gets two kinds of input, through a raw ASGI client (tests/webapp/hostile.py):

- enumerated: every hostile path value (ids PostgreSQL cannot hold, signs, exponents, other
  scripts' digits, NUL, invalid UTF-8), every caller (anonymous, malformed Authorization and
  cookies, each valid identity, so the wrong role too), odd headers and methods, and for the
  right caller every body case (each field missing, of the wrong JSON type, hostile text; extra
  fields; deep nesting; invalid UTF-8; NUL; bodies past MAX_BODY_BYTES; the wrong content type);
- generated: hypothesis combines them (derandomized, so every run sends the same inputs).

The app runs with its real services (PostgreSQL, Redis, the Kafka-protocol broker), rate limits
raised so the answers measure input handling, not 429s, and a stub geocoder on loopback so the
address search is really asked. The world holds one of everything a path can name: users of
each role and their browser sessions, drivers with devices, a booking with an open offer, a
tracking link, one-time driver sign-in links.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from argon2 import PasswordHasher
from helpers import browser_login, make_driver, make_fare, make_user, place_driver, wait_for
from hostile import (
    CONTENT_TYPES,
    FORM,
    HOSTILE_FILES,
    HOSTILE_IDS,
    HOSTILE_STRINGS,
    HOSTILE_TOKENS,
    MALFORMED_AUTH,
    MALFORMED_COOKIES,
    MULTIPART,
    ODD_HEADER_GROUPS,
    ODD_HEADERS,
    RAW_BODIES,
    SOME_STRINGS,
    Field,
    Req,
    call,
    encode_form,
    encode_json,
    encode_text,
    example,
    form_body,
    form_cases,
    json_body,
    json_cases,
    junk_body,
    mutated,
    path_text,
    query_string,
    valid_values,
)
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from hexfleet import keys, security
from hexfleet.alerts import queries as alert_queries
from hexfleet.alerts.rules import Finding, Rule, Severity
from hexfleet.devtools.demo import DEMO_PLACES
from hexfleet.drivers import queries as driver_queries
from hexfleet.places import queries as place_queries
from hexfleet.places.rules import PlaceIn
from hexfleet.rides.fares import VEHICLE_CLASSES
from hexfleet.settings import Settings
from hexfleet.users import queries as user_queries
from hexfleet.zones import queries as zone_queries
from hexfleet.zones.rules import check_zone
from webapp import driver_session
from webapp.services import services

# Generated requests per route (on top of the enumerated ones).
EXAMPLES_PER_ROUTE = 12
# Malformed credentials each route gets in its enumeration (all of them go round the routes).
MALFORMED_PER_ROUTE = 4
MALFORMED = ("bad-", "session-as-", "device-token-as-")
METRICS_TOKEN = "hostile-metrics-token"
PASSWORD = "correct-horse"  # every test user's (tests/helpers.py)
PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

# ---------------------------------------------------------------- who calls

STAFF = ("dispatcher", "admin", "dispatcher_browser", "admin_browser")
ADMIN = ("admin", "admin_browser")
ADMIN_PAGES = ("admin_browser", "admin")  # bodies through the browser session (and its CSRF check)
RIDERS = ("customer", "customer_browser", "customer2", *STAFF)
CUSTOMER = ("customer_browser", "customer")
DRIVER = ("device", "driver_browser")
BROWSER_DRIVER = ("driver_browser",)
ANYONE = ("anonymous",)
BROWSERS = ("customer_browser", "dispatcher_browser", "admin_browser", "driver_browser")

# ---------------------------------------------------------------- body and query models

PING = {
    "lat": Field("lat"),
    "lng": Field("lng"),
    "ts": Field("ts"),
    "speed_mps": Field("number", False),
    "heading": Field("number", False),
    "accuracy_m": Field("number", False),
    "battery": Field("percent", False),
    "id": Field("ping_id", False),
}
OSMAND_PARAMS = {
    "id": Field("device_id"),
    "lat": Field("lat"),
    "lon": Field("lng"),
    "timestamp": Field("osmand_ts"),
    "speed": Field("number", False),
    "bearing": Field("number", False),
    "altitude": Field("number", False),
    "accuracy": Field("number", False),
    "batt": Field("percent", False),
    "hdop": Field("number", False),
    "charge": Field("flag", False),
    "valid": Field("flag", False),
}
COORDS = {
    "latitude": Field("lat"),
    "longitude": Field("lng"),
    "speed": Field("number", False),
    "heading": Field("number", False),
    "accuracy": Field("number", False),
    "altitude": Field("number", False),
}
OSMAND_JSON = {
    "device_id": Field("device_id"),
    "location": Field(
        {
            "timestamp": Field("osmand_ts"),
            "coords": Field(COORDS),
            "battery": Field({"level": Field("level"), "is_charging": Field("bool")}, False),
            "is_moving": Field("bool", False),
            "uuid": Field("uuid", False),
            "extras": Field({"device_id": Field("device_id")}, False),
            "activity": Field({"type": Field("tid")}, False),
        }
    ),
}
OWNTRACKS = {
    "_type": Field("owntracks_type"),
    "lat": Field("lat"),
    "lon": Field("lng"),
    "tst": Field("epoch"),
    "acc": Field("number", False),
    "alt": Field("number", False),
    "vel": Field("number", False),
    "cog": Field("number", False),
    "batt": Field("percent", False),
    "bs": Field("bs", False),
    "tid": Field("tid", False),
    "inregions": Field("regions", False),
}
POINT = {"lat": Field("lat"), "lng": Field("lng"), "label": Field("label", False)}
POINT2 = {"lat": Field("lat2"), "lng": Field("lng2"), "label": Field("label", False)}
QUOTE = {
    "pickup": Field(POINT),
    "dropoff": Field(POINT2),
    "vehicle_class": Field("vehicle_class", False),
    "pickup_at": Field("later", False),
}
BOOKING = {
    "quote_id": Field("quote_id"),
    "passenger": Field({"name": Field("name"), "phone": Field("phone")}),
    "notes": Field("text", False),
    "scheduled_for": Field("later", False),
    "confirm_no_driver": Field("bool", False),
}
FARE = {
    "currency": Field("currency"),
    "base_minor": Field("minor"),
    "per_km_minor": Field("minor"),
    "per_minute_minor": Field("minor"),
    "booking_fee_minor": Field("minor"),
    "minimum_minor": Field("minor"),
}
REASON = {"reason": Field("reason", False)}
SELF_DUTY = {"status": Field("self_duty")}
DUTY = {"status": Field("duty")}
ASSIGN = {"driver_id": Field("driver_id")}
CSRF = {"csrf_token": Field("csrf")}
LOGIN = {"email": Field("email"), "password": Field("password"), "next": Field("next", False), **CSRF}
SIGNUP = {"email": Field("new_email"), "password": Field("password"), "next": Field("next", False), **CSRF}
PASSWORD_CHANGE = {
    "current": Field("password"),
    "new": Field("password"),
    "again": Field("password"),
    "keep_tokens": Field("keep", False),
    **CSRF,
}
TOKEN_FORM = {"label": Field("token_label"), "days": Field("token_days"), "password": Field("password"), **CSRF}
PHONE_BOOKING = {
    "passenger_name": Field("name"),
    "passenger_phone": Field("phone"),
    "notes": Field("text"),
    "pickup_lat": Field("lat"),
    "pickup_lng": Field("lng"),
    "dropoff_lat": Field("lat2"),
    "dropoff_lng": Field("lng2"),
    "vehicle_class": Field("vehicle_class"),
    "when": Field("when"),
    "scheduled_for": Field("later"),
    "scheduled_local": Field("local_time"),
    "pickup_label": Field("label", False),
    "dropoff_label": Field("label", False),
    **CSRF,
}
NEARBY_Q = {"lat": Field("lat"), "lng": Field("lng"), "radius_m": Field("radius"), "limit": Field("limit")}
POSITIONS_Q = {"bbox": Field("bbox"), "driver_id": Field("id_text")}
BOOKINGS_Q = {"status": Field("statuses"), "cursor": Field("cursor"), "limit": Field("limit")}
GEOCODE_Q = {"q": Field("query"), "lat": Field("lat"), "lng": Field("lng")}
NEXT_Q = {"next": Field("next")}
DRIVER_FORM = {
    "name": Field("name"),
    "phone": Field("phone", False),
    "vehicle_plate": Field("plate", False),
    "vehicle_class": Field("vehicle_class"),
    **CSRF,
}
STAFF_FORM = {"email": Field("new_email"), "role": Field("staff_role"), **CSRF}
SHOW_Q = {"show": Field("show")}
DRIVERS_Q = {"show": Field("show", False), "q": Field("query", False), "page": Field("page", False)}
ACCOUNTS_Q = {"role": Field("role_filter", False), "q": Field("query", False), "page": Field("page", False)}
FARE_FIELDS = {
    "currency": Field("currency"),
    "base": Field("amount"),
    "per_km": Field("amount"),
    "per_minute": Field("amount"),
    "booking_fee": Field("amount"),
    "minimum": Field("amount"),
}
FARE_FORM = {**FARE_FIELDS, **CSRF}
HISTORY_Q = {"from": Field("since"), "to": Field("until")}
PLACE = {
    "name": Field("place_name"),
    "category": Field("category"),
    "address": Field("address", False),
    "lat": Field("lat"),
    "lng": Field("lng"),
    "aliases": Field("aliases_list", False),
    "active": Field("bool", False),
}
PLACE_FORM = {
    "name": Field("place_name"),
    "category": Field("category"),
    "address": Field("address", False),
    "lat": Field("lat"),
    "lng": Field("lng"),
    "aliases": Field("aliases_text", False),
    "active": Field("on", False),
    **CSRF,
}
PLACES_Q = {"q": Field("query"), "near": Field("latlng_text"), "limit": Field("limit"), "all": Field("flag")}
PLACES_PAGE_Q = {"q": Field("query"), "page": Field("page"), "show": Field("show")}
GEOJSON = {"type": Field("fc_type"), "features": Field("features")}
ZONES_GEOJSON = {"type": Field("fc_type"), "features": Field("zone_features")}
HISTORY_PAGE_Q = {
    "driver_id": Field("id_text"),
    "from": Field("local_from"),
    "to": Field("local_to"),
    "tz": Field("zone"),
}

ANALYTICS_Q = {**HISTORY_Q, "tz": Field("zone"), "vehicle_class": Field("vehicle_class"), "bbox": Field("bbox")}
SERIES_Q = {**ANALYTICS_Q, "metric": Field("series_metric"), "bucket": Field("bucket")}
CELLS_Q = {**ANALYTICS_Q, "metric": Field("cell_metric"), "how": Field("how")}
ALERTS_Q = {"state": Field("alert_states"), "limit": Field("limit")}
ZONE = {
    "name": Field("zone_name"),
    "kind": Field("zone_kind"),
    "geometry": Field("geometry"),
    "rules": Field("zone_rules", False),
    "active": Field("bool", False),
    "color": Field("color", False),
}
POINT_Q = {"lat": Field("lat"), "lng": Field("lng")}
ACKNOWLEDGE = {"note": Field("note", False)}

# ---------------------------------------------------------------- the route table


@dataclass(frozen=True, repr=False)
class Route:
    method: str
    rule: str
    group: str
    who: tuple[str, ...]  # callers of the right role; the first is the one enumerated bodies use
    json: dict | None = None
    form: dict | None = None
    query: dict = field(default_factory=dict)
    real: dict = field(default_factory=dict)  # path parameter -> key of its real values in the world
    kind: str = "http"  # http, stream (left after its first bytes), websocket, pings, osmand

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"

    __repr__ = __str__

    def params(self) -> list[tuple[str, str]]:
        """(converter, name) of each path parameter."""
        return [(conv or "string", name) for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.rule)]


R = Route
ROUTES: tuple[Route, ...] = (
    # operations and docs
    R("GET", "/healthz", "ops", ANYONE),
    R("GET", "/readyz", "ops", ANYONE),
    R("GET", "/metrics", "ops", ("metrics", "anonymous")),
    R("GET", "/docs", "ops", ANYONE),
    R("GET", "/openapi.json", "ops", ANYONE),
    R("GET", "/static/<path:filename>", "ops", ANYONE, real={"filename": "static"}),
    # phone protocols and the native ingest
    R("GET", "/osmand", "phones", ANYONE, query=OSMAND_PARAMS, kind="osmand"),
    R("POST", "/osmand", "phones", ANYONE, form=OSMAND_PARAMS, json=OSMAND_JSON, kind="osmand"),
    R("POST", "/owntracks", "phones", ("basic_device",), json=OWNTRACKS),
    R("POST", "/api/v1/driver/pings", "ingest", ("device",), json=PING, kind="pings"),
    # drivers API
    R("POST", "/api/v1/driver/status", "drivers API", DRIVER, json=SELF_DUTY),
    R("GET", "/api/v1/drivers", "drivers API", STAFF),
    R("GET", "/api/v1/drivers/nearby", "drivers API", STAFF, query=NEARBY_Q),
    R("GET", "/api/v1/drivers/<int:driver_id>", "drivers API", STAFF),
    R("POST", "/api/v1/drivers/<int:driver_id>/status", "drivers API", STAFF, json=DUTY),
    R("GET", "/api/v1/drivers/<int:driver_id>/trail", "drivers API", STAFF, query={"minutes": Field("minutes")}),
    # live streams
    R("GET", "/api/v1/stream/positions", "streams", STAFF, query=POSITIONS_Q, kind="stream"),
    R("GET", "/api/v1/stream/bookings", "streams", RIDERS, query={"booking_id": Field("booking_id_text")},
      kind="stream"),
    R("GET", "/api/v1/stream/surge", "streams", RIDERS, kind="stream"),
    R("GET", "/api/v1/ws/positions", "streams", STAFF, query=POSITIONS_Q, kind="websocket"),
    R("GET", "/api/v1/driver/offers/stream", "streams", DRIVER, kind="stream"),
    R("GET", "/api/v1/track/<token>/stream", "streams", ANYONE, real={"token": "track"}, kind="stream"),
    # rides API
    R("GET", "/api/v1/fares", "rides API", RIDERS),
    R("GET", "/api/v1/fares/<vehicle_class>", "rides API", RIDERS, real={"vehicle_class": "vehicle_class"}),
    R("PUT", "/api/v1/fares/<vehicle_class>", "rides API", ADMIN, json=FARE, real={"vehicle_class": "vehicle_class"}),
    R("GET", "/api/v1/surge", "rides API", RIDERS),
    R("POST", "/api/v1/quotes", "rides API", RIDERS, json=QUOTE),
    R("POST", "/api/v1/bookings", "rides API", RIDERS, json=BOOKING),
    R("GET", "/api/v1/bookings", "rides API", RIDERS, query=BOOKINGS_Q),
    R("GET", "/api/v1/bookings/<int:booking_id>", "rides API", RIDERS),
    R("POST", "/api/v1/bookings/<int:booking_id>/cancel", "rides API", RIDERS, json=REASON),
    R("POST", "/api/v1/bookings/<int:booking_id>/assign", "rides API", STAFF, json=ASSIGN),
    R("POST", "/api/v1/bookings/<int:booking_id>/reassign", "rides API", STAFF, json=ASSIGN),
    R("POST", "/api/v1/bookings/<int:booking_id>/dispatch", "rides API", STAFF),
    # New tracking links go to a booking of their own: the others' links must keep working for the run.
    R("POST", "/api/v1/bookings/<int:booking_id>/tracking-link", "rides API", RIDERS,
      real={"booking_id": "renew_booking_id"}),
    R("GET", "/api/v1/track/<token>", "rides API", ANYONE, real={"token": "track"}),
    # driver rides API
    R("GET", "/api/v1/driver/offers", "driver rides API", DRIVER),
    R("POST", "/api/v1/driver/offers/<int:offer_id>/accept", "driver rides API", DRIVER),
    R("POST", "/api/v1/driver/offers/<int:offer_id>/decline", "driver rides API", DRIVER),
    R("GET", "/api/v1/driver/bookings/current", "driver rides API", DRIVER),
    R("POST", "/api/v1/driver/bookings/<int:booking_id>/arrived", "driver rides API", DRIVER),
    R("POST", "/api/v1/driver/bookings/<int:booking_id>/start", "driver rides API", DRIVER),
    R("POST", "/api/v1/driver/bookings/<int:booking_id>/complete", "driver rides API", DRIVER),
    R("POST", "/api/v1/driver/bookings/<int:booking_id>/cancel", "driver rides API", DRIVER, json=REASON),
    # sign-in and sign-up
    R("GET", "/login", "pages", ANYONE, query=NEXT_Q),
    R("POST", "/login", "pages", ANYONE, form=LOGIN, query=NEXT_Q),
    R("POST", "/logout", "pages", BROWSERS),
    R("GET", "/signup", "pages", ANYONE, query=NEXT_Q),
    R("POST", "/signup", "pages", ANYONE, form=SIGNUP),
    # one's account (every signed-in user)
    R("GET", "/account", "pages", BROWSERS, query={"done": Field("done")}),
    R("POST", "/account/password", "pages", BROWSERS, form=PASSWORD_CHANGE),
    R("POST", "/account/sign-out-others", "pages", BROWSERS),
    R("POST", "/account/tokens", "pages", BROWSERS, form=TOKEN_FORM),
    # The first caller's spare token: revoking the ones the run signs in with would end them.
    R("POST", "/account/tokens/<int:token_id>/revoke", "pages", BROWSERS, form=CSRF,
      real={"token_id": "spare_token_id"}),
    # riders' pages
    R("GET", "/ride", "pages", RIDERS),
    R("GET", "/rides", "pages", CUSTOMER),
    R("GET", "/rides/<int:booking_id>", "pages", CUSTOMER),
    R("GET", "/ui/rides", "pages", CUSTOMER),
    R("POST", "/ui/rides/<int:booking_id>/cancel", "pages", CUSTOMER, form={**REASON, **CSRF}),
    R("POST", "/rides/<int:booking_id>/tracking-link", "pages", CUSTOMER, form=CSRF,
      real={"booking_id": "renew_booking_id"}),
    R("GET", "/ui/geocode", "pages", RIDERS, query=GEOCODE_Q),
    # the control room
    R("GET", "/", "pages", STAFF),
    R("GET", "/ui/drivers", "pages", STAFF, query={"q": Field("text"), "selected": Field("id_text")}),
    R("GET", "/ui/drivers/<int:driver_id>", "pages", STAFF),
    R("GET", "/ui/drivers/<int:driver_id>/connect", "pages", STAFF),
    R("POST", "/ui/drivers/<int:driver_id>/status", "pages", STAFF, form={**DUTY, **CSRF}),
    # Rotating the working driver's device would sign it out of the rest of the run: the spare one.
    R("POST", "/ui/drivers/<int:driver_id>/rotate", "pages", ADMIN, real={"driver_id": "spare_driver_id"}),
    R("POST", "/ui/drivers/<int:driver_id>/driver-link", "pages", STAFF),
    R("GET", "/ui/bookings", "pages", STAFF, query={"selected": Field("booking_id_text")}),
    R("POST", "/ui/bookings", "pages", STAFF, form={**PHONE_BOOKING, "quote_id": Field("quote_id")}),
    R("GET", "/ui/bookings/new", "pages", STAFF),
    R("POST", "/ui/bookings/edit", "pages", STAFF, form=PHONE_BOOKING),
    R("POST", "/ui/bookings/quote", "pages", STAFF, form=PHONE_BOOKING),
    R("GET", "/ui/bookings/<int:booking_id>", "pages", STAFF),
    R("POST", "/ui/bookings/<int:booking_id>/assign", "pages", STAFF, form={"driver_id": Field("id_text"), **CSRF}),
    R("POST", "/ui/bookings/<int:booking_id>/cancel", "pages", STAFF, form={**REASON, **CSRF}),
    R("POST", "/ui/bookings/<int:booking_id>/dispatch", "pages", STAFF),
    R("POST", "/ui/bookings/<int:booking_id>/tracking-link", "pages", STAFF, real={"booking_id": "renew_booking_id"}),
    # the tracking link's page
    R("GET", "/t/<token>", "pages", ANYONE, real={"token": "track"}),
    R("GET", "/t/<token>/panel", "pages", ANYONE, real={"token": "track"}),
    # View-only for whoever holds it: cancelling from the page is the signed-in rider's (anyone else: 403).
    R("POST", "/t/<token>/cancel", "pages", CUSTOMER, form={**REASON, **CSRF}, real={"token": "track"}),
    # the driver web app
    R("GET", "/d", "pages", BROWSER_DRIVER),
    R("GET", "/d/login/<token>", "pages", ANYONE, real={"token": "link"}),
    R("POST", "/d/login/<token>", "pages", ANYONE, form=CSRF, real={"token": "link"}),
    R("POST", "/d/logout", "pages", BROWSER_DRIVER),
    R("GET", "/d/me", "pages", BROWSER_DRIVER),
    R("POST", "/d/pings", "pages", BROWSER_DRIVER, json=PING, kind="pings"),
    R("GET", "/d/signed-out", "pages", ANYONE),
    # fleet admin (changes go to the spare driver and the spare account: the rest of the run
    # needs the working ones)
    R("GET", "/admin", "admin pages", ADMIN_PAGES),
    R("GET", "/admin/drivers", "admin pages", ADMIN_PAGES, query=DRIVERS_Q),
    R("POST", "/admin/drivers", "admin pages", ADMIN_PAGES, form=DRIVER_FORM),
    R("GET", "/admin/drivers/new", "admin pages", ADMIN_PAGES),
    R("GET", "/admin/drivers/rows", "admin pages", ADMIN_PAGES, query=DRIVERS_Q),
    R("GET", "/admin/drivers/<int:driver_id>", "admin pages", ADMIN_PAGES),
    R("GET", "/admin/drivers/<int:driver_id>/edit", "admin pages", ADMIN_PAGES),
    R("POST", "/admin/drivers/<int:driver_id>", "admin pages", ADMIN_PAGES, form=DRIVER_FORM,
      real={"driver_id": "spare_driver_id"}),
    R("POST", "/admin/drivers/<int:driver_id>/deactivate", "admin pages", ADMIN_PAGES, form=CSRF,
      real={"driver_id": "spare_driver_id"}),
    R("POST", "/admin/drivers/<int:driver_id>/reactivate", "admin pages", ADMIN_PAGES, form=CSRF,
      real={"driver_id": "spare_driver_id"}),
    R("GET", "/admin/users", "admin pages", ADMIN_PAGES, query=ACCOUNTS_Q),
    R("POST", "/admin/users", "admin pages", ADMIN_PAGES, form=STAFF_FORM),
    R("GET", "/admin/users/rows", "admin pages", ADMIN_PAGES, query=ACCOUNTS_Q),
    R("POST", "/admin/users/<int:user_id>/disable", "admin pages", ADMIN_PAGES, form=CSRF),
    R("POST", "/admin/users/<int:user_id>/enable", "admin pages", ADMIN_PAGES, form=CSRF),
    R("POST", "/admin/users/<int:user_id>/reset-password", "admin pages", ADMIN_PAGES, form=CSRF),
    R("GET", "/admin/audit", "admin pages", ADMIN_PAGES, query={"before": Field("cursor")}),
    # places (changes go to the spare places: the rest of the run searches and labels with the others)
    R("GET", "/api/v1/places", "places API", RIDERS, query=PLACES_Q),
    R("GET", "/api/v1/places/<int:place_id>", "places API", ADMIN),
    R("POST", "/api/v1/places", "places API", ADMIN, json=PLACE),
    R("PUT", "/api/v1/places/<int:place_id>", "places API", ADMIN, json=PLACE, real={"place_id": "spare_place_id"}),
    R("DELETE", "/api/v1/places/<int:place_id>", "places API", ADMIN, real={"place_id": "spare_place_id"}),
    R("POST", "/api/v1/places/import", "places API", ADMIN, json=GEOJSON, kind="import"),
    R("GET", "/api/v1/places/export.csv", "places API", ADMIN),
    R("GET", "/api/v1/places/export.geojson", "places API", ADMIN),
    R("GET", "/admin/places", "admin pages", ADMIN_PAGES, query=PLACES_PAGE_Q),
    R("GET", "/admin/places/rows", "admin pages", ADMIN_PAGES, query=PLACES_PAGE_Q),
    R("GET", "/admin/places/new", "admin pages", ADMIN_PAGES),
    R("POST", "/admin/places", "admin pages", ADMIN_PAGES, form=PLACE_FORM),
    R("GET", "/admin/places/<int:place_id>", "admin pages", ADMIN_PAGES),
    R("GET", "/admin/places/<int:place_id>/edit", "admin pages", ADMIN_PAGES),
    R("POST", "/admin/places/<int:place_id>", "admin pages", ADMIN_PAGES, form=PLACE_FORM,
      real={"place_id": "spare_place_id"}),
    R("POST", "/admin/places/<int:place_id>/delete", "admin pages", ADMIN_PAGES, form=CSRF,
      real={"place_id": "spare_place_id"}),
    R("POST", "/admin/places/import", "admin pages", ADMIN_PAGES, form=CSRF, kind="import"),
    R("GET", "/admin/zones", "admin pages", ADMIN_PAGES),
    R("GET", "/admin/fares", "admin pages", ADMIN_PAGES),
    R("POST", "/admin/fares/<vehicle_class>", "admin pages", ADMIN_PAGES, form=FARE_FORM,
      real={"vehicle_class": "vehicle_class"}),
    R("GET", "/admin/fares/<vehicle_class>/preview", "admin pages", ADMIN_PAGES, query=FARE_FIELDS,
      real={"vehicle_class": "vehicle_class"}),
    # history and replay
    R("GET", "/history", "pages", STAFF, query=HISTORY_PAGE_Q),
    R("GET", "/api/v1/drivers/<int:driver_id>/history", "history API", STAFF, query=HISTORY_Q),
    R("GET", "/api/v1/drivers/<int:driver_id>/history.gpx", "history API", STAFF, query=HISTORY_Q),
    R("GET", "/api/v1/drivers/<int:driver_id>/history.csv", "history API", STAFF, query=HISTORY_Q),
    # analytics
    R("GET", "/analytics", "pages", STAFF),
    *(R("GET", f"/api/v1/analytics/{name}{ext}", "analytics API", STAFF, query=query)
      for name, query in (("summary", ANALYTICS_Q), ("series", SERIES_Q), ("cells", CELLS_Q),
                          ("drivers", HISTORY_Q), ("outlook", {"weeks": Field("weeks")}))
      for ext in ("", ".csv")),
    # the alerts desk (acknowledging: the world's alerts, open ones first, then 409s)
    R("GET", "/api/v1/alerts", "alerts API", STAFF, query=ALERTS_Q),
    # zones (changes go to the spare zones; new ones are custom or airports: no service area, so
    # the run's quotes stay served)
    R("GET", "/api/v1/zones", "zones API", STAFF),
    R("POST", "/api/v1/zones", "zones API", ADMIN, json=ZONE),
    R("GET", "/api/v1/zones/<int:zone_id>", "zones API", STAFF, real={"zone_id": "zone_id"}),
    R("PUT", "/api/v1/zones/<int:zone_id>", "zones API", ADMIN, json=ZONE, real={"zone_id": "spare_zone_id"}),
    R("DELETE", "/api/v1/zones/<int:zone_id>", "zones API", ADMIN, real={"zone_id": "spare_zone_id"}),
    R("POST", "/api/v1/zones/import", "zones API", ADMIN, json=ZONES_GEOJSON, kind="import"),
    R("GET", "/api/v1/zones/export.geojson", "zones API", STAFF),
    R("GET", "/api/v1/zones/service-area", "zones API", RIDERS, query=POINT_Q),
    R("POST", "/api/v1/alerts/<int:alert_id>/acknowledge", "alerts API", STAFF, json=ACKNOWLEDGE),
)  # fmt: skip

# ---------------------------------------------------------------- the world


class World:
    """What the run works with: the app, and one of everything a path or a caller can name.

    A plain class, so hypothesis does not print all of it with every failing example."""

    def __init__(self, **parts: Any) -> None:
        self.app = parts.pop("app")
        self.settings: Settings = parts.pop("settings")
        self.redis: Redis = parts.pop("redis")
        self.ids: dict[str, list[int]] = parts.pop("ids")
        self.tokens: dict[str, list[str]] = parts.pop("tokens")
        self.identities: dict[str, tuple[tuple[bytes, bytes], ...]] = parts.pop("identities")
        self.csrf_token: str = parts.pop("csrf_token")
        self.quote_ids: list[int] = parts.pop("quote_ids")
        self.device_id: str = parts.pop("device_id")
        self.emails: dict[str, str] = parts.pop("emails")
        self.recorder: Recorder = parts.pop("recorder")
        self.sign_in_browsers = parts.pop("sign_in_browsers")  # new sessions for the browser callers
        self.restore_accounts = parts.pop("restore_accounts")  # after a password change: password, tokens
        assert not parts, parts
        self.tally: collections.Counter = collections.Counter()
        self.strategies: dict[str, st.SearchStrategy[Req]] = {}

    def __repr__(self) -> str:
        return "World()"


class Recorder(logging.Handler):
    """Every log record at ERROR or above, or carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in record.getMessage():
            self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [
            f"{r.levelname} {r.name}: {r.getMessage()}"
            + (f"\n{logging.Formatter().formatException(r.exc_info)}" if r.exc_info else "")
            for r in taken
        ]


async def _empty_tables(pool) -> None:
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    )
    await pool.execute(f"TRUNCATE {', '.join(t['tablename'] for t in tables)} RESTART IDENTITY CASCADE")


@contextlib.asynccontextmanager
async def stub_geocoder():
    """A Photon-speaking geocoder on loopback: the address search really asks it."""
    body = orjson.dumps(
        {
            "features": [
                {"geometry": {"coordinates": [13.4132, 52.5219]}, "properties": {"name": "Alexanderplatz"}},
                {"geometry": {"coordinates": [999, 52]}, "properties": {"name": "Nowhere"}},
            ]
        }
    )

    async def serve(reader, writer):
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _bearer(token: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"authorization", f"Bearer {token}".encode()),)


def _cookie(header: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"cookie", header.encode()),)


@pytest.fixture(scope="module")
async def world(base_settings, pool):
    await _empty_tables(pool)
    redis = Redis.from_url(base_settings.redis_url)
    await redis.flushdb()
    suffix = uuid.uuid4().hex[:8]
    unlimited = {f.name: "1000000/minute" for f in dataclasses.fields(Settings) if f.name.startswith("rate_")}
    async with stub_geocoder() as geocoder_url:
        settings = base_settings.with_(
            kafka_topic_locations=f"driver-locations-{suffix}",
            tracker_group=f"tracker-{suffix}",
            kafka_topic_bookings=f"booking-events-{suffix}",
            kafka_topic_surge=f"surge-{suffix}",
            geocoder_url=geocoder_url,
            metrics_token=METRICS_TOKEN,
            **unlimited,
        )
        from webapp import create_app

        with pytest.MonkeyPatch.context() as patch:
            cheap_passwords(patch)
            app = create_app(settings)
            async with app.test_app():
                recorder = Recorder()
                logging.getLogger().addHandler(recorder)  # after create_app: it sets up the root logger
                try:
                    yield await _populate(app, pool, redis, settings, recorder)
                finally:
                    logging.getLogger().removeHandler(recorder)
    await redis.aclose()


def cheap_passwords(patch: pytest.MonkeyPatch) -> None:
    """argon2 with its cheapest parameters. Nearly every sign-in, sign-up and password change
    here reaches the hash (unknown emails too, by design), and at its real cost (0.05 s to
    0.25 s on a busy machine) those few hundred requests would be most of the run."""
    import webapp.auth

    if hasattr(security, "_hasher"):
        patch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    if hasattr(webapp.auth, "_DUMMY_HASH"):
        patch.setattr(webapp.auth, "_DUMMY_HASH", security.hash_password("not-a-real-password"))


async def _populate(app, pool, redis, settings, recorder) -> World:
    """One of everything a path can name, and a caller of every kind."""

    async def ready():
        return (await call(app, Req("GET", "/readyz"))).status == 200

    await wait_for(ready, timeout=30)
    for vehicle_class in VEHICLE_CLASSES:
        await make_fare(pool, vehicle_class)
    # As for drivers below: hostile path ids ("007", "١٢") must not reach the working accounts
    # nor their API tokens.
    await pool.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), 100)")
    await pool.execute("SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), 100)")
    users = {role: await make_user(pool, role.rstrip("2")) for role in ("customer", "customer2", "dispatcher", "admin")}
    spare_user, _ = await make_user(pool, "dispatcher")  # the one admins disable and reset
    password_hash = security.hash_password(PASSWORD)
    await pool.execute("UPDATE users SET password_hash = $1", password_hash)
    async with pool.acquire() as conn:
        spare_token = await user_queries.issue_api_token(conn, users["customer"][0].id, "spare")

    async def restore_accounts() -> dict[str, tuple[tuple[bytes, bytes], ...]]:
        """After a password change on /account: the run's password back, fresh API tokens for
        the callers whose tokens it revoked, and the spare token live again (the revoke route's
        real id)."""
        await pool.execute("UPDATE users SET password_hash = $1", password_hash)
        await pool.execute("UPDATE api_tokens SET revoked_at = NULL WHERE id = $1", spare_token.id)
        fresh = {}
        async with pool.acquire() as conn:
            for role in ("customer", "dispatcher", "admin"):
                if await user_queries.user_for_token(conn, users[role][1]) is None:
                    users[role] = (users[role][0], await user_queries.create_api_token(conn, users[role][0].id))
                fresh[role] = _bearer(users[role][1])
        return fresh

    # Path ids in other scripts' digits ("１", "١٢") or with leading zeros ("007") name small ids:
    # the working driver's id is out of their reach, so no hostile rotation signs its device out.
    await pool.execute("SELECT setval(pg_get_serial_sequence('drivers', 'id'), 100)")
    worker, device = await make_driver(pool, "Hostile Worker", "B-HW-1")
    spare, _ = await make_driver(pool, "Spare Driver", "B-SP-2")
    async with pool.acquire() as conn:
        deviceless = (await driver_queries.create_driver(conn, "No Device")).id
    # And places: a hostile id ("007") must not delete the places the searches find.
    await pool.execute("SELECT setval(pg_get_serial_sequence('places', 'id'), 100)")
    async with pool.acquire() as conn:
        await place_queries.add_missing_places(conn, DEMO_PLACES[:5])
        place_ids = [p.id for p in await place_queries.all_places(conn)][:2]
        spare_places = [
            (await place_queries.insert_place(conn, PlaceIn(f"Spare Place {i}", "other", "", 52.5 + i / 100, 13.4))).id
            for i in range(3)
        ]
    # And zones: custom ones (a service area would refuse the run's quotes outside it).
    await pool.execute("SELECT setval(pg_get_serial_sequence('zones', 'id'), 100)")
    zone_ids = []
    async with pool.acquire() as conn:
        for i in range(5):
            circle = {"type": "Circle", "center": [13.4 + i / 100, 52.5], "radius_m": 300}
            zone, _ = check_zone({"name": f"Spare Zone {i}", "kind": "custom", "geometry": circle})
            assert zone is not None
            zone_ids.append((await zone_queries.insert_zone(conn, zone)).id)
    # And bookings: a hostile id ("１") reaching the booking the tracking link opens would give
    # it a new link, and the link's routes would meet a 410 for the rest of the run.
    await pool.execute("SELECT setval(pg_get_serial_sequence('bookings', 'id'), 100)")

    def browser() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    async with browser() as client:
        # Every browser identity shares one CSRF nonce (a browser keeps it across sign-ins), so
        # one token passes the check for all of them.
        page = await client.get("/login")
        nonce = page.cookies["hexfleet_csrf"]
        csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    async def sign_in_browsers() -> dict[str, tuple[tuple[bytes, bytes], ...]]:
        identities = {}
        for role in ("customer", "dispatcher", "admin"):
            async with browser() as client:
                client.cookies.set("hexfleet_csrf", nonce)
                headers = await browser_login(client, users[role][0].email)
                assert headers["X-CSRF-Token"] == csrf_token
                # browser_login passes on the cookies its pages set; this browser had its CSRF
                # cookie already (no page set it again), and a browser sends it with the rest.
                cookie = headers["Cookie"]
                if "hexfleet_csrf=" not in cookie:
                    cookie = f"hexfleet_csrf={nonce}; {cookie}"
                identities[f"{role}_browser"] = _cookie(cookie)
        return identities

    sessions = await sign_in_browsers()
    # A live driver web app session (the cookie names it; Redis holds the driver and the device's row).
    driver_web = await driver_session.start(redis, driver_session.DriverSession(worker.id, device.row_id), 3600)
    driver_cookie = driver_session.cookie_value(settings.require_secret_key(), driver_web)

    async with browser() as client:
        customer = {"Authorization": f"Bearer {users['customer'][1]}"}
        r = await client.post("/api/v1/driver/status", json={"status": "available"}, headers=_h(device.token))
        assert r.status_code == 200, r.text
        await place_driver(services(app).store, worker.id, PICKUP["lat"], PICKUP["lng"])
        quote = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=customer)
        assert quote.status_code == 201, quote.text
        body = {"quote_id": quote.json()["quote_id"], "passenger": {"name": "Rita", "phone": "+49 30 5550101"}}
        booking = await client.post("/api/v1/bookings", json=body, headers=customer)
        assert booking.status_code == 201, booking.text
        booking_id = booking.json()["id"]
        track = booking.json()["tracking_url"].rsplit("/t/", 1)[1]
        renew_quote = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=customer)
        later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        renew_body = {
            "quote_id": renew_quote.json()["quote_id"],
            "passenger": body["passenger"],
            "scheduled_for": later,
        }
        renew_booking = await client.post("/api/v1/bookings", json=renew_body, headers=customer)
        assert renew_booking.status_code == 201, renew_booking.text
        quote_ids = []
        for _ in range(3):
            r = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=customer)
            quote_ids.append(r.json()["quote_id"])
        other = await client.post(
            "/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=_h(users["customer2"][1])
        )
        other_body = {"quote_id": other.json()["quote_id"], "passenger": {"name": "Otto", "phone": "555 0102"}}
        other_booking = await client.post("/api/v1/bookings", json=other_body, headers=_h(users["customer2"][1]))
        assert other_booking.status_code == 201, other_booking.text

    async def offered():
        return await pool.fetchval("SELECT id FROM offers WHERE booking_id = $1", booking_id)

    offer_id = await wait_for(offered, timeout=10)
    links = [await driver_session.create_link(redis, worker.id, device.row_id, 3600) for _ in range(4)]
    alert_ids = []
    async with pool.acquire() as conn:  # open alerts to acknowledge (as the desk raises them)
        for b in (booking_id, other_booking.json()["id"]):
            finding = Finding(Rule.UNASSIGNED, "booking", b, f"search:{b}", Severity.WARNING, {"booking_id": b})
            alert = await alert_queries.insert_alert(conn, finding, time.time())
            assert alert is not None
            alert_ids.append(alert.id)
    static_file = "vendor/swagger-ui-5.35.0/swagger-ui.css"

    identities: dict[str, tuple[tuple[bytes, bytes], ...]] = {
        "anonymous": (),
        "customer": _bearer(users["customer"][1]),
        "customer2": _bearer(users["customer2"][1]),
        "dispatcher": _bearer(users["dispatcher"][1]),
        "admin": _bearer(users["admin"][1]),
        "device": _bearer(device.token),
        "metrics": _bearer(METRICS_TOKEN),
        "basic_device": (
            (b"authorization", b"Basic " + base64.b64encode(f"{device.device_id}:{device.token}".encode())),
        ),
        **sessions,
        "driver_browser": _cookie(f"hexfleet_csrf={nonce}; {driver_session.COOKIE}={driver_cookie}"),
    }
    for i, value in enumerate(MALFORMED_AUTH):
        identities[f"bad-auth-{i}"] = ((b"authorization", value),)
    for i, value in enumerate(MALFORMED_COOKIES):
        identities[f"bad-cookie-{i}"] = ((b"cookie", value),)
    # A session of one kind presented as the other.
    admin_cookie = sessions["admin_browser"][0][1].decode()
    identities["session-as-bearer"] = _bearer(admin_cookie.split("hexfleet_session=")[-1].split(";")[0])
    identities["device-token-as-basic"] = ((b"authorization", b"Basic " + base64.b64encode(device.token.encode())),)
    return World(
        app=app,
        settings=settings,
        redis=redis,
        ids={
            "booking_id": [booking_id, other_booking.json()["id"]],
            "renew_booking_id": [renew_booking.json()["id"]],
            "driver_id": [worker.id, spare.id, deviceless],
            "spare_driver_id": [spare.id, deviceless],
            "user_id": [spare_user.id],
            "offer_id": [offer_id],
            "spare_token_id": [spare_token.id],
            "place_id": place_ids,
            "spare_place_id": spare_places,
            "alert_id": alert_ids,
            "zone_id": zone_ids[:2],
            "spare_zone_id": zone_ids[2:],
        },
        tokens={
            "track": [track],
            "link": links,
            "vehicle_class": [*VEHICLE_CLASSES, "STANDARD", "limousine"],
            "static": [static_file, "js/control-room/main.js"],
        },
        identities=identities,
        csrf_token=csrf_token,
        quote_ids=quote_ids,
        device_id=device.device_id,
        emails={role: user.email for role, (user, _) in users.items()},
        recorder=recorder,
        sign_in_browsers=sign_in_browsers,
        restore_accounts=restore_accounts,
    )


def _h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- building requests


def real_values(route: Route, world: World, conv: str, name: str) -> list[str]:
    key = route.real.get(name, name)
    if conv == "int":
        return [str(i) for i in world.ids[key]]
    return [path_text(t) if conv != "path" else t for t in world.tokens[key]]


def hostile_values(route: Route, world: World, conv: str, name: str) -> list[str]:
    if conv == "int":
        return list(HOSTILE_IDS)
    if conv == "path":
        return list(HOSTILE_FILES)
    real = world.tokens[route.real.get(name, name)][0]
    tampered = [real[:-1], real + "A", real[:-1] + ("A" if real[-1] != "A" else "B"), real.upper(), real[:10]]
    return [*HOSTILE_TOKENS, *(path_text(t) for t in tampered if t)]


def path_for(route: Route, values: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route.rule)


def build(
    route: Route,
    world: World,
    label: str,
    *,
    who: str | None = None,
    path: dict[str, str] | None = None,
    query: bytes | None = None,
    body: tuple[bytes, str | None] | None = None,
    csrf: str = "header",
    method: str | None = None,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> Req:
    """One request for this route: the right caller, real path values and a valid body unless told otherwise."""
    who = who or route.who[0]
    values = {name: real_values(route, world, conv, name)[0] for conv, name in route.params()}
    values.update(path or {})
    if query is None:
        query = encode_form({k: valid_values(f.kind, world)[0] for k, f in route.query.items()}) if route.query else b""
        if route.kind == "osmand" and route.method == "POST":
            query = b""  # a POST with a query string is read from the query string alone
    if body is None:
        body = default_body(route, world)
    method = method or route.method
    headers = list(world.identities[who])
    if csrf == "header" and who in BROWSERS and method in UNSAFE:
        headers.append((b"x-csrf-token", world.csrf_token.encode()))
    elif csrf == "wrong":
        headers.append((b"x-csrf-token", b"f" * 64))
    content, ctype = body
    if ctype is not None:
        headers.append((b"content-type", ctype.encode("latin-1")))
    headers.extend(extra)
    return Req(method, path_for(route, values), query, tuple(headers), content, route.kind == "websocket", label)


def default_body(route: Route, world: World) -> tuple[bytes, str | None]:
    if route.json is not None and route.form is None:
        return encode_json(example(route.json, world)), "application/json"
    if route.form is not None:
        return encode_form({k: valid_values(f.kind, world)[0] for k, f in route.form.items()}), FORM
    return b"", None


def enumerated(route: Route, world: World) -> Iterator[Req]:
    """Every hostile case for this route, in a fixed order (each built when its turn comes, with
    the callers' credentials of that moment)."""
    yield build(route, world, "valid")
    # Path parameters: real values, then every hostile one (the others kept real).
    for conv, name in route.params():
        for value in real_values(route, world, conv, name)[1:] + hostile_values(route, world, conv, name):
            yield build(route, world, f"{name}={value[:40]}", path={name: value})
    # Every valid caller (the right role and the wrong ones), and a share of the malformed
    # credentials: routes take turns, so each malformed one reaches every kind of auth check.
    valid = [who for who in world.identities if not who.startswith(MALFORMED)]
    malformed = [who for who in world.identities if who.startswith(MALFORMED)]
    turn = ROUTES.index(route) * MALFORMED_PER_ROUTE
    for who in valid + [malformed[(turn + i) % len(malformed)] for i in range(MALFORMED_PER_ROUTE)]:
        if who != route.who[0]:
            yield build(route, world, f"as {who}", who=who)
    if any(who in BROWSERS for who in route.who) and route.method in UNSAFE:
        browser = next(who for who in route.who if who in BROWSERS)
        yield build(route, world, "browser without a CSRF token", who=browser, csrf="none")
        yield build(route, world, "browser with a wrong CSRF token", who=browser, csrf="wrong")
    # Other methods, odd headers.
    for method in ("HEAD", "OPTIONS", "BREW"):
        yield build(route, world, f"method {method}", method=method)
    for i, group in enumerate(ODD_HEADER_GROUPS):
        yield build(route, world, f"odd headers {i}", extra=group)
    # Query strings.
    for key, f in route.query.items():
        ok = {k: valid_values(v.kind, world)[0] for k, v in route.query.items()}
        for value in (*SOME_STRINGS, *HOSTILE_IDS[:4], *valid_values(f.kind, world)[1:]):
            yield build(route, world, f"?{key}={value!r:.40}", query=encode_form({**ok, key: value}))
    for raw in (b"%zz=%", b"a=%FF%FE", b"&&&=&", b"%00=%00", b"x=" + b"A" * 8000, b"=" * 100, b"a[]=1&a[x]=2"):
        yield build(route, world, f"query {raw[:20]!r}", query=raw)
    for text in HOSTILE_STRINGS[:: 4 if route.query else 8]:
        every = encode_form(dict.fromkeys(route.query or {"q": None}, text))
        yield build(route, world, f"every query value={text!r:.30}", query=every)
    # Bodies, from the right caller: where validation runs.
    for label, content, ctype in body_cases(route, world):
        yield build(route, world, label, body=(content, ctype))


def body_cases(route: Route, world: World) -> list[tuple[str, bytes, str | None]]:
    # Routes whose body goes through the shared parsers (quart-schema's JSON, Quart's form) take
    # turns at the whole-body cases; the protocols' own parsers get all of them.
    half = None if route.kind in ("pings", "osmand") or route.rule == "/owntracks" else ROUTES.index(route) % 2
    cases: list[tuple[str, bytes, str | None]] = []
    if route.kind == "pings":
        cases += json_cases(PING, world) + ping_batches(world)
    elif route.json is not None:
        cases += json_cases(route.json, world, half)
    if route.form is not None:
        cases += form_cases(route.form, world, half)
    if route.kind == "osmand":
        cases += osmand_alternatives(world)
    if route.kind == "import":
        cases += import_files(route)
    if not cases:  # a route without a body: send one anyway
        cases += [(f"stray body {ctype!r}", b'{"a": 1}', ctype) for ctype in CONTENT_TYPES[::4]]
        cases += [(f"stray raw body {i}", raw, "application/json") for i, raw in enumerate(RAW_BODIES[::6])]
    return cases


CSV_HEADER = "name,category,address,lat,lng,aliases,active\r\n"
IMPORT_FILES: dict[str, str | bytes] = {
    "csv": CSV_HEADER + "Hostile Import,hotel,,52.5,13.4,Alias|Other,true\r\n",
    # Surrogates too: encoded as the invalid UTF-8 a hostile client sends.
    "csv, every value hostile": CSV_HEADER.encode() + b"\r\n".join(
        b",".join([b'"' + encode_text(v).replace(b'"', b'""') + b'"'] * 7) for v in HOSTILE_STRINGS
    ),
    "csv, header only": CSV_HEADER,
    "csv, semicolons": "name;category;lat;lng\nSemi Colon;other;52.5;13.4\n",
    "csv, an open quote": CSV_HEADER + '"Unclosed,hotel,,52.5,13.4,,\n',
    "csv, NUL bytes": b"name,category,lat,lng\n\x00,\x00,\x00,\x00\n",
    "csv, invalid UTF-8": b"name,category,lat,lng\n\xff\xfe,hotel,1,2\n",
    "csv, a huge field": CSV_HEADER + "A" * 600_000 + ",hotel,,1,2,,\n",
    "csv, 10,001 rows": CSV_HEADER + "".join(f"P{i},other,,52.5,13.4,,\n" for i in range(10_001)),
    "csv, formula cells": CSV_HEADER + "'=1+1,other,'@cmd,52.5,13.4,'-x,\n",
    "csv, past 2 MB": CSV_HEADER + "x" * (2 * 1024 * 1024 + 10),
    "geojson, deep": '{"type": "FeatureCollection", "features": ' + "[" * 1100 + "]" * 1100 + "}",
    "geojson, features of every kind": orjson.dumps(
        {"type": "FeatureCollection", "features": [None, 1, "x", [], {}, {"type": "Feature"},
         {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["a", None]}, "properties": []},
         {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e308, -1e308]},
          "properties": {"name": {"x": 1}, "category": ["hotel"], "aliases": [1, None], "active": "x"}}]}
    ).decode(),
}  # fmt: skip
IMPORT_TYPES = ("text/csv", "application/geo+json", "text/plain; charset=latin-1", "application/octet-stream", None)


def import_files(route: Route) -> list[tuple[str, bytes, str | None]]:
    """Files of places, good and hostile: as a raw body of each content type (the API), or
    uploaded in a form (the page) under a name that says what it is."""
    cases: list[tuple[str, bytes, str | None]] = []
    for label, content in IMPORT_FILES.items():
        data = content if isinstance(content, bytes) else content.encode()
        if route.rule.startswith("/api/"):
            for ctype in IMPORT_TYPES:
                cases.append((f"{label} as {ctype}", data, ctype))
        else:
            for filename in ("places.csv", "places.geojson", "../../etc/passwd", "\x00.csv", "a" * 300 + ".csv"):
                body = (
                    b"--hexfleet-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
                    + filename.encode() + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
                    + data + b"\r\n--hexfleet-boundary--\r\n"
                )  # fmt: skip
                cases.append((f"{label} uploaded as {filename[:30]!r}", body, MULTIPART))
    return cases


def osmand_alternatives(world: World) -> list[tuple[str, bytes, str | None]]:
    """OsmAnd's other spellings: deviceid for id, location=lat,lon for lat and lon."""
    forms = {
        "deviceid and location": {"deviceid": world.device_id, "location": "52.52,13.405"},
        "location with one part": {"id": world.device_id, "location": "52.52"},
        "location with three parts": {"id": world.device_id, "location": "1,2,3"},
        "location of text": {"id": world.device_id, "location": "a,b"},
        "location of NUL": {"id": world.device_id, "location": "\x00,\x00"},
        "location and lat": {"id": world.device_id, "location": "52.52,13.405", "lat": "x"},
        "deviceid hostile": {"deviceid": "\ud800" * 40, "location": "52.52,13.405"},
        "id and deviceid": {"id": "", "deviceid": world.device_id, "lat": "52.52", "lon": "13.405"},
    }
    return [(label, encode_form(fields), FORM) for label, fields in forms.items()]


def ping_batches(world: World) -> list[tuple[str, bytes, str | None]]:
    ok = example(PING, world)
    limit = world.settings.max_batch_pings
    batches = {
        "batch": {"pings": [ok, {**ok, "ts": ok["ts"] - 1}]},
        "batch with bad items": {"pings": [ok, None, 1, "x", [], {}, {**ok, "lat": "x"}, {**ok, "extra": 1}]},
        "batch not a list": {"pings": {"0": ok}},
        "batch with another field": {"pings": [ok], "extra": 1},
        "empty batch": {"pings": []},
        "batch over the limit": {"pings": [ok] * (limit + 1)},
        "batch of deep items": {"pings": [{"a": [[[[[[[[[]]]]]]]]]}] * 50},
        "batch of null": {"pings": None},
    }
    return [(label, encode_json(value), "application/json") for label, value in batches.items()]


# ---------------------------------------------------------------- hypothesis


def strategy(route: Route, world: World) -> st.SearchStrategy[Req]:
    key = str(route)
    if key not in world.strategies:
        world.strategies[key] = generated(route, world)
    return world.strategies[key]


@st.composite
def generated(draw, route: Route, world: World) -> Req:
    """A request for this route, each part drawn: caller, path values, query, body, headers, method."""
    if draw(st.integers(0, 9)) < 6:
        who = draw(st.sampled_from(route.who))
    else:
        who = draw(st.sampled_from(sorted(world.identities)))
    values = {}
    for conv, name in route.params():
        real = draw(st.booleans())
        values[name] = draw(st.sampled_from((real_values if real else hostile_values)(route, world, conv, name)))
    query = draw(query_string(route.query, world)) if route.query else draw(st.sampled_from((b"", b"", b"x=1", b"%zz")))
    if route.kind == "osmand" and route.method == "POST" and draw(st.integers(0, 3)) > 0:
        query = b""
    if route.kind == "pings":
        body = draw(ping_body(world))
    elif route.json is not None and (route.form is None or draw(st.booleans())):
        body = draw(json_body(route.json, world))
    elif route.form is not None:
        body = draw(form_body(route.form, world))
    else:
        body = draw(junk_body())
    method = route.method if draw(st.integers(0, 19)) else draw(st.sampled_from(("HEAD", "OPTIONS", "PATCH", "GET")))
    extra = tuple(draw(st.lists(st.sampled_from(ODD_HEADERS), max_size=2)))
    csrf = draw(st.sampled_from(("header", "header", "header", "none", "wrong")))
    return build(route, world, "generated", who=who, path=values, query=query, body=body, csrf=csrf, method=method,
                 extra=extra)  # fmt: skip


@st.composite
def ping_body(draw, world: World) -> tuple[bytes, str | None]:
    if draw(st.integers(0, 3)) == 0:
        pings = draw(st.lists(mutated(PING, world) | st.sampled_from((None, 1, "x", [], {})), max_size=6))
        extra = draw(st.sampled_from(({}, {}, {}, {"extra": 1})))
        return encode_json({"pings": pings, **extra}), "application/json"
    return draw(json_body(PING, world))


# ---------------------------------------------------------------- the checks


async def check(world: World, route: Route, req: Req, kind: str) -> None:
    if req.path.startswith("/ui/geocode"):
        await world.redis.delete(*[k async for k in world.redis.scan_iter(f"{keys.PREFIX}geocode-rate:*")] or ["-"])
    res = await call(world.app, req)
    if req.method == "POST" and req.path == "/account/password" and res.status == 303:
        world.identities.update(await world.restore_accounts())  # the run's password and tokens go on working
    # Signing out, a new password and "sign out everywhere else" (by a token, every session of
    # the account) end the run's browser sessions: they go on signed in.
    ended = req.path in ("/account/password", "/account/sign-out-others") and res.status == 303
    if req.method == "POST" and (req.path == "/logout" or ended):
        world.identities.update(await world.sign_in_browsers())
    world.tally[(route.group, kind)] += 1
    world.tally[str(route)] += 1
    logged = world.recorder.take()
    assert res.error is None, f"{req}\nthe app raised {res.error!r}"
    assert res.status is not None and res.status < 500, f"{req}\nanswered {res.status}: {res.body[:600]!r}"
    assert b"Traceback" not in res.body, f"{req}\nanswered with a traceback: {res.body[:600]!r}"
    assert not logged, f"{req}\nlogged:\n" + "\n".join(logged)


def test_every_route_has_hostile_input(world):
    """A new route fails here until it has a row in ROUTES (and so its hostile input)."""
    served = {
        (method, rule.rule) for rule in world.app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    table = {(r.method, r.rule) for r in ROUTES}
    assert not served - table, f"routes without hostile input (add them to ROUTES): {sorted(served - table)}"
    assert not table - served, f"ROUTES names routes the app does not serve: {sorted(table - served)}"
    websockets = {rule.rule for rule in world.app.url_map.iter_rules() if rule.websocket}
    assert websockets == {r.rule for r in ROUTES if r.kind == "websocket"}


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_enumerated_hostile_input(world, route):
    for req in enumerated(route, world):
        await check(world, route, req, "enumerated")


@pytest.mark.parametrize("route", ROUTES, ids=str)
@hypothesis_settings(
    max_examples=EXAMPLES_PER_ROUTE,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(data=st.data())
async def test_generated_hostile_input(world, route, data):
    req = data.draw(strategy(route, world), label="request")
    await check(world, route, req, "generated")


# ---------------------------------------------------------------- regressions: inputs that found bugs

# Invalid UTF-8 (an encoded surrogate) inside a JSON string: Quart decoded the body as UTF-8
# before parsing, outside its error handling, so every route with a validated JSON body was a 500.
INVALID_UTF8_JSON = b'{"status": "\xed\xa0\x80"}'
JSON_ROUTES = [r for r in ROUTES if r.json is not None and r.kind == "http"]


@pytest.mark.parametrize("route", JSON_ROUTES, ids=str)
async def test_invalid_utf8_in_a_json_body_is_malformed_json(world, route):
    res = await call(world.app, build(route, world, "regression", body=(INVALID_UTF8_JSON, "application/json")))
    assert res.status == 400 and b"application/problem+json" in dict(res.headers)[b"content-type"], res
    assert not world.recorder.take()


async def test_a_static_file_name_too_long_for_the_file_system_is_a_404(world):
    # The OSError (ENAMETOOLONG) was taken for a backing service being down: a 503.
    res = await call(world.app, Req("GET", "/static/" + "A" * 3000))
    assert res.status == 404, res
    assert not world.recorder.take()


async def test_address_search_passes_on_no_odd_accept_language(world):
    # Header bytes outside ASCII (obs-text, which servers pass on) made httpx refuse the
    # geocoder request: a 502 for the rider's odd header.
    req = build(R("GET", "/ui/geocode", "pages", RIDERS, query=GEOCODE_Q), world, "regression",
                extra=((b"accept-language", b"\xff" * 100 + b"de-DE"),))  # fmt: skip
    await world.redis.delete(*[k async for k in world.redis.scan_iter(f"{keys.PREFIX}geocode-rate:*")] or ["-"])
    res = await call(world.app, req)
    assert res.status == 200 and orjson.loads(res.body)["results"], res
    assert not world.recorder.take()


# A `next` with an unbalanced bracketed host made urlsplit() raise ("Invalid IPv6 URL"):
# a 500 with a traceback on /login and /signup. It is a plain "go home" now.
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/login?next=//%5B", b""),
        ("GET", "/signup?next=http://%5B", b""),
        ("POST", "/login", b"email=nobody%40example.org&password=correct-horse&next=//%5B"),
        ("POST", "/signup", b"email=new%40example.org&password=correct-horse&next=/%5C%5B::1"),
    ],
)
async def test_next_with_a_bracket_goes_home(world, method, path, body):
    path, _, query = path.partition("?")
    headers = ((b"content-type", FORM.encode()),) if body else ()
    res = await call(world.app, Req(method, path, query.encode(), headers, body))
    assert res.status is not None and res.status < 500, res
    location = dict(res.headers).get(b"location", b"")
    assert b"[" not in location, res  # never a redirect to what it named
    assert not world.recorder.take()


async def test_nothing_went_wrong_afterwards(world):
    """Work the requests started (dispatch runs after the answer) ended without an error, and the
    run was as large as promised."""
    background = services(world.app).background or set()
    if background:
        await asyncio.wait(background, timeout=10)
    await asyncio.sleep(0.2)
    logged = world.recorder.take()
    assert not logged, "logged after the requests:\n" + "\n".join(logged)
    groups = collections.Counter()
    for key, count in world.tally.items():
        if isinstance(key, tuple):
            groups[key] += count
    total = sum(groups.values())
    summary = "\n".join(f"  {group:<18} {kind:<10} {count:>6}" for (group, kind), count in sorted(groups.items()))
    print(f"\nhostile inputs sent: {total}\n{summary}")
    if all(world.tally[str(r)] for r in ROUTES):  # the whole suite ran, not a selection
        assert total >= 1000
